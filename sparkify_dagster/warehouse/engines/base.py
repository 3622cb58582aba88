"""What every warehouse engine shares; each engine declares only what differs.

An engine is two objects. Its :class:`Dialect` renders SQL without connecting: the model
(:mod:`~sparkify_dagster.warehouse.model`) into DDL, the transforms in ``warehouse/sql``, the
bulk loads and every statement staging sends; plans, dry runs and golden files use it alone.
Its :class:`Warehouse` is a connection: it executes, queries, runs everything inside one
transaction so that a run is all or nothing, and carries the engine's staging strategy
(:class:`StagingStrategy`, implemented in :mod:`~sparkify_dagster.warehouse.staging`): how it
stages a set of source files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

import jinja2

from sparkify_dagster.ingest.files import UNSETTLED
from sparkify_dagster.warehouse.days import ID_SPAN
from sparkify_dagster.warehouse.model import (
    LOAD_FOLDERS,
    LOAD_MANIFEST,
    LOG_FILES,
    SOURCES_PER_STATEMENT,
    STAGING_EVENTS,
    TABLES,
    USERS_PENDING,
    Column,
    Table,
    Type,
)

if TYPE_CHECKING:
    from sparkify_dagster.core.settings import Settings

# The transforms (warehouse/sql) first; report queries by their path in the package.
PACKAGE = Path(__file__).resolve().parent.parent.parent
SQL_DIRS = (PACKAGE / "warehouse" / "sql", PACKAGE)


def quote(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier (``time`` is a keyword in some engines)."""
    return '"' + identifier.replace('"', '""') + '"'


