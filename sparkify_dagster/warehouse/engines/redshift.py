"""Amazon Redshift: PostgreSQL's SQL, with its own table design, bulk load and driver.

:class:`~.redshift_dialect.RedshiftDialect` extends :class:`PostgresDialect` and
:class:`RedshiftWarehouse` extends :class:`PostgresWarehouse`, each declaring only what differs
(see ``docs/redshift.md``):

- the connection: Amazon's driver, redshift-connector, with TLS and optional IAM
  authentication (:mod:`~sparkify_dagster.warehouse.engines.redshift_driver`); statements, ``%s``
  parameters and transactions behave as on PostgreSQL;
- types: ``VARCHAR(n)`` sized from the model (``Column.size``, in bytes), ``DOUBLE PRECISION``
  for durations and coordinates (a bare ``DECIMAL`` has scale 0 on Redshift and would round);
- ``DISTSTYLE``/``DISTKEY``/``SORTKEY`` from the model's hints;
- staging by ``COPY … FROM 's3://…'`` (:class:`CopyStaging`; what each COPY reads is decided in
  :mod:`~sparkify_dagster.warehouse.engines.redshift_copy`), never through Python, so the
  lineage columns cannot be filled per record: they are nullable here, and hold the COPY's
  source (the song prefix or manifest; each event log, copied one by one for its day) and NULL;
- rows are cleared with ``DELETE`` (``TRUNCATE`` commits the open transaction on Redshift).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from sparkify_dagster.core.errors import WarehouseError
from sparkify_dagster.core.progress import Reporter
from sparkify_dagster.ingest.days import log_day
from sparkify_dagster.ingest.files import SourceFile
from sparkify_dagster.ingest.sources import DEFAULT_OPTIONS, SourceOptions, open_source
from sparkify_dagster.warehouse.days import EVERY_DAY, Days
from sparkify_dagster.warehouse.engines.base import Dialect, Warehouse, batched, first_line, quote
from sparkify_dagster.warehouse.engines.postgres import PostgresWarehouse
from sparkify_dagster.warehouse.engines.redshift_copy import (
    LOAD_ERRORS_SQL,
    STL_LOAD_ERRORS_SQL,
    CopySource,
    RedshiftOptions,
    copy_source,
    copy_sources,
    day_sources,
    load_error,
    prepare,
)
from sparkify_dagster.warehouse.engines.redshift_dialect import RedshiftDialect
from sparkify_dagster.warehouse.engines.redshift_driver import (
    Endpoint,
    connect_arguments,
    translate,
)
from sparkify_dagster.warehouse.model import (
    LOG_FILES,
    STAGING_EVENTS,
    Table,
)
from sparkify_dagster.warehouse.staging import SourceReport, StageReport, Staging, of_days

if TYPE_CHECKING:
    from redshift_connector.core import Connection

    from sparkify_dagster.core.settings import Settings


class CopyStaging(Staging):
    """Redshift's staging: ``COPY … FROM 's3://…'`` by the cluster itself, of the whole song
    location and of each event log of the days staged; it keeps no manifest of files, and
    reloads the songs and those days in full."""

    keeps_manifest: ClassVar[bool] = False

    def stage(
        self,
        warehouse: Warehouse,
        locations: dict[str, str],
        reporter: Reporter | None = None,
        *,
        full_refresh: bool = False,
        max_errors: int = 0,
        options: SourceOptions = DEFAULT_OPTIONS,  # Redshift copies from S3, which it lists
        days: Days = EVERY_DAY,
    ) -> StageReport:
        if not isinstance(warehouse, RedshiftWarehouse):
            raise TypeError(f"Redshift's staging needs a Redshift warehouse, not {warehouse!r}")
        reports = []
        for kind, location in locations.items():
            if kind == "events":
                staged = warehouse.stage_days(
                    location, days, max_errors=max_errors, no_sign_request=options.no_sign_request
                )
            else:
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
        songs, events = copy_sources(settings, options)
        steps = dialect.staging_statements([songs], options)
        # the event logs of the days staged, each like this one
        example = SourceFile(f"{events.uri.rstrip('/')}/YYYY/MM/YYYY-MM-DD-events.json", 0, "")
        if options.compact:
            example = SourceFile(events.uri, 0, "")
        return [
            *(sql for _, sql in steps),
            dialect.users_of_days_sql(),
            *dialect.forget_days_sql(),
            *(
                sql
                for _, sql in dialect.events_statements(day_sources([example], options), options)
            ),
            dialect.log_file_sql(),
            dialect.users_of_days_sql(),
        ]


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

    def stage_days(
        self,
        location: str | None,
        days: Days,
        *,
        max_errors: int = 0,
        no_sign_request: bool = False,
    ) -> int:
        """Replace the staged events of ``days`` by a ``COPY`` of each of their logs (with
        ``compact``, of their logs merged); the rows staged."""
        options = replace(self.options, max_errors=max_errors)
        copy_source("events", location, options)  # validates the settings before listing
        files = of_days(
            "events", open_source(str(location), no_sign_request=no_sign_request).files(), days
        )
        self.execute(self.dialect.users_of_days_sql(), days.bounds)  # their users may change
        for sql in self.dialect.forget_days_sql():
            self.execute(sql, days.bounds)
        prepare("events", str(location), options, files=files)
        for copying, sql in self.dialect.events_statements(day_sources(files, options), options):
            self._failed_copy = copying
            self.execute(sql)
            self._failed_copy = None
        for file in files:
            self.execute(self.dialect.log_file_sql(), [file.uri, log_day(file.uri)])
        self.execute(self.dialect.users_of_days_sql(), days.bounds)
        ((rows,),) = self.query(
            f"SELECT COUNT(*) FROM {quote(STAGING_EVENTS.name)} AS e "
            f"JOIN {quote(LOG_FILES.name)} AS f ON f.source_file = e.source_file "
            f"WHERE f.log_day BETWEEN %s AND %s",
            days.bounds,
        )
        return int(rows)

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
