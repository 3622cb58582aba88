"""Data-quality checks over the warehouse, in the spirit of dbt's tests.

Every check is a query for offending rows on one table; it passes when there are none. Most come
from the model (:mod:`sparkify_dagster.warehouse.model`): each table's key is unique and not null,
each ``references`` points at an existing row, each ``accepted`` column holds only its values.
The rest reconcile what was loaded: for each staging table, records read = staged + rejected; one
songplay per staged NextSong event; one time row per distinct play start time.

A check of a table partitioned by day (``staging_events``, ``songplays``, ``time``) also knows how
to look at some days only (its ``day_sql``): a run of one day then checks that day's rows, not the
whole history, and stays exact for what it says of them (each rule below says why). Rows of other
days are not looked at: a run of every day, or of no partition, checks them. A NULL in the column
by which a row's day is found belongs to no day, so the ``not_null`` checks always read the whole
table (one column: cheap).

In Dagster each check is an asset check on its table (:mod:`sparkify_dagster.checks`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sparkify_dagster.warehouse.days import EVERY_DAY, Days
from sparkify_dagster.warehouse.engines import Warehouse, quote
from sparkify_dagster.warehouse.model import (
    LOAD_ERRORS,
    LOAD_MANIFEST,
    LOG_FILES,
    SONGPLAYS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TABLES,
    TIME,
    Table,
    table,
)

SAMPLE_ROWS = 5
# Where a day_sql names the bounds of its days; each is bound as a parameter where it stands.
DAY_BOUND = re.compile(r"\{(first_day|last_day|first_id|last_id)\}")
DAY_FILES = (
    f"SELECT source_file FROM {quote(LOG_FILES.name)} "
    "WHERE log_day BETWEEN {first_day} AND {last_day}"
)
DAY_IDS = "BETWEEN {first_id} AND {last_id}"
# The rows of some days, by table: the column that places a row in a day, and the condition on
# it. A staged event is of its log's day (log_files); a play, of the day its id begins with; a
# time row, of the days of the plays that start then.
ROWS_OF_DAYS: dict[str, tuple[str, str]] = {
    STAGING_EVENTS.name: ("source_file", f"IN ({DAY_FILES})"),
    SONGPLAYS.name: ("songplay_id", DAY_IDS),
    TIME.name: (
        "start_time",
        f"IN (SELECT start_time FROM {quote(SONGPLAYS.name)} WHERE songplay_id {DAY_IDS})",
    ),
}


@dataclass(frozen=True)
class Check:
    """One rule about one table, as a query for the rows that break it."""

    table: str
    name: str  # an identifier, unique per table: the asset check's name in Dagster
    rule: str  # unique, not_null, references, accepted or reconciliation
    description: str
    sql: str  # selects the offending rows
    depends_on: tuple[str, ...] = ()  # other tables the check reads
    # The offending rows of some days only, their bounds written {first_day} … {last_id};
    # None: the check always reads the whole table.
    day_sql: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CheckResult:
    check: Check
    failures: int
    sample: list[tuple[object, ...]]  # the first offending rows
    columns: list[str]  # the names of the sample's columns
    days: Days = EVERY_DAY  # the days whose rows were checked

    @property
    def passed(self) -> bool:
        return self.failures == 0


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def of_days(t: Table, alias: str | None = None) -> str | None:
    """The condition that keeps the rows of some days of ``t``; None when ``t`` is not by day.

    >>> of_days(table("songplays"), "p")
    'p."songplay_id" BETWEEN {first_id} AND {last_id}'
    """
    if t.name not in ROWS_OF_DAYS:
        return None
    column, condition = ROWS_OF_DAYS[t.name]
    return f"{alias + '.' if alias else ''}{quote(column)} {condition}"


def key_checks(t: Table) -> list[Check]:
    if not t.key:
        return []
    columns = ", ".join(map(quote, t.key))
    days = of_days(t)
    # Exact for some days: copies of a key are rows of one day. A staged event's key holds its
    # file, which is one day's log; a play's id begins with its day; a time row's key is the
    # start time by which its days are found.
    checks = [
        Check(
            t.name,
            f"{'_'.join(t.key)}_unique",
            "unique",
            f"{t.name}: {' + '.join(t.key)} is unique",
            f"SELECT {columns}, COUNT(*) AS copies FROM {quote(t.name)} "
            f"GROUP BY {columns} HAVING COUNT(*) > 1",
            day_sql=days
            and (
                f"SELECT {columns}, COUNT(*) AS copies FROM {quote(t.name)} WHERE {days} "
                f"GROUP BY {columns} HAVING COUNT(*) > 1"
            ),
        )
    ]
    for name in t.key:
        if not t.column(name).nullable:
            checks.append(
                Check(
                    t.name,
                    f"{name}_not_null",
                    "not_null",
                    f"{t.name}: {name} is not null",
                    f"SELECT * FROM {quote(t.name)} WHERE {quote(name)} IS NULL",
                )
            )
    return checks


def reference_checks(t: Table) -> list[Check]:
    # An outer join, not NOT EXISTS: DuckDB ran NOT EXISTS as a join that carried every column
    # of the child rows, several times slower; PostgreSQL plans both alike.
    checks = []
    days = of_days(t, "child")
    for column in t.columns:
        if column.references is None:
            continue
        parent_name, parent_column = column.references.split(".")
        parent = table(parent_name)
        sql = (
            f"SELECT child.* FROM {quote(t.name)} AS child "
            f"LEFT JOIN {quote(parent.name)} AS parent "
            f"ON parent.{quote(parent_column)} = child.{quote(column.name)} "
            f"WHERE child.{quote(column.name)} IS NOT NULL "
            f"AND parent.{quote(parent_column)} IS NULL"
        )
        checks.append(
            Check(
                t.name,
                f"{column.name}_in_{parent.name}",
                "references",
                f"{t.name}: every {column.name} exists in {parent.name}",
                sql,
                depends_on=(parent.name,),
                day_sql=days and f"{sql} AND {days}",  # the days' rows, each looked up whole
            )
        )
    return checks


def accepted_value_checks(t: Table) -> list[Check]:
    checks = []
    days = of_days(t)
    for column in t.columns:
        if not column.accepted:
            continue
        values = ", ".join(map(_sql_text, column.accepted))
        sql = (
            f"SELECT * FROM {quote(t.name)} WHERE {quote(column.name)} IS NOT NULL "
            f"AND {quote(column.name)} NOT IN ({values})"
        )
        checks.append(
            Check(
                t.name,
                f"{column.name}_accepted",
                "accepted",
                f"{t.name}: {column.name} in ({', '.join(column.accepted)}) or null",
                sql,
                day_sql=days and f"{sql} AND {days}",
            )
        )
    return checks


def _reconcile_staging_sql(t: Table, kind: str, *, days: bool) -> str:
    of_files = f" AND source_file IN ({DAY_FILES})" if days else ""
    where_files = f" WHERE source_file IN ({DAY_FILES})" if days else ""
    return (
        f"SELECT files.records, files.rejected, staged.n AS staged, errors.n AS load_errors "
        f"FROM (SELECT COALESCE(SUM(records), 0) AS records, "
        f"COALESCE(SUM(rejected), 0) AS rejected FROM {quote(LOAD_MANIFEST.name)} "
        f"WHERE kind = '{kind}'{of_files}) AS files "
        f"CROSS JOIN (SELECT COUNT(*) AS n FROM {quote(t.name)}{where_files}) AS staged "
        f"CROSS JOIN (SELECT COUNT(*) AS n FROM {quote(LOAD_ERRORS.name)} "
        f"WHERE kind = '{kind}'{of_files}) AS errors "
        f"WHERE files.records <> staged.n + files.rejected OR errors.n <> files.rejected"
    )


def staging_reconciliation(t: Table, kind: str) -> Check:
    """Records read (the manifest) = rows staged + records rejected (also in ``load_errors``).

    For some days (event logs): the same sums over the logs of those days, each log being one
    day's (``log_files``, filled for every log staged, rejected or not).
    """
    return Check(
        t.name,
        "records_reconcile",
        "reconciliation",
        f"{t.name}: records read = staged + rejected",
        _reconcile_staging_sql(t, kind, days=False),
        depends_on=(LOAD_MANIFEST.name, LOAD_ERRORS.name),
        day_sql=_reconcile_staging_sql(t, kind, days=True) if t.name in ROWS_OF_DAYS else None,
    )


def _plays_sql(*, days: bool) -> str:
    plays = f" WHERE songplay_id {DAY_IDS}" if days else ""
    events = f" AND source_file IN ({DAY_FILES})" if days else ""
    return (
        f"SELECT plays.n AS songplays, events.n AS nextsong_events "
        f"FROM (SELECT COUNT(*) AS n FROM {quote(SONGPLAYS.name)}{plays}) AS plays "
        f"CROSS JOIN (SELECT COUNT(*) AS n FROM {quote(STAGING_EVENTS.name)} "
        f"WHERE page = 'NextSong'{events}) AS events WHERE plays.n <> events.n"
    )


def _times_sql(*, days: bool) -> str:
    if days:
        # Each distinct start time of the days' plays, unless it has exactly one time row. A
        # time row no play starts at any more belongs to no day; a run of every day finds it.
        # Grouped, not COUNT(DISTINCT): DuckDB spills a grouping to disk, not a distinct count
        # (a month of plays at 10M events ran out of its memory limit).
        return (
            f"SELECT plays.start_time, COUNT(t.start_time) AS time_rows "
            f"FROM (SELECT start_time FROM {quote(SONGPLAYS.name)} WHERE songplay_id {DAY_IDS} "
            f"GROUP BY start_time) AS plays "
            f"LEFT JOIN {quote(TIME.name)} AS t ON t.start_time = plays.start_time "
            f"GROUP BY plays.start_time HAVING COUNT(t.start_time) <> 1"
        )
    return (
        f"SELECT times.n AS time_rows, plays.n AS distinct_start_times "
        f"FROM (SELECT COUNT(*) AS n FROM {quote(TIME.name)}) AS times "
        f"CROSS JOIN (SELECT COUNT(DISTINCT start_time) AS n FROM {quote(SONGPLAYS.name)}"
        f") AS plays WHERE times.n <> plays.n"
    )


RECONCILIATIONS: tuple[Check, ...] = (
    staging_reconciliation(STAGING_SONGS, "songs"),
    staging_reconciliation(STAGING_EVENTS, "events"),
    Check(
        SONGPLAYS.name,
        "one_per_nextsong_event",
        "reconciliation",
        "songplays: one row per staged NextSong event",
        _plays_sql(days=False),
        depends_on=(STAGING_EVENTS.name,),
        # a day's plays are the NextSong events of that day's logs, numbered in that day
        day_sql=_plays_sql(days=True),
    ),
    Check(
        TIME.name,
        "one_per_start_time",
        "reconciliation",
        "time: one row per distinct songplay start_time",
        _times_sql(days=False),
        depends_on=(SONGPLAYS.name,),
        day_sql=_times_sql(days=True),
    ),
)


def checks() -> list[Check]:
    """Every check, derived from the model, in table order, then the reconciliations."""
    found: list[Check] = []
    for t in TABLES:
        found += key_checks(t) + reference_checks(t) + accepted_value_checks(t)
    return [*found, *RECONCILIATIONS]


def checks_for(engine: type[Warehouse]) -> list[Check]:
    """The checks that hold on ``engine``: a staging that keeps no manifest of files read
    (Redshift's COPY) leaves its staging tables nothing to reconcile against."""
    if engine.staging.keeps_manifest:
        return checks()
    return [check for check in checks() if LOAD_MANIFEST.name not in check.depends_on]


def bind(sql: str, days: Days, placeholder: str) -> tuple[str, list[Any]]:
    """``sql`` with each bound of ``days`` it names as a parameter, and their values in order.

    >>> bind("x BETWEEN {first_day} AND {last_day}", Days("2018-11-05", "2018-11-06"), "?")
    ('x BETWEEN ? AND ?', ['2018-11-05', '2018-11-06'])
    """
    values: dict[str, Any] = {
        "first_day": days.first,
        "last_day": days.last,
        "first_id": days.ids[0],
        "last_id": days.ids[1],
    }
    params: list[Any] = []

    def parameter(match: re.Match[str]) -> str:
        params.append(values[match.group(1)])
        return placeholder

    return DAY_BOUND.sub(parameter, sql), params


def offending_sql(check: Check, days: Days = EVERY_DAY) -> str:
    """The query for the rows breaking ``check`` in ``days``, their bounds still unbound."""
    if days.every or check.day_sql is None:
        return check.sql
    return check.day_sql


def scope(check: Check, days: Days) -> Days:
    """The days ``check`` looks at when a run is for ``days``: every day unless it can look
    at some only."""
    return EVERY_DAY if check.day_sql is None else days


def count_sql(check: Check, days: Days = EVERY_DAY) -> str:
    """The statement that counts the rows breaking ``check`` (in ``days``)."""
    return f"SELECT COUNT(*) FROM ({offending_sql(check, days)}) AS failures"


def sample_sql(check: Check, days: Days = EVERY_DAY) -> str:
    """The statement that fetches the first rows breaking ``check`` (in ``days``), once some do."""
    return f"SELECT * FROM ({offending_sql(check, days)}) AS failures LIMIT {SAMPLE_ROWS}"


def run_check(warehouse: Warehouse, check: Check, days: Days = EVERY_DAY) -> CheckResult:
    """Run one check on the rows of ``days`` (those it can look at by day; by default every
    row); the result carries the count, a few offending rows and the days looked at."""
    days = scope(check, days)
    placeholder = warehouse.dialect.placeholder
    count, params = bind(count_sql(check, days), days, placeholder)
    ((failures,),) = warehouse.query(count, params)
    if not failures:
        return CheckResult(check, 0, [], [], days)
    sample, params = bind(sample_sql(check, days), days, placeholder)
    columns, rows = warehouse.query_with_columns(sample, params)
    return CheckResult(check, int(failures), rows, columns, days)


def run_checks(warehouse: Warehouse, selected: list[Check] | None = None) -> list[CheckResult]:
    """Run every check (or those ``selected``) over whole tables."""
    return [run_check(warehouse, check) for check in (checks() if selected is None else selected)]
