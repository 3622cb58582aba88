"""The library's front door: ``etl``, ``create_tables`` and ``analyze``.

Each takes plain values (or a :class:`~sparkify.settings.Settings`) and returns plain results, so
that everything the CLI does can be done from Python::

    >>> import sparkify
    >>> counts = sparkify.etl(target="duckdb:///:memory:", quiet=True)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sparkify import sample
from sparkify.model import TABLES
from sparkify.progress import Reporter, reporter
from sparkify.settings import DEFAULT_TARGET, Settings
from sparkify.sources import open_source
from sparkify.stage import Staged, stage
from sparkify.transform import build_star
from sparkify.warehouses import Warehouse, connect


@dataclass(frozen=True)
class RunResult:
    """What one ETL run did: staged files and records, resulting row counts, seconds taken."""

    song_data: str
    log_data: str
    staged: list[Staged]
    counts: dict[str, int]
    seconds: float = field(compare=False)


def etl(
    settings: Settings | None = None,
    *,
    song_data: str | None = None,
    log_data: str | None = None,
    target: str | None = None,
    quiet: bool = True,
    progress: Reporter | None = None,
) -> RunResult:
    """Load song and event files into ``target`` and rebuild the star schema, in one transaction.

    Without song and log data, loads the built-in sample dataset (see :mod:`sparkify.sample`).
    Re-running on the same input gives the same warehouse; a failure leaves it as it was.
    """
    settings = settings or Settings.resolve(
        song_data=song_data, log_data=log_data, target=target, environ={}
    )
    started = time.perf_counter()
    songs_at, logs_at = settings.song_data, settings.log_data
    if songs_at is None or logs_at is None:
        songs_at, logs_at = (str(path) for path in sample.ensure())
    unsigned = settings.no_sign_request
    songs = open_source(songs_at, no_sign_request=unsigned)
    events = open_source(logs_at, no_sign_request=unsigned)
    with connect(settings.target) as warehouse:
        with _reporting(progress, quiet) as report, warehouse.transaction():
            warehouse.create_tables()
            staged = stage(warehouse, songs, events, report)
            build_star(warehouse)
        counts = table_counts(warehouse)
    return RunResult(songs_at, logs_at, staged, counts, time.perf_counter() - started)


def create_tables(target: str = DEFAULT_TARGET, *, drop: bool = False) -> list[str]:
    """Create every table the tool owns that is missing; with ``drop``, drop and recreate them."""
    with connect(target) as warehouse, warehouse.transaction():
        warehouse.create_tables(drop=drop)
    return [table.name for table in TABLES]


def analyze(target: str = DEFAULT_TARGET) -> dict[str, int]:
    """Row count of every table the tool owns (a missing table counts as an error)."""
    with connect(target) as warehouse:
        return table_counts(warehouse, require_all=True)


def table_counts(warehouse: Warehouse, *, require_all: bool = False) -> dict[str, int]:
    from sparkify.errors import WarehouseError

    existing = warehouse.table_names()
    missing = [table.name for table in TABLES if table.name not in existing]
    if missing and require_all:
        raise WarehouseError(
            f"{warehouse!r} has no table {', '.join(missing)}: run `sparkify create-tables` "
            "or `sparkify etl` first"
        )
    return {table.name: warehouse.count(table) for table in TABLES if table.name in existing}


def _reporting(progress: Reporter | None, quiet: bool):  # type: ignore[no-untyped-def]
    if progress is not None:
        from contextlib import nullcontext

        return nullcontext(progress)
    return reporter(quiet=quiet)
