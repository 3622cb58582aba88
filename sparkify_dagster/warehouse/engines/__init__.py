"""Warehouse engines, chosen by the target URL.

Targets follow the SQLAlchemy URL convention:

- ``duckdb:///relative/path.duckdb``, ``duckdb:////absolute/path.duckdb``, ``duckdb:///:memory:``,
  or a plain path ending in ``.duckdb``.
- ``postgresql://user@host:5432/db`` or ``postgres://…``: a libpq URI; what it leaves out comes
  from the standard ``PG*`` variables (``PGPASSWORD`` …). ``postgresql://`` alone uses them all.
- ``redshift://user@host:5439/db``: the cluster endpoint, reached with Amazon's driver
  (redshift-connector) over TLS; the password comes from ``$SPARKIFY_DB_PASSWORD`` or
  ``[CLUSTER] DB_PASSWORD``, or IAM authentication needs none (see
  :mod:`~sparkify_dagster.warehouse.engines.redshift_driver`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.core.settings import redact
from sparkify_dagster.warehouse.engines.base import Dialect, Warehouse, quote
from sparkify_dagster.warehouse.engines.duckdb import DuckDBDialect, DuckDBWarehouse
from sparkify_dagster.warehouse.engines.postgres import PostgresDialect, PostgresWarehouse
from sparkify_dagster.warehouse.engines.redshift import RedshiftWarehouse
from sparkify_dagster.warehouse.engines.redshift_copy import RedshiftOptions
from sparkify_dagster.warehouse.engines.redshift_dialect import RedshiftDialect

__all__ = [
    "Dialect",
    "DuckDBDialect",
    "DuckDBWarehouse",
    "PostgresDialect",
    "PostgresWarehouse",
    "RedshiftDialect",
    "RedshiftOptions",
    "RedshiftWarehouse",
    "Warehouse",
    "connect",
    "dialect_for",
    "engine_class",
    "quote",
]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
REDSHIFT_SCHEME = "redshift://"


def engine_class(target: str) -> type[Warehouse]:
    """The engine a target names, without connecting (for plans and dry runs)."""
    if duckdb_path(target) is not None:
        return DuckDBWarehouse
    if target.startswith(POSTGRES_SCHEMES):
        return PostgresWarehouse
    if target.startswith(REDSHIFT_SCHEME):
        return RedshiftWarehouse
    raise ConfigError(
        f"unsupported target {redact(target)!r}: expected duckdb:///path.duckdb, a path ending "
        "in .duckdb, postgresql://user@host:5432/db or redshift://user@host:5439/db"
    )


def dialect_for(target: str) -> Dialect:
    """How the engine ``target`` names writes SQL, without connecting (plans, dry runs)."""
    return engine_class(target).dialect


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


def connect(
    target: str,
    *,
    lock_timeout: float = 0.0,
    redshift: RedshiftOptions | Callable[[], RedshiftOptions] | None = None,
    config: str | os.PathLike[str] | None = None,
    memory_limit: str | None = None,
) -> Warehouse:
    """Open the warehouse ``target`` names; wait up to ``lock_timeout`` s if another run has it.

    A Redshift warehouse stages with ``redshift`` (the options, or what makes them), else with
    the options the environment and the classic dwh.cfg ``config`` give
    (:meth:`RedshiftOptions.resolve`). ``memory_limit`` caps a
    DuckDB warehouse's memory (``"1GB"``; see :class:`DuckDBWarehouse`); servers ignore it.

    >>> with connect("duckdb:///:memory:") as warehouse:
    ...     warehouse.name
    'duckdb'
    """
    engine = engine_class(target)
    if engine is PostgresWarehouse:
        return PostgresWarehouse(target, lock_timeout=lock_timeout)
    if engine is RedshiftWarehouse:
        options = redshift() if callable(redshift) else redshift
        options = options or RedshiftOptions.resolve(config=config)
        return RedshiftWarehouse(target, options=options, lock_timeout=lock_timeout)
    return DuckDBWarehouse(
        str(duckdb_path(target)), lock_timeout=lock_timeout, memory_limit=memory_limit
    )
