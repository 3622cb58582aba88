"""PostgreSQL: the same warehouse as DuckDB for the same input, loaded by COPY, no secrets shown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sparkify_dagster
from sparkify_dagster.core.errors import ConfigError, RecordError, WarehouseError
from sparkify_dagster.warehouse.engines import PostgresWarehouse, quote
from sparkify_dagster.warehouse.engines.postgres import hide_password
from sparkify_dagster.warehouse.model import STAR_TABLES, Table, Type


def star_rows(target: str) -> dict[str, list[tuple[object, ...]]]:
    with sparkify_dagster.connect(target) as warehouse:
        return {
            table.name: warehouse.query(f"SELECT * FROM {quote(table.name)} ORDER BY 1, 2")
            for table in STAR_TABLES
        }


def test_duckdb_and_postgresql_build_the_same_warehouse(
    tmp_path: Path, duckdb_target: str, postgres_database: str
) -> None:
    data = sparkify_dagster.generate(
        tmp_path / "data", songs=400, events=3000, seed=11, match_share=0.5
    )
    results = [
        sparkify_dagster.etl(
            song_data=str(data.song_data), log_data=str(data.log_data), target=target
        )
        for target in (duckdb_target, postgres_database)
    ]
    assert results[0].counts == results[1].counts
    assert sparkify_dagster.analyze(duckdb_target) == sparkify_dagster.analyze(postgres_database)
    assert results[0].counts["songplays"] > 0
    duck, pg = star_rows(duckdb_target), star_rows(postgres_database)
    for table in STAR_TABLES:
        assert duck[table.name] == pg[table.name], table.name
    matched = [play for play in pg["songplays"] if play[4] is not None]
    assert matched, "the generated plays should match some songs"


EVERY_TYPE = Table(
    "exact",
    (
        sparkify_dagster.warehouse.model.Column("d", Type.DOUBLE),
        sparkify_dagster.warehouse.model.Column("t", Type.TEXT),
        sparkify_dagster.warehouse.model.Column("b", Type.BIGINT),
        sparkify_dagster.warehouse.model.Column("i", Type.INT),
        sparkify_dagster.warehouse.model.Column("s", Type.SMALLINT),
        sparkify_dagster.warehouse.model.Column("at", Type.TIMESTAMP),
        sparkify_dagster.warehouse.model.Column("source_file", Type.TEXT),
        sparkify_dagster.warehouse.model.Column("source_line", Type.INT),
    ),
)


def test_copy_keeps_values_exact(postgres_database: str) -> None:
    at = dt.datetime(2018, 11, 1, 21, 1, 46, 796000)
    values = [
        (0.1 + 0.2, "tab\there, newline\nthere, back\\slash", 2**63 - 1, 2**31 - 1, 2**15 - 1,
         at, "a.json", 1),
        (5e-324, "ünïcödé ✓", -(2**63), -(2**31), -(2**15), dt.datetime(1970, 1, 1), "b", 2),
        (None, None, None, None, None, None, "c", None),
        (1.7976931348623157e308, "", 0, 0, 0, dt.datetime(9999, 12, 31, 23, 59, 59), "d", 3),
        (-0.0, "'quoted' \"both\"", 1, -1, 1, at, "e", 4),
    ]  # fmt: skip
    with PostgresWarehouse(postgres_database) as warehouse:
        warehouse.create_tables([EVERY_TYPE])
        warehouse.load_rows(EVERY_TYPE, iter(values))
        assert warehouse.query("SELECT * FROM exact ORDER BY source_file") == values


@pytest.mark.parametrize(
    ("column", "value"), [("i", 2**31), ("i", -(2**31) - 1), ("s", 2**15), ("b", 2**63)]
)
def test_a_value_out_of_its_columns_range_is_refused_with_its_file(
    postgres_database: str, column: str, value: int
) -> None:
    """Binary COPY packs integers by truncating them: a too-large one must fail, not wrap."""
    row = {"d": None, "t": None, "b": None, "i": None, "s": None, "at": None}
    row.update({column: value, "source_file": "log/x.json", "source_line": 7})
    with PostgresWarehouse(postgres_database) as warehouse:
        warehouse.create_tables([EVERY_TYPE])
        with pytest.raises(RecordError) as caught:
            warehouse.load_rows(EVERY_TYPE, iter([tuple(row.values())]))
        assert str(caught.value).startswith("log/x.json line 7: PostgreSQL cannot store it")
        assert warehouse.query("SELECT count(*) FROM exact") == [(0,)]


def test_a_nul_character_that_reaches_copy_fails_the_load(postgres_database: str) -> None:
    """The parser refuses NUL first; should one reach COPY, the server refuses it too."""
    row = (None, "Nul\u0000Title", None, None, None, None, "song.json", None)
    with PostgresWarehouse(postgres_database) as warehouse:
        warehouse.create_tables([EVERY_TYPE])
        with pytest.raises(WarehouseError, match="0x00"):
            warehouse.load_rows(EVERY_TYPE, iter([row]))
        assert warehouse.query("SELECT count(*) FROM exact") == [(0,)]


def test_epoch_milliseconds_become_exact_utc_timestamps(postgres_database: str) -> None:
    with PostgresWarehouse(postgres_database) as warehouse:
        for ms in (0, 1541105830796, 253402300799999):
            at = warehouse.dialect.timestamp_from_epoch_ms("ms")
            sql = f"SELECT {at} FROM (SELECT %s::BIGINT AS ms) x"
            ((value,),) = warehouse.query(sql, [ms])
            expected = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms)
            assert value == expected


def test_pg_environment_variables_fill_a_bare_target(
    postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    host_port = postgres_server.removeprefix("postgresql://postgres@").rstrip("/")
    host, port = host_port.split(":")
    for name, value in {"PGHOST": host, "PGPORT": port, "PGUSER": "postgres"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PGDATABASE", "postgres")
    with sparkify_dagster.connect("postgresql://") as warehouse:
        assert warehouse.query("SELECT 1") == [(1,)]


def test_connection_errors_never_show_the_password(postgres_server: str) -> None:
    bad = postgres_server.replace("postgres@", "postgres:hunter2@").replace(
        "127.0.0.1:", "127.0.0.1:1"
    )
    with pytest.raises(WarehouseError) as caught:
        sparkify_dagster.connect(bad + "nowhere")
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)
    assert hide_password("host=x password='a b' user=y") == "host=x password=*** user=y"


def test_sql_errors_name_the_statement(postgres_database: str) -> None:
    with (
        PostgresWarehouse(postgres_database) as warehouse,
        pytest.raises(WarehouseError, match=r"refused 'SELECT \* FROM missing'.*missing"),
    ):
        warehouse.query("SELECT * FROM missing")


def test_failed_run_leaves_postgresql_unchanged(tmp_path: Path, postgres_database: str) -> None:
    data = sparkify_dagster.generate(tmp_path / "data", songs=10, events=50, seed=5)
    first = sparkify_dagster.etl(
        song_data=str(data.song_data), log_data=str(data.log_data), target=postgres_database
    )
    (data.log_data / "2018" / "11" / "2018-11-03-events.json").write_text('{"ts": "x"}')
    with pytest.raises(sparkify_dagster.SparkifyError):
        sparkify_dagster.etl(
            song_data=str(data.song_data),
            log_data=str(data.log_data),
            target=postgres_database,
            rejects_file=tmp_path / "rejects.jsonl",
        )
    assert sparkify_dagster.analyze(postgres_database) == first.counts


def test_unknown_target_lists_the_engines() -> None:
    with pytest.raises(ConfigError, match=r"postgresql://.*redshift://"):
        sparkify_dagster.connect("mysql://x@y/z")


def test_a_nul_character_is_rejected_with_its_file(dataset: Path, target: str) -> None:
    """PostgreSQL cannot store NUL in text, so no engine accepts it: the same rejects everywhere."""
    from sparkify_dagster_tests.helpers import event, song, write_events, write_songs

    write_songs(dataset / "song_data", [song("SOAAA", "Nul\u0000Title", "ARA", "Art", 1.5)])
    write_events(dataset / "log_data/2018/11/2018-11-01-events.json", [event(1541105830796)])
    with pytest.raises(sparkify_dagster.TooManyRejects) as caught:
        sparkify_dagster.etl(
            song_data=str(dataset / "song_data"),
            log_data=str(dataset / "log_data"),
            target=target,
            rejects_file=dataset / "rejects.jsonl",
        )
    assert [str(reject) for reject in caught.value.rejects] == [
        f'{dataset / "song_data/A/A/A/TRAAA.json"}: title is "Nul\\u0000Title", '
        "expected a string without NUL characters (\\u0000)"
    ]


text = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40
)
doubles = st.floats(allow_nan=False, allow_infinity=False)
bigints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
ROUND_TRIP = Table(
    "round_trip",
    (
        sparkify_dagster.warehouse.model.Column("n", Type.BIGINT),
        sparkify_dagster.warehouse.model.Column("t", Type.TEXT),
        sparkify_dagster.warehouse.model.Column("d", Type.DOUBLE),
        sparkify_dagster.warehouse.model.Column("b", Type.BIGINT),
    ),
)


def test_arbitrary_rows_load_the_same_on_both_engines(
    duckdb_target: str, postgres_database: str
) -> None:
    with (
        sparkify_dagster.connect(duckdb_target) as duck,
        sparkify_dagster.connect(postgres_database) as pg,
    ):

        @settings(max_examples=40, deadline=None)
        @given(st.lists(st.tuples(st.none() | text, st.none() | doubles, st.none() | bigints)))
        def load_and_compare(values: list[tuple[object, ...]]) -> None:
            rows = [(number, *row) for number, row in enumerate(values)]
            loaded = []
            for warehouse in (duck, pg):
                warehouse.create_tables([ROUND_TRIP], drop=True)
                warehouse.load_rows(ROUND_TRIP, iter(rows))
                loaded.append(warehouse.query("SELECT n, t, d, b FROM round_trip ORDER BY n"))
            assert loaded[0] == loaded[1] == rows

        load_and_compare()


def test_sessions_name_themselves(postgres_database: str) -> None:
    with PostgresWarehouse(postgres_database) as warehouse:
        assert warehouse.query("SHOW application_name") == [("sparkify",)]
    with PostgresWarehouse(postgres_database + "?application_name=nightly") as warehouse:
        assert warehouse.query("SHOW application_name") == [("nightly",)]


def test_a_malformed_target_is_a_warehouse_error() -> None:
    with pytest.raises(WarehouseError, match="cannot connect to 'postgresql://x:\\*\\*\\*@"):
        PostgresWarehouse("postgresql://x:secret@host:notaport/db")
