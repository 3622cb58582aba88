"""Amazon Redshift: PostgreSQL's wire protocol, with its own table design and bulk load.

Declares only what differs from :class:`PostgresWarehouse` (see ``docs/redshift.md``):

- types: ``VARCHAR(n)`` sized from the model (``Column.size``, in bytes), ``DOUBLE PRECISION``
  for durations and coordinates (a bare ``DECIMAL`` has scale 0 on Redshift and would round);
- ``DISTSTYLE``/``DISTKEY``/``SORTKEY`` from the model's hints;
- staging by ``COPY … FROM 's3://…'`` (:mod:`~sparkify_dagster.warehouse.engines.redshift_copy`),
  never through Python, so the lineage columns cannot be filled per record: they are nullable
  here, and hold the COPY's source (prefix or manifest) and NULL after a load;
- rows are cleared with ``DELETE`` (``TRUNCATE`` commits the open transaction on Redshift).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar

from sparkify_dagster.errors import WarehouseError
from sparkify_dagster.warehouse.engines.base import quote
from sparkify_dagster.warehouse.engines.postgres import PostgresWarehouse
from sparkify_dagster.warehouse.engines.redshift_copy import (
    LOAD_ERRORS_SQL,
    STL_LOAD_ERRORS_SQL,
    CopySource,
    RedshiftOptions,
    copy_source,
    load_error,
    prepare,
    staging_statements,
)
from sparkify_dagster.warehouse.model import LINEAGE_COLUMNS, Column, Table, Type

DEFAULT_PORT = 5439

# Staging columns whose source values COPY cannot read as the model's type. eventsim writes
# ``registration`` as a JSON float (1.540919166796e+12): COPY refuses it for a BIGINT, while a
# DOUBLE PRECISION holds every epoch millisecond exactly (< 2**53).
COPY_TYPES: dict[tuple[str, str], Type] = {
    ("staging_events", "registration"): Type.DOUBLE,
}


class RedshiftWarehouse(PostgresWarehouse):
    name: ClassVar[str] = "redshift"
    dialect: ClassVar[str] = "redshift"
    types: ClassVar[dict[Type, str]] = {
        **PostgresWarehouse.types,
        Type.TEXT: "VARCHAR(256)",  # only for a TEXT column without a size
    }
    copies_from_s3: ClassVar[bool] = True

    def __init__(
        self,
        conninfo: str = "",
        *,
        options: RedshiftOptions | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        self.options = options or RedshiftOptions()
        self._failed_copy: CopySource | None = None
        super().__init__(conninfo, password=self.options.password, lock_timeout=lock_timeout)

    def stage_from_s3(self, kind: str, location: str | None, *, max_errors: int = 0) -> int:
        """Replace the staging table of ``kind`` by a ``COPY`` of ``location``; rows staged.

        Writes the control files the COPY needs first (:func:`redshift_copy.prepare`). A COPY
        that fails names its first rejected line once the transaction has rolled back.
        """
        options = replace(self.options, max_errors=max_errors)
        source = copy_source(kind, location, options)
        prepare(kind, str(location), options)
        for copying, sql in staging_statements([source], options):
            self._failed_copy = copying
            self.execute(sql)
            self._failed_copy = None
        return self.count(source.table)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with super().transaction():
                yield
        except WarehouseError:
            failed, self._failed_copy = self._failed_copy, None
            if failed is None:
                raise
            try:  # the rejected lines are readable once the transaction has rolled back
                rows = self.query(LOAD_ERRORS_SQL)
            except WarehouseError:  # clusters without the SYS views
                rows = self.query(STL_LOAD_ERRORS_SQL)
            raise load_error(rows, failed.table.name) from None

    def physical(self, table: Table) -> Table:
        """``table`` as Redshift stores it: COPY-friendly staging types, nullable lineage."""
        columns = []
        for column in table.columns:
            kind = COPY_TYPES.get((table.name, column.name), column.type)
            nullable = column.nullable or column.name in LINEAGE_COLUMNS
            columns.append(replace(column, type=kind, nullable=nullable))
        return replace(table, columns=tuple(columns))

    def column_type(self, column: Column) -> str:
        if column.type is Type.TEXT and column.size:
            return f"VARCHAR({column.size})"
        return super().column_type(column)

    def create_table_sql(self, table: Table) -> str:
        return super().create_table_sql(self.physical(table))

    def constraints(self, table: Table) -> list[str]:
        # Redshift never enforces a primary key, but its planner uses it (informational).
        if table.kind != "star" or not table.key:
            return []
        return [f"PRIMARY KEY ({', '.join(map(quote, table.key))})"]

    def table_options(self, table: Table) -> str:
        if table.dist_all:
            dist = "DISTSTYLE ALL"
        elif table.dist_key:
            dist = f"DISTSTYLE KEY DISTKEY ({quote(table.dist_key)})"
        else:
            dist = "DISTSTYLE EVEN"
        if not table.sort_key:
            return f"\n{dist}"
        return f"\n{dist} COMPOUND SORTKEY ({', '.join(map(quote, table.sort_key))})"

    def lock_run(self) -> None:
        """Redshift has no advisory locks; its own table locks serialise concurrent runs."""

    def load_rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> int:
        raise WarehouseError(
            f"Redshift loads {table.name} from S3 with COPY, not from this machine: give s3:// "
            "song and log data (or turn on compaction to stage local files on S3)"
        )
