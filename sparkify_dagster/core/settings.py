"""The one settings path: arguments, then ``SPARKIFY_*`` variables, then ``dwh.cfg``, then defaults.

Every setting is a :class:`Setting` in :data:`SETTINGS`: its variable, its ``dwh.cfg`` key, how
its text is read (:func:`text`, :func:`flag`, :func:`whole`) and its default. This module is the
only one that reads the environment (:func:`environ`); the Dagster resources fill their fields
from the same variables with ``EnvVar`` and hand the values to :meth:`Setting.lookup`.

The classic project keeps its settings in an INI file, ``dwh.cfg``, with values often wrapped in
quotes (``SONG_DATA='s3://udacity-dend/song_data'``). Those files work unchanged here.
"""

from __future__ import annotations

import configparser
import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

from sparkify_dagster.core.errors import ConfigError

DEFAULT_TARGET = "duckdb:///sparkify.duckdb"
T = TypeVar("T")


def environ() -> Mapping[str, str]:
    """The process environment: the library reads it here and nowhere else."""
    return os.environ


# -- how a setting's text is read ------------------------------------------------------------


def text(value: str, where: str) -> str:
    """A setting taken as it is written."""
    return value


def flag(value: str | None, where: str) -> bool:
    """A yes/no setting given as text; anything unclear is a :class:`ConfigError`.

    >>> flag("true", "X"), flag(None, "X"), flag("0", "X")
    (True, False, False)
    """
    if value is None or not value.strip():
        return False
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where} is {value!r}: expected true or false")


def whole(minimum: int) -> Callable[[str, str], int]:
    """A reader of whole numbers from ``minimum`` on.

    >>> whole(1)(" 4 ", "X")
    4
    """

    def read(value: str, where: str) -> int:
        digits = value.strip()
        if not digits.isdigit() or int(digits) < minimum:
            raise ConfigError(f"{where} is {digits!r}: give a whole number from {minimum}")
        return int(digits)

    return read


def day(value: str, where: str) -> date:
    """A day written ``YYYY-MM-DD``.

    >>> day("2018-11-05", "X")
    datetime.date(2018, 11, 5)
    """
    written = value.strip()
    try:
        if len(written) == 10:
            return date.fromisoformat(written)
    except ValueError:
        pass
    raise ConfigError(f"{where} is {value!r}: give a day as YYYY-MM-DD")


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,7}")


def owners(value: str, where: str) -> tuple[str, ...]:
    """Asset owners as Dagster accepts them, separated by commas: email addresses or team names
    written ``team:<name>``.

    >>> owners("team:data-engineering, ana@example.com", "X")
    ('team:data-engineering', 'ana@example.com')
    """
    found = tuple(owner.strip() for owner in value.split(",") if owner.strip())
    for owner in found:
        if not (_EMAIL.fullmatch(owner) or (owner.startswith("team:") and len(owner) > 5)):
            raise ConfigError(
                f"{where} names owner {owner!r}: give email addresses or team:<name>, "
                "separated by commas"
            )
    return found


# -- the settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting: the variable that gives it, its ``dwh.cfg`` key, its reader and default."""

    variable: str
    read: Callable[[str, str], T]
    default: T
    ini: tuple[str, str] | None = None  # ([SECTION], KEY) in a classic dwh.cfg
    doc: str = ""

    def where(self, config: str | os.PathLike[str] | None = None, joiner: str = "or") -> str:
        """Every place the setting is looked for, as a message names them."""
        places = f"${self.variable}"
        if self.ini is not None and config is not None:
            places += f" {joiner} [{self.ini[0]}] {self.ini[1]} in {config}"
        return places

    def lookup(
        self,
        given: Any = None,
        *,
        env: Mapping[str, str] | None = None,
        config: str | os.PathLike[str] | None = None,
    ) -> T:
        """``given`` (typed, or text to read), else the variable in ``env`` (default: the
        process environment), else the key in the dwh.cfg at ``config``, else the default."""
        if given is not None and not isinstance(given, str):
            return given  # type: ignore[no-any-return]
        found: str | None = given or None
        if found is None:
            found = (environ() if env is None else env).get(self.variable) or None
        if found is None and config is not None and self.ini is not None:
            found = config_value(read_config(config), *self.ini)
        if found is None or not found.strip():
            return self.default
        return self.read(found, self.where(config))


