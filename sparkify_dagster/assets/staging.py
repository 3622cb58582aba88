"""``staging_songs`` and ``staging_events``: every raw record, typed, with its file and line.

``staging_events`` is partitioned by day (:mod:`~sparkify_dagster.partitions`): a run stages
the logs of its days only. Each materialization loads only new and changed files (the
warehouse's ``load_manifest``) in one transaction: rejected records go to ``load_errors`` with
file, line and reason; more of them than ``max_errors`` fail the step, change nothing, and keep
the star tables from running.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    MaterializeResult,
    PartitionsDefinition,
    asset,
)
from pydantic import Field

from sparkify_dagster.assets.raw import raw_key
from sparkify_dagster.catalog import catalog
from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.failures import reported
from sparkify_dagster.metadata import (
    GROUP,
    definition_metadata,
    materialized,
    rejects_table,
)
from sparkify_dagster.partitions import LOG_DAYS, SINGLE_RUN, days_of
from sparkify_dagster.resources import SourcesResource, WarehouseResource, warehouse_kind
from sparkify_dagster.run_log import run_progress
from sparkify_dagster.warehouse.model import STAGING_EVENTS, STAGING_SONGS, Table
from sparkify_dagster.warehouse.staging import StageReport, stage_locations
from sparkify_dagster.warehouse.upgrade import prepare


class StagingConfig(Config):
    """Run-level knobs of a staging load (the launchpad's config)."""

    full_refresh: bool = Field(
        default=False,
        description="Reload every file from scratch instead of only new and changed ones.",
    )
    max_errors: int | None = Field(
        default=None,
        description=(
            "Rejected records allowed before the load fails and changes nothing. "
            "Unset: $SPARKIFY_MAX_ERRORS, else 0."
        ),
    )

    def allowed_rejects(self, sources: SourcesResource) -> int:
        """``max_errors``, else the sources' (``$SPARKIFY_MAX_ERRORS``), else 0."""
        if self.max_errors is None:
            return sources.allowed_rejects
        if self.max_errors < 0:
            raise ConfigError(f"max_errors is {self.max_errors}: give 0 or more")
        return self.max_errors


def staging_metadata(table: Table, rows: int, staged: StageReport) -> dict[str, Any]:
    """What one staging load did, for the UI: files, records, bytes, seconds, first rejects."""
    (report,) = staged.sources
    extra: dict[str, Any] = {
        "source": report.location,
        "files_read": report.files_loaded,
        "files_unchanged": report.files_unchanged,
        "records_staged": report.staged,
        "records_rejected": report.rejected,
        "bytes_read": report.bytes_loaded,
        "seconds": round(report.seconds, 3),
    }
    if staged.rejects:
        extra["rejects"] = rejects_table(staged.rejects)
    if report.unknown_fields:
        extra["unknown_fields"] = dict(report.unknown_fields)
    return materialized(table, rows, **extra)


def staging_asset(
    kind: str, table: Table, files: str, partitions: PartitionsDefinition | None = None
) -> AssetsDefinition:
    """The asset that stages the ``kind`` source (``songs`` or ``events``) into ``table``."""

    @asset(
        name=table.name,
        group_name=GROUP,
        description=f"{table.doc} Each run loads only new and changed {files}.",
        metadata=definition_metadata(table),
        kinds=warehouse_kind(),
        partitions_def=partitions,
        backfill_policy=SINGLE_RUN,
        deps=[raw_key(kind)],
        **catalog(table),
    )
    def _staging(
        context: AssetExecutionContext,
        config: StagingConfig,
        warehouse: WarehouseResource,
        sources: SourcesResource,
    ) -> MaterializeResult:
        with reported(), run_progress(context), warehouse.connect() as connection:
            with connection.transaction():
                prepare(connection)
                staged = stage_locations(
                    connection,
                    {kind: sources.location(kind, must_exist=True)},
                    full_refresh=config.full_refresh,
                    max_errors=config.allowed_rejects(sources),
                    options=sources.options,
                    days=days_of(context),
                )
            rows = connection.count(table)
        return MaterializeResult(metadata=staging_metadata(table, rows, staged))

    return _staging


staging_songs = staging_asset("songs", STAGING_SONGS, "song files")
staging_events = staging_asset(
    "events", STAGING_EVENTS, "event logs of its days (its partitions)", LOG_DAYS
)
