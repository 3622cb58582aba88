"""The warehouse, described once: tables, columns, keys and physical hints.

Engines render this model into their own DDL (:mod:`~sparkify_dagster.warehouse.engines`); the
transforms in ``warehouse/sql`` fill the star tables from staging. Logical types are deliberately
few:

- ``TEXT``: a string; ``size`` is the longest value expected (Redshift needs it, others ignore it).
- ``INT`` (32-bit), ``BIGINT`` (64-bit), ``DOUBLE`` (IEEE 754 double: durations and coordinates
  are never rounded), ``TIMESTAMP`` (UTC, no time zone).

Whatever staging accepts, every later step must carry: the ranges are decided once, the instants
in :mod:`~sparkify_dagster.core.epoch` (``EPOCH_MS_RANGE``, for ``ts`` and ``registration``), and
the parsers refuse a value outside them with the record's file and line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

RAW_TEXT_LIMIT = 1000


class Type(Enum):
    TEXT = "text"
    INT = "int"
    SMALLINT = "smallint"
    BIGINT = "bigint"
    DOUBLE = "double"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Column:
    name: str
    type: Type
    nullable: bool = True
    size: int | None = None  # TEXT only: longest expected value, in bytes
    references: str | None = None  # "table.column" this column points at (checked, not enforced)
    accepted: tuple[str, ...] = ()  # the only values allowed besides NULL (checked)
    doc: str = ""
    # Staging only: the key of the source JSON record this column is read from. The parsers'
    # fields come in the same order (checked by source_columns wherever rows are staged).
    source_key: str | None = None


@dataclass(frozen=True)
class Table:
    """A table the tool owns.

    ``key`` is the column set that identifies a row. Keys are verified by the checks
    rather than enforced by the engines (Redshift never enforces them, and an enforced key
    would stop the checks from ever seeing a broken warehouse).
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    kind: str = "star"  # "staging", "star" or "meta"
    # Physical hints for distributed engines (Redshift): see docs/redshift.md.
    dist_key: str | None = None
    dist_all: bool = False
    sort_key: tuple[str, ...] = ()
    doc: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name}")


def _text(name: str, size: int, *, nullable: bool = True, doc: str = "") -> Column:
    return Column(name, Type.TEXT, nullable=nullable, size=size, doc=doc)


def _read(column: Column, key: str | None = None) -> Column:
    """``column`` of a staging table, read from the source record's ``key`` (else its name)."""
    return replace(column, source_key=key or column.name)


LEVELS = ("free", "paid")
GENDERS = ("F", "M")

# Sizes fit the published dataset with room to spare; Redshift counts VARCHAR sizes in bytes.
STAGING_EVENTS = Table(
    "staging_events",
    (
        _read(_text("artist", 512)),
        _read(_text("auth", 32)),
        _read(_text("first_name", 256), "firstName"),
        _read(_text("gender", 16)),
        _read(Column("item_in_session", Type.INT), "itemInSession"),
        _read(_text("last_name", 256), "lastName"),
        _read(Column("length", Type.DOUBLE)),
        _read(_text("level", 16)),
        _read(_text("location", 512)),
        _read(_text("method", 16)),
        _read(_text("page", 64)),
        _read(Column("registration", Type.BIGINT, doc="epoch milliseconds")),
        _read(Column("session_id", Type.BIGINT), "sessionId"),
        _read(_text("song", 512)),
        _read(Column("status", Type.INT)),
        _read(Column("ts", Type.BIGINT, nullable=False, doc="epoch milliseconds")),
        _read(_text("user_agent", 1024), "userAgent"),
        _read(
            Column("user_id", Type.BIGINT, doc='NULL for logged-out visitors (userId "")'), "userId"
        ),
        _text("source_file", 1024, nullable=False),
        Column("source_line", Type.INT, nullable=False, doc="1-based line in source_file"),
    ),
    key=("source_file", "source_line"),
    kind="staging",
    sort_key=("ts",),
    doc="One row per app event, typed, with the file and line it came from.",
)

STAGING_SONGS = Table(
    "staging_songs",
    (
        _read(Column("num_songs", Type.INT)),
        _read(_text("artist_id", 32)),
        _read(Column("artist_latitude", Type.DOUBLE)),
        _read(Column("artist_longitude", Type.DOUBLE)),
        _read(_text("artist_location", 512)),
        _read(_text("artist_name", 512)),
        _read(_text("song_id", 32, nullable=False)),
        _read(_text("title", 512)),
        _read(Column("duration", Type.DOUBLE)),
        _read(Column("year", Type.INT)),
        _text("source_file", 1024, nullable=False),
        Column("source_line", Type.INT, doc="NULL when the whole file is one song"),
    ),
    key=("source_file", "source_line"),
    kind="staging",
    doc="One row per song record, typed, with the file it came from.",
)