class Dialect:
    """How one engine writes SQL; no connection. Subclasses set :attr:`types`, :meth:`load_sql`
    and :meth:`timestamp_from_epoch_ms`, and override what else differs."""

    sqlglot: ClassVar[str]  # sqlglot's name for the engine's SQL dialect
    types: ClassVar[dict[Type, str]]
    placeholder: ClassVar[str] = "?"  # how a bound parameter is written in SQL
    # A column that names each row of a table within a statement, cheap to join on (DuckDB's
    # rowid). With it the transforms pick and number rows on a few columns (a narrow sort, DuckDB's
    # arg_max) and join the rest back; without it (None) they use the generic SQL.
    row_id: ClassVar[str | None] = None

    # -- DDL ------------------------------------------------------------------------------------

    def column_type(self, column: Column) -> str:
        return self.types[column.type]

    def column_sql(self, column: Column) -> str:
        null = "" if column.nullable else " NOT NULL"
        return f"{quote(column.name)} {self.column_type(column)}{null}"

    def constraints(self, table: Table) -> list[str]:
        """Table constraints to declare; none by default: keys are checked, not enforced."""
        return []

    def table_options(self, table: Table) -> str:
        """Text after the closing parenthesis of CREATE TABLE (distribution, sort keys)."""
        return ""

    def create_table_sql(self, table: Table) -> str:
        lines = [self.column_sql(column) for column in table.columns]
        lines += self.constraints(table)
        body = ",\n    ".join(lines)
        options = self.table_options(table)
        return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} (\n    {body}\n){options}"

    def drop_table_sql(self, table: Table) -> str:
        return f"DROP TABLE IF EXISTS {quote(table.name)}"

    # -- loads and deletes ----------------------------------------------------------------------

    def load_sql(self, table: Table) -> str:
        """The statement that bulk-loads rows into ``table`` (shown by dry runs)."""
        raise NotImplementedError

    def clear_sql(self, table: Table) -> str:
        """The statement that empties ``table`` inside a transaction."""
        return f"DELETE FROM {quote(table.name)}"

    def delete_kind_sql(self, table: Table) -> str:
        """The statement that deletes the rows of one kind of source (bound) from ``table``."""
        return f"DELETE FROM {quote(table.name)} WHERE kind = {self.placeholder}"

    def of_sources(self) -> str:
        """The condition that a row's ``source_file`` is in a list of source files (bound)."""
        return f"source_file = ANY({self.placeholder})"

    def delete_sources_sql(self, table: Table) -> str:
        """The statement that deletes the rows of ``table`` from a list of source files."""
        return f"DELETE FROM {quote(table.name)} WHERE {self.of_sources()}"

    # -- the manifest of files loaded -----------------------------------------------------------

    def manifest_files_sql(self) -> str:
        """The statement that reads the stamp (size, version) the manifest knows of every file
        of one kind (bound)."""
        table = quote(LOAD_MANIFEST.name)
        return f"SELECT source_file, size, version FROM {table} WHERE kind = {self.placeholder}"

    def manifest_sql(self) -> str:
        """:meth:`manifest_files_sql` for the files whose stamp vouches for their bytes: all a
        run with nothing new needs of it. An unsettled version
        (:func:`~sparkify_dagster.ingest.files.mtime_version`) vouches for nothing: left out."""
        return f"{self.manifest_files_sql()} AND RIGHT(version, 1) <> '{UNSETTLED}'"

    def manifest_of_sql(self) -> str:
        """:meth:`manifest_sql` for a list of source files (bound after the kind)."""
        return f"{self.manifest_sql()} AND {self.of_sources()}"

    def folders_sql(self) -> str:
        """The statement that reads the folders of one kind (bound) as last listed: each one's
        path, files and modification time (:class:`~.sources.Folder`)."""
        table = quote(LOAD_FOLDERS.name)
        return f"SELECT folder, files, modified_ns FROM {table} WHERE kind = {self.placeholder}"

    def manifest_checksums_sql(self) -> str:
        """The statement that reads the checksum the manifest knows of each of a list of source
        files (bound): only the files whose stamp cannot decide."""
        return (
            f"SELECT source_file, checksum FROM {quote(LOAD_MANIFEST.name)} "
            f"WHERE {self.of_sources()}"
        )

    def manifest_refresh_sql(self) -> str:
        """The statement that records a file's new size and version (bound, then its URI)."""
        p = self.placeholder
        return (
            f"UPDATE {quote(LOAD_MANIFEST.name)} SET size = {p}, version = {p} "
            f"WHERE source_file = {p}"
        )

    # -- the days of the event logs ------------------------------------------------------------

    def log_files_sql(self) -> str:
        """The statement that lists the event logs of a range of days (bound: first, last)."""
        p = self.placeholder
        return f"SELECT source_file FROM {quote(LOG_FILES.name)} WHERE log_day BETWEEN {p} AND {p}"

    def users_of_days_sql(self) -> str:
        """The statement that notes the users of the staged events of a range of days (bound:
        first, last) as pending for the users table."""
        p = self.placeholder
        return (
            f"INSERT INTO {quote(USERS_PENDING.name)} (user_id) "
            f"SELECT DISTINCT e.user_id FROM {quote(STAGING_EVENTS.name)} AS e "
            f"JOIN {quote(LOG_FILES.name)} AS f ON f.source_file = e.source_file "
            f"WHERE f.log_day BETWEEN {p} AND {p} AND e.user_id IS NOT NULL"
        )

    def table_names_sql(self) -> str:
        """The statement that lists the tables of the current schema."""
        return (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )

    # -- transforms -----------------------------------------------------------------------------

    def timestamp_from_epoch_ms(self, expression: str) -> str:
        """SQL turning an epoch-milliseconds BIGINT into a UTC TIMESTAMP, exactly."""
        raise NotImplementedError

    def render(self, template_name: str, **context: Any) -> str:
        """The one statement of the template ``template_name``, rendered for this engine (the
        templates call the dialect ``engine``; ``context`` gives them more)."""
        template = _templates().get_template(template_name)
        text = template.render(engine=self, quote=quote, day_span=ID_SPAN, **context)
        return text.strip().removesuffix(";")


