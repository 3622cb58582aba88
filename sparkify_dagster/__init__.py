"""Sparkify's star-schema warehouse as a Dagster code location.

``defs`` is the one :class:`dagster.Definitions` (``dagster dev -m sparkify_dagster``). Beneath
it is a library that does the same work without Dagster::

    >>> import sparkify_dagster
    >>> result = sparkify_dagster.etl(target="duckdb:///sparkify.duckdb")  # doctest: +SKIP
    >>> result.counts["songplays"]  # doctest: +SKIP
    6820

Each name is imported on first use (PEP 562): the Dagster instance loads
``sparkify_dagster.launcher`` in every Dagster process, which then need not load the engines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    from sparkify_dagster.definitions import defs
    from sparkify_dagster.ingest.generate import generate
    from sparkify_dagster.warehouse.engines import connect
    from sparkify_dagster.warehouse.engines.redshift_copy import RedshiftOptions
    from sparkify_dagster.warehouse.pipeline import RunResult, analyze, check, create_tables, etl
    from sparkify_dagster.warehouse.plan import plan
    from sparkify_dagster.warehouse.staging import Reject, TooManyRejects

__version__ = "0.2.0"

# Each public name, by the module that defines it.
_HOMES = {
    "cluster_endpoint": "sparkify_dagster.cluster.lifecycle",
    "cluster_status": "sparkify_dagster.cluster.lifecycle",
    "create_cluster": "sparkify_dagster.cluster.lifecycle",
    "delete_cluster": "sparkify_dagster.cluster.lifecycle",
    "ConfigError": "sparkify_dagster.core.errors",
    "RecordError": "sparkify_dagster.core.errors",
    "SourceError": "sparkify_dagster.core.errors",
    "SparkifyError": "sparkify_dagster.core.errors",
    "WarehouseError": "sparkify_dagster.core.errors",
    "Settings": "sparkify_dagster.core.settings",
    "defs": "sparkify_dagster.definitions",
    "generate": "sparkify_dagster.ingest.generate",
    "connect": "sparkify_dagster.warehouse.engines",
    "RedshiftOptions": "sparkify_dagster.warehouse.engines.redshift_copy",
    "RunResult": "sparkify_dagster.warehouse.pipeline",
    "analyze": "sparkify_dagster.warehouse.pipeline",
    "check": "sparkify_dagster.warehouse.pipeline",
    "create_tables": "sparkify_dagster.warehouse.pipeline",
    "etl": "sparkify_dagster.warehouse.pipeline",
    "plan": "sparkify_dagster.warehouse.plan",
    "Reject": "sparkify_dagster.warehouse.staging",
    "TooManyRejects": "sparkify_dagster.warehouse.staging",
}

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
    "defs",
    "delete_cluster",
    "etl",
    "generate",
    "plan",
]


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
