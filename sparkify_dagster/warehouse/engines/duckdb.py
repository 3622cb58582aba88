"""DuckDB, the embedded default: a single file, no server, no credentials."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from sparkify_dagster.core.errors import WarehouseError
from sparkify_dagster.ingest.plain import SHAPES, Shape
from sparkify_dagster.warehouse.engines.base import Dialect, Warehouse, batched, first_line, quote
from sparkify_dagster.warehouse.engines.duckdb_staging import load_json
from sparkify_dagster.warehouse.model import Table, Type, source_columns
from sparkify_dagster.warehouse.staging import Staging
from sparkify_dagster.warehouse.staging.report import Outputs

if TYPE_CHECKING:
    from sparkify_dagster.ingest.files import Source, SourceFile

BATCH_ROWS = 20_000  # rows per Arrow batch: 50,000 took more memory and no less time
# At most this many bytes per statement that loads a batch (unless one row has more): a batch of
# large records beyond it exceeded the staging memory.
BATCH_BYTES = 32 * 1024 * 1024
# DuckDB's own memory for a warehouse file (it spills to disk beyond): the default, 80 % of RAM,
# made a large load's peak far higher; this keeps it low. Less is slower (the star's statements).
MEMORY_LIMIT = "512MB"
# Staging needs less: rows wait in memory only until written. It runs as fast under this cap as
# under MEMORY_LIMIT, and the whole load peaks lower.
STAGING_MEMORY_LIMIT = "128MB"
BATCH_VIEW = "sparkify_load_batch"  # the local variable of DuckDBWarehouse._query_batch
LOCK_POLL_SECONDS = 0.1
# What the operating system says when a write finds no room: the disk full, a quota, a file-size
# limit. DuckDB puts it in its message, after the file it could not write.
NO_ROOM = ("No space left on device", "Disk quota exceeded", "File too large")
_UNWRITTEN = re.compile(r'Could not write file "([^"]+)"')


class DuckDBDialect(Dialect):
    """DuckDB's SQL: Arrow batches scanned in place, and its row id for narrow transforms."""

    sqlglot: ClassVar[str] = "duckdb"
    row_id: ClassVar[str | None] = "rowid"
    types: ClassVar[dict[Type, str]] = {
        Type.TEXT: "VARCHAR",
        Type.INT: "INTEGER",
        Type.SMALLINT: "SMALLINT",
        Type.BIGINT: "BIGINT",
        Type.DOUBLE: "DOUBLE",
        Type.TIMESTAMP: "TIMESTAMP",
    }

    def load_sql(self, table: Table) -> str:
        names = ", ".join(map(quote, table.column_names))
        return f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM {BATCH_VIEW}"

    def load_plain_sql(self, table: Table, shape: Shape) -> str:
        """The statement that types the plain records of a batch (its parameter: the shape's
        pattern) and appends them to ``table``."""
        # from_json types the fields in the order of the staging columns; lineage follows.
        struct = json.dumps(
            {
                field.key: self.column_type(column)
                for field, column in zip(
                    shape.fields, source_columns(table, [f.key for f in shape.fields]), strict=True
                )
            },
            separators=(",", ":"),
        )
        names = ", ".join(map(quote, table.column_names))
        return (
            f"INSERT INTO {quote(table.name)} ({names})\n"
            f"SELECT unnest(from_json(raw, '{struct}')), source_file, line\n"
            f"FROM {BATCH_VIEW}\nWHERE {_plain(shape)}"
        )

    def plain_left_sql(self, shape: Shape) -> str:
        """The positions of a batch's records that :meth:`load_plain_sql` leaves out (bound:
        the shape's pattern)."""
        return f"SELECT position FROM {BATCH_VIEW} WHERE NOT ({_plain(shape)}) ORDER BY position"

    def staged_per_file_sql(self, table: Table) -> str:
        """The rows of ``table`` staged from each of a list of source files (bound)."""
        return (
            f"SELECT s.source_file, count(*) FROM {quote(table.name)} AS s "
            f"JOIN (SELECT unnest({self.placeholder}) AS uri) AS f ON s.source_file = f.uri "
            "GROUP BY s.source_file"
        )

    def of_sources(self) -> str:
        return "list_contains(?, source_file)"

    def timestamp_from_epoch_ms(self, expression: str) -> str:
        return f"epoch_ms({expression})"


class JsonStaging(Staging):
    """DuckDB's staging: its JSON reader types the plain records, Python the rest
    (:mod:`~sparkify_dagster.warehouse.engines.duckdb_staging`)."""

    def load_files(
        self,
        warehouse: Warehouse,
        kind: str,
        table: Table,
        source: Source,
        files: list[SourceFile],
        out: Outputs,
    ) -> int:
        return load_json(_duckdb(warehouse), kind, table, source, files, out)

    def load_statements(self, dialect: Dialect, kind: str, table: Table) -> list[str]:
        if not isinstance(dialect, DuckDBDialect):
            raise TypeError(f"DuckDB's staging needs DuckDB's dialect, not {dialect!r}")
        # the plain records first; the pattern is bound (ingest/plain.py)
        return [dialect.load_plain_sql(table, SHAPES[kind]), dialect.load_sql(table)]