SONGPLAYS = Table(
    "songplays",
    (
        Column("songplay_id", Type.BIGINT, nullable=False),
        Column("start_time", Type.TIMESTAMP, nullable=False, references="time.start_time"),
        Column("user_id", Type.BIGINT, references="users.user_id"),
        Column("level", Type.TEXT, size=16, accepted=LEVELS),
        Column("song_id", Type.TEXT, size=32, references="songs.song_id"),
        Column("artist_id", Type.TEXT, size=32, references="artists.artist_id"),
        Column("session_id", Type.BIGINT),
        _text("location", 512),
        _text("user_agent", 1024),
    ),
    key=("songplay_id",),
    # Not song_id: most plays match no song, and every NULL would land on one slice.
    dist_key="start_time",
    sort_key=("start_time",),
    doc="One row per NextSong event; song_id/artist_id are NULL when no song matches.",
)

USERS = Table(
    "users",
    (
        Column("user_id", Type.BIGINT, nullable=False),
        _text("first_name", 256),
        _text("last_name", 256),
        Column("gender", Type.TEXT, size=16, accepted=GENDERS),
        Column("level", Type.TEXT, size=16, accepted=LEVELS),
    ),
    key=("user_id",),
    dist_all=True,
    sort_key=("user_id",),
    doc="One row per logged-in user, with the level of their latest event.",
)

SONGS = Table(
    "songs",
    (
        _text("song_id", 32, nullable=False),
        _text("title", 512),
        Column("artist_id", Type.TEXT, size=32, references="artists.artist_id"),
        Column("year", Type.INT, doc="NULL when unknown (0 in the source)"),
        Column("duration", Type.DOUBLE),
    ),
    key=("song_id",),
    dist_all=True,
    sort_key=("song_id",),
    doc="One row per song.",
)

ARTISTS = Table(
    "artists",
    (
        _text("artist_id", 32, nullable=False),
        _text("name", 512),
        _text("location", 512),
        Column("latitude", Type.DOUBLE),
        Column("longitude", Type.DOUBLE),
    ),
    key=("artist_id",),
    dist_all=True,
    sort_key=("artist_id",),
    doc="One row per artist; see docs/schema.md for which record wins when they disagree.",
)

TIME = Table(
    "time",
    (
        Column("start_time", Type.TIMESTAMP, nullable=False),
        Column("hour", Type.SMALLINT, nullable=False),
        Column("day", Type.SMALLINT, nullable=False),
        Column("week", Type.SMALLINT, nullable=False, doc="ISO 8601 week of the year"),
        Column("month", Type.SMALLINT, nullable=False),
        Column("year", Type.SMALLINT, nullable=False),
        Column("weekday", Type.SMALLINT, nullable=False, doc="ISO 8601: 1 = Monday … 7 = Sunday"),
    ),
    key=("start_time",),
    dist_key="start_time",  # as large as songplays: co-located with it, not copied to every node
    sort_key=("start_time",),
    doc="One row per distinct songplay start_time.",
)

LOAD_ERRORS = Table(
    "load_errors",
    (
        _text("source_file", 1024, nullable=False),
        Column("source_line", Type.INT, doc="NULL when the whole file was rejected"),
        _text("kind", 16, nullable=False, doc="songs or events"),
        _text("reason", 1024, nullable=False),
        _text("raw_text", 4096, doc=f"the record as read, cut to {RAW_TEXT_LIMIT} characters"),
        Column("rejected_at", Type.TIMESTAMP, nullable=False),
    ),
    kind="meta",
    doc="Records that could not be loaded, with the reason; replaced when their file reloads.",
)

# File names one statement binds at most: a million at once took 1 GB outside DuckDB's memory_limit.
SOURCES_PER_STATEMENT = 50_000

LOAD_MANIFEST = Table(
    "load_manifest",
    (
        _text("source_file", 1024, nullable=False),
        _text("kind", 16, nullable=False, doc="songs or events"),
        Column("size", Type.BIGINT, nullable=False, doc="bytes as stored"),
        _text("version", 256, nullable=False, doc="mtime in ns (? while fresh) or S3 ETag"),
        _text("checksum", 64, nullable=False, doc="BLAKE2b of the stored bytes"),
        Column("records", Type.INT, nullable=False),
        Column("rejected", Type.INT, nullable=False),
        Column("loaded_at", Type.TIMESTAMP, nullable=False),
    ),
    key=("source_file",),
    kind="meta",
    doc="Every source file loaded so far, so that a re-run loads only new or changed files.",
)

LOG_FILES = Table(
    "log_files",
    (
        _text("source_file", 1024, nullable=False),
        _text("log_day", 10, nullable=False, doc="YYYY-MM-DD, from the file's name"),
    ),
    key=("source_file",),
    kind="meta",
    sort_key=("log_day",),
    doc="The day of every event log staged: its partition, and the first part of its plays' ids.",
)

