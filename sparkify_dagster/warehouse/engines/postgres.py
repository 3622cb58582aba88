"""PostgreSQL, through psycopg 3: staging by ``COPY … FROM STDIN``, transforms inside the server.

The target is a libpq URI (``postgresql://user@host:5432/db``); whatever it leaves out comes from
the standard ``PG*`` environment variables (``PGPASSWORD``, ``PGHOST`` …) or ``~/.pgpass``, so a
password need never be written in a URL. Passwords never appear in errors: every driver error goes
through :func:`translate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, NoReturn

import psycopg
import psycopg.conninfo
import psycopg.errors

from sparkify_dagster.core.errors import RecordError, SparkifyError, WarehouseError
from sparkify_dagster.core.settings import environ, redact
from sparkify_dagster.warehouse.engines.base import Dialect, Warehouse, first_line, quote
from sparkify_dagster.warehouse.model import Table, Type
from sparkify_dagster.warehouse.staging import Staging

RUN_LOCK_KEY = 0x5350_4B46  # "SPKF": the advisory lock every sparkify run takes
# Each model type as COPY (FORMAT BINARY) sends it, so the server parses no text (parsing it made
# a load slower).
BINARY_TYPES = {
    Type.TEXT: "text",
    Type.INT: "int4",
    Type.SMALLINT: "int2",
    Type.BIGINT: "int8",
    Type.DOUBLE: "float8",
    Type.TIMESTAMP: "timestamp",
}
# psycopg packs a Python int into int4 or int2 by truncating it: such values are checked here.
SMALL_INTEGERS = {Type.INT: (-(2**31), 2**31 - 1), Type.SMALLINT: (-(2**15), 2**15 - 1)}
CONNECT_TIMEOUT = 15  # seconds, unless the target or $PGCONNECT_TIMEOUT says otherwise

_PASSWORD_KEYWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def hide_password(conninfo: str) -> str:
    """``conninfo`` (a URI or ``key=value`` string) with any password replaced by ``***``.

    >>> hide_password("host=db password=s3cret dbname=dwh")
    'host=db password=*** dbname=dwh'
    """
    return _PASSWORD_KEYWORD.sub(r"\g<1>***", redact(conninfo))


def translate(exc: psycopg.Error, doing: str) -> NoReturn:
    """Raise ``exc`` as a :class:`WarehouseError` that says what was being done, minus secrets.

    This is the only place PostgreSQL driver errors become sparkify errors.
    """
    message = hide_password(str(exc).strip()) or type(exc).__name__
    if isinstance(exc, psycopg.OperationalError) and "password" in message.lower():
        message += " (set the password in $PGPASSWORD or ~/.pgpass, not on the command line)"
    raise WarehouseError(f"PostgreSQL {doing}: {message}") from None


class PostgresDialect(Dialect):
    """PostgreSQL's SQL: ``%s`` parameters, binary ``COPY FROM STDIN``, interval arithmetic."""

    sqlglot: ClassVar[str] = "postgres"
    placeholder: ClassVar[str] = "%s"
    types: ClassVar[dict[Type, str]] = {
        Type.TEXT: "TEXT",
        Type.INT: "INTEGER",
        Type.SMALLINT: "SMALLINT",
        Type.BIGINT: "BIGINT",
        Type.DOUBLE: "DOUBLE PRECISION",
        Type.TIMESTAMP: "TIMESTAMP",
    }

    def load_sql(self, table: Table) -> str:
        columns = ", ".join(map(quote, table.column_names))
        return f"COPY {quote(table.name)} ({columns}) FROM STDIN (FORMAT BINARY)"

    def timestamp_from_epoch_ms(self, expression: str) -> str:
        # Whole seconds and the milliseconds apart: interval arithmetic goes through float64,
        # which holds seconds * 10**6 exactly to year 20000 (milliseconds alone only to 2255).
        # Redshift runs the same fragment (its DATEADD takes an INTEGER and would overflow).
        return (
            f"(TIMESTAMP '1970-01-01 00:00:00' + ({expression} / 1000) * INTERVAL '1 second'"
            f" + MOD({expression}, 1000) * INTERVAL '1 millisecond')"
        )


