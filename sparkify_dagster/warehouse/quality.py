"""Data-quality checks over the warehouse, in the spirit of dbt's tests.

Every check is a query for offending rows on one table; it passes when there are none. Most come
from the model (:mod:`sparkify_dagster.warehouse.model`): each table's key is unique and not null,
each ``references`` points at an existing row, each ``accepted`` column holds only its values.
The rest reconcile what was loaded: for each staging table, records read = staged + rejected; one
songplay per staged NextSong event; one time row per distinct play start time.

In Dagster each check is an asset check on its table (:mod:`sparkify_dagster.checks`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkify_dagster.warehouse.engines import Warehouse, quote
from sparkify_dagster.warehouse.model import (
    LOAD_ERRORS,
    LOAD_MANIFEST,
    SONGPLAYS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TABLES,
    TIME,
    Table,
    table,
)

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Check:
    """One rule about one table, as a query for the rows that break it."""

    table: str
    name: str  # an identifier, unique per table: the asset check's name in Dagster
    rule: str  # unique, not_null, references, accepted or reconciliation
    description: str
    sql: str  # selects the offending rows
    depends_on: tuple[str, ...] = ()  # other tables the check reads


@dataclass(frozen=True)
class CheckResult:
    check: Check
    failures: int
    sample: list[tuple[object, ...]]  # the first offending rows
    columns: list[str]  # the names of the sample's columns

    @property
    def passed(self) -> bool:
        return self.failures == 0


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def key_checks(t: Table) -> list[Check]:
    if not t.key:
        return []
    columns = ", ".join(map(quote, t.key))
    checks = [
        Check(
            t.name,
            f"{'_'.join(t.key)}_unique",
            "unique",
            f"{t.name}: {' + '.join(t.key)} is unique",
            f"SELECT {columns}, COUNT(*) AS copies FROM {quote(t.name)} "
            f"GROUP BY {columns} HAVING COUNT(*) > 1",
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
    for column in t.columns:
        if column.references is None:
            continue
        parent_name, parent_column = column.references.split(".")
        parent = table(parent_name)
        checks.append(
            Check(
                t.name,
                f"{column.name}_in_{parent.name}",
                "references",
                f"{t.name}: every {column.name} exists in {parent.name}",
                f"SELECT child.* FROM {quote(t.name)} AS child "
                f"LEFT JOIN {quote(parent.name)} AS parent "
                f"ON parent.{quote(parent_column)} = child.{quote(column.name)} "
                f"WHERE child.{quote(column.name)} IS NOT NULL "
                f"AND parent.{quote(parent_column)} IS NULL",
                depends_on=(parent.name,),
            )
        )
    return checks


def accepted_value_checks(t: Table) -> list[Check]:
    checks = []
    for column in t.columns:
        if not column.accepted:
            continue
        values = ", ".join(map(_sql_text, column.accepted))
        checks.append(
            Check(
                t.name,
                f"{column.name}_accepted",
                "accepted",
                f"{t.name}: {column.name} in ({', '.join(column.accepted)}) or null",
                f"SELECT * FROM {quote(t.name)} WHERE {quote(column.name)} IS NOT NULL "
                f"AND {quote(column.name)} NOT IN ({values})",
            )
        )
    return checks


def staging_reconciliation(t: Table, kind: str) -> Check:
    """Records read (the manifest) = rows staged + records rejected (also in ``load_errors``)."""
    return Check(
        t.name,
        "records_reconcile",
        "reconciliation",
        f"{t.name}: records read = staged + rejected",
        f"SELECT files.records, files.rejected, staged.n AS staged, errors.n AS load_errors "
        f"FROM (SELECT COALESCE(SUM(records), 0) AS records, "
        f"COALESCE(SUM(rejected), 0) AS rejected FROM {quote(LOAD_MANIFEST.name)} "
        f"WHERE kind = '{kind}') AS files "
        f"CROSS JOIN (SELECT COUNT(*) AS n FROM {quote(t.name)}) AS staged "
        f"CROSS JOIN (SELECT COUNT(*) AS n FROM {quote(LOAD_ERRORS.name)} "
        f"WHERE kind = '{kind}') AS errors "
        f"WHERE files.records <> staged.n + files.rejected OR errors.n <> files.rejected",
        depends_on=(LOAD_MANIFEST.name, LOAD_ERRORS.name),
    )


RECONCILIATIONS: tuple[Check, ...] = (
    staging_reconciliation(STAGING_SONGS, "songs"),
    staging_reconciliation(STAGING_EVENTS, "events"),
    Check(
        SONGPLAYS.name,
        "one_per_nextsong_event",
        "reconciliation",
        "songplays: one row per staged NextSong event",
        f"SELECT plays.n AS songplays, events.n AS nextsong_events "
        f"FROM (SELECT COUNT(*) AS n FROM {quote(SONGPLAYS.name)}) AS plays "
        f"CROSS JOIN (SELECT COUNT(*) AS n FROM {quote(STAGING_EVENTS.name)} "
        f"WHERE page = 'NextSong') AS events WHERE plays.n <> events.n",
        depends_on=(STAGING_EVENTS.name,),
    ),
    Check(
        TIME.name,
        "one_per_start_time",
        "reconciliation",
        "time: one row per distinct songplay start_time",
        f"SELECT times.n AS time_rows, plays.n AS distinct_start_times "
        f"FROM (SELECT COUNT(*) AS n FROM {quote(TIME.name)}) AS times "
        f"CROSS JOIN (SELECT COUNT(DISTINCT start_time) AS n FROM {quote(SONGPLAYS.name)}) "
        f"AS plays WHERE times.n <> plays.n",
        depends_on=(SONGPLAYS.name,),
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


def count_sql(check: Check) -> str:
    """The statement that counts the rows breaking ``check``."""
    return f"SELECT COUNT(*) FROM ({check.sql}) AS failures"


def sample_sql(check: Check) -> str:
    """The statement that fetches the first rows breaking ``check``, once some do."""
    return f"SELECT * FROM ({check.sql}) AS failures LIMIT {SAMPLE_ROWS}"


def run_check(warehouse: Warehouse, check: Check) -> CheckResult:
    """Run one check; the result carries the count and a few offending rows."""
    ((failures,),) = warehouse.query(count_sql(check))
    if not failures:
        return CheckResult(check, 0, [], [])
    columns, sample = warehouse.query_with_columns(sample_sql(check))
    return CheckResult(check, int(failures), sample, columns)


def run_checks(warehouse: Warehouse, selected: list[Check] | None = None) -> list[CheckResult]:
    """Run every check (or those ``selected``)."""
    return [run_check(warehouse, check) for check in (checks() if selected is None else selected)]
