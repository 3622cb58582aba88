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

from sparkify_dagster.catalog import code_references
from sparkify_dagster.ingest.parse import EVENT_FIELDS, SONG_FIELDS, Field
from sparkify_dagster.warehouse.model import (
    DERIVED_FROM,
    LINEAGE_COLUMNS,
    STAGING_EVENTS,
    STAGING_SONGS,
    Column,
    Table,
)
from sparkify_dagster.warehouse.staging import Reject

GROUP = "sparkify"
REJECTS_SHOWN = 20  # rejects listed in the UI; all of them are in load_errors


def _read_from(table: Table, fields: Sequence[Field]) -> dict[str, str]:
    """Each staging column and the raw field the parser reads it from: the parser's fields are in
    the order of the table's columns, the lineage columns left out."""
    columns = [name for name in table.column_names if name not in LINEAGE_COLUMNS]
    return {column: field.key for column, field in zip(columns, fields, strict=True)}


# The raw record's field each staging column is read from (``itemInSession`` -> item_in_session).
RAW_FIELDS = {
    STAGING_EVENTS.name: ("event", _read_from(STAGING_EVENTS, EVENT_FIELDS)),
    STAGING_SONGS.name: ("song", _read_from(STAGING_SONGS, SONG_FIELDS)),
}


def column_description(table: Table, column: Column) -> str | None:
    """What the UI says of a column: its doc in the model, then where its values come from (the
    raw record's field for a staging table, the upstream columns for a star table)."""
    parts = [column.doc] if column.doc else []
    noun, fields = RAW_FIELDS.get(table.name, ("", {}))
    if column.name in fields:
        parts.append(f"from each {noun}'s {fields[column.name]}")
    sources = DERIVED_FROM.get(table.name, {}).get(column.name)
    if sources:
        parts.append("from " + ", ".join(sources))
    return "; ".join(parts) or None


def column_constraints(table: Table, column: Column) -> TableColumnConstraints:
    """Nullability, and the rules the asset checks verify: the key, references, accepted values."""
    other = []
    if column.name in table.key and len(table.key) > 1:
        other.append("key: " + " + ".join(table.key))
    if column.references:
        other.append(f"references {column.references}")
    if column.accepted:
        other.append("one of " + ", ".join(column.accepted))
    return TableColumnConstraints(
        nullable=column.nullable, unique=table.key == (column.name,), other=other or None
    )


def column_schema(table: Table) -> TableSchema:
    """``table``'s columns as the UI lists them: name, logical type, constraints, description."""
    return TableSchema(
        columns=[
            TableColumn(
                column.name,
                column.type.value,
                description=column_description(table, column),
                constraints=column_constraints(table, column),
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
    """Static metadata of the asset for ``table``: its name, columns and code references
    (Dagster's standard keys, which the UI shows natively)."""
    return {
        "dagster/table_name": table.name,
        "dagster/column_schema": column_schema(table),
        "dagster/code_references": code_references(table),
    }


def materialized(table: Table, rows: int, **extra: Any) -> dict[str, Any]:
    """Metadata of one materialization of ``table``: row count, table, lineage, ``extra``."""
    metadata: dict[str, Any] = {"dagster/row_count": rows, "dagster/table_name": table.name}
    lineage = column_lineage(table)
    if lineage is not None:
        metadata["dagster/column_lineage"] = lineage
    return {**metadata, **extra}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> MetadataValue:
    """A Markdown table for the UI; cells are cut at 200 characters, kept on one line and shown
    as the text they hold (:func:`escape_markdown`)."""

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        text = " ".join(text.splitlines())
        return escape_markdown(text if len(text) <= 200 else text[:199] + "…")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return MetadataValue.md("\n".join(lines))


# Marks that start Markdown or HTML inside a table cell; the others (".", "-", "(") only do at
# the start of a line or after one of these, so names and numbers stay as they are written.
_MARKS = frozenset("\\`*_[]<>|~&!#$")


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown inside a table cell, so that a rejected value such as
    ``<img src=x>`` or ``[x](javascript:…)`` shows as written.

    >>> print(escape_markdown("a*b* <i>"))
    a\\*b\\* \\<i\\>
    """
    return "".join("\\" + char if char in _MARKS else char for char in text)


def common_folder(paths: Sequence[str]) -> str:
    """The longest folder (or S3 prefix), ending in ``/``, that holds all ``paths``; else ""."""
    folders = [path.split("/")[:-1] for path in paths]
    common: list[str] = []
    for parts in zip(*folders, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common) + "/" if any(common) else ""


def rejects_table(rejects: Sequence[Reject]) -> MetadataValue:
    """The first rejects as a Markdown table: file, line, reason. Files are named from the folder
    they share, which heads the table, so the reasons keep their room."""
    shown = rejects[:REJECTS_SHOWN]
    folder = common_folder([r.source_file for r in shown])
    table = markdown_table(
        ("file", "line", "reason"),
        [(r.source_file.removeprefix(folder), r.line, r.reason) for r in shown],
    )
    if not folder:
        return table
    return MetadataValue.md(f"In {escape_markdown(folder)}:\n\n{table.value}")
