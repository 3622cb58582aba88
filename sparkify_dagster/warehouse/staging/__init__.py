"""Stage: every input record, typed, into ``staging_songs`` and ``staging_events``.

Records stream from the sources into the engine in batches; nothing holds the whole dataset in
memory. How depends on the engine's staging strategy (:class:`Staging`): DuckDB types the plain
records with its own JSON reader (:mod:`~sparkify_dagster.warehouse.engines.duckdb_staging`),
PostgreSQL gets every record through the careful parser (:mod:`.careful`), Redshift copies from
S3 itself. Either way a record means the same. A record that cannot be loaded is not dropped: it
becomes a :class:`Reject` (file, line, reason, raw text), kept in ``load_errors``.

Incremental: ``load_manifest`` remembers every file loaded (size, version, checksum; see
:mod:`.manifest`). A run reads only new files and files whose size or version changed; a changed
file's earlier rows and rejects are replaced, never duplicated. Run :func:`stage_sources` inside a
transaction: a failure keeps nothing.
"""

from sparkify_dagster.warehouse.staging.manifest import checksum, manifest_sql
from sparkify_dagster.warehouse.staging.read_ahead import read_ahead
from sparkify_dagster.warehouse.staging.report import (
    ReconciliationError,
    Reject,
    SourceReport,
    StageReport,
    TooManyRejects,
)
from sparkify_dagster.warehouse.staging.run import (
    Staging,
    of_days,
    stage_locations,
    stage_sources,
    without_cycle_collector,
)

__all__ = [
    "ReconciliationError",
    "Reject",
    "SourceReport",
    "StageReport",
    "Staging",
    "TooManyRejects",
    "checksum",
    "manifest_sql",
    "of_days",
    "read_ahead",
    "stage_locations",
    "stage_sources",
    "without_cycle_collector",
]
