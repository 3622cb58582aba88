"""Re-runs, increments, kills and concurrent runs: the star always equals one clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import sparkify_dagster
from sparkify_dagster.core.errors import WarehouseError
from sparkify_dagster.ingest.sources import open_source
from sparkify_dagster.warehouse.engines import base
from sparkify_dagster.warehouse.staging import manifest, manifest_sql, stage_sources
from sparkify_dagster_tests.helpers import (
    day_file,
    etl_args,
    half_loaded,
    load,
    settle,
    song,
    star,
    write_day,
    write_songs,
)


def clean_run(dataset: Path, tmp_path: Path) -> dict[str, list[tuple[object, ...]]]:
    target = f"duckdb:///{tmp_path / 'clean.duckdb'}"
    if (tmp_path / "clean.duckdb").exists():
        (tmp_path / "clean.duckdb").unlink()
    load(dataset, target)
    return star(target)


def test_growing_folder_loads_only_new_files(dataset: Path, target: str, tmp_path: Path) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    first = load(dataset, target)
    assert [r.files_loaded for r in first.stage.sources] == [1, 1]

    write_day(dataset, 2, user="9")
    write_songs(dataset / "song_data", [song("SOBBB", "B", "ARB", "Bee", 2.5)])
    second = load(dataset, target)
    assert [(r.files_loaded, r.files_unchanged) for r in second.stage.sources] == [(1, 1), (1, 1)]
    assert second.counts["staging_events"] == 6
    assert second.counts["load_manifest"] == 4
    assert star(target) == clean_run(dataset, tmp_path)


def test_staging_one_kind_reads_only_its_own_manifest_entries(
    dataset: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_songs(dataset / "song_data", [song(f"SOAA{i}", "A", "ARA", "Art", 1.5) for i in range(3)])
    write_day(dataset, 1)
    settle(dataset)  # stamps that vouch for the bytes: the manifest's query returns them
    load(dataset, target)
    write_day(dataset, 2)
    with sparkify_dagster.connect(target) as warehouse, warehouse.transaction():
        read: list[tuple[object, ...]] = []
        query = warehouse.query

        def recording(sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
            rows = query(sql, params)
            if sql == manifest_sql(warehouse):
                read.extend(rows)
            return rows

        monkeypatch.setattr(warehouse, "query", recording)
        source = open_source(str(dataset / "log_data"))
        report = stage_sources(warehouse, {"events": source})
    assert [r.files_loaded for r in report.sources] == [1]
    assert [Path(str(row[0])).name for row in read] == ["2018-11-01-events.json"]


def test_many_changed_files_are_named_a_few_at_a_time(
    dataset: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first load of a million files once bound every name to one statement: 1 GB of DuckDB's.
    songs = dataset / "song_data"
    write_songs(songs, [song(f"SOAA{i}", f"T{i}", "ARA", "A", 1.5) for i in range(5)])
    write_day(dataset, 1)
    load(dataset, target)
    settle(songs)  # every stamp changes: each file's checksum is asked for
    write_songs(songs, [song(f"SOAA{i}", f"N{i}", "ARA", "A", 2.5) for i in range(3)])
    for module in (manifest, base):
        monkeypatch.setattr(module, "SOURCES_PER_STATEMENT", 2)
    with sparkify_dagster.connect(target) as warehouse, warehouse.transaction():
        named: list[int] = []
        query, execute = warehouse.query, warehouse.execute

        def note(params: Sequence[object]) -> None:
            named.extend(len(value) for value in params if isinstance(value, list))

        def querying(sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
            note(params)
            return query(sql, params)

        def executing(sql: str, params: Sequence[object] = ()) -> None:
            note(params)
            execute(sql, params)

        monkeypatch.setattr(warehouse, "query", querying)
        monkeypatch.setattr(warehouse, "execute", executing)
        report = stage_sources(warehouse, {"songs": open_source(str(songs))})
        titles = warehouse.query("SELECT title FROM staging_songs ORDER BY title")
        entries = warehouse.query("SELECT count(*) FROM load_manifest WHERE kind = 'songs'")
    assert named and max(named) == 2
    assert [(r.files_loaded, r.files_unchanged) for r in report.sources] == [(3, 2)]
    assert titles == [("N0",), ("N1",), ("N2",), ("T3",), ("T4",)]
    assert entries == [(5,)]


def test_nothing_new_changes_nothing(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    first = load(dataset, target)
    again = load(dataset, target)
    assert not again.stage.changed
    assert again.counts == first.counts


def test_changed_file_replaces_its_records(dataset: Path, target: str, tmp_path: Path) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1, count=5)
    write_day(dataset, 2)
    load(dataset, target)
    write_day(dataset, 1, count=2)  # rewritten with fewer events
    result = load(dataset, target)
    assert [r.files_loaded for r in result.stage.sources] == [0, 1]
    assert result.counts["staging_events"] == 5
    assert star(target) == clean_run(dataset, tmp_path)


def test_touched_but_identical_file_is_not_reloaded(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    load(dataset, target)
    path = day_file(dataset, 1)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 5_000_000_000))
    result = load(dataset, target)
    assert [r.files_loaded for r in result.stage.sources] == [0, 0]
    with sparkify_dagster.connect(target) as warehouse:
        versions = warehouse.query(
            "SELECT version FROM load_manifest WHERE source_file = "
            + warehouse.dialect.placeholder,
            [str(path)],
        )
    assert versions == [(str(stat.st_mtime_ns - 5_000_000_000),)]


def test_changed_file_replaces_its_rejects(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    path = day_file(dataset, 1)
    path.write_text(path.read_text() + "\n{broken")
    assert load(dataset, target, max_errors=1).counts["load_errors"] == 1
    write_day(dataset, 1)
    result = load(dataset, target)
    assert result.counts["load_errors"] == 0
    assert result.counts["staging_events"] == 3


def test_full_refresh_rebuilds_from_the_sources(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    write_day(dataset, 2)
    load(dataset, target)
    day_file(dataset, 2).unlink()
    assert load(dataset, target).counts["staging_events"] == 6  # kept: loads only add
    result = load(dataset, target, full_refresh=True)
    assert [r.files_loaded for r in result.stage.sources] == [1, 1]
    assert result.counts["staging_events"] == 3
    assert result.counts["load_manifest"] == 2


# -- whole processes --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def incremental_seconds(big_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long the incremental run that the kill test interrupts takes here, start-up included."""
    folder = tmp_path_factory.mktemp("timing")
    target = f"duckdb:///{folder / 'timed.duckdb'}"
    data = half_loaded(big_dataset, folder, target)
    started = time.monotonic()
    subprocess.run(etl_args(data, target), check=True, timeout=120)
    return time.monotonic() - started