class StagingStrategy(Protocol):
    """How an engine stages its sources: what a connection's :attr:`Warehouse.staging` does.

    Declared here, implemented beside the staging code that needs the connection (the careful
    path, DuckDB's JSON path, Redshift's COPY), so that neither imports the other back.
    """

    # Whether staging records each file read in load_manifest (so that the checks reconcile it).
    keeps_manifest: ClassVar[bool]

    def stage(
        self,
        warehouse: Warehouse,
        locations: dict[str, str],
        reporter: Any = None,
        *,
        full_refresh: bool = False,
        max_errors: int = 0,
        options: Any = None,
        days: Any = None,
    ) -> Any:
        """Bring the staging table of each kind in ``locations`` up to date (of the event logs,
        those of ``days``); its report."""

    def load_files(
        self, warehouse: Warehouse, kind: str, table: Table, source: Any, files: Any, out: Any
    ) -> int:
        """Stage the records of ``files`` into ``table``; the rows staged."""

    def statements(self, dialect: Dialect, settings: Settings, options: Any = None) -> list[str]:
        """The statements a run sends to stage, for plans."""


class Warehouse:
    """A connection to one warehouse: its :attr:`dialect` renders, its :attr:`staging` stages.

    Subclasses set :attr:`name`, :attr:`dialect` and :attr:`staging`, and implement the
    connection methods and :meth:`load_rows`. Everything else (DDL, counts) is shared.
    """

    name: ClassVar[str]
    dialect: ClassVar[Dialect]
    staging: ClassVar[StagingStrategy]
    # Whether :func:`~sparkify_dagster.warehouse.upgrade.prepare` found every table there and
    # up to date on this connection: the next steps of a run, which share it, look no more.
    ready: bool = False

    # -- connection: each engine implements these ---------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.query_with_columns(sql, params)[1]

    def query_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The names of the columns ``sql`` selects, and its rows."""
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def staging_memory(self) -> Iterator[None]:
        """The engine's memory settings while staging; by default, its usual ones."""
        yield

    def load_rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> int:
        """Append ``rows`` (tuples in the order of ``table.columns``) to ``table`` in bulk.

        ``rows`` may be a long stream: engines consume it in batches, never all at once.
        Returns how many rows the engine inserted.
        """
        raise NotImplementedError

    def delete_sources(self, table: Table, source_files: Sequence[str]) -> None:
        """Delete the rows of ``table`` that came from any of ``source_files``
        (:data:`SOURCES_PER_STATEMENT` at a time)."""
        for start in range(0, len(source_files), SOURCES_PER_STATEMENT):
            some = list(source_files[start : start + SOURCES_PER_STATEMENT])
            self.execute(self.dialect.delete_sources_sql(table), [some])

    def table_names(self) -> set[str]:
        """The tables of the connection's current schema."""
        return {name for (name,) in self.query(self.dialect.table_names_sql())}

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- shared operations --------------------------------------------------------------------

    def render(self, template_name: str, **context: Any) -> str:
        """The template ``template_name`` in this engine's dialect (:meth:`Dialect.render`)."""
        return self.dialect.render(template_name, **context)

    def create_tables(self, tables: Sequence[Table] = TABLES, *, drop: bool = False) -> None:
        if drop:
            self.ready = False  # until prepare looks again
            for table in tables:
                self.execute(self.dialect.drop_table_sql(table))
        for table in tables:
            self.execute(self.dialect.create_table_sql(table))

    def count(self, table: Table) -> int:
        ((count,),) = self.query(f"SELECT COUNT(*) FROM {quote(table.name)}")
        return int(count)


def first_line(sql: str) -> str:
    """How an error names a statement: its first line, cut to 80 characters."""
    return sql.strip().splitlines()[0][:80]


def batched(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    """``rows`` in lists of at most ``size``."""
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _templates() -> jinja2.Environment:
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        _ENVIRONMENT = jinja2.Environment(
            loader=jinja2.FileSystemLoader(SQL_DIRS),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
    return _ENVIRONMENT


_ENVIRONMENT: jinja2.Environment | None = None
