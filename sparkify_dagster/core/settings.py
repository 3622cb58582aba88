"""One typed settings object: from arguments, then ``SPARKIFY_*`` variables, then ``dwh.cfg``.

The classic project keeps its settings in an INI file, ``dwh.cfg``, with values often wrapped in
quotes (``SONG_DATA='s3://udacity-dend/song_data'``). Those files work unchanged here.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sparkify_dagster.core.errors import ConfigError

DEFAULT_TARGET = "duckdb:///sparkify.duckdb"


def environ() -> Mapping[str, str]:
    """The process environment: the library reads it here and nowhere else."""
    return os.environ

# setting name -> (environment variable, dwh.cfg section, dwh.cfg key)
_SOURCES: dict[str, tuple[str, str, str]] = {
    "song_data": ("SPARKIFY_SONG_DATA", "S3", "SONG_DATA"),
    "log_data": ("SPARKIFY_LOG_DATA", "S3", "LOG_DATA"),
    "target": ("SPARKIFY_TARGET", "SPARKIFY", "TARGET"),
}


@dataclass(frozen=True)
class Settings:
    """Where to read from and where to load to.

    ``song_data``/``log_data`` are ``None`` when nothing was given anywhere: the ETL then loads
    the built-in sample dataset.
    """

    song_data: str | None = None
    log_data: str | None = None
    target: str = field(default=DEFAULT_TARGET, repr=False)
    config_path: Path | None = None
    no_sign_request: bool = False  # read s3:// sources unsigned, as for a public bucket

    def __repr__(self) -> str:
        return (
            f"Settings(song_data={self.song_data!r}, log_data={self.log_data!r}, "
            f"target={redact(self.target)!r}, config_path={self.config_path!r})"
        )

    @classmethod
    def resolve(
        cls,
        *,
        song_data: str | None = None,
        log_data: str | None = None,
        target: str | None = None,
        config: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        no_sign_request: bool | None = None,
    ) -> Settings:
        """Fill every setting from arguments, then the environment, then ``config``, then defaults.

        >>> Settings.resolve(song_data="data/song_data", environ={}).song_data
        'data/song_data'
        """
        environ = os.environ if environ is None else environ
        cfg = read_config(config) if config else None
        given = {"song_data": song_data, "log_data": log_data, "target": target}
        values: dict[str, str | None] = {}
        for name, (env_var, section, key) in _SOURCES.items():
            value = given[name] or environ.get(env_var) or None
            if value is None and cfg is not None:
                value = config_value(cfg, section, key)
            values[name] = value
        if values["target"] is None and cfg is not None:
            values["target"] = cluster_target(cfg)
        if (values["song_data"] is None) != (values["log_data"] is None):
            missing = "song_data" if values["song_data"] is None else "log_data"
            env_var, section, key = _SOURCES[missing]
            raise ConfigError(
                f"{missing} is not set: looked at ${env_var}"
                + (f" and [{section}] {key} in {config}" if config else "")
                + "; give both song and log data, or neither to load the built-in sample"
            )
        if not no_sign_request:
            no_sign_request = flag(
                environ.get("SPARKIFY_NO_SIGN_REQUEST")
                or (config_value(cfg, "S3", "NO_SIGN_REQUEST") if cfg else None),
                "SPARKIFY_NO_SIGN_REQUEST or [S3] NO_SIGN_REQUEST",
            )
        return cls(
            song_data=values["song_data"],
            log_data=values["log_data"],
            target=values["target"] or DEFAULT_TARGET,
            config_path=Path(config) if config else None,
            no_sign_request=no_sign_request,
        )


def flag(value: str | None, where: str) -> bool:
    """A yes/no setting given as text; anything unclear is a :class:`ConfigError`.

    >>> flag("true", "X"), flag(None, "X"), flag("0", "X")
    (True, False, False)
    """
    if value is None or not value.strip():
        return False
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where} is {value!r}: expected true or false")


def read_config(path: str | os.PathLike[str]) -> configparser.ConfigParser:
    """Read a classic ``dwh.cfg``; a missing or malformed file is a :class:`ConfigError`."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except configparser.Error as exc:
        raise ConfigError(f"config file {path} is not a valid INI file: {exc}") from None
    return parser


def config_value(cfg: configparser.ConfigParser, section: str, key: str) -> str | None:
    """A value from ``cfg`` without the quotes the classic files put around it."""
    if not cfg.has_option(section, key):
        return None
    value = cfg.get(section, key).strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value or None


def cluster_target(cfg: configparser.ConfigParser) -> str | None:
    """The ``redshift://`` target of a classic dwh.cfg ``[CLUSTER]`` section, if it has a HOST.

    The password (DB_PASSWORD) stays out of the URL; the Redshift run reads it separately.
    """
    host = config_value(cfg, "CLUSTER", "HOST")
    if host is None:
        return None
    user = config_value(cfg, "CLUSTER", "DB_USER") or "awsuser"
    port = config_value(cfg, "CLUSTER", "DB_PORT") or "5439"
    database = config_value(cfg, "CLUSTER", "DB_NAME") or "dev"
    return f"redshift://{user}@{host}:{port}/{database}"


_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@]*:)[^@]*(?=@)", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with any password in a URL replaced by ``***``.

    >>> redact("postgresql://etl:s3cret@db:5432/dwh")
    'postgresql://etl:***@db:5432/dwh'
    """
    return _PASSWORD_IN_URL.sub(r"\g<head>***", text)