@pytest.mark.parametrize("fraction", [0.2, 0.45, 0.7])
def test_kill_9_mid_load_then_rerun_equals_a_clean_run(
    big_dataset: Path,
    big_reference: dict[str, object],
    incremental_seconds: float,
    tmp_path: Path,
    fraction: float,
) -> None:
    target = f"duckdb:///{tmp_path / 'killed.duckdb'}"
    data = half_loaded(big_dataset, tmp_path, target)

    process = subprocess.Popen(etl_args(data, target))
    time.sleep(fraction * incremental_seconds)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the run ended before the kill"

    subprocess.run(etl_args(data, target), check=True, timeout=120)
    assert sparkify_dagster.analyze(target) == big_reference["counts"]
    assert star(target) == big_reference["star"]


def test_concurrent_runs_take_turns(
    big_dataset: Path, big_reference: dict[str, object], tmp_path: Path
) -> None:
    target = f"duckdb:///{tmp_path / 'shared.duckdb'}"
    runs = [subprocess.Popen(etl_args(big_dataset, target)) for _ in range(2)]
    assert [run.wait(timeout=180) for run in runs] == [0, 0]
    assert sparkify_dagster.analyze(target) == big_reference["counts"]
    assert star(target) == big_reference["star"]


def test_a_held_warehouse_makes_a_run_wait_then_fail_clearly(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    hold = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
    hold += "time.sleep(60)"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with pytest.raises(WarehouseError, match="in use by another process"):
            sparkify_dagster.etl(target=f"duckdb:///{path}", lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5
    finally:
        holder.kill()
        holder.wait()
    assert sparkify_dagster.etl(target=f"duckdb:///{path}", lock_timeout=5).counts["songplays"] > 0


def test_postgres_runs_take_turns_through_the_run_lock(postgres_database: str) -> None:
    holder = sparkify_dagster.connect(postgres_database)
    try:
        with holder.transaction():  # holds the run lock until the block ends
            started = time.monotonic()
            with pytest.raises(WarehouseError, match="in use by another sparkify run"):
                sparkify_dagster.etl(target=postgres_database, lock_timeout=0.5)
            assert time.monotonic() - started >= 0.5
    finally:
        holder.close()
    assert sparkify_dagster.etl(target=postgres_database, lock_timeout=5).counts["songplays"] > 0
