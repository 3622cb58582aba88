"""Asset checks: the warehouse's data-quality checks, each on the asset it tests.

They stand in for the classic ``analyze_tables.py``: every table has a ``row_count`` check that
carries the count, plus the checks of :mod:`sparkify_dagster.warehouse.quality` (keys unique and
not null, references, accepted values, reconciliation). One op per table runs its checks over one
connection. Checks on the staging tables block: a bad load never reaches the star tables.

A run of some days (``--partition``, ``--partition-range``, a backfill) checks the rows of those
days in the tables partitioned by day (``staging_events``, ``songplays``, ``time``), each check
exact for those days (:mod:`sparkify_dagster.warehouse.quality` says why); a run of no partition
checks whole tables, and so does a run of every day of the partitions. Each result's ``days``
says which days it looked at. The days come from the run's tags (its partition key, or its
range) rather than from a ``partitions_def`` on the checks' specs: Dagster 1.13 marks those a
preview "not ready for production use" (a warning on every load), and tried on this graph they
gave nothing more: the check's context holds the same range either way, and a range run's
evaluation is recorded with no partition.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from sparkify_dagster.catalog import POOL
from sparkify_dagster.failures import reported
from sparkify_dagster.metadata import markdown_table
from sparkify_dagster.partitions import LOG_DAYS, run_days
from sparkify_dagster.resources import WarehouseResource
from sparkify_dagster.warehouse.days import EVERY_DAY, Days
from sparkify_dagster.warehouse.engines import Warehouse
from sparkify_dagster.warehouse.model import STAGING_TABLES, STAR_TABLES, Table
from sparkify_dagster.warehouse.quality import Check, CheckResult, checks, checks_for, run_check

ASSET_TABLES = {table.name for table in (*STAGING_TABLES, *STAR_TABLES)}
ROW_COUNT = "row_count"


def evidence(result: CheckResult) -> dict[str, Any]:
    """What a check found: how many rows break it, the first of them, and the days it looked
    at (``every day``: the whole table)."""
    metadata: dict[str, Any] = {"offending_rows": result.failures, "days": str(result.days)}
    if result.sample:
        metadata["sample"] = markdown_table(result.columns, result.sample)
    return metadata


def checked_days(days: Days) -> Days:
    """The days a run for ``days`` checks: those, or every day when they hold every day of the
    partitions (a backfill of all of them), whose rows whole tables give at less cost than
    picking them out."""
    first, last = LOG_DAYS.get_first_partition_key(), LOG_DAYS.get_last_partition_key()
    if first is not None and last is not None and days.first <= first and last <= days.last:
        return EVERY_DAY
    return days


def spec(table: Table, check: Check, *, blocking: bool) -> AssetCheckSpec:
    others = [name for name in check.depends_on if name in ASSET_TABLES and name != table.name]
    return AssetCheckSpec(
        check.name,
        asset=table.name,
        description=check.description,
        blocking=blocking,
        additional_deps=[AssetKey(name) for name in others],
        metadata={"query": MetadataValue.md(f"```sql\n{check.sql}\n```")},
    )


def check_result(
    connection: Warehouse, key: AssetKey, check: Check, *, holds: bool, days: Days = EVERY_DAY
) -> AssetCheckResult:
    """``check`` run on ``connection`` for the rows of ``days``, with its evidence; one that
    does not hold on its engine passes and says so."""
    if not holds:
        reason = f"does not apply on {connection.name}: its staging keeps no manifest of files"
        return AssetCheckResult(
            asset_key=key, check_name=check.name, passed=True, metadata={"skipped": reason}
        )
    result = run_check(connection, check, days)
    return AssetCheckResult(
        asset_key=key,
        check_name=check.name,
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR,
        metadata=evidence(result),
    )


def table_checks(table: Table) -> AssetChecksDefinition:
    """One op with every check of ``table``: its row count and the warehouse's checks.

    The checks are the same whatever the target; one that does not hold on the engine a run
    writes (Redshift's COPY keeps no manifest to reconcile against) passes and says why.
    """
    found = [check for check in checks() if check.table == table.name]
    blocking = table.kind == "staging"
    row_count = AssetCheckSpec(
        ROW_COUNT,
        asset=table.name,
        description=f"{table.name} has rows (a warning when empty); the count is its metadata.",
    )

    @multi_asset_check(
        name=f"{table.name}_checks",
        description=f"Runs the selected checks of {table.name} over one warehouse connection.",
        specs=[row_count, *(spec(table, check, blocking=blocking) for check in found)],
        can_subset=True,
        pool=POOL,  # a DuckDB file opens in one process at a time, even to read
    )
    def _checks(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[AssetCheckResult]:
        selected = context.selected_asset_check_keys
        key = AssetKey(table.name)
        days = checked_days(run_days(context))
        with reported(), warehouse.connect() as connection:
            if AssetCheckKey(key, ROW_COUNT) in selected:
                rows = connection.count(table)
                yield AssetCheckResult(
                    asset_key=key,
                    check_name=ROW_COUNT,
                    passed=rows > 0,
                    severity=AssetCheckSeverity.WARN,
                    metadata={"rows": rows},
                )
            applicable = checks_for(type(connection))
            for check in found:
                if AssetCheckKey(key, check.name) in selected:
                    holds = check in applicable
                    yield check_result(connection, key, check, holds=holds, days=days)

    return _checks


TABLE_CHECKS = [table_checks(table) for table in (*STAGING_TABLES, *STAR_TABLES)]
