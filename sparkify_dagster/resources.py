"""The resources under the assets: the warehouse they write, and the raw data they read.

Both are :class:`dagster.ConfigurableResource`\\ s whose fields :mod:`sparkify_dagster.definitions`
fills from ``SPARKIFY_*`` environment variables with :class:`dagster.EnvVar`, so the UI shows the
variable's name and never its value. Passwords are not fields at all: each engine reads its own
from the environment (``PGPASSWORD``, ``SPARKIFY_DB_PASSWORD``) or from ``dwh.cfg``.
"""

from __future__ import annotations

import os

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from sparkify_dagster.settings import Settings, flag, redact
from sparkify_dagster.warehouse.engines import (
    RedshiftOptions,
    Warehouse,
    connect,
    engine_class,
)
from sparkify_dagster.warehouse.pipeline import source_locations

# Dagster's kind tags (they draw the engine's icon) by engine name.
KINDS = {"duckdb": "duckdb", "postgresql": "postgres", "redshift": "redshift"}


class WarehouseResource(ConfigurableResource):
    """The warehouse every asset writes and every check reads, chosen by its target URL."""

    target: str | None = Field(
        default=None,
        description=(
            "duckdb:///path.duckdb (the default: ./sparkify.duckdb), "
            "postgresql://user@host:5432/db or redshift://user@host:5439/db. "
            "From SPARKIFY_TARGET; with SPARKIFY_CONFIG, a dwh.cfg [CLUSTER] HOST names Redshift."
        ),
    )
    config: str | None = Field(
        default=None,
        description="A classic dwh.cfg ([CLUSTER], [IAM_ROLE], [S3]), from SPARKIFY_CONFIG.",
    )
    lock_timeout: float = Field(
        default=60.0,
        description="Seconds to wait while another run holds the warehouse.",
    )

    @property
    def settings(self) -> Settings:
        return Settings.resolve(target=self.target, config=self.config, environ={})

    @property
    def url(self) -> str:
        """The target, with any password in it hidden: safe to show."""
        return redact(self.settings.target)

    def connect(self) -> Warehouse:
        """A new connection; close it (``with``) when done."""
        target = self.settings.target
        redshift = None
        if engine_class(target).copies_from_s3:
            redshift = RedshiftOptions.resolve(config=self.config)
        return connect(target, lock_timeout=self.lock_timeout, redshift=redshift)


class SourcesResource(ConfigurableResource):
    """Where the raw JSON is: local folders or ``s3://`` prefixes; the built-in sample if unset."""

    song_data: str | None = Field(
        default=None, description="song_data folder or s3:// prefix, from SPARKIFY_SONG_DATA."
    )
    log_data: str | None = Field(
        default=None, description="log_data folder or s3:// prefix, from SPARKIFY_LOG_DATA."
    )
    no_sign_request: bool = Field(
        default=False,
        description="Read S3 unsigned, as for a public bucket (SPARKIFY_NO_SIGN_REQUEST).",
    )

    def location(self, kind: str) -> str:
        """The folder or prefix of ``songs`` or ``events``."""
        settings = Settings.resolve(song_data=self.song_data, log_data=self.log_data, environ={})
        songs, logs = source_locations(settings)
        return songs if kind == "songs" else logs


def _from_env(name: str) -> EnvVar | None:
    """``$name`` as an :class:`EnvVar` (read when a run starts, shown by name), if it is set."""
    return EnvVar(name) if os.environ.get(name) else None


def warehouse_from_env() -> WarehouseResource:
    """The warehouse ``SPARKIFY_TARGET`` (or ``SPARKIFY_CONFIG``'s cluster) names."""
    return WarehouseResource(
        target=_from_env("SPARKIFY_TARGET"), config=_from_env("SPARKIFY_CONFIG")
    )


def sources_from_env() -> SourcesResource:
    """The raw data ``SPARKIFY_SONG_DATA`` and ``SPARKIFY_LOG_DATA`` name."""
    unsigned = os.environ.get("SPARKIFY_NO_SIGN_REQUEST")
    return SourcesResource(
        song_data=_from_env("SPARKIFY_SONG_DATA"),
        log_data=_from_env("SPARKIFY_LOG_DATA"),
        no_sign_request=flag(unsigned, "SPARKIFY_NO_SIGN_REQUEST"),
    )


def engine_in_use() -> type[Warehouse]:
    """The engine this code location writes, as the environment names it."""
    target = os.environ.get("SPARKIFY_TARGET")
    settings = Settings.resolve(target=target, config=os.environ.get("SPARKIFY_CONFIG"), environ={})
    return engine_class(settings.target)


ENGINE_CLASS = engine_in_use()
ENGINE = KINDS[ENGINE_CLASS.name]  # the Dagster kind every table asset shows
