"""Days as Dagster's partitions: one day's run, a range as one run, the CLI the card names, play ids
that never move, the catalogue's re-match, and a warehouse from before days were partitions."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, materialize

import sparkify_dagster
from sparkify_dagster.assets import TABLE_ASSETS
from sparkify_dagster.checks import TABLE_CHECKS
from sparkify_dagster.partitions import LOG_DAYS, day_bounds, held_days, log_days
from sparkify_dagster.warehouse import transform
from sparkify_dagster.warehouse.engines import DuckDBWarehouse, connect
from sparkify_dagster.warehouse.upgrade import prepare
from sparkify_dagster_tests.helpers import (
    DAY_MS,
    T0,
    dagster,
    dagster_home,
    day_file,
    event,
    every_day,
    load,
    resources,
    song,
    star,
    write_events,
    write_songs,
)

SONGS = [song("SOAAA", "Alpha", "ARA", "Ann", 100.5), song("SOBBB", "Beta", "ARB", "Bob", 200.25)]


def write_days(dataset: Path, *numbers: int) -> None:
    """A log for each day of ``numbers``: a play of Alpha, one of Beta (unknown to the catalogue
    until a test adds it) and a visit, by a user of that day."""
    for number in numbers:
        base = T0 + (number - 1) * DAY_MS
        write_events(
            day_file(dataset, number),
            [
                event(base, user_id=str(number), song="Alpha", artist="Ann", length=100.5),
                event(base + 1, user_id=str(number), song="Gamma", artist="Cy", length=3.0),
                event(base + 2, user_id=str(number), page="Home"),
            ],
        )


def run_days(target: str, dataset: Path, first: str, last: str, **extra: Any) -> Any:
    result = materialize(
        [*TABLE_ASSETS, *TABLE_CHECKS],
        resources=resources(target, dataset),
        instance=extra.pop("instance", None) or DagsterInstance.ephemeral(),
        tags=every_day(first, last),
        raise_on_error=False,
        **extra,
    )
    assert result.success
    return result


def plays(target: str) -> list[tuple[Any, ...]]:
    with connect(target) as warehouse:
        return warehouse.query(
            "SELECT songplay_id, user_id, song_id FROM songplays ORDER BY songplay_id"
        )


def assert_a_clean_load(dataset: Path, target: str) -> None:
    """``target``'s star equals one clean load of ``dataset``."""
    clean = f"duckdb:///{dataset.parent / 'clean.duckdb'}"
    load(dataset, clean)
    assert star(target) == star(clean)


@pytest.fixture
def three_days(dataset: Path) -> Path:
    write_songs(dataset / "song_data", SONGS[:1])
    write_days(dataset, 1, 2, 3)
    return dataset


def test_a_day_s_run_reads_that_day_and_builds_its_plays_only(
    three_days: Path, target: str
) -> None:
    run_days(target, three_days, "2018-11-01", "2018-11-02")
    before = plays(target)
    result = run_days(target, three_days, "2018-11-03", "2018-11-03")

    (staged,) = result.asset_materializations_for_node("staging_events")
    assert staged.partition == "2018-11-03"
    assert staged.metadata["files_read"].value == 1
    after = plays(target)
    assert after[: len(before)] == before  # the other days' plays, untouched
    assert [row[0] for row in after[len(before) :]] == [
        2018_11_03 * 10**10 + 1,
        2018_11_03 * 10**10 + 2,
    ]
    assert_a_clean_load(three_days, target)


DAY_ASSETS = ("staging_events", "songplays", "time", "users")  # what a new day changes


