"""Transform: build the star schema from the staging tables, inside the warehouse.

Each star table is rebuilt from staging by one ``INSERT … SELECT`` (``warehouse/sql/<table>.sql``),
so the star after any run equals the star of one clean run over the staged records.
"""

from __future__ import annotations

from sparkify_dagster.core.progress import Reporter, Silent
from sparkify_dagster.warehouse.engines import Dialect, Warehouse
from sparkify_dagster.warehouse.model import Table, build_order

# Each star table after the tables it is built from (time after songplays), from the model.
BUILD_ORDER: tuple[Table, ...] = build_order()


def table_statements(dialect: Dialect, table: Table) -> list[str]:
    """The statements that rebuild one star table: empty it, then fill it from staging."""
    return [dialect.clear_sql(table), dialect.render(f"{table.name}.sql")]


def statements(dialect: Dialect) -> list[str]:
    """Every statement that rebuilds the star schema, in order, in ``dialect``."""
    return [sql for table in BUILD_ORDER for sql in table_statements(dialect, table)]


def build_star(warehouse: Warehouse, reporter: Reporter | None = None) -> None:
    """Rebuild every star table; call it inside the run's transaction."""
    reporter = reporter or Silent()
    reporter.start("building star", len(BUILD_ORDER), unit="tables")
    for table in BUILD_ORDER:
        for sql in table_statements(warehouse.dialect, table):
            warehouse.execute(sql)
        reporter.advance(files=1)


def build_table(warehouse: Warehouse, table: Table) -> int:
    """Rebuild one star table from staging (call it inside a transaction); its row count."""
    for sql in table_statements(warehouse.dialect, table):
        warehouse.execute(sql)
    return warehouse.count(table)