SONG_DATA = Setting("SPARKIFY_SONG_DATA", text, None, ("S3", "SONG_DATA"))
LOG_DATA = Setting("SPARKIFY_LOG_DATA", text, None, ("S3", "LOG_DATA"))
TARGET = Setting("SPARKIFY_TARGET", text, None, ("SPARKIFY", "TARGET"))
CONFIG = Setting("SPARKIFY_CONFIG", text, None)
NO_SIGN_REQUEST = Setting("SPARKIFY_NO_SIGN_REQUEST", flag, False, ("S3", "NO_SIGN_REQUEST"))
MAX_ERRORS = Setting("SPARKIFY_MAX_ERRORS", whole(0), 0)
DUCKDB_MEMORY_LIMIT = Setting("SPARKIFY_DUCKDB_MEMORY_LIMIT", text, None)
CACHE = Setting("SPARKIFY_CACHE", text, None)
SENSOR_INTERVAL = Setting("SPARKIFY_SENSOR_INTERVAL", whole(1), 60)
SENSOR_MAX_KEYS = Setting("SPARKIFY_SENSOR_MAX_KEYS", whole(1), 20_000)
# Skip the stat of the song files the manifest knows in a local folder whose entries did not
# change since the last load (its own modification time says so): misses a file rewritten in
# place. Off: a stat each.
TRUST_FOLDER_TIMES = Setting("SPARKIFY_TRUST_FOLDER_TIMES", flag, False)
# Minutes between two full listings of the event logs by new_logs (the ticks between list only
# the newest logs): a late or rewritten older log is found within this time. 0: every tick.
SENSOR_FULL_LISTING_MINUTES = Setting("SPARKIFY_SENSOR_FULL_LISTING_MINUTES", whole(0), 10)
# Hours after its last load that staging_events (and the report) count as overdue: logs arrive
# daily. Read when the code location loads (a freshness policy is part of the definitions).
FRESHNESS_HOURS = Setting("SPARKIFY_FRESHNESS_HOURS", whole(1), 26)
# The days the event logs are partitioned into, read when the code location loads (Dagster needs
# a partitions definition then). Unset: the built-in sample's November 2018 when no log data is
# set, else from 2018-11-01 to today.
FIRST_DAY = Setting("SPARKIFY_FIRST_DAY", day, None)
LAST_DAY = Setting("SPARKIFY_LAST_DAY", day, None)
# Redshift: how it stages, and how it authenticates.
IAM_ROLE = Setting("SPARKIFY_IAM_ROLE", text, None, ("IAM_ROLE", "ARN"))
REGION = Setting("SPARKIFY_REGION", text, None, ("CLUSTER", "REGION"))
LOG_JSONPATH = Setting("SPARKIFY_LOG_JSONPATH", text, None, ("S3", "LOG_JSONPATH"))
STAGING = Setting("SPARKIFY_STAGING", text, None, ("S3", "STAGING"))
COMPACT = Setting("SPARKIFY_COMPACT", flag, False)
SLICES = Setting("SPARKIFY_SLICES", whole(1), 4)
GZIP = Setting("SPARKIFY_GZIP", flag, False)
DB_PASSWORD = Setting("SPARKIFY_DB_PASSWORD", text, None, ("CLUSTER", "DB_PASSWORD"))
DB_IAM = Setting("SPARKIFY_DB_IAM", flag, False, ("CLUSTER", "IAM"))
CLUSTER_IDENTIFIER = Setting(
    "SPARKIFY_CLUSTER_IDENTIFIER", text, None, ("DWH", "DWH_CLUSTER_IDENTIFIER")
)
# The catalog and the alerts: read when the code location loads (owners, whether alerts are on)
# and, for the webhook, when the alert sensor ticks. The webhook URL is a secret: never shown.
OWNER: Setting[tuple[str, ...]] = Setting("SPARKIFY_OWNER", owners, ("team:data-engineering",))
ALERT_WEBHOOK_URL = Setting("SPARKIFY_ALERT_WEBHOOK_URL", text, None)
ALERT_BASE_URL = Setting("SPARKIFY_ALERT_BASE_URL", text, "http://127.0.0.1:3000")


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
    trust_folder_times: bool = False  # SPARKIFY_TRUST_FOLDER_TIMES

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
        trust_folder_times: bool | None = None,
    ) -> Settings:
        """Fill every setting from arguments, then the environment, then ``config``, then defaults.

        >>> Settings.resolve(song_data="data/song_data", environ={}).song_data
        'data/song_data'
        """
        env = environ
        if config:
            read_config(config)  # a missing or malformed file fails whatever is given
        songs = SONG_DATA.lookup(song_data, env=env, config=config)
        logs = LOG_DATA.lookup(log_data, env=env, config=config)
        chosen = TARGET.lookup(target, env=env, config=config)
        if chosen is None and config:
            chosen = cluster_target(read_config(config))
        if (songs is None) != (logs is None):
            missing, setting = ("song_data", SONG_DATA) if songs is None else ("log_data", LOG_DATA)
            raise ConfigError(
                f"{missing} is not set: looked at {setting.where(config, joiner='and')}"
                "; give both song and log data, or neither to load the built-in sample"
            )
        unsigned = no_sign_request or NO_SIGN_REQUEST.lookup(env=env, config=config)
        return cls(
            trust_folder_times=TRUST_FOLDER_TIMES.lookup(trust_folder_times, env=env),
            song_data=songs,
            log_data=logs,
            target=chosen or DEFAULT_TARGET,
            config_path=Path(config) if config else None,
            no_sign_request=unsigned,
        )


