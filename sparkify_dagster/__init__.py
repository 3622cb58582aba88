"""Sparkify's star-schema warehouse as a Dagster code location.

``defs`` is the one :class:`dagster.Definitions` (``dagster dev -m sparkify_dagster``). Beneath
it is a library that does the same work without Dagster::

    >>> import sparkify_dagster
    >>> result = sparkify_dagster.etl(target="duckdb:///sparkify.duckdb")  # doctest: +SKIP
    >>> result.counts["songplays"]  # doctest: +SKIP
    6820
"""

from sparkify_dagster.cluster.lifecycle import (
    cluster_endpoint,
    cluster_status,
    create_cluster,
    delete_cluster,
)
from sparkify_dagster.core.errors import (
    ConfigError,
    RecordError,
    SourceError,
    SparkifyError,
    WarehouseError,
)
from sparkify_dagster.core.settings import Settings
from sparkify_dagster.ingest.generate import generate
from sparkify_dagster.warehouse.engines import connect
from sparkify_dagster.warehouse.engines.redshift_copy import RedshiftOptions
from sparkify_dagster.warehouse.pipeline import RunResult, analyze, check, create_tables, etl
from sparkify_dagster.warehouse.plan import plan
from sparkify_dagster.warehouse.staging import Reject, TooManyRejects

__version__ = "0.2.0"

__all__ = [
    "ConfigError",
    "RecordError",
    "RedshiftOptions",
    "Reject",
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
]


def __getattr__(name: str) -> object:
    """``defs`` loads Dagster on first use, so the library alone starts without it (PEP 562)."""
    if name == "defs":
        from sparkify_dagster.definitions import defs

        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), "defs"]
