"""The library's front door: ``etl``, ``create_tables``, ``analyze`` and ``check``.

Each takes plain values (or a :class:`~sparkify_dagster.core.settings.Settings`) and returns plain
results, so that what the assets do can be done from Python in one call. ``etl`` stages both
sources and rebuilds the star in a single transaction, where the assets take one per table::

    >>> import sparkify_dagster
    >>> result = sparkify_dagster.etl(target="duckdb:///:memory:")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from sparkify_dagster.core.errors import WarehouseError
from sparkify_dagster.core.progress import Reporter, Silent, activate, ticking, to_stderr
from sparkify_dagster.core.settings import DEFAULT_TARGET, Settings
from sparkify_dagster.ingest import sample
from sparkify_dagster.ingest.sources import SourceOptions
from sparkify_dagster.warehouse.engines import (
    RedshiftOptions,
    Warehouse,
    connect,
)
from sparkify_dagster.warehouse.model import TABLES
from sparkify_dagster.warehouse.quality import CheckResult, checks_for, run_checks
from sparkify_dagster.warehouse.staging import Reject, StageReport, TooManyRejects, stage_locations
from sparkify_dagster.warehouse.transform import build_star
from sparkify_dagster.warehouse.upgrade import prepare

DEFAULT_REJECTS_FILE = "sparkify-rejects.jsonl"


@dataclass(frozen=True)
class RunResult:
    """What one ETL run did: per-source reconciliation, rejects, row counts, checks, seconds."""

    song_data: str
    log_data: str
    stage: StageReport
    counts: dict[str, int]
    checks: list[CheckResult] | None
    seconds: float = field(compare=False)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [result for result in self.checks or [] if not result.passed]


def etl(
    settings: Settings | None = None,
    *,
    song_data: str | None = None,
    log_data: str | None = None,
    target: str | None = None,
    full_refresh: bool = False,
    max_errors: int = 0,
    rejects_file: str | Path = DEFAULT_REJECTS_FILE,
    lock_timeout: float = 0.0,
    checks: bool = True,
    quiet: bool = True,
    progress: Reporter | None = None,
    redshift: RedshiftOptions | None = None,
) -> RunResult:
    """Load new and changed song and event files into ``target`` and rebuild the star schema.

    The whole run is one transaction: a failure (or a kill) leaves the warehouse as it was, and
    re-running gives the same warehouse as one clean run over the same files. Without song and
    log data, loads the built-in sample dataset (see :mod:`sparkify_dagster.ingest.sample`).

    Records that cannot be loaded are kept in ``load_errors``; when there are more than
    ``max_errors`` of them the run is rolled back and all of them are written to
    ``rejects_file`` (JSON lines) before :class:`~.staging.TooManyRejects` is raised. With
    ``checks``, the data-quality checks run after the load (see :mod:`~.quality`).

    Unless ``quiet``, staging prints a progress line on stderr every few seconds; ``progress``
    takes any :class:`~sparkify_dagster.core.progress.Reporter` instead, such as a
    :class:`~sparkify_dagster.core.progress.Ticker` that says its lines to a logger.
    """
    settings = settings or Settings.resolve(
        song_data=song_data, log_data=log_data, target=target, environ={}
    )
    started = time.perf_counter()
    songs_at, logs_at = source_locations(settings)
    with connect(
        settings.target, lock_timeout=lock_timeout, redshift=redshift, config=settings.config_path
    ) as warehouse:
        try:
            with _reporting(progress, quiet) as report, warehouse.transaction():
                prepare(warehouse)
                staged = stage_locations(
                    warehouse, {"songs": songs_at, "events": logs_at}, report,
                    full_refresh=full_refresh, max_errors=max_errors,
                    options=SourceOptions(settings.no_sign_request, settings.trust_folder_times),
                )  # fmt: skip
                if staged.changed or full_refresh:
                    build_star(warehouse, report)
        except TooManyRejects as exc:
            write_rejects(exc.rejects, Path(rejects_file))
            exc.rejects_file = str(rejects_file)
            raise
        counts = table_counts(warehouse)
        results = run_checks(warehouse, checks_for(type(warehouse))) if checks else None
    return RunResult(songs_at, logs_at, staged, counts, results, time.perf_counter() - started)


def source_locations(settings: Settings) -> tuple[str, str]:
    """The song and log locations of ``settings``; the built-in sample's when neither is set."""
    if settings.song_data is None or settings.log_data is None:
        songs, logs = sample.ensure()
        return str(songs), str(logs)
    return settings.song_data, settings.log_data


def write_rejects(rejects: list[Reject], path: Path) -> None:
    """All ``rejects`` as JSON lines: source_file, line, kind, reason, raw_text."""
    path.write_bytes(
        b"".join(orjson.dumps(reject, option=orjson.OPT_APPEND_NEWLINE) for reject in rejects)
    )


def create_tables(target: str = DEFAULT_TARGET, *, drop: bool = False) -> list[str]:
    """Create every table the tool owns that is missing; with ``drop``, drop and recreate them."""
    with connect(target) as warehouse, warehouse.transaction():
        warehouse.create_tables(drop=drop)
    return [table.name for table in TABLES]


def analyze(target: str = DEFAULT_TARGET) -> dict[str, int]:
    """Row count of every table the tool owns (a missing table is an error)."""
    with connect(target) as warehouse:
        return table_counts(warehouse, require_all=True)


def check(target: str = DEFAULT_TARGET) -> list[CheckResult]:
    """Run every data-quality check on ``target``."""
    with connect(target) as warehouse:
        table_counts(warehouse, require_all=True)
        return run_checks(warehouse, checks_for(type(warehouse)))


def table_counts(warehouse: Warehouse, *, require_all: bool = False) -> dict[str, int]:
    existing = warehouse.table_names()
    missing = [table.name for table in TABLES if table.name not in existing]
    if missing and require_all:
        raise WarehouseError(
            f"{warehouse!r} has no table {', '.join(missing)}: materialize the assets "
            "(or call create_tables or etl) first"
        )
    return {table.name: warehouse.count(table) for table in TABLES if table.name in existing}


def _reporting(progress: Reporter | None, quiet: bool) -> AbstractContextManager[Reporter]:
    """``progress`` if given; else progress lines on stderr unless ``quiet``."""
    if progress is not None:
        return activate(progress)
    return activate(Silent()) if quiet else ticking(to_stderr)
