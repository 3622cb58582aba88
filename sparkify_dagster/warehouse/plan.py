"""The exact SQL a load would send, computed without connecting or touching anything.

On DuckDB and PostgreSQL the staging loads are the bulk
statements the engine runs with the parsed rows (an insert from Arrow batches, ``COPY …
FROM STDIN``); on Redshift they are the ``COPY … FROM 's3://…'`` statements themselves.
"""

from __future__ import annotations

from sparkify_dagster.core.settings import Settings
from sparkify_dagster.warehouse import transform
from sparkify_dagster.warehouse.engines import RedshiftOptions, engine_class
from sparkify_dagster.warehouse.model import TABLES


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
    dialect = engine.dialect
    statements = [dialect.create_table_sql(table) for table in TABLES]
    statements.extend(engine.staging.statements(dialect, settings, redshift))
    statements.extend(transform.statements(dialect))
    return statements
