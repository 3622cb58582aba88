"""The resources: the warehouse the assets write, the raw data they read, and the AWS account
the cluster jobs provision in.

Each is a :class:`dagster.ConfigurableResource` whose fields :mod:`sparkify_dagster.definitions`
fills from ``SPARKIFY_*`` environment variables with :class:`dagster.EnvVar`, so the UI shows the
variable's name and never its value. Passwords are not fields at all: each engine reads its own
from the environment (``PGPASSWORD``, ``SPARKIFY_DB_PASSWORD``) or from ``dwh.cfg``, and so does
the cluster (``DWH_DB_PASSWORD``); AWS credentials come from the standard AWS chain.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext, OpExecutionContext
from pydantic import Field, PrivateAttr

from sparkify_dagster.cluster.aws import Aws
from sparkify_dagster.cluster.dwhcfg import ClusterConfig
from sparkify_dagster.cluster.lifecycle import ClusterResult, open_session
from sparkify_dagster.core.errors import ConfigError, SourceError
from sparkify_dagster.core.settings import (
    CLUSTER_IDENTIFIER,
    COMPACT,
    CONFIG,
    DB_IAM,
    DUCKDB_MEMORY_LIMIT,
    GZIP,
    IAM_ROLE,
    LOG_DATA,
    LOG_JSONPATH,
    MAX_ERRORS,
    NO_SIGN_REQUEST,
    REGION,
    SENSOR_FULL_LISTING_MINUTES,
    SENSOR_MAX_KEYS,
    SLICES,
    SONG_DATA,
    STAGING,
    TARGET,
    TRUST_FOLDER_TIMES,
    Setting,
    Settings,
    environ,
    redact,
)
from sparkify_dagster.failures import reported
from sparkify_dagster.ingest.sources import SourceOptions
from sparkify_dagster.warehouse.engines import RedshiftOptions, Warehouse, connect, engine_class
from sparkify_dagster.warehouse.pipeline import source_locations

# Dagster's kind tags (they draw the engine's icon) by engine name.
KINDS_BY_ENGINE = {"duckdb": "duckdb", "postgresql": "postgres", "redshift": "redshift"}


class WarehouseResource(ConfigurableResource):
    """The warehouse every asset writes and every check reads, chosen by its target URL.

    Every field is read when a run starts: a bad value fails the run with its message and the
    fix, never the code location. The Redshift fields are read only on Redshift.
    """

    target: str | None = Field(
        default=None,
        description=(
            "duckdb:///path.duckdb (the default: ./sparkify.duckdb), "
            "postgresql://user@host:5432/db or redshift://user@host:5439/db (redshift-connector, "
            "TLS; SPARKIFY_DB_PASSWORD or SPARKIFY_DB_IAM=true). From SPARKIFY_TARGET; with "
            "SPARKIFY_CONFIG, a dwh.cfg [CLUSTER] HOST names Redshift."
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
    memory_limit: str | None = Field(
        default=None,
        description=(
            "DuckDB's memory cap, such as 1GB; beyond it DuckDB spills to <file>.tmp. Unset: "
            "512MB, and 128MB while staging. From SPARKIFY_DUCKDB_MEMORY_LIMIT; servers ignore it."
        ),
    )
    iam_role: str | None = Field(
        default=None,
        description="Redshift: the IAM role its COPY reads S3 with (SPARKIFY_IAM_ROLE).",
    )
    region: str | None = Field(
        default=None, description="Redshift: the region of the S3 sources (SPARKIFY_REGION)."
    )
    log_jsonpath: str | None = Field(
        default=None,
        description="Redshift: a JSONPaths file for the event logs (SPARKIFY_LOG_JSONPATH).",
    )
    staging: str | None = Field(
        default=None,
        description="Redshift: an s3:// prefix for its control files (SPARKIFY_STAGING).",
    )
    compact: str | None = Field(
        default=None,
        description="Redshift: merge small files into large objects first (SPARKIFY_COMPACT).",
    )
    slices: str | None = Field(
        default=None, description="Redshift: objects per compacted table (SPARKIFY_SLICES)."
    )
    gzip: str | None = Field(
        default=None, description="Redshift: the sources are gzipped (SPARKIFY_GZIP)."
    )
    db_iam: str | None = Field(
        default=None,
        description="Redshift: sign in with IAM instead of a password (SPARKIFY_DB_IAM).",
    )
    cluster_identifier: str | None = Field(
        default=None,
        description="Redshift: the cluster IAM sign-in asks for (SPARKIFY_CLUSTER_IDENTIFIER).",
    )

    @property
    def settings(self) -> Settings:
        return Settings.resolve(target=self.target, config=self.config, environ={})

    @property
    def url(self) -> str:
        """The target, with any password in it hidden: safe to show."""
        return redact(self.settings.target)

    def redshift_options(self) -> RedshiftOptions:
        """How Redshift stages and signs in: these fields, then the environment, then dwh.cfg."""
        return RedshiftOptions.resolve(
            config=self.config,
            iam_role=self.iam_role,
            region=self.region,
            log_jsonpath=self.log_jsonpath,
            staging=self.staging,
            compact=self.compact,
            slices=self.slices,
            gzip=self.gzip,
            iam=self.db_iam,
            cluster_identifier=self.cluster_identifier,
        )

    _in_run: bool = PrivateAttr(default=False)
    _run_connection: Warehouse | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._in_run = True

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self._in_run = False
        if self._run_connection is not None:
            self._run_connection.close()
            self._run_connection = None

    @contextmanager
    def connect(self) -> Iterator[Warehouse]:
        """A connection for a ``with`` block.

        In a run, every step shares the run's one connection, opened by the first step and
        closed when the run ends (all steps run in one process). Outside a run, a connection of
        its own, closed at the end of the block.
        """
        if not self._in_run:
            with self._open() as connection:
                yield connection
            return
        if self._run_connection is None:
            self._run_connection = self._open()
        yield self._run_connection

    def _open(self) -> Warehouse:
        target = self.settings.target
        try:
            engine_class(target)
        except ConfigError as exc:
            raise ConfigError(f"{exc}; set {TARGET.variable} to one of them") from None
        return connect(
            target,
            lock_timeout=self.lock_timeout,
            redshift=self.redshift_options,  # resolved only on Redshift
            config=self.config,
            memory_limit=self.memory_limit,
        )


class SourcesResource(ConfigurableResource):
    """Where the raw JSON is, and how it is read: local folders or ``s3://`` prefixes; the
    built-in sample if unset."""

    song_data: str | None = Field(
        default=None, description="song_data folder or s3:// prefix, from SPARKIFY_SONG_DATA."
    )
    log_data: str | None = Field(
        default=None, description="log_data folder or s3:// prefix, from SPARKIFY_LOG_DATA."
    )
    no_sign_request: str | None = Field(
        default=None,
        description="Read S3 unsigned, as for a public bucket (SPARKIFY_NO_SIGN_REQUEST).",
    )
    trust_folder_times: str | None = Field(
        default=None,
        description=(
            "A run does not stat the song files the manifest knows in a local folder unchanged "
            "since the last load of songs; misses a file rewritten in place "
            "(SPARKIFY_TRUST_FOLDER_TIMES; default false)."
        ),
    )
    max_errors: str | None = Field(
        default=None,
        description=(
            "Rejected records a staging load allows (SPARKIFY_MAX_ERRORS; default 0); a run's "
            "max_errors config overrides it."
        ),
    )
    max_keys: str | None = Field(
        default=None,
        description=(
            "new_songs lists at most this many song keys per tick "
            "(SPARKIFY_SENSOR_MAX_KEYS; default 20,000)."
        ),
    )
    full_listing_minutes: str | None = Field(
        default=None,
        description=(
            "new_logs lists every log at least this often, in minutes, and only the newest ones "
            "in between: a late or rewritten older log is found within it "
            "(SPARKIFY_SENSOR_FULL_LISTING_MINUTES; default 10; 0: on every tick)."
        ),
    )

    def location(self, kind: str, *, must_exist: bool = False) -> str:
        """The folder or prefix of ``songs`` or ``events``; with ``must_exist``, a folder that is
        not there is a :class:`SourceError` naming the variable that gave it."""
        settings = Settings.resolve(song_data=self.song_data, log_data=self.log_data, environ={})
        songs, logs = source_locations(settings)
        location, setting, what = (
            (songs, SONG_DATA, "song files") if kind == "songs" else (logs, LOG_DATA, "event logs")
        )
        given = settings.song_data if kind == "songs" else settings.log_data
        if must_exist and given and "://" not in location and not os.path.exists(location):
            raise SourceError(
                f"{location} does not exist: set {setting.variable} to the folder of the "
                f"{what} (or an s3:// prefix)"
            )
        return location

    @property
    def unsigned(self) -> bool:
        """Whether S3 is read without credentials."""
        return NO_SIGN_REQUEST.lookup(self.no_sign_request, env={})

    @property
    def options(self) -> SourceOptions:
        """How staging reads the sources: S3 signed or not, folder times trusted or not."""
        trust = TRUST_FOLDER_TIMES.lookup(self.trust_folder_times, env={})
        return SourceOptions(no_sign_request=self.unsigned, trust_folder_times=trust)

    @property
    def allowed_rejects(self) -> int:
        return MAX_ERRORS.lookup(self.max_errors, env={})

    @property
    def sensor_max_keys(self) -> int:
        return SENSOR_MAX_KEYS.lookup(self.max_keys, env={})

    @property
    def sensor_full_listing_minutes(self) -> int:
        return SENSOR_FULL_LISTING_MINUTES.lookup(self.full_listing_minutes, env={})


class RedshiftClusterResource(ConfigurableResource):
    """The AWS account and the classic dwh.cfg the cluster jobs work on.

    Credentials come from the standard AWS chain (``aws configure``, ``AWS_PROFILE``,
    ``AWS_ACCESS_KEY_ID``, an instance role; ``AWS_ENDPOINT_URL`` too), never from run config;
    ``[AWS] KEY``/``SECRET`` in dwh.cfg still work, with a warning. The cluster's settings are the
    file's ``[DWH] DWH_*`` keys, each of which an environment variable of the same name replaces;
    its password is ``DWH_DB_PASSWORD`` there, never a field here.
    """

    config: str = Field(
        default="dwh.cfg",
        description="The classic dwh.cfg ([AWS], [DWH], [CLUSTER], [IAM_ROLE]); SPARKIFY_CONFIG.",
    )
    region_name: str | None = Field(
        default=None,
        description="AWS region; unset: [AWS] REGION in dwh.cfg, else the AWS chain (AWS_REGION).",
    )
    profile_name: str | None = Field(
        default=None, description="A profile of the AWS configuration; unset: the AWS chain."
    )
    max_attempts: int = Field(
        default=5, description="Attempts per AWS request, the first included (standard retries)."
    )
    allow_anywhere: bool = Field(
        default=False,
        description=(
            "Let a DWH_ALLOWED_CIDR of 0.0.0.0/0 (or none at all) open the cluster's port to the "
            "whole internet. Off: provisioning refuses to."
        ),
    )
    dry_run: bool = Field(
        default=False,
        description="Only log the AWS calls each step would make; create, change, delete nothing.",
    )

    def session(self) -> tuple[ClusterConfig, Aws, ClusterResult]:
        """The checked settings (every problem listed at once, before any AWS call), an AWS
        session and an empty result for one step."""
        from dagster_aws.utils import construct_boto_client_retry_config  # only when a job runs

        retries = construct_boto_client_retry_config(self.max_attempts)  # type: ignore[no-untyped-call]
        return open_session(
            self.config,
            dry_run=self.dry_run,
            region=self.region_name,
            profile=self.profile_name,
            client_config=retries,
        )

    @contextmanager
    def step(
        self, context: OpExecutionContext
    ) -> Iterator[tuple[ClusterConfig, Aws, ClusterResult]]:
        """One op's session for a ``with`` block: a :class:`SparkifyError` in it fails the op
        with its message; when the block succeeds, what the step did (or, in a dry run, would
        call) goes to the op's log.

        >>> with redshift_cluster.step(context) as (cfg, aws, result):  # doctest: +SKIP
        ...     arn = ensure_role(aws, cfg, result)
        """
        with reported():
            cfg, aws, result = self.session()
            yield cfg, aws, result
        for done in result.steps:
            context.log.info(done)
        for warning in result.warnings:
            context.log.warning(warning)
        if result.dry_run:
            for call in result.calls:
                context.log.info(f"would call {call}")


def _from_env(setting: Setting[Any]) -> EnvVar | None:
    """The setting's variable as an :class:`EnvVar` (read when a run starts, shown by name), if
    it is set."""
    return EnvVar(setting.variable) if environ().get(setting.variable) else None


def warehouse_from_env() -> WarehouseResource:
    """The warehouse ``SPARKIFY_TARGET`` (or ``SPARKIFY_CONFIG``'s cluster) names."""
    return WarehouseResource(
        target=_from_env(TARGET),
        config=_from_env(CONFIG),
        memory_limit=_from_env(DUCKDB_MEMORY_LIMIT),
        iam_role=_from_env(IAM_ROLE),
        region=_from_env(REGION),
        log_jsonpath=_from_env(LOG_JSONPATH),
        staging=_from_env(STAGING),
        compact=_from_env(COMPACT),
        slices=_from_env(SLICES),
        gzip=_from_env(GZIP),
        db_iam=_from_env(DB_IAM),
        cluster_identifier=_from_env(CLUSTER_IDENTIFIER),
    )


def sources_from_env() -> SourcesResource:
    """The raw data ``SPARKIFY_SONG_DATA`` and ``SPARKIFY_LOG_DATA`` name, and how to read it."""
    return SourcesResource(
        song_data=_from_env(SONG_DATA),
        log_data=_from_env(LOG_DATA),
        no_sign_request=_from_env(NO_SIGN_REQUEST),
        trust_folder_times=_from_env(TRUST_FOLDER_TIMES),
        max_errors=_from_env(MAX_ERRORS),
        max_keys=_from_env(SENSOR_MAX_KEYS),
        full_listing_minutes=_from_env(SENSOR_FULL_LISTING_MINUTES),
    )


def cluster_from_env() -> RedshiftClusterResource:
    """The cluster jobs' AWS account and the dwh.cfg ``SPARKIFY_CONFIG`` names (else ./dwh.cfg)."""
    config = _from_env(CONFIG)
    return RedshiftClusterResource(config=config) if config else RedshiftClusterResource()


def warehouse_kind() -> set[str]:
    """The Dagster kind (the engine's icon) of the warehouse the environment names; none when
    the target is not valid, which the first run then reports."""
    try:
        target = Settings.resolve(target=TARGET.lookup(), config=CONFIG.lookup(), environ={}).target
        return {KINDS_BY_ENGINE[engine_class(target).name]}
    except ConfigError:
        return set()