SONG_MATCHES = Table(
    "song_matches",
    (
        _text("title", 512),
        _text("artist_name", 512),
        Column("duration", Type.DOUBLE),
        _text("song_id", 32, nullable=False),
        _text("artist_id", 32),
    ),
    kind="meta",
    doc="The song a play of (title, artist name, duration) matches, as of the last songs build.",
)

USERS_PENDING = Table(
    "users_pending",
    (Column("user_id", Type.BIGINT, nullable=False),),
    kind="meta",
    doc="Users whose events were staged or replaced since users was last built.",
)

TIMES_PENDING = Table(
    "times_pending",
    (Column("start_time", Type.TIMESTAMP, nullable=False),),
    kind="meta",
    doc="Start times of plays replaced since time was last built: their rows may be orphans.",
)

LOAD_FOLDERS = Table(
    "load_folders",
    (
        _text("folder", 1024, nullable=False),
        _text("kind", 16, nullable=False, doc="songs"),
        Column("files", Type.INT, nullable=False, doc="wanted files directly in it"),
        Column("modified_ns", Type.BIGINT, doc="its modification time; NULL when too recent"),
    ),
    key=("folder",),
    kind="meta",
    doc="Local song folders as last listed: an unchanged one is not opened again.",
)

STAGING_TABLES: tuple[Table, ...] = (STAGING_EVENTS, STAGING_SONGS)
# Each kind of source and the staging table it fills, in the order a run stages them.
STAGING_TABLE_OF_KIND: dict[str, Table] = {"songs": STAGING_SONGS, "events": STAGING_EVENTS}
STAR_TABLES: tuple[Table, ...] = (SONGPLAYS, USERS, SONGS, ARTISTS, TIME)
META_TABLES: tuple[Table, ...] = (
    LOAD_ERRORS, LOAD_MANIFEST, LOAD_FOLDERS, LOG_FILES, SONG_MATCHES, USERS_PENDING,
    TIMES_PENDING,
)  # fmt: skip
TABLES: tuple[Table, ...] = STAGING_TABLES + STAR_TABLES + META_TABLES


def table(name: str) -> Table:
    for candidate in TABLES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


# Where each staging row came from. Engines that stage through Python fill them per record;
# Redshift's COPY cannot, so there they are nullable (see docs/redshift.md).
LINEAGE_COLUMNS: frozenset[str] = frozenset({"source_file", "source_line"})


def _same_names(source: str, names: str) -> dict[str, tuple[str, ...]]:
    return {name: (f"{source}.{name}",) for name in names.split()}


# Where each star column's values come from ("table.column"): the column lineage Dagster shows.
DERIVED_FROM: dict[str, dict[str, tuple[str, ...]]] = {
    "songplays": {
        "songplay_id": ("staging_events.ts", "staging_events.session_id"),
        "start_time": ("staging_events.ts",),
        **_same_names("staging_events", "user_id level session_id location user_agent"),
        "song_id": ("songs.song_id", "staging_events.song", "staging_events.length"),
        "artist_id": ("songs.artist_id", "staging_events.artist"),
    },
    "users": _same_names("staging_events", "user_id first_name last_name gender level"),
    "songs": _same_names("staging_songs", "song_id title artist_id year duration"),
    "artists": {
        "artist_id": ("staging_songs.artist_id",),
        "name": ("staging_songs.artist_name",),
        "location": ("staging_songs.artist_location",),
        "latitude": ("staging_songs.artist_latitude",),
        "longitude": ("staging_songs.artist_longitude",),
    },
    "time": {name: ("songplays.start_time",) for name in TIME.column_names},
}


def source_columns(table: Table, keys: Sequence[str]) -> tuple[Column, ...]:
    """The columns of staging ``table`` that a parser's fields ``keys`` fill, in order.

    Parsers give a record's values in the order of their fields and the engines put them into
    the table's columns in that order: a parser whose keys are not the table's source keys, in
    its order, would stage each value in the wrong column, so it is refused here.
    """
    columns = tuple(column for column in table.columns if column.source_key is not None)
    expected = tuple(column.source_key for column in columns)
    if tuple(keys) != expected:
        raise ValueError(
            f"the parser's fields {tuple(keys)} are not the source keys of {table.name}, "
            f"in order: {expected}"
        )
    return columns


def upstream(table: Table) -> tuple[str, ...]:
    """The tables ``table`` is built from, in the order :data:`DERIVED_FROM` first names them."""
    sources = (
        source.split(".")[0]
        for column_sources in DERIVED_FROM.get(table.name, {}).values()
        for source in column_sources
    )
    return tuple(dict.fromkeys(sources))
