"""Redshift's staging: ``COPY … FROM 's3://…'`` into each staging table.

Redshift reads the source files itself, in parallel on every slice; nothing passes through this
machine except small control files (a JSONPaths file for the events, and with ``compact`` the
merged objects and their manifest) written under a staging prefix the user owns.

What the COPYs read is decided here without connecting; :class:`~.redshift.RedshiftDialect`
renders the statements, so the plan (:func:`sparkify_dagster.warehouse.plan.plan`) shows exactly
what a run sends, and ``sparkify_dagster_tests/golden/redshift`` pins it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from sparkify_dagster.core.errors import ConfigError, RecordError
from sparkify_dagster.core.settings import (
    CLUSTER_IDENTIFIER,
    COMPACT,
    DB_IAM,
    DB_PASSWORD,
    GZIP,
    IAM_ROLE,
    LOG_JSONPATH,
    REGION,
    SLICES,
    STAGING,
    Setting,
    Settings,
)
from sparkify_dagster.ingest import s3_objects
from sparkify_dagster.ingest.compact import Compacted, compact, manifest_uri
from sparkify_dagster.ingest.files import SourceFile
from sparkify_dagster.warehouse.model import (
    LINEAGE_COLUMNS,
    STAGING_EVENTS,
    STAGING_TABLE_OF_KIND,
    Table,
)

# The rejected lines of this session's latest failed COPY, newest view first.
LOAD_ERRORS_SQL = """\
SELECT TRIM(file_name), line_number, TRIM(column_name), TRIM(error_message)
FROM sys_load_error_detail
WHERE query_id = (
    SELECT MAX(query_id) FROM sys_load_error_detail WHERE session_id = PG_BACKEND_PID()
)
ORDER BY line_number
LIMIT 10"""

STL_LOAD_ERRORS_SQL = """\
SELECT TRIM(filename), line_number, TRIM(colname), TRIM(err_reason)
FROM stl_load_errors
WHERE query = PG_LAST_COPY_ID()
ORDER BY line_number
LIMIT 10"""


@dataclass(frozen=True)
class RedshiftOptions:
    """How to stage on Redshift. Filled by :meth:`resolve` from flags, ``SPARKIFY_*``, dwh.cfg.

    ``staging`` is an ``s3://bucket/prefix`` this tool may write to (generated JSONPaths,
    compacted objects, manifests); it is needed unless ``log_jsonpath`` is given and
    ``compact`` is off. With ``iam`` the connection asks Redshift for temporary credentials of
    the target's user on cluster ``cluster_identifier`` instead of using ``password``.
    """

    iam_role: str | None = None
    region: str | None = None
    log_jsonpath: str | None = None
    staging: str | None = None
    max_errors: int = 0
    compact: bool = False
    slices: int = 4
    gzip: bool = False
    password: str | None = field(default=None, repr=False)
    iam: bool = False
    cluster_identifier: str | None = None

    @classmethod
    def resolve(
        cls,
        *,
        config: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        iam_role: str | None = None,
        region: str | None = None,
        log_jsonpath: str | None = None,
        staging: str | None = None,
        max_errors: int = 0,
        compact: bool | str | None = None,
        slices: int | str | None = None,
        gzip: bool | str | None = None,
        iam: bool | str | None = None,
        cluster_identifier: str | None = None,
    ) -> RedshiftOptions:
        """Arguments first, then ``$SPARKIFY_IAM_ROLE``/``_REGION``/``_LOG_JSONPATH``/
        ``_STAGING``/``_COMPACT``/``_SLICES``/``_GZIP``/``_DB_PASSWORD``/``_DB_IAM``/
        ``_CLUSTER_IDENTIFIER``, then dwh.cfg (``[IAM_ROLE] ARN``, ``[S3] LOG_JSONPATH``/
        ``STAGING``, ``[CLUSTER] DB_PASSWORD``/``REGION``/``IAM``, ``[DWH]
        DWH_CLUSTER_IDENTIFIER``), then the AWS configuration's default region. Text arguments
        (a resource's fields) are read as their variables would be."""
        if max_errors < 0:
            raise ConfigError(f"max_errors is {max_errors}: give 0 or more")

        def pick(setting: Setting[Any], given: Any = None) -> Any:
            return setting.lookup(given, env=environ, config=config)

        identifier = pick(CLUSTER_IDENTIFIER, cluster_identifier)
        return cls(
            iam_role=pick(IAM_ROLE, iam_role),
            region=pick(REGION, region) or _default_region(),
            log_jsonpath=pick(LOG_JSONPATH, log_jsonpath),
            staging=pick(STAGING, staging),
            max_errors=max_errors,
            compact=pick(COMPACT, compact),
            slices=pick(SLICES, slices),
            gzip=pick(GZIP, gzip),
            password=pick(DB_PASSWORD),
            iam=pick(DB_IAM, iam),
            cluster_identifier=(identifier or "").lower() or None,
        )


def _default_region() -> str | None:
    import boto3

    return boto3.session.Session().region_name  # type: ignore[no-any-return]


# -- what the run sends ---------------------------------------------------------------------


def literal(text: str) -> str:
    """``text`` as a SQL string literal (COPY takes no bind parameters)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def copy_columns(table: Table, *, lineage: bool = False) -> tuple[str, ...]:
    """The columns COPY fills, in the model's order: the lineage columns only from compacted
    objects (which carry them), never from the original files (which cannot)."""
    return tuple(name for name in table.column_names if lineage or name not in LINEAGE_COLUMNS)


def jsonpaths_document(*, lineage: bool = False) -> bytes:
    """The JSONPaths file mapping eventsim's fields to ``staging_events``'s COPY columns."""
    columns = [
        STAGING_EVENTS.column(name) for name in copy_columns(STAGING_EVENTS, lineage=lineage)
    ]
    keys = [column.source_key or column.name for column in columns]  # lineage: its own name
    return orjson.dumps({"jsonpaths": [f"$['{key}']" for key in keys]}, option=orjson.OPT_INDENT_2)


def jsonpaths_uri(staging: str, *, lineage: bool = False) -> str:
    name = "staging_events_lineage.json" if lineage else "staging_events.json"
    return s3_objects.join_uri(staging, "jsonpaths", name)


@dataclass(frozen=True)
class CopySource:
    """Where one staging table's COPY reads from, and how."""

    table: Table
    uri: str  # a prefix, or a manifest with ``manifest``
    json: str  # 'auto ignorecase' or the s3:// URI of a JSONPaths file
    manifest: bool = False
    gzip: bool = False
    lineage: bool = False  # the objects carry source_file/source_line (compacted ones do)


def copy_source(kind: str, location: str | None, options: RedshiftOptions) -> CopySource:
    """Where the COPY of one staging table (``songs`` or ``events``) reads from, and how."""
    table = STAGING_TABLE_OF_KIND[kind]
    if location is None:
        raise ConfigError(
            "Redshift loads from S3: set SPARKIFY_SONG_DATA and SPARKIFY_LOG_DATA (s3:// "
            "prefixes, or local folders with compaction), or [S3] SONG_DATA and LOG_DATA in "
            "dwh.cfg"
        )
    needs_staging = options.compact or (kind == "events" and not options.log_jsonpath)
    if needs_staging and not options.staging:
        why = "compaction writes merged objects" if options.compact else "no LOG_JSONPATH is set"
        raise ConfigError(
            f"{why}: give an S3 prefix this tool may write to in $SPARKIFY_STAGING or "
            "[S3] STAGING in dwh.cfg"
        )
    if options.compact:
        staging = str(options.staging)
        json = "auto ignorecase"
        if kind == "events":
            json = jsonpaths_uri(staging, lineage=True)
        return CopySource(
            table, manifest_uri(staging, table.name), json, manifest=True, gzip=True, lineage=True
        )
    if not location.startswith("s3://"):
        raise ConfigError(
            f"{location} is not on S3: Redshift's COPY reads s3:// prefixes only; turn on "
            "compaction ($SPARKIFY_COMPACT, with a staging prefix) to upload local files first"
        )
    json = "auto ignorecase"
    if kind == "events":
        json = options.log_jsonpath or jsonpaths_uri(str(options.staging))
    return CopySource(table, location, json, gzip=_gzip(location, options))


def copy_sources(settings: Settings, options: RedshiftOptions) -> list[CopySource]:
    """The COPY source of each staging table, songs first, from the settings alone."""
    return [
        copy_source("songs", settings.song_data, options),
        copy_source("events", settings.log_data, options),
    ]


def _gzip(location: str, options: RedshiftOptions) -> bool:
    return options.gzip or location.endswith(".gz")


# -- the run --------------------------------------------------------------------------------


def load_error(rows: list[tuple[Any, ...]], table: str) -> RecordError:
    """The first rejected line as a :class:`RecordError` shaped like a local reject:
    ``file line N: column C: reason`` (and how many more were listed)."""
    if not rows:
        return RecordError(
            table, None, "Redshift's COPY failed and recorded no rejected line; see the message"
        )
    file, line, column, reason = rows[0]
    more = f" (and {len(rows) - 1} more rejected lines)" if len(rows) > 1 else ""
    return RecordError(
        str(file).strip(), int(line), f"column {str(column).strip()}: {str(reason).strip()}{more}"
    )


def prepare(
    kind: str,
    location: str,
    options: RedshiftOptions,
    s3: Any = None,
    files: list[SourceFile] | None = None,
) -> Compacted | None:
    """Write the control files the COPY of ``kind`` reads: for events the JSONPaths file, and
    with ``compact`` the merged objects (of ``files`` only, when given) and their manifest.
    Returns what compaction did."""
    source = copy_source(kind, location, options)  # validates before anything is written
    wants_jsonpaths = kind == "events" and (options.compact or not options.log_jsonpath)
    if not options.compact and not wants_jsonpaths:
        return None
    s3 = s3 or s3_objects.client()
    if wants_jsonpaths:
        uri = jsonpaths_uri(str(options.staging), lineage=options.compact)
        s3_objects.put(s3, uri, jsonpaths_document(lineage=options.compact))
    if not options.compact or files == []:
        return None
    return compact(
        location, str(options.staging), source.table.name, kind=kind, slices=options.slices,
        s3=s3, files=files,
    )  # fmt: skip


def day_sources(files: list[SourceFile], options: RedshiftOptions) -> list[CopySource]:
    """What the COPYs of the event logs ``files`` read: each log (its URI is its lineage), or
    with ``compact`` the merged objects :func:`prepare` wrote for them."""
    if not files:
        return []
    if options.compact:
        staging = str(options.staging)
        table = STAGING_EVENTS.name
        json = jsonpaths_uri(staging, lineage=True)
        return [
            CopySource(
                STAGING_EVENTS, manifest_uri(staging, table), json, manifest=True, gzip=True,
                lineage=True,
            )
        ]  # fmt: skip
    json = options.log_jsonpath or jsonpaths_uri(str(options.staging))
    return [
        CopySource(STAGING_EVENTS, file.uri, json, gzip=_gzip(file.uri, options)) for file in files
    ]
