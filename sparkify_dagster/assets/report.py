"""``listening_report``: what users listen to, as a self-contained HTML file with charts.

Every figure is one query in ``report/sql`` run inside the warehouse; the HTML embeds its charts
and fetches nothing, so it opens anywhere. The key tables also show in the UI, as Markdown.
"""

from pathlib import Path

from dagster import AssetSpec, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from sparkify_dagster.automation import follows_built
from sparkify_dagster.catalog import report_catalog
from sparkify_dagster.failures import reported
from sparkify_dagster.metadata import GROUP
from sparkify_dagster.partitions import SINGLE_RUN
from sparkify_dagster.report.presentation import to_markdown
from sparkify_dagster.report.queries import render_report
from sparkify_dagster.resources import WarehouseResource
from sparkify_dagster.warehouse.model import STAR_TABLES


class ReportConfig(Config):
    out_dir: str = Field(
        default="report", description="Folder for report.html and the charts' PNG files."
    )


@asset(
    group_name=GROUP,
    deps=[AssetSpec(table.name).key for table in STAR_TABLES],
    kinds={"html"},
    backfill_policy=SINGLE_RUN,  # a range of days runs as one run, the report with it
    automation_condition=follows_built(),
    **report_catalog(),
)
def listening_report(config: ReportConfig, warehouse: WarehouseResource) -> MaterializeResult:
    """What users listen to: plays per day by level, the weekly heatmap, top songs and artists,
    sessions, US states and platforms, as report.html with one PNG per chart."""
    with reported(), warehouse.connect() as connection:
        result = render_report(connection, Path(config.out_dir), name=warehouse.url)
    assert result.html is not None
    overview = result.data.overview
    html = result.html.resolve()
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(html)),
            "link": MetadataValue.url(html.as_uri()),
            "charts": len(result.charts),
            "plays": overview.plays,
            "listeners": overview.listeners,
            "report": MetadataValue.md(to_markdown(result.data)),
        }
    )