class DuckDBWarehouse(Warehouse):
    """A DuckDB file (or memory); staged by its own JSON reader and the careful parser."""

    name: ClassVar[str] = "duckdb"
    dialect: ClassVar[DuckDBDialect] = DuckDBDialect()
    staging: ClassVar[Staging] = JsonStaging()

    def __init__(
        self, path: str | Path, *, lock_timeout: float = 0.0, memory_limit: str | None = None
    ) -> None:
        """Open (or create) the DuckDB file at ``path``.

        DuckDB lets one process at a time open a file for writing; while another holds it, wait
        up to ``lock_timeout`` seconds for it to finish, then fail with a clear message.
        ``memory_limit`` caps DuckDB's memory (``"2GB"``); by default :data:`MEMORY_LIMIT` for a
        file, and no cap for ``:memory:``, whose tables live in that memory.
        """
        self.path = str(path)
        self.default_memory = memory_limit is None and self.path != ":memory:"
        if self.default_memory:
            memory_limit = MEMORY_LIMIT
        # Rows may be stored in any order (every query that needs an order says so): inserts
        # then run on every core instead of one.
        config: dict[str, Any] = {"preserve_insertion_order": False}
        if memory_limit:
            config["memory_limit"] = memory_limit
        deadline = time.monotonic() + lock_timeout
        new = self.path != ":memory:" and not os.path.exists(self.path)
        while True:
            try:
                self.connection = duckdb.connect(self.path, config=config)
                # No progress bars of DuckDB's own: they would fill the run's logs.
                self.connection.execute("SET enable_progress_bar = false")
                return
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    if new and _no_room(exc):  # begun on a full disk, it fails every next run
                        _remove_new_file(self.path)
                    raise self._translate(
                        exc, "cannot open DuckDB warehouse " + self.path
                    ) from None
                if time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"DuckDB warehouse {self.path} is in use by another process "
                        f"(waited {lock_timeout:g} s); wait for it to finish, or give "
                        "the warehouse resource's lock_timeout more seconds"
                    ) from None
                time.sleep(LOCK_POLL_SECONDS)
            except duckdb.Error as exc:
                raise self._translate(exc, "cannot open DuckDB warehouse " + self.path) from None

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({self.path!r})"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            self.connection.execute(sql, list(params))
        except duckdb.Error as exc:
            raise self._refused(sql, exc) from None

    def query_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            cursor = self.connection.execute(sql, list(params))
            return [column[0] for column in cursor.description], cursor.fetchall()
        except duckdb.Error as exc:
            raise self._refused(sql, exc) from None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            self.connection.begin()
        except duckdb.Error as exc:
            raise self._translate(exc, "could not begin a transaction") from None
        try:
            yield
        except BaseException:
            # After a fatal error DuckDB refuses the rollback too: the error that caused it counts.
            with contextlib.suppress(duckdb.Error):
                self.connection.rollback()
            raise
        try:
            self.connection.commit()
        except duckdb.Error as exc:
            raise self._translate(exc, "could not commit") from None

    @contextmanager
    def staging_memory(self) -> Iterator[None]:
        """:data:`STAGING_MEMORY_LIMIT` while staging, unless the cap was chosen by hand."""
        if not self.default_memory:
            yield
            return
        self._set_memory_limit(STAGING_MEMORY_LIMIT)
        try:
            yield
        except BaseException:
            with contextlib.suppress(WarehouseError):  # the error that stopped staging counts
                self._set_memory_limit(MEMORY_LIMIT)
            raise
        self._set_memory_limit(MEMORY_LIMIT)

    def _set_memory_limit(self, limit: str) -> None:
        # The cap is the database's, not the transaction's: set it from a cursor of its own, so
        # that it is restored even once a failed statement has aborted the load's transaction.
        try:
            with self.connection.cursor() as settings:
                settings.execute(f"SET memory_limit = '{limit}'")
        except duckdb.Error as exc:
            raise self._translate(exc, "could not set memory_limit") from None

    def load_rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> int:
        # Rows become typed Arrow columns (one C-level pass per column), which DuckDB scans in
        # place: no text round trip, exact doubles, NULL kept apart from "".
        batches = batched(rows, BATCH_ROWS)
        first = next(batches, None)
        if first is None:
            return 0  # a run with nothing new need not load pyarrow
        import pyarrow as pa  # loaded only by commands that load rows

        schema = pa.schema([(column.name, _arrow_type(column.type)) for column in table.columns])
        # malloc's pool: the default (mimalloc) was slower for these many short-lived buffers
        # and kept hundreds of MB after they were freed.
        pool = pa.system_memory_pool()
        insert = self.dialect.load_sql(table)
        inserted = 0
        for batch in itertools.chain([first], batches):
            columns = zip(*batch, strict=True)
            arrays = [
                pa.array(values, type=kind, memory_pool=pool)
                for values, kind in zip(columns, schema.types, strict=True)
            ]
            batch_rows = pa.RecordBatch.from_arrays(arrays, schema=schema)
            for part in _parts(batch_rows):
                ((count,),) = self._query_batch(part, insert)
                inserted += count
        return inserted

    def load_plain(self, table: Table, shape: Shape, batches: Iterable[Any]) -> int:
        # One statement over the stream: one per batch was slower, much of it the checkpoint
        # merging the partial row groups each statement left.
        import pyarrow as pa

        from sparkify_dagster.ingest.plain import schema

        stream = pa.RecordBatchReader.from_batches(schema(), batches)
        ((inserted,),) = self._query_batch(
            stream, self.dialect.load_plain_sql(table, shape), [shape.pattern]
        )
        return int(inserted)

    def staged_per_file(self, table: Table, uris: list[str]) -> dict[str, int]:
        """The rows of ``table`` staged from each of ``uris``."""
        return dict(self.query(self.dialect.staged_per_file_sql(table), [uris]))

    def plain_left(self, shape: Shape, records: Any) -> list[int]:
        if records is None or not records.num_rows:
            return []
        left = self.dialect.plain_left_sql(shape)
        return [position for (position,) in self._query_batch(records, left, [shape.pattern])]

    def _query_batch(
        self, batch: Any, sql: str, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """``sql``, in which :data:`BATCH_VIEW` names ``batch`` (Arrow), and its rows.

        DuckDB finds the batch by the name of a local variable (a replacement scan). A view
        registered for it instead stays in the transaction's undo log once dropped, holding the
        batch until commit: a large load kept all of its raw text in memory.
        """
        sparkify_load_batch = batch  # noqa: F841 (read by DuckDB, by the name BATCH_VIEW)
        try:
            return self.connection.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise self._refused(sql, exc) from None

    def close(self) -> None:
        self.connection.close()

    def _refused(self, sql: str, exc: duckdb.Error) -> WarehouseError:
        return self._translate(exc, f"DuckDB refused {first_line(sql)!r}")

    def _translate(self, exc: duckdb.Error, doing: str) -> WarehouseError:
        """``exc`` as a :class:`WarehouseError`: what was being done and DuckDB's words, or,
        when a write found no room, which disk and the fix.

        The only place DuckDB's errors become sparkify's. After a failed write DuckDB may
        invalidate the database for the rest of the process; the next run opens the file again,
        and DuckDB replays the ``.wal`` the failed one left.
        """
        message = str(exc)
        room = _no_room(exc)
        if room is not None:
            written = _UNWRITTEN.search(message)
            where = written.group(1) if written else self.path
            return WarehouseError(
                f"no space left on the disk holding {where} ({room}): free space, then run again"
            )
        if isinstance(exc, duckdb.FatalException):
            return WarehouseError(
                f"{doing}: {message.strip()}; DuckDB stopped using {self.path} for this process: "
                "run again, and the next run reopens it"
            )
        return WarehouseError(f"{doing}: {message}")


def _no_room(exc: duckdb.Error) -> str | None:
    """The operating system's words if ``exc`` is a write that found no room, else None."""
    return next((words for words in NO_ROOM if words in str(exc)), None)


def _remove_new_file(path: str) -> None:
    """Remove the DuckDB file at ``path`` and its ``.wal``, begun by a run that failed to."""
    for leftover in (path, path + ".wal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(leftover)


def _duckdb(warehouse: Warehouse) -> DuckDBWarehouse:
    if not isinstance(warehouse, DuckDBWarehouse):
        raise TypeError(f"DuckDB's staging needs a DuckDB warehouse, not {warehouse!r}")
    return warehouse


def _parts(batch: Any) -> Iterator[Any]:
    """``batch`` (Arrow) in slices of at most :data:`BATCH_BYTES`, or of one row."""
    if batch.nbytes <= BATCH_BYTES or batch.num_rows == 1:
        yield batch
        return
    half = batch.num_rows // 2
    yield from _parts(batch.slice(0, half))
    yield from _parts(batch.slice(half))


def _plain(shape: Shape) -> str:
    """The condition of a plain record: the required keys present, and the pattern (bound)."""
    present = [f"contains(raw, '\"{key}\":')" for key in shape.required_keys]
    return " AND ".join([*present, "regexp_full_match(raw, ?)"])


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


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()
