"""Redshift's SQL: PostgreSQL's, with sized VARCHARs, DIST/SORT keys, informational primary
keys, staging tables as COPY fills them, and the statements each COPY needs (see
:mod:`~sparkify_dagster.warehouse.engines.redshift`)."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.warehouse.engines.base import quote
from sparkify_dagster.warehouse.engines.postgres import PostgresDialect
from sparkify_dagster.warehouse.engines.redshift_copy import (
    CopySource,
    RedshiftOptions,
    copy_columns,
    literal,
)
from sparkify_dagster.warehouse.model import (
    LINEAGE_COLUMNS,
    LOG_FILES,
    STAGING_EVENTS,
    Column,
    Table,
    Type,
)

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

    def forget_days_sql(self) -> list[str]:
        """The statements that drop the staged events of a range of days (each bound: first,
        last): Redshift reloads the days it stages whole."""
        p = self.placeholder
        of_days = (
            f"SELECT source_file FROM {quote(LOG_FILES.name)} WHERE log_day BETWEEN {p} AND {p}"
        )
        return [
            f"DELETE FROM {quote(STAGING_EVENTS.name)} WHERE source_file IN ({of_days})",
            f"DELETE FROM {quote(LOG_FILES.name)} WHERE log_day BETWEEN {p} AND {p}",
        ]

    def log_file_sql(self) -> str:
        """The statement that records the day of one event log (bound: its URI, its day)."""
        p = self.placeholder
        return f"INSERT INTO {quote(LOG_FILES.name)} (source_file, log_day) VALUES ({p}, {p})"

    def events_statements(
        self, sources: list[CopySource], options: RedshiftOptions
    ) -> list[tuple[CopySource | None, str]]:
        """Per COPY of event logs: the COPY (paired with its source), its lineage."""
        steps: list[tuple[CopySource | None, str]] = []
        for source in sources:
            steps.append((source, self.copy_sql(source, options)))
            if not source.lineage:
                steps.append((None, self.lineage_sql(source)))
        return steps

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
