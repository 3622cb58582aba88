"""Amazon Redshift: PostgreSQL's SQL, with its own table design, bulk load and driver.

:class:`RedshiftDialect` extends :class:`PostgresDialect` and :class:`RedshiftWarehouse` extends
:class:`PostgresWarehouse`, each declaring only what differs (see ``docs/redshift.md``):

- the connection: Amazon's driver, redshift-connector, with TLS and optional IAM
  authentication (:mod:`~sparkify_dagster.warehouse.engines.redshift_driver`); statements, ``%s``
  parameters and transactions behave as on PostgreSQL;
- types: ``VARCHAR(n)`` sized from the model (``Column.size``, in bytes), ``DOUBLE PRECISION``
  for durations and coordinates (a bare ``DECIMAL`` has scale 0 on Redshift and would round);
- ``DISTSTYLE``/``DISTKEY``/``SORTKEY`` from the model's hints;
- staging by ``COPY … FROM 's3://…'`` (:class:`CopyStaging`; what each COPY reads is decided in
  :mod:`~sparkify_dagster.warehouse.engines.redshift_copy`), never through Python, so the
  lineage columns cannot be filled per record: they are nullable here, and hold the COPY's
  source (prefix or manifest) and NULL after a load;
- rows are cleared with ``DELETE`` (``TRUNCATE`` commits the open transaction on Redshift).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from sparkify_dagster.core.errors import ConfigError, WarehouseError
from sparkify_dagster.core.progress import Reporter
from sparkify_dagster.warehouse.engines.base import Dialect, Warehouse, batched, first_line, quote
from sparkify_dagster.warehouse.engines.postgres import PostgresDialect, PostgresWarehouse
from sparkify_dagster.warehouse.engines.redshift_copy import (
    LOAD_ERRORS_SQL,
    STL_LOAD_ERRORS_SQL,
    CopySource,
    RedshiftOptions,
    copy_columns,
    copy_source,
    copy_sources,
    literal,
    load_error,
    prepare,
)
from sparkify_dagster.warehouse.engines.redshift_driver import (
    Endpoint,
    connect_arguments,
    translate,
)
from sparkify_dagster.warehouse.model import LINEAGE_COLUMNS, Column, Table, Type
from sparkify_dagster.warehouse.staging import SourceReport, StageReport, Staging

if TYPE_CHECKING:
    from redshift_connector.core import Connection

    from sparkify_dagster.core.settings import Settings

# Staging columns whose source values COPY cannot read as the model's type. eventsim writes
# ``registration`` as a JSON float (1.540919166796e+12): COPY refuses it for a BIGINT, while a
# DOUBLE PRECISION holds every epoch millisecond exactly (< 2**53).
COPY_TYPES: dict[tuple[str, str], Type] = {
    ("staging_events", "registration"): Type.DOUBLE,
}


class RedshiftDialect(PostgresDialect):
    """PostgreSQL's SQL with Redshift's table design: sized VARCHARs, DIST/SORT keys,
    informational primary keys, and staging tables as COPY fills them."""

    sqlglot: ClassVar[str] = "redshift"
    types: ClassVar[dict[Type, str]] = {
        **PostgresDialect.types,
        Type.TEXT: "VARCHAR(256)",  # only for a TEXT column without a size
    }

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

    def delete_sources_in_sql(self, table: Table, files: int) -> str:
        """As :meth:`delete_sources_sql`, with an ``IN`` list of ``files`` parameters: Redshift
        has no array parameters."""
        marks = ", ".join([self.placeholder] * files)
        return f"DELETE FROM {quote(table.name)} WHERE source_file IN ({marks})"

    def copy_sql(self, source: CopySource, options: RedshiftOptions) -> str:
        """The ``COPY`` statement that stages ``source``."""
        if not options.iam_role:
            raise ConfigError(
                "Redshift's COPY needs an IAM role that can read the sources: set "
                "$SPARKIFY_IAM_ROLE or [IAM_ROLE] ARN in dwh.cfg"
            )
        columns = copy_columns(source.table, lineage=source.lineage)
        lines = [
            f"COPY {quote(source.table.name)} ({', '.join(map(quote, columns))})",
            f"FROM {literal(source.uri)}",
            f"IAM_ROLE {literal(options.iam_role)}",
            f"FORMAT AS JSON {literal(source.json)}",
        ]
        if source.manifest:
            lines.append("MANIFEST")
        if source.gzip:
            lines.append("GZIP")
        if options.region:
            lines.append(f"REGION {literal(options.region)}")
        lines.append("COMPUPDATE OFF STATUPDATE OFF")
        lines.append(f"MAXERROR {options.max_errors}")
        return "\n".join(lines)

    def lineage_sql(self, source: CopySource) -> str:
        """COPY cannot say which file a row came from: record the COPY's source instead."""
        return (
            f"UPDATE {quote(source.table.name)} SET {quote('source_file')} = "
            f"{literal(source.uri)} WHERE {quote('source_file')} IS NULL"
        )

    def staging_statements(
        self, sources: list[CopySource], options: RedshiftOptions
    ) -> list[tuple[CopySource | None, str]]:
        """Per staging table: clear it, COPY (paired with its source), record the lineage."""
        steps: list[tuple[CopySource | None, str]] = []
        for source in sources:
            steps.append((None, self.clear_sql(source.table)))
            steps.append((source, self.copy_sql(source, options)))
            if not source.lineage:
                steps.append((None, self.lineage_sql(source)))
        return steps