class PostgresWarehouse(Warehouse):
    """A PostgreSQL database; staged by the careful Python parser and a binary ``COPY``."""

    name: ClassVar[str] = "postgresql"
    dialect: ClassVar[Dialect] = PostgresDialect()
    staging: ClassVar[Staging] = Staging()

    def __init__(
        self, conninfo: str = "", *, password: str | None = None, lock_timeout: float = 0.0
    ) -> None:
        self.conninfo = conninfo
        self.lock_timeout = lock_timeout
        extra: dict[str, Any] = {"password": password} if password else {}
        try:
            given = psycopg.conninfo.conninfo_to_dict(conninfo) if conninfo else {}
            if "connect_timeout" not in given and not environ().get("PGCONNECT_TIMEOUT"):
                extra["connect_timeout"] = CONNECT_TIMEOUT  # else TCP's own, minutes
            if "application_name" not in given and not environ().get("PGAPPNAME"):
                extra["application_name"] = "sparkify"  # how a DBA tells these sessions apart
            # autocommit: sparkify opens its transactions explicitly with transaction().
            self.connection = psycopg.connect(conninfo, autocommit=True, **extra)
        except psycopg.Error as exc:
            translate(exc, f"cannot connect to {hide_password(conninfo) or 'the PG* defaults'!r}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({hide_password(getattr(self, 'conninfo', ''))!r})"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            self.connection.execute(sql, list(params) or None)
        except psycopg.Error as exc:
            translate(exc, f"refused {first_line(sql)!r}")

    def query_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            cursor = self.connection.execute(sql, list(params) or None)
            return [column.name for column in cursor.description or ()], cursor.fetchall()
        except psycopg.Error as exc:
            translate(exc, f"refused {first_line(sql)!r}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with self.connection.transaction():
                self.lock_run()
                yield
        except psycopg.Error as exc:
            translate(exc, "could not commit")

    def lock_run(self) -> None:
        """Take the warehouse's run lock for this transaction, waiting up to ``lock_timeout``.

        Two runs on one database take turns instead of interleaving their writes.
        """
        wait_ms = max(1, round(self.lock_timeout * 1000))
        try:
            self.connection.execute(f"SET LOCAL lock_timeout = {wait_ms}")
            self.connection.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_LOCK_KEY])
        except psycopg.errors.LockNotAvailable:
            raise WarehouseError(
                f"PostgreSQL warehouse {hide_password(self.conninfo)!r} is in use by another "
                f"sparkify run (waited {self.lock_timeout:g} s); wait for it to finish, or give "
                "the warehouse resource's lock_timeout more seconds"
            ) from None
        self.connection.execute("SET LOCAL lock_timeout = 0")

    def load_rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> int:
        # One COPY streams every row; psycopg packs each row in C and buffers the writes.
        bounded = [
            (index, column.name, *SMALL_INTEGERS[column.type])
            for index, column in enumerate(table.columns)
            if column.type in SMALL_INTEGERS
        ]
        try:
            with self.connection.cursor() as cursor:
                with cursor.copy(self.dialect.load_sql(table)) as copy:
                    copy.set_types([BINARY_TYPES[column.type] for column in table.columns])
                    for row in rows:
                        for index, name, low, high in bounded:
                            value = row[index]
                            if value is not None and not low <= value <= high:
                                reason = f"{name} is {value}, out of range for its column"
                                raise _unstorable(table, row, reason)
                        try:
                            copy.write_row(row)
                        except (psycopg.DataError, OverflowError) as exc:  # refused before sent
                            raise _unstorable(table, row, str(exc)) from None
                return cursor.rowcount
        except psycopg.Error as exc:
            translate(exc, f"could not load {table.name}")

    def close(self) -> None:
        self.connection.close()


def _unstorable(table: Table, row: tuple[Any, ...], reason: str) -> SparkifyError:
    """A row PostgreSQL cannot store, named by its lineage when it has one."""
    values = dict(zip(table.column_names, row, strict=False))
    reason = f"PostgreSQL cannot store it: {reason}"
    source = values.get("source_file")
    if isinstance(source, str):
        line = values.get("source_line")
        return RecordError(source, line if isinstance(line, int) else None, reason)
    return WarehouseError(f"PostgreSQL could not load {table.name}: {reason}")
