"""The star schema: ``songplays`` and its dimensions ``users``, ``songs``, ``artists``, ``time``.

``songplays`` and ``time`` are partitioned by day like ``staging_events``: a run builds the plays
of its days and their time rows. ``users`` is whole, rebuilt for the users whose events changed;
``songs`` and ``artists`` are rebuilt from the catalogue, ``songs`` re-matching the plays a
change of the catalogue moves (:mod:`~sparkify_dagster.warehouse.transform`). Each in its own
transaction, so a table always equals what one clean run over the staged records would give.
"""

from time import monotonic  # the module's own `time` is the time asset

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    PartitionsDefinition,
    asset,
)

from sparkify_dagster.automation import follows
from sparkify_dagster.catalog import catalog
from sparkify_dagster.failures import reported
from sparkify_dagster.metadata import GROUP, definition_metadata, materialized
from sparkify_dagster.partitions import LOG_DAYS, SINGLE_RUN, days_of
from sparkify_dagster.resources import WarehouseResource, warehouse_kind
from sparkify_dagster.warehouse.model import ARTISTS, SONGPLAYS, SONGS, TIME, USERS, Table, upstream
from sparkify_dagster.warehouse.transform import build_table
from sparkify_dagster.warehouse.upgrade import prepare


def star_asset(table: Table, partitions: PartitionsDefinition | None = None) -> AssetsDefinition:
    """The asset that builds ``table`` from the tables the model derives it from."""

    @asset(
        name=table.name,
        group_name=GROUP,
        description=table.doc,
        deps=[AssetSpec(name).key for name in upstream(table)],
        metadata=definition_metadata(table),
        kinds=warehouse_kind(),
        partitions_def=partitions,
        backfill_policy=SINGLE_RUN,
        automation_condition=follows(partitions),
        **catalog(table),
    )
    def _star(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        days = days_of(context) if partitions is not None else None
        with reported(), warehouse.connect() as connection, connection.transaction():
            prepare(connection)
            started = monotonic()
            rows = build_table(connection, table, days)
            seconds = round(monotonic() - started, 3)
        return MaterializeResult(metadata=materialized(table, rows, seconds=seconds))

    return _star


songs = star_asset(SONGS)
artists = star_asset(ARTISTS)
users = star_asset(USERS)
songplays = star_asset(SONGPLAYS, LOG_DAYS)
time = star_asset(TIME, LOG_DAYS)
