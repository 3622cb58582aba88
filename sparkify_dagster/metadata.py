"""What the UI shows of a table: Dagster's standard table metadata, from the one model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetKey,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
)

from sparkify_dagster.warehouse.model import DERIVED_FROM, Table
from sparkify_dagster.warehouse.staging import Reject

GROUP = "sparkify"
REJECTS_SHOWN = 20  # rejects listed in the UI; all of them are in load_errors


def column_schema(table: Table) -> TableSchema:
    """``table``'s columns as the UI lists them: name, logical type, nullability, doc."""
    return TableSchema(
        columns=[
            TableColumn(
                column.name,
                column.type.value,
                description=column.doc or None,
                constraints=TableColumnConstraints(nullable=column.nullable),
            )
            for column in table.columns
        ]
    )


def column_lineage(table: Table) -> TableColumnLineage | None:
    """Which upstream columns each of ``table``'s columns is computed from (star tables)."""
    derived = DERIVED_FROM.get(table.name)
    if derived is None:
        return None
    deps_by_column = {}
    for column, sources in derived.items():
        deps = []
        for source in sources:
            upstream, upstream_column = source.split(".")
            deps.append(TableColumnDep(asset_key=AssetKey(upstream), column_name=upstream_column))
        deps_by_column[column] = deps
    return TableColumnLineage(deps_by_column=deps_by_column)


def definition_metadata(table: Table) -> dict[str, Any]:
    """Static metadata of the asset for ``table``: its name and columns (Dagster's standard
    keys, which the UI shows natively)."""
    return {"dagster/table_name": table.name, "dagster/column_schema": column_schema(table)}


def materialized(table: Table, rows: int, **extra: Any) -> dict[str, Any]:
    """Metadata of one materialization of ``table``: row count, table, lineage, ``extra``."""
    metadata: dict[str, Any] = {"dagster/row_count": rows, "dagster/table_name": table.name}
    lineage = column_lineage(table)
    if lineage is not None:
        metadata["dagster/column_lineage"] = lineage
    return {**metadata, **extra}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> MetadataValue:
    """A Markdown table for the UI; cells are cut at 200 characters and kept on one line."""

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 200 else text[:199] + "…"

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return MetadataValue.md("\n".join(lines))


def rejects_table(rejects: Sequence[Reject]) -> MetadataValue:
    """The first rejects as a Markdown table: file, line, reason."""
    return markdown_table(
        ("file", "line", "reason"),
        [(r.source_file, r.line, r.reason) for r in rejects[:REJECTS_SHOWN]],
    )
