"""The exact SQL an ETL run would send, computed without connecting or touching anything.

``sparkify etl --dry-run`` prints it. On DuckDB and PostgreSQL the staging loads are the bulk
statements the engine runs with the parsed rows (an insert from Arrow batches, ``COPY …
FROM STDIN``); on Redshift they are the ``COPY … FROM 's3://…'`` statements themselves.
"""

from __future__ import annotations

from sparkify import redshift_load, stage, transform
from sparkify.model import TABLES
from sparkify.redshift_load import RedshiftOptions
from sparkify.settings import Settings
from sparkify.warehouses import RedshiftWarehouse, engine_class


def plan(
    settings: Settings | None = None,
    *,
    song_data: str | None = None,
    log_data: str | None = None,
    target: str | None = None,
    redshift: RedshiftOptions | None = None,
) -> list[str]:
    """Every statement ``etl`` would run for these settings, in order.

    >>> plan(target="duckdb:///:memory:")[0].splitlines()[0]
    'CREATE TABLE IF NOT EXISTS "staging_events" ('
    """
    settings = settings or Settings.resolve(
        song_data=song_data, log_data=log_data, target=target, environ={}
    )
    engine = engine_class(settings.target)
    if engine is RedshiftWarehouse:
        options = redshift or RedshiftOptions.resolve(config=settings.config_path)
        return redshift_load.statements(settings, options)
    offline = engine.offline()
    statements = [offline.create_table_sql(table) for table in TABLES]
    statements.extend(stage.statements(offline))
    statements.extend(transform.statements(offline))
    return statements
