"""Check: data-quality tests over the warehouse, in the spirit of dbt's.

Every check is a query for offending rows; it passes when there are none. The checks come from
the model (:mod:`sparkify.model`): each table's key is unique and not null, each ``references``
points at an existing row, each ``accepted`` column holds only its values; plus reconciliation:
one songplay per staged NextSong event.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkify.model import SONGPLAYS, STAGING_EVENTS, TABLES, Table, table
from sparkify.warehouses import Warehouse, quote

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Check:
    name: str
    sql: str  # selects the offending rows


@dataclass(frozen=True)
class CheckResult:
    check: Check
    failures: int
    sample: list[tuple[object, ...]]

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
            f"{t.name}: {' + '.join(t.key)} is unique",
            f"SELECT {columns}, COUNT(*) AS copies FROM {quote(t.name)} "
            f"GROUP BY {columns} HAVING COUNT(*) > 1",
        )
    ]
    for name in t.key:
        if not t.column(name).nullable:
            checks.append(
                Check(
                    f"{t.name}: {name} is not null",
                    f"SELECT * FROM {quote(t.name)} WHERE {quote(name)} IS NULL",
                )
            )
    return checks


def reference_checks(t: Table) -> list[Check]:
    checks = []
    for column in t.columns:
        if column.references is None:
            continue
        parent_name, parent_column = column.references.split(".")
        parent = table(parent_name)
        checks.append(
            Check(
                f"{t.name}: every {column.name} exists in {parent.name}",
                f"SELECT child.* FROM {quote(t.name)} AS child "
                f"WHERE child.{quote(column.name)} IS NOT NULL AND NOT EXISTS ("
                f"SELECT 1 FROM {quote(parent.name)} AS parent "
                f"WHERE parent.{quote(parent_column)} = child.{quote(column.name)})",
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
                f"{t.name}: {column.name} in ({', '.join(column.accepted)}) or null",
                f"SELECT * FROM {quote(t.name)} WHERE {quote(column.name)} IS NOT NULL "
                f"AND {quote(column.name)} NOT IN ({values})",
            )
        )
    return checks


RECONCILIATION = Check(
    "songplays: one row per staged NextSong event",
    f"SELECT plays.n AS songplays, events.n AS nextsong_events "
    f"FROM (SELECT COUNT(*) AS n FROM {quote(SONGPLAYS.name)}) AS plays "
    f"CROSS JOIN (SELECT COUNT(*) AS n FROM {quote(STAGING_EVENTS.name)} "
    f"WHERE page = 'NextSong') AS events WHERE plays.n <> events.n",
)


def checks() -> list[Check]:
    """Every check, derived from the model, in table order."""
    found: list[Check] = []
    for t in TABLES:
        found += key_checks(t) + reference_checks(t) + accepted_value_checks(t)
    return [*found, RECONCILIATION]


def run_checks(warehouse: Warehouse) -> list[CheckResult]:
    """Run every check; each result carries the count and a few offending rows."""
    results = []
    for check in checks():
        ((failures,),) = warehouse.query(f"SELECT COUNT(*) FROM ({check.sql}) AS failures")
        sample = (
            warehouse.query(f"SELECT * FROM ({check.sql}) AS failures LIMIT {SAMPLE_ROWS}")
            if failures
            else []
        )
        results.append(CheckResult(check, int(failures), sample))
    return results