def test_a_run_of_one_partition_key_touches_that_day_only(
    three_days: Path, duckdb_target: str
) -> None:
    """``--partition`` (a partition key, no range tags) is a day's run like a range of one day:
    it neither stages another day's changed log nor rebuilds another day's plays."""
    run_days(duckdb_target, three_days, "2018-11-01", "2018-11-03")
    with connect(duckdb_target) as warehouse, warehouse.transaction():
        warehouse.execute(
            "UPDATE songplays SET session_id = -1 WHERE songplay_id < ?", [2018_11_02 * 10**10]
        )
    changed = day_file(three_days, 1)
    changed.write_text(changed.read_text() + "\n")

    result = materialize(
        [asset for asset in TABLE_ASSETS if asset.key.path[0] in DAY_ASSETS],
        resources=resources(duckdb_target, three_days),
        instance=DagsterInstance.ephemeral(),
        partition_key="2018-11-03",
    )

    (staged,) = result.asset_materializations_for_node("staging_events")
    assert staged.metadata["files_read"].value == 0  # the changed log is another day's
    with connect(duckdb_target) as warehouse:
        sessions = warehouse.query(
            "SELECT DISTINCT session_id FROM songplays WHERE songplay_id < ?", [2018_11_02 * 10**10]
        )
    assert sessions == [(-1,)]  # day 1's plays were not rebuilt


def test_a_late_day_never_renumbers_and_ids_do_not_depend_on_the_order(
    three_days: Path, duckdb_target: str, tmp_path: Path
) -> None:
    late = day_file(three_days, 2).read_bytes()
    day_file(three_days, 2).unlink()
    run_days(duckdb_target, three_days, "2018-11-01", "2018-11-03")
    first_and_third = plays(duckdb_target)

    day_file(three_days, 2).write_bytes(late)  # uploaded after the later day
    run_days(duckdb_target, three_days, "2018-11-02", "2018-11-02")

    assert set(first_and_third) <= set(plays(duckdb_target))
    in_order = f"duckdb:///{tmp_path / 'in-order.duckdb'}"
    run_days(in_order, three_days, "2018-11-01", "2018-11-03")
    assert plays(duckdb_target) == plays(in_order)


