"""DuckDB's bulk load keeps every staged value exactly: NULL apart from "", doubles, extremes."""

from __future__ import annotations

import pytest

from sparkify.model import STAGING_SONGS
from sparkify.warehouses import DuckDBWarehouse
from sparkify.warehouses import duckdb as duckdb_engine


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
