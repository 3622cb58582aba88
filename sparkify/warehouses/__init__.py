"""Warehouse engines, chosen by the target URL.

Targets follow the SQLAlchemy URL convention:

- ``duckdb:///relative/path.duckdb``, ``duckdb:////absolute/path.duckdb``, ``duckdb:///:memory:``,
  or a plain path ending in ``.duckdb``.
"""

from __future__ import annotations

from sparkify.errors import ConfigError
from sparkify.settings import redact
from sparkify.warehouses.base import Warehouse, quote
from sparkify.warehouses.duckdb import DuckDBWarehouse

__all__ = ["DuckDBWarehouse", "Warehouse", "connect", "quote"]


def duckdb_path(target: str) -> str | None:
    """The DuckDB file a target names, or ``None`` when it names another engine."""
    if target.startswith("duckdb://"):
        rest = target[len("duckdb://") :]
        if not rest.startswith("/") or rest == "/":
            raise ConfigError(
                f"target {target!r} has no file: use duckdb:///relative.duckdb "
                "or duckdb:////absolute/path.duckdb"
            )
        return rest[1:]
    if "://" not in target and target.endswith(".duckdb"):
        return target
    return None


def connect(target: str, *, lock_timeout: float = 0.0) -> Warehouse:
    """Open the warehouse ``target`` names; wait up to ``lock_timeout`` s if another run has it.

    >>> with connect("duckdb:///:memory:") as warehouse:
    ...     warehouse.name
    'duckdb'
    """
    path = duckdb_path(target)
    if path is not None:
        return DuckDBWarehouse(path, lock_timeout=lock_timeout)
    raise ConfigError(
        f"unsupported target {redact(target)!r}: expected duckdb:///path.duckdb "
        "or a path ending in .duckdb"
    )
