"""What users listen to: figures computed in the warehouse, drawn as HTML or Markdown."""

from sparkify_dagster.report.queries import ReportResult, report

__all__ = ["ReportResult", "report"]
