"""Transform: the star schema from the staging tables, inside the warehouse.

What follows one day's events is built day by day: ``songplays`` for a range of days replaces
those days' plays (their ids are a range, :mod:`~sparkify_dagster.warehouse.days`), and ``time``
adds the start times of those plays and drops those no play has any more (``times_pending``).
``users`` is whole, but rebuilt only for the users whose events changed (``users_pending``,
filled by staging). ``songs`` and ``artists`` are rebuilt from the catalogue; when the catalogue
changes, ``songs`` also re-matches the plays of the days holding a play whose match moved
(``song_matches``), with their time rows. After any sequence of these, every table equals what
one clean build over the staged records gives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from sparkify_dagster.core.progress import Reporter, Silent
from sparkify_dagster.warehouse.days import EVERY_DAY, ID_SPAN, Days, day_of_id
from sparkify_dagster.warehouse.engines import Dialect, Warehouse
from sparkify_dagster.warehouse.engines.base import quote
from sparkify_dagster.warehouse.model import (
    SONG_MATCHES,
    SONGPLAYS,
    SONGS,
    STAGING_TABLE_OF_KIND,
    STAR_TABLES,
    TIME,
    TIMES_PENDING,
    USERS,
    USERS_PENDING,
    Table,
    upstream,
)


def build_order(tables: Sequence[Table] = STAR_TABLES) -> tuple[Table, ...]:
    """``tables`` in an order that builds each after its :func:`upstream` tables.

    Each is built as soon as its inputs are ready, the staging tables ready in the order a run
    stages them (:data:`STAGING_TABLE_OF_KIND`); among several, first the one whose inputs were
    ready first, then the one with fewer inputs, then the first in ``tables``.
    """
    ready = {staged.name: rank for rank, staged in enumerate(STAGING_TABLE_OF_KIND.values())}
    pending = list(tables)
    order: list[Table] = []
    while pending:
        buildable = [t for t in pending if all(name in ready for name in upstream(t))]
        if not buildable:
            names = ", ".join(t.name for t in pending)
            raise ValueError(f"{names}: built from each other or from no known table")
        chosen = min(
            buildable,
            key=lambda t: (
                max((ready[name] for name in upstream(t)), default=-1),
                len(upstream(t)),
                pending.index(t),
            ),
        )
        ready[chosen.name] = len(ready)
        order.append(chosen)
        pending.remove(chosen)
    return tuple(order)


# Each star table after the tables it is built from (time after songplays), from the model.
BUILD_ORDER: tuple[Table, ...] = build_order()
Statement = tuple[str, Sequence[Any]]
ID_SPAN_SQL = str(ID_SPAN)
# The first id of each day that has plays.
BUILT_DAYS_SQL = (
    f"SELECT DISTINCT CAST(LEFT(CAST(songplay_id AS VARCHAR(20)), 8) AS BIGINT) * {ID_SPAN_SQL} "
    f"FROM {quote(SONGPLAYS.name)}"
)


def songplays_statements(dialect: Dialect, days: Days) -> list[Statement]:
    """Replace the plays of ``days``; the start times of the plays replaced wait for ``time``."""
    p = dialect.placeholder
    ids = f"songplay_id BETWEEN {p} AND {p}"
    return [
        (
            f"INSERT INTO {quote(TIMES_PENDING.name)} (start_time) "
            f"SELECT DISTINCT start_time FROM {quote(SONGPLAYS.name)} WHERE {ids}",
            days.ids,
        ),
        (f"DELETE FROM {quote(SONGPLAYS.name)} WHERE {ids}", days.ids),
        (dialect.render("songplays.sql"), days.bounds),
    ]


def time_statements(dialect: Dialect, days: Days, *, orphans: bool = True) -> list[Statement]:
    """The time rows of the plays of ``days``: every row when ``days`` is every day; else the
    rows their plays lack, after dropping (with ``orphans``) the rows no play has any more."""
    pending = quote(TIMES_PENDING.name)
    if days.every:
        return [
            (dialect.clear_sql(TIME), ()),
            (dialect.render("time.sql", days=False), ()),
            (dialect.clear_sql(TIMES_PENDING), ()),
        ]
    statements: list[Statement] = []
    if orphans:  # only the plays within the pending times' span are looked at: a day's, not all
        ends = [f"(SELECT {end}(start_time) FROM {pending})" for end in ("MIN", "MAX")]
        span = " AND ".join(ends)
        statements.append(
            (
                f"DELETE FROM {quote(TIME.name)} WHERE start_time IN (SELECT r.start_time FROM "
                f"{pending} AS r WHERE NOT EXISTS (SELECT 1 FROM {quote(SONGPLAYS.name)} AS p "
                f"WHERE p.start_time = r.start_time AND p.start_time BETWEEN {span}))",
                (),
            )
        )
    statements += [
        (dialect.render("time.sql", days=True), days.ids * 3),  # the plays, their span's ends
        (dialect.clear_sql(TIMES_PENDING), ()),
    ]
    return statements


def users_statements(dialect: Dialect, *, pending: bool) -> list[Statement]:
    """Every user again, or (``pending``) only the users whose events changed."""
    if not pending:
        first = [(dialect.clear_sql(USERS), ())]
    else:
        first = [
            (
                f"DELETE FROM {quote(USERS.name)} WHERE user_id IN "
                f"(SELECT user_id FROM {quote(USERS_PENDING.name)})",
                (),
            )
        ]
    return [
        *first,
        (dialect.render("users.sql", pending=pending), ()),
        (dialect.clear_sql(USERS_PENDING), ()),
    ]


def rebuild_statements(dialect: Dialect, table: Table) -> list[Statement]:
    """The statements that rebuild a whole table from staging: empty it, then fill it."""
    return [(dialect.clear_sql(table), ()), (dialect.render(f"{table.name}.sql"), ())]


def song_matches_statements(dialect: Dialect) -> list[Statement]:
    return rebuild_statements(dialect, SONG_MATCHES)


def statements(dialect: Dialect) -> list[str]:
    """Every statement of one whole build of the star schema, in order, in ``dialect``."""
    found: list[Statement] = []
    for table in BUILD_ORDER:
        found += table_statements(dialect, table, EVERY_DAY)
    return [sql for sql, _ in found]


def day_statements(dialect: Dialect, days: Days) -> list[str]:
    """Every statement a run for ``days`` may send to build the star, in order: the plays, their
    time rows, the users whose events changed; and those ``songs`` sends to find the days it
    re-matches. Shown by plans and pinned by golden files."""
    found = [
        *songplays_statements(dialect, days),
        *time_statements(dialect, days),
        *users_statements(dialect, pending=True),
    ]
    rematch = [BUILT_DAYS_SQL, dialect.render("rematch_days.sql")]
    return [sql for sql, _ in found] + rematch


def table_statements(dialect: Dialect, table: Table, days: Days) -> list[Statement]:
    """The statements that build ``table`` for ``days`` (the whole table when not by day)."""
    if table is SONGPLAYS:
        return songplays_statements(dialect, days)
    if table is TIME:
        return time_statements(dialect, days)
    if table is USERS:
        return users_statements(dialect, pending=not days.every)
    if table is SONGS:
        return rebuild_statements(dialect, SONGS) + song_matches_statements(dialect)
    return rebuild_statements(dialect, table)


def build_star(warehouse: Warehouse, reporter: Reporter | None = None) -> None:
    """Build every star table whole; call it inside the run's transaction."""
    reporter = reporter or Silent()
    reporter.start("building star", len(BUILD_ORDER), unit="tables")
    for table in BUILD_ORDER:
        build_table(warehouse, table, EVERY_DAY, rematch=False)  # every play is built after
        reporter.advance(files=1)


