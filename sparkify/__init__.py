"""Sparkify: a music-streaming app's raw JSON into a star-schema data warehouse.

>>> import sparkify
>>> result = sparkify.etl(song_data="data/song_data", log_data="data/log_data",
...                       target="duckdb:///sparkify.duckdb")  # doctest: +SKIP
>>> result.counts["songplays"]  # doctest: +SKIP
6820
"""

from sparkify.errors import (
    ConfigError,
    RecordError,
    SourceError,
    SparkifyError,
    WarehouseError,
)
from sparkify.generate import generate
from sparkify.pipeline import RunResult, analyze, create_tables, etl
from sparkify.report import ReportResult, report
from sparkify.settings import Settings
from sparkify.warehouses import connect

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "RecordError",
    "ReportResult",
    "RunResult",
    "Settings",
    "SourceError",
    "SparkifyError",
    "WarehouseError",
    "__version__",
    "analyze",
    "connect",
    "create_tables",
    "etl",
    "generate",
    "report",
]
