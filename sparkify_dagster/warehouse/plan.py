"""The exact SQL a load would send, computed without connecting or touching anything.

On DuckDB and PostgreSQL the staging loads are the bulk
statements the engine runs with the parsed rows (an insert from Arrow batches, ``COPY …
FROM STDIN``); on Redshift they are the ``COPY … FROM 's3://…'`` statements themselves.
"""

from __future__ import annotations

from sparkify_dagster.core.settings import Settings
from sparkify_dagster.warehouse import staging, transform
from sparkify_dagster.warehouse.engines import engine_class
from sparkify_dagster.warehouse.engines.redshift_copy import (
    RedshiftOptions,
    copy_sources,
    staging_statements,
)
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
    offline = engine.offline()
    statements = [offline.create_table_sql(table) for table in TABLES]
    if engine.copies_from_s3:
        options = redshift or RedshiftOptions.resolve(config=settings.config_path)
        steps = staging_statements(copy_sources(settings, options), options)
        statements.extend(sql for _, sql in steps)
    else:
        statements.extend(staging.statements(offline))
    statements.extend(transform.statements(offline))
    return statements