def test_new_songs_re_match_only_the_days_holding_a_play_they_match(
    three_days: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    day_file(three_days, 2).write_text(
        day_file(three_days, 2).read_text().replace('"Gamma"', '"Beta"').replace('"Cy"', '"Bob"')
    )
    day_file(three_days, 2).write_text(
        day_file(three_days, 2).read_text().replace('"length":3.0', '"length":200.25')
    )
    run_days(target, three_days, "2018-11-01", "2018-11-03")
    write_songs(three_days / "song_data", SONGS[1:])  # Beta arrives: a play of day 2 matches

    replaced: list[tuple[str, ...]] = []
    statements = transform.songplays_statements
    monkeypatch.setattr(
        transform,
        "songplays_statements",
        lambda dialect, days: replaced.append(days.bounds) or statements(dialect, days),
    )
    catalogue = ("staging_songs", "songs", "artists")  # what new_songs asks for
    materialize(
        [asset for asset in TABLE_ASSETS if asset.key.path[0] in catalogue],
        resources=resources(target, three_days),
        instance=DagsterInstance.ephemeral(),
    )
    assert replaced == [("2018-11-02", "2018-11-02")]
    assert (2018_11_02 * 10**10 + 2, 2, "SOBBB") in plays(target)
    assert_a_clean_load(three_days, target)


def test_a_re_match_of_a_day_staged_again_but_not_built_brings_its_time_rows(
    three_days: Path, target: str
) -> None:
    """A day's log rewritten and staged alone (its plays not built yet), then a song arrives that
    one of its plays matches: the re-match builds that day's plays from what is staged now, and
    their time rows with them, so no play lacks its time row whatever runs next."""
    beta = day_file(three_days, 2).read_text().replace('"Gamma"', '"Beta"').replace('"Cy"', '"Bob"')
    day_file(three_days, 2).write_text(beta.replace('"length":3.0', '"length":200.25'))
    run_days(target, three_days, "2018-11-01", "2018-11-03")
    beta_at = T0 + DAY_MS + 1
    day_file(three_days, 2).write_text(  # the play of Beta, 5 s later
        day_file(three_days, 2).read_text().replace(f'"ts":{beta_at}', f'"ts":{beta_at + 5000}')
    )
    staged = materialize(
        [asset for asset in TABLE_ASSETS if asset.key.path[0] == "staging_events"],
        resources=resources(target, three_days),
        instance=DagsterInstance.ephemeral(),
        partition_key="2018-11-02",
    )
    assert staged.success
    write_songs(three_days / "song_data", SONGS[1:])
    catalogue = ("staging_songs", "songs", "artists")
    materialize(
        [asset for asset in TABLE_ASSETS if asset.key.path[0] in catalogue],
        resources=resources(target, three_days),
        instance=DagsterInstance.ephemeral(),
    )
    with connect(target) as warehouse:
        lacking = warehouse.query(
            "SELECT p.start_time FROM songplays AS p LEFT JOIN time AS t "
            "ON t.start_time = p.start_time WHERE t.start_time IS NULL"
        )
    assert lacking == []
    assert_a_clean_load(three_days, target)


def test_a_start_time_two_days_share_keeps_one_time_row_through_their_runs(
    three_days: Path, target: str
) -> None:
    """A day's run looks up only the time rows within its plays' span: a play of day 3 at the
    instant of a play of day 1 (the first of day 3's span) finds that day's row and adds none;
    day 1 rewritten without it keeps the row, which day 3's play still holds."""
    third = T0 + 2 * DAY_MS
    day_file(three_days, 3).write_text(
        day_file(three_days, 3).read_text().replace(f'"ts":{third},', f'"ts":{T0},')
    )
    for day in ("2018-11-01", "2018-11-03", "2018-11-02"):
        run_days(target, three_days, day, day)
    with connect(target) as warehouse:
        shared = "SELECT start_time FROM songplays GROUP BY start_time HAVING COUNT(*) > 1"
        assert len(warehouse.query(shared)) == 1
    assert_a_clean_load(three_days, target)

    day_file(three_days, 1).write_text(
        day_file(three_days, 1).read_text().replace(f'"ts":{T0},', f'"ts":{T0 + 7000},')
    )
    run_days(target, three_days, "2018-11-01", "2018-11-01")
    assert_a_clean_load(three_days, target)


def test_a_warehouse_from_before_days_were_partitions_is_upgraded(
    three_days: Path, target: str
) -> None:
    load(three_days, target)
    with connect(target) as warehouse, warehouse.transaction():
        for name in ("log_files", "song_matches", "users_pending", "times_pending"):
            warehouse.execute(f'DROP TABLE "{name}"')
        warehouse.execute("UPDATE songplays SET songplay_id = MOD(songplay_id, 10000000000)")
        ((staged_before,),) = warehouse.query("SELECT COUNT(*) FROM staging_events")

    run_days(target, three_days, "2018-11-03", "2018-11-03")
    assert {row[0] // 10**10 for row in plays(target)} == {2018_11_03}  # old ids are gone
    run_days(target, three_days, "2018-11-01", "2018-11-03")  # a backfill of every day

    assert sparkify_dagster.analyze(target)["staging_events"] == staged_before
    assert_a_clean_load(three_days, target)


def test_preparing_creates_only_the_tables_missing(duckdb_target: str) -> None:
    with connect(duckdb_target) as warehouse:
        prepare(warehouse)
        warehouse.execute("INSERT INTO users_pending VALUES (7)")
        warehouse.execute('DROP TABLE "times_pending"')
        prepare(warehouse)
        assert {"times_pending", "users_pending"} <= warehouse.table_names()
        assert warehouse.query("SELECT user_id FROM users_pending") == [(7,)]


class CountedWarehouse(DuckDBWarehouse):
    """A DuckDB warehouse that keeps the queries it was sent."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.asked: list[str] = []

    def query_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        self.asked.append(sql)
        return super().query_with_columns(sql, params)


def test_the_steps_of_a_run_look_for_the_tables_once(tmp_path: Path) -> None:
    """Every step prepares over the run's one connection: once a step has found the tables there
    and up to date, the next ones send no query for it. A step that created them looks again
    next time (its transaction may have rolled back), and so does one after a drop."""
    with CountedWarehouse(tmp_path / "warehouse.duckdb") as warehouse:
        with pytest.raises(RuntimeError), warehouse.transaction():
            prepare(warehouse)  # creates every table
            raise RuntimeError("the step fails")  # and its transaction drops them again
        assert not warehouse.ready
        with warehouse.transaction():
            prepare(warehouse)
        assert "songplays" in warehouse.table_names()
        with warehouse.transaction():
            prepare(warehouse)  # finds every table
        assert warehouse.ready
        asked = len(warehouse.asked)
        with warehouse.transaction():
            prepare(warehouse)
        assert len(warehouse.asked) == asked

        warehouse.create_tables(drop=True)
        assert not warehouse.ready


def test_a_log_whose_name_gives_no_day_fails_the_load_naming_it(
    three_days: Path, duckdb_target: str
) -> None:
    stray = three_days / "log_data" / "extra" / "misc.json"
    stray.parent.mkdir()
    stray.write_text("{}")
    with pytest.raises(sparkify_dagster.SourceError, match=r"misc\.json names no day from 1970"):
        load(three_days, duckdb_target)


# -- the partitions definition ----------------------------------------------------------------


def test_the_sample_shows_its_30_days_and_real_logs_run_to_today(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SPARKIFY_FIRST_DAY", "SPARKIFY_LAST_DAY", "SPARKIFY_LOG_DATA"):
        monkeypatch.delenv(name, raising=False)
    sample = log_days(*day_bounds())
    assert sample.get_partition_keys()[0] == "2018-11-01"
    assert len(sample.get_partition_keys()) == 30

    monkeypatch.setenv("SPARKIFY_LOG_DATA", "s3://bucket/log_data")
    monkeypatch.setenv("SPARKIFY_SONG_DATA", "s3://bucket/song_data")
    keys = log_days(*day_bounds()).get_partition_keys()
    assert keys[0] == "2018-11-01" and keys[-1] >= "2026-12-03"  # today's log is a day too

    monkeypatch.setenv("SPARKIFY_LAST_DAY", "2018-10-01")
    with pytest.raises(sparkify_dagster.ConfigError, match="SPARKIFY_LAST_DAY"):
        day_bounds()


def test_the_days_the_logs_hold_are_what_dev_materialize_asks_for(three_days: Path) -> None:
    assert held_days(str(three_days / "log_data")) == ("2018-11-01", "2018-11-03")
    assert LOG_DAYS.get_first_partition_key() == "2018-11-01"


# -- the CLI the card names ---------------------------------------------------------------------


def runs_in(home: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(home / ".dagster" / "storage" / "history" / "runs.db") as runs:
        return runs.execute("SELECT run_id, status FROM runs").fetchall()


def test_the_cli_loads_a_range_as_one_run_and_a_day_with_what_follows(
    three_days: Path, tmp_path: Path
) -> None:
    env = dagster_home(tmp_path)
    target = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    env.update(
        SPARKIFY_TARGET=target,
        SPARKIFY_SONG_DATA=str(three_days / "song_data"),
        SPARKIFY_LOG_DATA=str(three_days / "log_data"),
    )
    everything = dagster(
        env, "asset", "materialize", "-m", "sparkify_dagster", "--select", "*",
        "--partition-range", "2018-11-01...2018-11-03",
    )  # fmt: skip
    assert everything.returncode == 0, everything.stderr[-3000:]
    home = Path(env["DAGSTER_HOME"])
    assert [status for _, status in runs_in(home)] == ["SUCCESS"]  # one run for the range

    day_file(three_days, 3).write_text(day_file(three_days, 3).read_text() + "\n")
    one_day = dagster(
        env, "asset", "materialize", "-m", "sparkify_dagster", "--select", "staging_events*",
        "--partition", "2018-11-03",
    )  # fmt: skip
    assert one_day.returncode == 0, one_day.stderr[-3000:]
    assert len(runs_in(home)) == 2
    assert_a_clean_load(three_days, target)


def test_rejects_beyond_the_limit_fail_their_day_and_leave_the_others_as_they_were(
    three_days: Path, duckdb_target: str
) -> None:
    run_days(duckdb_target, three_days, "2018-11-01", "2018-11-03")
    before = star(duckdb_target)
    broken = day_file(three_days, 2)
    broken.write_text(broken.read_text() + '\n{"ts": "soon", "userId": "2"}')
    result = materialize(
        [*TABLE_ASSETS, *TABLE_CHECKS],
        resources=resources(duckdb_target, three_days),
        instance=DagsterInstance.ephemeral(),
        tags=every_day("2018-11-02", "2018-11-02"),
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert f'{broken}:4: ts is "soon"' in str(failure.step_failure_data.error)
    assert star(duckdb_target) == before
