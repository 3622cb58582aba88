"""Transform: build the star schema from the staging tables, inside the warehouse.

Each star table is rebuilt from staging by one ``INSERT … SELECT`` (``sparkify/sql/<table>.sql``),
so the star after any run equals the star of one clean run over the staged records.
"""

from __future__ import annotations

from sparkify.model import ARTISTS, SONGPLAYS, SONGS, TIME, USERS, Table
from sparkify.progress import Reporter, Silent
from sparkify.warehouses import Warehouse, quote

# Dimensions first: time is derived from songplays.
BUILD_ORDER: tuple[Table, ...] = (SONGS, ARTISTS, USERS, SONGPLAYS, TIME)


def statements(warehouse: Warehouse) -> list[str]:
    """Every statement that rebuilds the star schema, in order, for ``warehouse``'s engine."""
    plan: list[str] = []
    for table in BUILD_ORDER:
        plan.append(f"DELETE FROM {quote(table.name)}")
        plan.append(warehouse.render(f"{table.name}.sql"))
    return plan


def build_star(warehouse: Warehouse, reporter: Reporter | None = None) -> None:
    """Rebuild every star table; call it inside the run's transaction."""
    reporter = reporter or Silent()
    reporter.start("building star", len(BUILD_ORDER), unit="tables")
    for table in BUILD_ORDER:
        warehouse.execute(f"DELETE FROM {quote(table.name)}")
        warehouse.execute(warehouse.render(f"{table.name}.sql"))
        reporter.advance(files=1)
