"""DuckDB's bulk load keeps every staged value exactly: NULL apart from "", doubles, extremes."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import duckdb
import pytest

from sparkify_dagster.core.errors import WarehouseError
from sparkify_dagster.warehouse.engines import DuckDBWarehouse
from sparkify_dagster.warehouse.engines import duckdb as duckdb_engine
from sparkify_dagster.warehouse.model import STAGING_SONGS


def test_load_rows_round_trips_values_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb_engine, "BATCH_ROWS", 2)  # several batches
    rows = [
        (
            1,
            "AR1",
            0.1 + 0.2,
            -90.04892,
            "",
            "Caf\u00e9 \U0001f3b5",
            "SO1",
            None,
            5e-324,
            0,
            "a",
            None,
        ),
        (None, None, None, None, None, "", "SO2", "", 1.7976931348623157e308, 2**31 - 1, "b", 7),
        (
            -(2**31),
            "x" * 3000,
            -0.0,
            None,
            "line\nbreak",
            "'quoted\"",
            "SO3",
            "t",
            None,
            None,
            "c",
            1,
        ),
    ]
    with DuckDBWarehouse(":memory:") as warehouse:
        warehouse.create_tables([STAGING_SONGS])
        warehouse.load_rows(STAGING_SONGS, iter(rows))
        loaded = warehouse.query("SELECT * FROM staging_songs ORDER BY song_id")
        assert loaded == rows
        assert warehouse.query("SELECT count(*) FROM staging_songs WHERE title IS NULL") == [(1,)]


def test_load_rows_of_nothing_adds_nothing() -> None:
    with DuckDBWarehouse(":memory:") as warehouse:
        warehouse.create_tables([STAGING_SONGS])
        warehouse.load_rows(STAGING_SONGS, iter([]))
        assert warehouse.count(STAGING_SONGS) == 0


def test_a_warehouse_file_caps_duckdbs_memory(tmp_path: Path) -> None:
    def limit(warehouse: DuckDBWarehouse) -> str:
        ((value,),) = warehouse.query("SELECT current_setting('memory_limit')")
        return str(value)

    with DuckDBWarehouse(tmp_path / "capped.duckdb") as capped:
        assert limit(capped) == "488.2 MiB"  # 512 MB
    with DuckDBWarehouse(tmp_path / "roomy.duckdb", memory_limit="2GB") as roomy:
        assert limit(roomy) == "1.8 GiB"
    with DuckDBWarehouse(":memory:") as in_memory:  # its tables live in that memory: no cap
        assert limit(in_memory) not in ("488.2 MiB", "1.8 GiB")


def test_a_transaction_does_not_keep_the_batches_it_loaded(tmp_path: Path) -> None:
    """Each batch is freed once inserted, not at commit: a load of 10M events held every batch's
    raw text (4.7 GB) until its transaction ended."""
    from sparkify_dagster.ingest.plain import SHAPES, RawRecords

    records = RawRecords()
    records.add("songs", "song.json", b'{"song_id": "SO1", "title": "T", "duration": 1.5}')
    batch = records.table()
    left_behind = weakref.ref(batch)
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.create_tables([STAGING_SONGS])
        with warehouse.transaction():
            assert warehouse.load_plain(STAGING_SONGS, SHAPES["songs"], batch.to_batches()) == 1
            song = (None, None, None, None, None, None, "SO2", None, None, None, "b.json", None)
            warehouse.load_rows(STAGING_SONGS, iter([song]))
            del batch
            gc.collect()
            assert left_behind() is None
        assert warehouse.count(STAGING_SONGS) == 2


def test_staging_runs_under_the_lower_cap_and_restores_it_even_when_it_fails(
    tmp_path: Path,
) -> None:
    def limit(warehouse: DuckDBWarehouse) -> str:
        with warehouse.connection.cursor() as cursor:
            ((value,),) = cursor.execute("SELECT current_setting('memory_limit')").fetchall()
        return str(value)

    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.create_tables([STAGING_SONGS])
        with pytest.raises(WarehouseError), warehouse.transaction(), warehouse.staging_memory():
            assert limit(warehouse) == "122.0 MiB"  # 128 MB
            warehouse.execute('INSERT INTO "staging_songs" ("song_id") VALUES (NULL)')
        assert limit(warehouse) == "488.2 MiB"  # 512 MB, the cap of the star's statements
    with (
        DuckDBWarehouse(tmp_path / "w.duckdb", memory_limit="2GB") as chosen,
        chosen.staging_memory(),
    ):
        assert limit(chosen) == "1.8 GiB"  # a cap chosen by hand is kept


def test_rows_of_large_text_load_under_the_staging_cap(tmp_path: Path) -> None:
    """Eight rows of 16 MB in one call: one statement over them all ran out of memory."""
    title = "x" * 16_000_000
    rows = [(1, "AR", None, None, "", "A", f"SO{n}", title, 1.0, 2000, "f", None) for n in range(8)]
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.create_tables([STAGING_SONGS])
        with warehouse.transaction(), warehouse.staging_memory():  # as a staging run nests them
            assert warehouse.load_rows(STAGING_SONGS, rows) == 8
        assert warehouse.query('SELECT min(length("title")) FROM "staging_songs"') == [
            (16_000_000,)
        ]


def test_a_fatal_error_says_the_next_run_reopens_the_file(tmp_path: Path) -> None:
    """After a failed write DuckDB may refuse every statement of the process ("invalidated")."""
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        error = warehouse._translate(
            duckdb.FatalException("FATAL Error: database has been invalidated"), "could not commit"
        )
    assert str(error) == (
        "could not commit: FATAL Error: database has been invalidated; DuckDB stopped using "
        f"{tmp_path / 'w.duckdb'} for this process: run again, and the next run reopens it"
    )
