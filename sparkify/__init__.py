"""Sparkify: a music-streaming app's raw JSON into a star-schema data warehouse.

>>> import sparkify
>>> result = sparkify.etl(song_data="data/song_data", log_data="data/log_data",
...                       target="duckdb:///sparkify.duckdb")  # doctest: +SKIP
>>> result.counts["songplays"]  # doctest: +SKIP
6820
"""

from sparkify.cluster import cluster_endpoint, cluster_status, create_cluster, delete_cluster
from sparkify.errors import (
    ConfigError,
    RecordError,
    SourceError,
    SparkifyError,
    WarehouseError,
)
from sparkify.generate import generate
from sparkify.pipeline import RunResult, analyze, check, create_tables, etl
from sparkify.plan import plan
from sparkify.redshift_load import RedshiftOptions
from sparkify.report import ReportResult, report
from sparkify.settings import Settings
from sparkify.stage import Reject, TooManyRejects
from sparkify.warehouses import connect

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "RecordError",
    "RedshiftOptions",
    "Reject",
    "ReportResult",
    "RunResult",
    "Settings",
    "SourceError",
    "SparkifyError",
    "TooManyRejects",
    "WarehouseError",
    "__version__",
    "analyze",
    "check",
    "cluster_endpoint",
    "cluster_status",
    "connect",
    "create_cluster",
    "create_tables",
    "delete_cluster",
    "etl",
    "generate",
    "plan",
    "report",
]
