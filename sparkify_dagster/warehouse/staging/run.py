"""A staging run: each kind's changed files into its staging table, the way the engine stages.

:class:`Staging` is an engine's strategy (its ``staging``); :func:`stage_sources` is the run every
strategy that reads the files here shares: it finds the changed files in the manifest, hands them
to the strategy, reconciles the counts and records the rejects and the manifest.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from sparkify_dagster.core.errors import SourceError
from sparkify_dagster.core.progress import Reporter, current
from sparkify_dagster.ingest.days import NAMING, log_day
from sparkify_dagster.ingest.files import Source, SourceFile
from sparkify_dagster.ingest.sources import DEFAULT_OPTIONS, SourceOptions
from sparkify_dagster.warehouse.days import EVERY_DAY, Days
from sparkify_dagster.warehouse.model import (
    LOAD_ERRORS,
    LOAD_FOLDERS,
    LOAD_MANIFEST,
    LOG_FILES,
    STAGING_TABLE_OF_KIND,
    Table,
    source_columns,
)
from sparkify_dagster.warehouse.staging.careful import PARSER_KEYS, careful_rows
from sparkify_dagster.warehouse.staging.manifest import changed_files, listed
from sparkify_dagster.warehouse.staging.report import (
    Outputs,
    ReconciliationError,
    Reject,
    SourceReport,
    StageReport,
    TooManyRejects,
)

if TYPE_CHECKING:
    from sparkify_dagster.core.settings import Settings
    from sparkify_dagster.warehouse.engines.base import Dialect, Warehouse
    from sparkify_dagster.warehouse.engines.redshift_copy import RedshiftOptions


class Staging:
    """How an engine stages its sources; each engine brings one (``Warehouse.staging``).

    This one reads the files here and parses every record in Python, loading the rows with the
    engine's bulk load (:meth:`Warehouse.load_rows`); engines override what they do otherwise.
    """

    # Whether staging records each file read in load_manifest (so that the checks reconcile it).
    keeps_manifest: ClassVar[bool] = True

    def stage(
        self,
        warehouse: Warehouse,
        locations: dict[str, str],
        reporter: Reporter | None = None,
        *,
        full_refresh: bool = False,
        max_errors: int = 0,
        options: SourceOptions = DEFAULT_OPTIONS,
        days: Days = EVERY_DAY,
    ) -> StageReport:
        """Bring the staging table of each kind in ``locations`` up to date (see
        :func:`stage_locations`)."""
        sources = {kind: options.open(location) for kind, location in locations.items()}
        return stage_sources(
            warehouse, sources, reporter, full_refresh=full_refresh, max_errors=max_errors,
            days=days,
        )  # fmt: skip

    def load_files(
        self,
        warehouse: Warehouse,
        kind: str,
        table: Table,
        source: Source,
        files: list[SourceFile],
        out: Outputs,
    ) -> int:
        """Stage the records of ``files`` into ``table``; the rows staged. Counts and rejects go
        to ``out``, and the files' manifest entries to ``out.manifest`` or the warehouse."""
        return warehouse.load_rows(table, careful_rows(kind, source, files, out))

    def load_statements(self, dialect: Dialect, kind: str, table: Table) -> list[str]:
        """The statements :meth:`load_files` sends for one kind (shown by plans)."""
        return [dialect.load_sql(table)]

    def statements(
        self, dialect: Dialect, settings: Settings, options: RedshiftOptions | None = None
    ) -> list[str]:
        """The statements a run sends to stage (:func:`~.plan.plan` shows them); which files they
        touch depends on the manifest, read for each kind first."""
        plan = []
        for kind, table in STAGING_TABLE_OF_KIND.items():
            plan.append(dialect.manifest_sql())
            plan += [
                dialect.delete_sources_sql(stale) for stale in (table, LOAD_ERRORS, LOAD_MANIFEST)
            ]
            plan += self.load_statements(dialect, kind, table)
        return [*plan, dialect.load_sql(LOAD_ERRORS), dialect.load_sql(LOAD_MANIFEST)]


def stage_locations(
    warehouse: Warehouse,
    locations: dict[str, str],
    reporter: Reporter | None = None,
    *,
    full_refresh: bool = False,
    max_errors: int = 0,
    options: SourceOptions = DEFAULT_OPTIONS,
    days: Days = EVERY_DAY,
) -> StageReport:
    """Bring the staging table of each kind in ``locations`` up to date with the folder or
    ``s3://`` prefix it names, the way the engine stages: read here and loaded in batches, or
    (Redshift) copied from S3 by the engine itself, which reloads the days it stages in full.
    Only the event logs of ``days`` are staged (their ``full_refresh`` too); ``options`` say how
    the sources are read.
    """
    staged: StageReport = warehouse.staging.stage(
        warehouse,
        locations,
        reporter,
        full_refresh=full_refresh,
        max_errors=max_errors,
        options=options,
        days=days,
    )
    return staged


