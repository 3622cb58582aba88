"""DuckDB's row-id forms of the transforms build the same star rows as the generic SQL."""

from __future__ import annotations

from typing import Any, ClassVar

from hypothesis import given, settings
from hypothesis import strategies as st

from sparkify_dagster.ingest.days import log_day
from sparkify_dagster.warehouse.days import EVERY_DAY
from sparkify_dagster.warehouse.engines import DuckDBDialect, DuckDBWarehouse, quote
from sparkify_dagster.warehouse.model import (
    LOG_FILES,
    STAGING_EVENTS,
    STAGING_SONGS,
    TABLES,
    table,
    upstream,
)
from sparkify_dagster.warehouse.transform import build_order, table_statements

ROW_ID_TABLES = ("songplays", "users")  # the transforms that differ when the engine has a row id


class GenericDuckDB(DuckDBDialect):
    """DuckDB's dialect rendering the transforms as the dialects without a row id do."""

    row_id: ClassVar[str | None] = None


# Few distinct values, so that plays tie on time, session and item, songs match several
# records, and users have several latest events.
TS = st.sampled_from([1_541_105_830_796, 1_541_105_830_797, 1_541_106_000_000])
NAME = st.sampled_from(["Ana", "Bo", "Émile"])
TITLE = st.sampled_from(["One", "Two"])
ARTIST = st.sampled_from(["Art", "Bee"])
LENGTH = st.sampled_from([1.5, 2.5])
# Two logs of one day (their plays are numbered together) and one of another.
FILE = st.sampled_from(["log/2018-11-01-a.json", "log/2018-11-01-b.json", "log/2018-11-02.json"])

EVENT = st.tuples(
    ARTIST,  # artist
    st.just("Logged In"),  # auth
    NAME,  # first_name
    st.sampled_from(["F", "M", None]),  # gender
    st.integers(0, 2),  # item_in_session
    NAME,  # last_name
    LENGTH,  # length
    st.sampled_from(["free", "paid"]),  # level
    NAME,  # location
    st.just("PUT"),  # method
    st.sampled_from(["NextSong", "NextSong", "Home"]),  # page
    st.none(),  # registration
    st.integers(1, 2),  # session_id
    TITLE,  # song
    st.just(200),  # status
    TS,  # ts
    NAME,  # user_agent
    st.none() | st.integers(1, 3),  # user_id
)
SONG = st.tuples(
    st.just(1),  # num_songs
    st.sampled_from(["ARA", "ARB"]),  # artist_id
    st.none(),  # artist_latitude
    st.none(),  # artist_longitude
    st.just(""),  # artist_location
    ARTIST,  # artist_name
    st.sampled_from(["SOA", "SOB", "SOC"]),  # song_id
    TITLE,  # title
    LENGTH,  # duration
    st.just(0),  # year
)


def lined(records: list[tuple[tuple[Any, ...], str]]) -> list[tuple[Any, ...]]:
    """Each record with its file and a line of its own: the staging key stays unique."""
    return [(*record, file, line) for line, (record, file) in enumerate(records)]


@settings(max_examples=60, deadline=None)
@given(
    committed=st.lists(st.tuples(EVENT, FILE), max_size=12),
    staged=st.lists(st.tuples(EVENT, FILE), max_size=12),
    songs=st.lists(SONG, max_size=5),
    deleted=st.sets(st.integers(0, 11)),
)
def test_row_id_transforms_build_what_the_generic_sql_builds(
    committed: list[tuple[Any, ...]],
    staged: list[tuple[Any, ...]],
    songs: list[tuple[Any, ...]],
    deleted: set[int],
) -> None:
    with DuckDBWarehouse(":memory:") as warehouse:
        warehouse.create_tables(TABLES)
        warehouse.load_rows(STAGING_EVENTS, iter(lined(committed)))
        warehouse.load_rows(STAGING_SONGS, iter(lined([(song, "song.json") for song in songs])))
        with warehouse.transaction():
            # Row ids with gaps (a reloaded file's rows are deleted) and rows not yet committed.
            warehouse.execute(
                "DELETE FROM staging_events WHERE list_contains(?, source_line)", [sorted(deleted)]
            )
            later = [(event, file + ".new") for event, file in staged]
            warehouse.load_rows(STAGING_EVENTS, iter(lined(later)))
            files = {file for _, file in committed + later}
            warehouse.load_rows(LOG_FILES, ((file, log_day(file)) for file in files))
            warehouse.execute(warehouse.render("song_matches.sql"))
            built = {}
            for dialect in (warehouse.dialect, GenericDuckDB()):
                for name in ROW_ID_TABLES:
                    for sql, params in table_statements(dialect, table(name), EVERY_DAY):
                        warehouse.execute(sql, params)
                    rows = warehouse.query(f"SELECT * FROM {quote(name)} ORDER BY ALL")
                    built[type(dialect), name] = rows
    for name in ROW_ID_TABLES:
        assert built[DuckDBDialect, name] == built[GenericDuckDB, name], name


def test_only_duckdb_renders_the_row_id_forms() -> None:
    for name in ROW_ID_TABLES:
        assert "rowid" in DuckDBWarehouse.dialect.render(f"{name}.sql")
        assert "rowid" not in GenericDuckDB().render(f"{name}.sql")


def test_the_star_is_built_in_the_order_its_derivations_allow() -> None:
    order = [t.name for t in build_order()]
    assert order == ["songs", "artists", "users", "songplays", "time"]
    for position, name in enumerate(order):
        assert set(upstream(table(name))) <= {"staging_songs", "staging_events", *order[:position]}
    assert upstream(table("songplays")) == ("staging_events", "songs")
    assert upstream(table("time")) == ("songplays",)
