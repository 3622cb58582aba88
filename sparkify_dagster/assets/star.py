"""The star schema: ``songplays`` and its dimensions ``users``, ``songs``, ``artists``, ``time``.

Each table is rebuilt from staging by one statement (``warehouse/sql/<table>.sql``) in its own
transaction, so it always equals the table one clean run over the staged records would give.
"""

from time import monotonic  # the module's own `time` is the time asset

from dagster import AssetsDefinition, AssetSpec, MaterializeResult, asset

from sparkify_dagster.catalog import catalog
from sparkify_dagster.failures import reported
from sparkify_dagster.metadata import GROUP, definition_metadata, materialized
from sparkify_dagster.resources import WarehouseResource, warehouse_kind
from sparkify_dagster.warehouse.model import ARTISTS, SONGPLAYS, SONGS, TIME, USERS, Table, upstream
from sparkify_dagster.warehouse.transform import build_table


def star_asset(table: Table) -> AssetsDefinition:
    """The asset that rebuilds ``table`` from the tables the model derives it from."""

    @asset(
        name=table.name,
        group_name=GROUP,
        description=table.doc,
        deps=[AssetSpec(name).key for name in upstream(table)],
        metadata=definition_metadata(table),
        kinds=warehouse_kind(),
        **catalog(table),
    )
    def _star(warehouse: WarehouseResource) -> MaterializeResult:
        with reported(), warehouse.connect() as connection, connection.transaction():
            connection.create_tables()
            started = monotonic()
            rows = build_table(connection, table)
            seconds = round(monotonic() - started, 3)
        return MaterializeResult(metadata=materialized(table, rows, seconds=seconds))

    return _star


songs = star_asset(SONGS)
artists = star_asset(ARTISTS)
users = star_asset(USERS)
songplays = star_asset(SONGPLAYS)
time = star_asset(TIME)