# -- dwh.cfg --------------------------------------------------------------------------------


def read_config(path: str | os.PathLike[str]) -> configparser.ConfigParser:
    """Read a classic ``dwh.cfg``; a missing or malformed file is a :class:`ConfigError`.

    Read once while the file is unchanged: every setting of a run looks in it.
    """
    try:
        stat = os.stat(path)
    except OSError:
        stat = None
    return _read_config(os.fspath(path), stat and (stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _read_config(path: str, stamp: tuple[int, int] | None) -> configparser.ConfigParser:
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


# -- secrets --------------------------------------------------------------------------------

_SPACE = re.compile(r"(\s+)")


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    A URL's user information ends at its last ``@`` (RFC 3986), so a password holding ``@``,
    ``:``, ``/``, ``?``, ``#`` or ``%`` is hidden whole.

    >>> redact("postgresql://etl:s3cret@db:5432/dwh")
    'postgresql://etl:***@db:5432/dwh'
    >>> redact("postgresql://u:p@ss/w?rd#@db/dwh")
    'postgresql://u:***@db/dwh'
    """
    return "".join(_redact_url(word) for word in _SPACE.split(text))


def _redact_url(word: str) -> str:
    marker = word.find("://")
    if marker < 0:
        return word
    start = marker
    while start > 0 and (word[start - 1].isalnum() or word[start - 1] in "+.-"):
        start -= 1
    rest = word[marker + 3 :]
    at = rest.rfind("@")
    if start == marker or not word[start].isalpha() or at < 0:
        return word
    user, colon, _password = rest[:at].partition(":")
    if not colon:
        return word
    return f"{word[: marker + 3]}{user}:***{rest[at:]}"
