"""The manifest of files loaded (``load_manifest``): what it knows, and which files changed.

A run reads only new files and files whose size or version changed; a file whose version changed
but whose bytes did not (a ``touch``) only gets its entry refreshed.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, NamedTuple

from sparkify_dagster.ingest.files import Source, SourceFile
from sparkify_dagster.warehouse.staging.report import Outputs

if TYPE_CHECKING:
    from sparkify_dagster.warehouse.engines.base import Warehouse


class Known(NamedTuple):
    """What the manifest knows of one file."""

    size: int
    version: str
    checksum: str


def checksum(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def manifest_sql(warehouse: Warehouse) -> str:
    """The statement that reads what the manifest knows of the files of one kind (bound)."""
    return warehouse.dialect.manifest_sql()


def read_manifest(warehouse: Warehouse, kind: str) -> dict[str, Known]:
    """What the manifest knows of the files of ``kind``, by URI."""
    rows = warehouse.query(manifest_sql(warehouse), [kind])
    return {uri: Known(int(size), version, digest) for uri, size, version, digest in rows}


def changed_files(
    warehouse: Warehouse, source: Source, files: list[SourceFile], known: dict[str, Known]
) -> list[SourceFile]:
    """The files to (re)load: new ones, and known ones whose bytes changed.

    A known file whose size or version changed but whose bytes did not (a ``touch``) only gets
    its manifest entry refreshed.
    """
    candidates = [file for file in files if _differs(known.get(file.uri), file)]
    touched = [file for file in candidates if file.uri in known]
    unchanged = set()
    for file, data in source.contents(touched):
        if checksum(data) == known[file.uri].checksum:
            unchanged.add(file.uri)
            warehouse.execute(
                warehouse.dialect.manifest_refresh_sql(), [file.size, file.version, file.uri]
            )
    return [file for file in candidates if file.uri not in unchanged]


def manifest_entry(
    out: Outputs, file: SourceFile, digest: str, totals: tuple[int, int]
) -> tuple[object, ...]:
    """The ``load_manifest`` row of ``file``: its checksum, and records read and rejected."""
    return (file.uri, out.report.kind, file.size, file.version, digest, *totals, out.now)


def _differs(entry: Known | None, file: SourceFile) -> bool:
    return entry is None or entry.size != file.size or entry.version != file.version
