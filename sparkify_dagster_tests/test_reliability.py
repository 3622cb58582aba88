"""Reliability under the orchestrator: two runs that meet, a run killed mid-staging, a failed step
re-executed from failure. Each time the warehouse ends as one clean run over the same files would
leave it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sparkify_dagster
from sparkify_dagster_tests.dagster_dev import DAGSTER, TABLE_ASSETS, DagsterDev
from sparkify_dagster_tests.helpers import REPO, half_loaded, partition_range, star

Warehouse = tuple[dict[str, int], dict[str, list[tuple[object, ...]]]]


def contents(target: str) -> Warehouse:
    """Every table's row count, and the star tables' rows."""
    return sparkify_dagster.analyze(target), star(target)


def clean_run(data: Path, folder: Path) -> Warehouse:
    """The warehouse one clean run over ``data`` gives, through the library."""
    target = f"duckdb:///{folder / 'clean.duckdb'}"
    sparkify_dagster.etl(
        song_data=str(data / "song_data"), log_data=str(data / "log_data"), target=target
    )
    return contents(target)


# -- through the UI's GraphQL API, with the daemon's run queue -----------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server's warehouse and raw data live; each test puts its own there."""
    return tmp_path_factory.mktemp("reliability")


@pytest.fixture(scope="module")
def server(workspace: Path) -> Iterator[DagsterDev]:
    env = {
        "SPARKIFY_TARGET": f"duckdb:///{workspace / 'warehouse.duckdb'}",
        "SPARKIFY_SONG_DATA": str(workspace / "data" / "song_data"),
        "SPARKIFY_LOG_DATA": str(workspace / "data" / "log_data"),
        "SPARKIFY_CACHE": str(workspace / "cache"),
    }
    with DagsterDev(workspace / "home", env) as dev:
        yield dev


def fresh(workspace: Path, seed: int) -> Path:
    """An empty warehouse and a new generated dataset in the server's folders."""
    shutil.rmtree(workspace / "data", ignore_errors=True)
    for leftover in workspace.glob("warehouse.duckdb*"):
        leftover.unlink()
    sparkify_dagster.generate(workspace / "data", songs=200, events=6_000, days=3, seed=seed)
    return workspace / "data"


def test_two_runs_at_once_take_turns_and_the_second_finds_nothing_to_load(
    server: DagsterDev, workspace: Path, tmp_path: Path
) -> None:
    data = fresh(workspace, seed=31)
    target = server.env["SPARKIFY_TARGET"]
    newest = sorted((data / "log_data").rglob("*.json"))[-1]
    newest.rename(newest.with_suffix(".later"))
    sparkify_dagster.etl(
        song_data=str(data / "song_data"), log_data=str(data / "log_data"), target=target
    )  # the days before
    newest.with_suffix(".later").rename(newest)  # a new day of logs arrives

    # The new_logs sensor asks for staging_events; a user presses "Materialize all" at the
    # same moment.
    sensor = server.launch(["staging_events"], tags={"sparkify/sensor": "new_logs"})
    user = server.launch(TABLE_ASSETS)
    seen = set()
    while True:
        statuses = (server.status(sensor).value, server.status(user).value)
        seen.add(statuses)
        if all(status in ("SUCCESS", "FAILURE", "CANCELED") for status in statuses):
            break
        time.sleep(0.5)
    assert statuses == ("SUCCESS", "SUCCESS"), server.tail()
    assert ("STARTED", "QUEUED") in seen, seen  # the user's run waited in the queue
    first, second = server.run(sensor), server.run(user)
    assert first["endTime"] <= second["startTime"]  # never both at once

    loaded = server.materializations(sensor)["staging_events"]
    assert loaded["files_read"] == 1 and loaded["records_staged"] > 0
    later = server.materializations(user)
    for staging in ("staging_events", "staging_songs"):
        assert later[staging]["files_read"] == 0, later[staging]
        assert later[staging]["records_staged"] == 0
    assert contents(target) == clean_run(data, tmp_path)


def test_a_failed_step_re_executed_from_failure_completes_the_load(
    server: DagsterDev, workspace: Path, tmp_path: Path
) -> None:
    data = fresh(workspace, seed=32)
    songs = data / "song_data"
    songs.rename(data / "song_data.unmounted")  # the song folder is not there for this run

    failed = server.wait(server.launch(TABLE_ASSETS))
    assert failed["status"] == "FAILURE"
    steps = {step["stepKey"]: step["status"] for step in failed["stepStats"]}
    assert steps["staging_songs"] == "FAILURE" and steps["staging_events"] == "SUCCESS"
    assert "songplays" not in steps  # the star tables that need songs never ran
    (failure,) = [e for e in server.events(failed["runId"]) if "error" in e]
    assert f"{songs} does not exist" in failure["error"]["message"]

    (data / "song_data.unmounted").rename(songs)  # fixed
    again = server.wait(server.reexecute(failed["runId"], "FROM_FAILURE"))
    assert again["status"] == "SUCCESS", server.tail()
    assert again["parentRunId"] == failed["runId"]
    assert "staging_events" not in again["stepKeysToExecute"]  # done before, not redone
    assert {"staging_songs", "songs", "artists", "songplays", "time"} <= set(
        again["stepKeysToExecute"]
    )
    assert contents(server.env["SPARKIFY_TARGET"]) == clean_run(data, tmp_path)


# -- a run killed mid-staging: the `dagster` CLI in a subprocess, SIGKILL -------------------------


def as_it_was(target: str) -> tuple[Warehouse, list[tuple[object, ...]]]:
    """Every table's row count, the star's rows and the manifest of files loaded: a staging load
    that changed anything changes the manifest."""
    with sparkify_dagster.connect(target) as warehouse:
        manifest = sorted(warehouse.query('SELECT * FROM "load_manifest"'), key=repr)
    return contents(target), manifest


def test_a_run_killed_mid_staging_changes_nothing_and_the_next_run_completes(
    big_dataset: Path,
    big_reference: dict[str, Any],
    tmp_path: Path,
) -> None:
    target = f"duckdb:///{tmp_path / 'killed.duckdb'}"
    data = half_loaded(big_dataset, tmp_path, target)  # three days loaded, three new
    before = as_it_was(target)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")},
        "DAGSTER_HOME": str(home),
        "SPARKIFY_TARGET": target,
        "SPARKIFY_SONG_DATA": str(data / "song_data"),
        "SPARKIFY_LOG_DATA": str(data / "log_data"),
    }
    command = [str(DAGSTER), "asset", "materialize", "--select", ",".join(TABLE_ASSETS),
               "--partition-range", partition_range(data / "log_data"),
               "-m", "sparkify_dagster"]  # fmt: skip

    run = subprocess.Popen(
        command, cwd=home, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert run.stderr is not None
    log = []
    for line in run.stderr:  # Dagster logs each event as it happens
        log.append(line)
        if 'STEP_START - Started execution of step "staging_events"' in line:
            time.sleep(0.3)  # inside the load of three new days of events
            run.send_signal(signal.SIGKILL)
            break
    log += run.stderr.readlines()
    assert run.wait(timeout=60) == -signal.SIGKILL, "".join(log)[-3000:]
    assert not any("STEP_SUCCESS" in line and "staging_events" in line for line in log)

    assert as_it_was(target) == before  # every table as it was

    done = subprocess.run(command, cwd=home, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sparkify_dagster.analyze(target) == big_reference["counts"]
    assert star(target) == big_reference["star"]
