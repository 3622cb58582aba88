"""The tables a run needs, created when missing, and a warehouse built by an earlier release
brought up to date on its first run.

Earlier releases numbered the plays 1, 2, 3 … over the whole history and kept no record of each
log's day or of the catalogue's matches. On the first run of this release those records are
filled from what staging holds (nothing is read again from the sources), and the plays and their
time rows, numbered the old way, are dropped: each day's plays come back, numbered by day, when
the day is materialized (a backfill of every day rebuilds them all).
"""

from __future__ import annotations

from sparkify_dagster.core.errors import WarehouseError
from sparkify_dagster.ingest.days import NAMING, log_day
from sparkify_dagster.warehouse.days import FIRST_DAY_ID
from sparkify_dagster.warehouse.engines import Warehouse
from sparkify_dagster.warehouse.engines.base import quote
from sparkify_dagster.warehouse.model import (
    LOG_FILES,
    SONG_MATCHES,
    SONGPLAYS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TABLES,
    TIME,
)
from sparkify_dagster.warehouse.transform import song_matches_statements


def prepare(warehouse: Warehouse) -> None:
    """Create the missing tables, and upgrade a warehouse an earlier release built (call it
    inside the run's transaction).

    Once a call finds every table there and up to date, the connection is
    :attr:`~sparkify_dagster.warehouse.engines.Warehouse.ready` and later calls on it return at
    once: every step of a run prepares, over the run's one connection, and only the first pays
    for looking. A call that created or upgraded something looks again next time, since its
    transaction may yet roll back.
    """
    if warehouse.ready:
        return
    existing = warehouse.table_names()
    missing = [table for table in TABLES if table.name not in existing]
    if missing:
        warehouse.create_tables(missing)
    if LOG_FILES.name not in existing and STAGING_EVENTS.name in existing:
        _record_log_days(warehouse)
    if SONG_MATCHES.name not in existing and STAGING_SONGS.name in existing:
        for sql, params in song_matches_statements(warehouse.dialect):
            warehouse.execute(sql, params)
    old_ids = SONGPLAYS.name in existing and _numbered_the_old_way(warehouse)
    if old_ids:
        for table in (SONGPLAYS, TIME):
            warehouse.execute(warehouse.dialect.clear_sql(table))
    warehouse.ready = not missing and not old_ids


def _record_log_days(warehouse: Warehouse) -> None:
    files = [
        uri
        for (uri,) in warehouse.query(
            f"SELECT DISTINCT source_file FROM {quote(STAGING_EVENTS.name)}"
        )
    ]
    nameless = [uri for uri in files if log_day(uri) is None]
    if nameless:
        raise WarehouseError(
            f"staging_events holds {nameless[0]}, which names no day ({NAMING}): rename it, "
            "then materialize staging_events with full_refresh"
        )
    warehouse.load_rows(LOG_FILES, ((uri, log_day(uri)) for uri in files))


def _numbered_the_old_way(warehouse: Warehouse) -> bool:
    ((smallest,),) = warehouse.query(f"SELECT MIN(songplay_id) FROM {quote(SONGPLAYS.name)}")
    return smallest is not None and int(smallest) < FIRST_DAY_ID
