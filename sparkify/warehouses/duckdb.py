"""DuckDB, the embedded default: a single file, no server, no credentials."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import orjson

from sparkify.errors import WarehouseError
from sparkify.model import Table, Type
from sparkify.warehouses.base import Warehouse, batched, quote

BATCH_ROWS = 200_000


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
        # DuckDB reads newline-delimited JSON in bulk, in parallel, with exact doubles; writing
        # it with orjson is the cheapest way to hand Python rows over without extra libraries.
        names = table.column_names
        insert = self.load_sql(table)
        with tempfile.TemporaryDirectory(prefix="sparkify-") as folder:
            path = Path(folder) / f"{table.name}.json"
            for batch in batched(rows, BATCH_ROWS):
                path.write_bytes(
                    b"\n".join(orjson.dumps(dict(zip(names, row, strict=True))) for row in batch)
                )
                self.execute(insert, [str(path)])

    def load_sql(self, table: Table) -> str:
        spec = ", ".join(
            f"{_string_literal(column.name)}: {_string_literal(self.column_type(column))}"
            for column in table.columns
        )
        return (
            f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, table.column_names))}) "
            f"SELECT * FROM read_json(?, columns = {{{spec}}}, "
            "format = 'newline_delimited', auto_detect = false)"
        )

    def table_names(self) -> set[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {name for (name,) in rows}

    def timestamp_from_epoch_ms(self, expression: str) -> str:
        return f"epoch_ms({expression})"

    def close(self) -> None:
        self.connection.close()


def _string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