def stage_sources(
    warehouse: Warehouse,
    sources: dict[str, Source],
    reporter: Reporter | None = None,
    *,
    full_refresh: bool = False,
    max_errors: int = 0,
    days: Days = EVERY_DAY,
) -> StageReport:
    """Bring the staging table of each kind in ``sources`` (``songs``, ``events``) up to date.

    Only those tables, and the ``load_errors`` and ``load_manifest`` rows of those kinds, are
    touched; of the event logs, only those of ``days`` (each log's day is recorded in
    ``log_files``, and its users in ``users_pending`` for the users table). Run it inside a
    transaction: on :class:`TooManyRejects` (more than ``max_errors`` rejects in all) or any
    other error, the caller's rollback keeps nothing.
    """
    reporter = reporter or current()
    now = datetime.now(UTC).replace(tzinfo=None)
    kinds = [(kind, table) for kind, table in STAGING_TABLE_OF_KIND.items() if kind in sources]
    if full_refresh:
        for kind, table in kinds:
            forget(warehouse, kind, table, days)
    # List every source before loading anything: a missing folder fails the run up front. Each
    # kind's stamps only (a million song files' entries are slow and large to read).
    listings = []
    for kind, table in kinds:
        files, trusted, known = listed(warehouse, kind, sources[kind])
        listings.append((kind, table, sources[kind], of_days(kind, files, days), trusted, known))

    rejects: list[Reject] = []
    manifest: list[tuple[object, ...]] = []  # entries the strategy leaves to the end
    reports = []
    with without_cycle_collector(), warehouse.staging_memory():
        while listings:
            # Each listing is let go once staged: a million song files' is large.
            kind, table, source, files, trusted, known = listings.pop(0)
            source_columns(table, PARSER_KEYS[kind])  # the parser fills the columns in order
            report = SourceReport(kind, source.location, files=len(files) + trusted)
            reports.append(report)
            pending, replaced = changed_files(warehouse, source, files, known)
            del known
            if kind == "events" and pending:
                _users_of_days(warehouse, days)  # the users whose latest event may go
            for stale in (table, LOAD_ERRORS, LOAD_MANIFEST, LOG_FILES):
                warehouse.delete_sources(stale, replaced)

            reporter.start(f"staging {kind}", len(pending))
            started = time.perf_counter()
            out = Outputs(report, rejects, manifest, reporter, now)
            if pending:  # nothing new costs nothing more (DuckDB's would import pyarrow)
                report.staged = warehouse.staging.load_files(
                    warehouse, kind, table, source, pending, out
                )
            report.files_loaded = len(pending)
            report.bytes_loaded = sum(file.size for file in pending)
            report.seconds = time.perf_counter() - started
            if report.records != report.staged + report.rejected:
                raise ReconciliationError(
                    f"{kind}: read {report.records:,} records but staged {report.staged:,} and "
                    f"rejected {report.rejected:,}; please report this as a bug"
                )
            if kind == "events" and pending:
                warehouse.load_rows(LOG_FILES, ((file.uri, _day(file)) for file in pending))
                _users_of_days(warehouse, days)  # the users whose latest event may be new

    if len(rejects) > max_errors:
        raise TooManyRejects(rejects, max_errors)
    warehouse.load_rows(
        LOAD_ERRORS,
        ((r.source_file, r.line, r.kind, r.reason, r.raw_text, now) for r in rejects),
    )
    warehouse.load_rows(LOAD_MANIFEST, manifest)
    return StageReport(reports, rejects)


def forget(warehouse: Warehouse, kind: str, table: Table, days: Days = EVERY_DAY) -> None:
    """Drop what staging holds of ``kind`` (of the event logs: of ``days``), so that a full
    refresh loads only the files present now."""
    dialect = warehouse.dialect
    if kind == "events":
        _users_of_days(warehouse, days)
    if kind != "events" or days.every:
        warehouse.execute(dialect.clear_sql(table))
        for meta in (LOAD_ERRORS, LOAD_MANIFEST, LOAD_FOLDERS):
            warehouse.execute(dialect.delete_kind_sql(meta), [kind])
        if kind == "events":
            warehouse.execute(dialect.clear_sql(LOG_FILES))
        return
    files = [uri for (uri,) in warehouse.query(dialect.log_files_sql(), days.bounds)]
    for stale in (table, LOAD_ERRORS, LOAD_MANIFEST, LOG_FILES):
        warehouse.delete_sources(stale, files)


def _users_of_days(warehouse: Warehouse, days: Days) -> None:
    """Note the users of the staged events of ``days`` as pending for the users table."""
    warehouse.execute(warehouse.dialect.users_of_days_sql(), days.bounds)


def of_days(kind: str, files: list[SourceFile], days: Days) -> list[SourceFile]:
    """The files of ``kind`` to stage: every song file; the event logs of ``days``. A log whose
    name gives no day fails the run: it would belong to no partition and no play id."""
    if kind != "events":
        return files
    nameless = [file.uri for file in files if log_day(file.uri) is None]
    if nameless:
        more = f" (and {len(nameless) - 1:,} more)" if len(nameless) > 1 else ""
        raise SourceError(
            f"{nameless[0]}{more} names no day from 1970-01-01 to 9998-12-31: {NAMING}; "
            "rename it or move it out of the log location"
        )
    return files if days.every else [file for file in files if days.holds(_day(file))]


def _day(file: SourceFile) -> str:
    return log_day(file.uri) or ""


@contextmanager
def without_cycle_collector() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block that makes millions of small objects.

    Staging creates a tuple per value row and keeps batches of them alive; none is part of a
    reference cycle (they are freed by reference counting), yet the collector would scan the
    growing batches again and again: a noticeable share of a large load's time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
