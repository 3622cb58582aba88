"""What the catalog says of each asset: who owns it, its layer, the version of its code, where that
code lives, and the pool its steps queue in.

- **Owners** come from ``SPARKIFY_OWNER`` (default ``team:data-engineering``), read when the code
  location loads.
- **Tags**: ``layer`` is ``raw`` (the observed sources), ``staging``, ``star`` or ``report``, so
  ``tag:layer=star`` selects the star schema in the UI and on the command line.
- **Code version**: a hash of what decides a table's rows. For a star table, its columns and its
  SQL (``warehouse/sql/<table>.sql`` and every template it includes, such as
  ``_songs_once.sql``); for a staging table, its columns and the raw field each is read from; for
  the report, its queries and its HTML template. Dagster compares it with the version the last
  materialization recorded and marks an asset whose code changed since.
- **Code references**: each star table's SQL files and each staging table's place in the model;
  :mod:`sparkify_dagster.definitions` adds the asset function's own file and line.
- **Pool** ``warehouse``: every step that opens the warehouse (each table's asset and its checks,
  and the report) is in this pool, and the instance lets one run at a time use it
  (``concurrency: pools: default_limit: 1, granularity: run`` in ``dagster.yaml``): two queued
  runs never write the warehouse together, while other runs (the cluster jobs) start at once.
  Run, not step, granularity: a run keeps its warehouse connection from step to step, and the
  checks and the report only read, but a DuckDB file opens in one process at a time.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypedDict

import jinja2
import jinja2.meta
from dagster import (
    AssetsDefinition,
    BetaWarning,
    CodeReferencesMetadataValue,
    LocalFileCodeReference,
    UrlCodeReference,
    with_source_code_references,
)

from sparkify_dagster.core.settings import OWNER
from sparkify_dagster.warehouse.engines.base import SQL_DIRS
from sparkify_dagster.warehouse.model import Table

SQL_DIR, PACKAGE = SQL_DIRS  # the star's transforms; the package, for report/sql/… paths
POOL = "warehouse"
MODEL = PACKAGE / "warehouse" / "model.py"
REPORT_FILES = ("report/sql/*.sql", "report/templates/*")


def owners() -> list[str]:
    """The asset owners: ``$SPARKIFY_OWNER`` (emails or ``team:<name>``, comma-separated)."""
    return list(OWNER.lookup())


# -- code versions -----------------------------------------------------------------------------


def code_version(parts: Iterable[str]) -> str:
    """A short, stable hash of ``parts`` in order; any change to any part changes it.

    >>> code_version(["a", "b"]) == code_version(["a", "b"]) != code_version(["ab"])
    True
    """
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:16]


def template_files(names: Iterable[str], folders: Sequence[Path] = SQL_DIRS) -> list[Path]:
    """The templates ``names`` and every template they include, each once, in the order found;
    a name is looked for in ``folders`` in turn, as the SQL renderer looks for it."""
    found: list[Path] = []
    pending = list(names)
    while pending:
        name = pending.pop(0)
        path = next((folder / name for folder in folders if (folder / name).is_file()), None)
        if path is None:
            raise FileNotFoundError(f"template {name} is in none of {[str(f) for f in folders]}")
        if path in found:
            continue
        found.append(path)
        syntax = jinja2.Environment().parse(path.read_text(encoding="utf-8"))
        pending += sorted(n for n in jinja2.meta.find_referenced_templates(syntax) if n)
    return found


# SQL a table's build sends beyond its own files: songs keeps the plays' matches.
ALSO_BUILT_BY = {"songs": ("song_matches.sql", "rematch_days.sql")}


def table_sql(table: Table, folder: Path = SQL_DIR) -> list[Path]:
    """The SQL files that fill a star table: ``<table>.sql`` and any ``<table>_<mode>.sql``
    beside it, with the templates they include. A staging table has none."""
    names = [path.name for path in sorted(folder.glob(f"{table.name}.sql"))]
    names += [path.name for path in sorted(folder.glob(f"{table.name}_*.sql"))]
    names += [name for name in ALSO_BUILT_BY.get(table.name, ()) if (folder / name).exists()]
    return template_files(names, (folder, *SQL_DIRS))


def shape(table: Table) -> str:
    """The table as its rows depend on it: columns, types, sizes, nullability, the raw field each
    staging column is read from, and the key. Docs and physical hints are left out."""
    columns = [
        [column.name, column.type.value, column.nullable, column.size, column.source_key]
        for column in table.columns
    ]
    return json.dumps({"table": table.name, "columns": columns, "key": list(table.key)})


def table_code_version(table: Table, folder: Path = SQL_DIR) -> str:
    """``table``'s code version: its shape and the text of its SQL files."""
    files = table_sql(table, folder)
    return code_version([shape(table), *(path.read_text(encoding="utf-8") for path in files)])


def report_files() -> list[Path]:
    return sorted(path for pattern in REPORT_FILES for path in PACKAGE.glob(pattern))


# -- code references -----------------------------------------------------------------------------


def model_line(table: Table, model: Path = MODEL) -> int:
    """The line of ``model`` where ``table`` is defined (``X = Table(`` then its name), else 1."""
    lines = model.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == f'"{table.name}",' and lines[number - 2].rstrip().endswith("Table("):
            return number - 1
    return 1


def code_references(table: Table) -> CodeReferencesMetadataValue:
    """Where ``table``'s code lives besides its asset function: its SQL files (star) or its
    definition in the model (staging)."""
    files = [(path, 1, path.name) for path in table_sql(table)]
    if not files:
        files = [(MODEL, model_line(table), f"{table.name} in the model")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)  # code references are beta in Dagster 1.13
        references: list[LocalFileCodeReference | UrlCodeReference] = [
            LocalFileCodeReference(file_path=str(path), line_number=line, label=label)
            for path, line, label in files
        ]
        return CodeReferencesMetadataValue(code_references=references)


def with_code_references(assets: Sequence[AssetsDefinition]) -> list[AssetsDefinition]:
    """``assets`` with a code reference to the file and line of each asset's function, after the
    references they already carry (Dagster's ``with_source_code_references``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        referenced = with_source_code_references(assets)
    return [asset for asset in referenced if isinstance(asset, AssetsDefinition)]


# -- what each asset decorator spreads in ---------------------------------------------------------


class Catalog(TypedDict):
    """Keyword arguments of ``@asset``."""

    owners: list[str]
    tags: dict[str, str]
    code_version: str
    pool: str


def catalog(table: Table) -> Catalog:
    """The ``@asset`` keyword arguments of ``table``'s asset: owners, layer tag, code version
    and pool. Spread them in: ``@asset(name=..., **catalog(table))``."""
    return {
        "owners": owners(),
        "tags": {"layer": table.kind},
        "code_version": table_code_version(table),
        "pool": POOL,
    }


def report_catalog() -> Catalog:
    """The ``@asset`` keyword arguments of ``listening_report``: it reads the warehouse, so its
    step queues in the pool too."""
    files = report_files()
    return {
        "owners": owners(),
        "tags": {"layer": "report"},
        "code_version": code_version(path.read_text(encoding="utf-8") for path in files),
        "pool": POOL,
    }