class CopyStaging(Staging):
    """Redshift's staging: ``COPY … FROM 's3://…'`` of each whole location, by the cluster
    itself; it keeps no manifest of files, and always reloads in full."""

    keeps_manifest: ClassVar[bool] = False

    def stage(
        self,
        warehouse: Warehouse,
        locations: dict[str, str],
        reporter: Reporter | None = None,
        *,
        full_refresh: bool = False,
        max_errors: int = 0,
        no_sign_request: bool = False,
    ) -> StageReport:
        if not isinstance(warehouse, RedshiftWarehouse):
            raise TypeError(f"Redshift's staging needs a Redshift warehouse, not {warehouse!r}")
        reports = []
        for kind, location in locations.items():
            staged = warehouse.stage_from_s3(kind, location, max_errors=max_errors)
            reports.append(SourceReport(kind, location, records=staged, staged=staged, copied=True))
        return StageReport(reports, [])

    def statements(
        self, dialect: Dialect, settings: Settings, options: RedshiftOptions | None = None
    ) -> list[str]:
        """The statements of the COPYs, from the settings and ``options`` (else those the
        environment and dwh.cfg give)."""
        if not isinstance(dialect, RedshiftDialect):
            raise TypeError(f"Redshift's staging needs Redshift's dialect, not {dialect!r}")
        options = options or RedshiftOptions.resolve(config=settings.config_path)
        steps = dialect.staging_statements(copy_sources(settings, options), options)
        return [sql for _, sql in steps]


class RedshiftWarehouse(PostgresWarehouse):
    """A Redshift cluster, through Amazon's driver; staged by COPY from S3."""

    name: ClassVar[str] = "redshift"
    dialect: ClassVar[RedshiftDialect] = RedshiftDialect()
    staging: ClassVar[Staging] = CopyStaging()

    def __init__(
        self,
        target: str,
        *,
        options: RedshiftOptions | None = None,
        lock_timeout: float = 0.0,
    ) -> None:
        self.options = options or RedshiftOptions()
        self.endpoint = Endpoint.from_target(target)
        self.lock_timeout = lock_timeout  # Redshift's own table locks serialise runs
        self._failed_copy: CopySource | None = None
        self._depth = 0
        arguments = connect_arguments(self.endpoint, self.options)
        self._secret: str | None = arguments.get("password")
        import redshift_connector  # with boto3 under it: loaded only when Redshift is used

        try:
            self.db: Connection = redshift_connector.connect(**arguments)
        except Exception as exc:
            user = f"IAM user {self.endpoint.user}" if self.options.iam else self.endpoint.user
            raise self._error(exc, f"cannot connect as {user}") from None
        self.db.autocommit = True  # transactions are opened explicitly by transaction()
        # The driver keeps its connect timeout on the socket; a long COPY must not hit it.
        sock = getattr(self.db, "_usock", None)
        if sock is not None:
            sock.settimeout(None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self, 'endpoint', None)!r})"

    def _error(self, exc: BaseException, doing: str) -> WarehouseError:
        return translate(exc, doing, self.endpoint, self._secret)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        cursor = self.db.cursor()
        try:
            cursor.execute(sql, list(params) or None)
        except Exception as exc:
            raise self._error(exc, f"refused {first_line(sql)!r}") from None
        finally:
            cursor.close()

    def query_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.db.cursor()
        try:
            cursor.execute(sql, list(params) or None)
            columns = [str(column[0]) for column in cursor.description or ()]
            return columns, [tuple(row) for row in cursor.fetchall()]
        except Exception as exc:
            raise self._error(exc, f"refused {first_line(sql)!r}") from None
        finally:
            cursor.close()

    def stage_from_s3(self, kind: str, location: str | None, *, max_errors: int = 0) -> int:
        """Replace the staging table of ``kind`` by a ``COPY`` of ``location``; rows staged.

        Writes the control files the COPY needs first (:func:`redshift_copy.prepare`). A COPY
        that fails names its first rejected line once the transaction has rolled back.
        """
        options = replace(self.options, max_errors=max_errors)
        source = copy_source(kind, location, options)
        prepare(kind, str(location), options)
        for copying, sql in self.dialect.staging_statements([source], options):
            self._failed_copy = copying
            self.execute(sql)
            self._failed_copy = None
        return self.count(source.table)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: committed when the block ends, rolled back when it raises. A
        transaction opened inside another joins it."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.execute("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException as exc:
            self._depth = 0
            self._rollback()
            failed, self._failed_copy = self._failed_copy, None
            if isinstance(exc, WarehouseError) and failed is not None:
                raise self._rejected_lines(failed, exc) from None
            raise
        self._depth = 0
        try:
            self.db.commit()
        except Exception as exc:
            self._rollback()
            raise self._error(exc, "could not commit") from None

    def _rollback(self) -> None:
        with suppress(Exception):  # the connection is gone: the server rolls back by itself
            self.db.rollback()

    def _rejected_lines(self, failed: CopySource, error: WarehouseError) -> Exception:
        """The failed COPY's first rejected line, readable once the transaction rolled back;
        ``error`` itself when the cluster recorded none it can show."""
        for sql in (LOAD_ERRORS_SQL, STL_LOAD_ERRORS_SQL):  # clusters without the SYS views
            try:
                rows = self.query(sql)
            except WarehouseError:
                continue
            return load_error(rows, failed.table.name) if rows else error
        return error

    def delete_sources(self, table: Table, source_files: Sequence[str]) -> None:
        """As on PostgreSQL, with an ``IN`` list: Redshift has no array parameters."""
        for batch in batched(((file,) for file in source_files), 500):
            self.execute(
                self.dialect.delete_sources_in_sql(table, len(batch)), [f for (f,) in batch]
            )

    def close(self) -> None:
        with suppress(Exception):  # already closed, or the network is gone: nothing to free
            self.db.close()

    def load_rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> int:
        raise WarehouseError(
            f"Redshift loads {table.name} from S3 with COPY, not from this machine: give s3:// "
            "song and log data (or turn on compaction to stage local files on S3)"
        )