def build_table(
    warehouse: Warehouse, table: Table, days: Days | None = None, *, rematch: bool = True
) -> int:
    """Build ``table`` (call it inside a transaction); its row count.

    ``songplays`` and ``time`` are built for ``days``; ``users`` for the users whose events
    changed, or every user when ``days`` is every day; building ``songs`` re-matches the plays
    already built (unless not ``rematch``).
    """
    dialect = warehouse.dialect
    if table is USERS:
        whole = (days is not None and days.every) or warehouse.count(USERS) == 0
        _execute(warehouse, users_statements(dialect, pending=not whole))
        return warehouse.count(table)
    days = days or EVERY_DAY
    if table is SONGS:
        rematched = _rematch_days(warehouse) if rematch else []
        _execute(warehouse, rebuild_statements(dialect, SONGS))
        _execute(warehouse, song_matches_statements(dialect))
        for run in _runs(rematched):  # with their time rows: their staging may be newer
            _execute(warehouse, songplays_statements(dialect, run))
            _execute(warehouse, time_statements(dialect, run))
    elif table is TIME and not days.every:
        orphans = warehouse.count(TIMES_PENDING) > 0
        _execute(warehouse, time_statements(dialect, days, orphans=orphans))
    else:
        _execute(warehouse, table_statements(dialect, table, days))
    return warehouse.count(table)


def _execute(warehouse: Warehouse, found: list[Statement]) -> None:
    for sql, params in found:
        warehouse.execute(sql, params)


def _rematch_days(warehouse: Warehouse) -> list[str]:
    """The days whose plays a change of the catalogue re-matches: those holding a play whose
    match moves, among the days that have plays (the others match when they are built)."""
    if warehouse.count(SONGPLAYS) == 0:
        return []
    built = {day_of_id(int(first)) for (first,) in warehouse.query(BUILT_DAYS_SQL)}
    moved = [day for (day,) in warehouse.query(warehouse.render("rematch_days.sql"))]
    return [day for day in moved if day in built]


def _runs(days: list[str]) -> Iterator[Days]:
    """``days`` (in order) as ranges of consecutive days, each replaced in one go."""
    run: list[str] = []
    for day in days:
        if run and date.fromisoformat(day) - date.fromisoformat(run[-1]) != timedelta(days=1):
            yield Days(run[0], run[-1])
            run = []
        run.append(day)
    if run:
        yield Days(run[0], run[-1])
