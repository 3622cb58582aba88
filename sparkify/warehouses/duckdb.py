"""DuckDB, the embedded default: a single file, no server, no credentials."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import duckdb

from sparkify.errors import WarehouseError
from sparkify.model import Table, Type
from sparkify.warehouses.base import Warehouse, batched, quote

BATCH_ROWS = 50_000
BATCH_VIEW = "sparkify_load_batch"


class DuckDBWarehouse(Warehouse):
    name: ClassVar[str] = "duckdb"
    dialect: ClassVar[str] = "duckdb"
    types: ClassVar[dict[Type, str]] = {
        Type.TEXT: "VARCHAR",
        Type.INT: "INTEGER",
        Type.SMALLINT: "SMALLINT",
        Type.BIGINT: "BIGINT",
        Type.DOUBLE: "DOUBLE",
        Type.TIMESTAMP: "TIMESTAMP",
    }

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = str(path)
        try:
            self.connection = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            raise WarehouseError(_explain_open_error(self.path, exc)) from None
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open DuckDB warehouse {self.path}: {exc}") from None

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({self.path!r})"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            self.connection.execute(sql, list(params))
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB refused {_first_line(sql)!r}: {exc}") from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.connection.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB refused {_first_line(sql)!r}: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.connection.begin()
        try:
            yield
        except BaseException:
            self.connection.rollback()
            raise
        self.connection.commit()

    def load_rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> None:
        # Rows become typed Arrow columns (one C-level pass per column), which DuckDB scans in
        # place: no text round trip, exact doubles, NULL kept apart from "".
        import pyarrow as pa  # loaded only by commands that load rows

        schema = pa.schema([(column.name, _arrow_type(column.type)) for column in table.columns])
        names = ", ".join(map(quote, table.column_names))
        insert = f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM {BATCH_VIEW}"
        for batch in batched(rows, BATCH_ROWS):
            columns = zip(*batch, strict=True)
            arrays = [
                pa.array(values, type=kind)
                for values, kind in zip(columns, schema.types, strict=True)
            ]
            self.connection.register(BATCH_VIEW, pa.RecordBatch.from_arrays(arrays, schema=schema))
            try:
                self.execute(insert)
            finally:
                self.connection.unregister(BATCH_VIEW)

    def table_names(self) -> set[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {name for (name,) in rows}

    def timestamp_from_epoch_ms(self, expression: str) -> str:
        return f"epoch_ms({expression})"

    def close(self) -> None:
        self.connection.close()


def _arrow_type(kind: Type) -> Any:
    import pyarrow as pa

    types = {
        Type.TEXT: pa.string(),
        Type.INT: pa.int32(),
        Type.SMALLINT: pa.int16(),
        Type.BIGINT: pa.int64(),
        Type.DOUBLE: pa.float64(),
        Type.TIMESTAMP: pa.timestamp("us"),
    }
    return types[kind]


def _first_line(sql: str) -> str:
    return sql.strip().splitlines()[0][:80]


def _explain_open_error(path: str, exc: Exception) -> str:
    message = str(exc)
    if "lock" in message.lower():
        return (
            f"DuckDB warehouse {path} is in use by another process; "
            f"wait for it to finish and try again ({message})"
        )
    return f"cannot open DuckDB warehouse {path}: {message}"
