"""DuckDB, the embedded default: a single file, no server, no credentials."""

from __future__ import annotations

import tempfile
import time
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
LOCK_POLL_SECONDS = 0.1


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

    def __init__(self, path: str | Path, *, lock_timeout: float = 0.0) -> None:
        """Open (or create) the DuckDB file at ``path``.

        DuckDB lets one process at a time open a file for writing; while another holds it, wait
        up to ``lock_timeout`` seconds for it to finish, then fail with a clear message.
        """
        self.path = str(path)
        deadline = time.monotonic() + lock_timeout
        while True:
            try:
                self.connection = duckdb.connect(self.path)
                return
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise WarehouseError(
                        f"cannot open DuckDB warehouse {self.path}: {exc}"
                    ) from None
                if time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"DuckDB warehouse {self.path} is in use by another process "
                        f"(waited {lock_timeout:g} s); wait for it to finish, or give "
                        "--lock-timeout more seconds"
                    ) from None
                time.sleep(LOCK_POLL_SECONDS)
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

    def load_rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> int:
        # DuckDB reads newline-delimited JSON in bulk, in parallel, with exact doubles; writing
        # it with orjson is the cheapest way to hand Python rows over without extra libraries.
        names = table.column_names
        insert = self.load_sql(table)
        inserted = 0
        with tempfile.TemporaryDirectory(prefix="sparkify-") as folder:
            path = Path(folder) / f"{table.name}.json"
            for batch in batched(rows, BATCH_ROWS):
                path.write_bytes(
                    b"\n".join(orjson.dumps(dict(zip(names, row, strict=True))) for row in batch)
                )
                ((count,),) = self.query(insert, [str(path)])
                inserted += count
        return inserted

    def delete_sources_sql(self, table: Table) -> str:
        return f"DELETE FROM {quote(table.name)} WHERE list_contains(?, source_file)"

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


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()
