"""The sensors under the real ``dagster-daemon``: files land, the runs it launches load exactly
them, and the warehouse equals one clean load of the same files. On S3 (moto on loopback) and on a
local folder."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef

import sparkify_dagster
from sparkify_dagster_tests.helpers import REPO, Store, star

BIN = Path(sys.executable).parent
DEADLINE = 45.0  # seconds to wait for the runs of one step
DONE = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


class Daemon:
    """``dagster-daemon run`` on a temporary DAGSTER_HOME, and that instance's runs."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.log = home / "daemon.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.instance: DagsterInstance | None = None

    def dagster(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "dagster"), *args], capture_output=True, text=True, env=self.env,
            cwd=self.home, timeout=120,
        )  # fmt: skip

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-m", "sparkify_dagster"],
                cwd=self.home, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its code server and runs share its process group
            )  # fmt: skip
        self.instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.instance is not None:
            self.instance.dispose()

    def runs(self) -> list[DagsterRun]:
        assert self.instance is not None
        return sorted(self.instance.get_runs(), key=lambda run: run.run_id)

    def wait_until(self, done: Callable[[list[DagsterRun]], bool], what: str) -> list[DagsterRun]:
        """The instance's runs once ``done`` holds for them; a failed run fails at once."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            runs = self.runs()
            failed = [run for run in runs if run.status in DONE - {DagsterRunStatus.SUCCESS}]
            assert not failed, self.explain(failed)
            if done(runs):
                return runs
            assert self.process is not None and self.process.poll() is None, self.tail()
            time.sleep(0.3)
        raise AssertionError(f"{what} did not happen in {DEADLINE:.0f} s\n{self.tail()}")

    def wait_for(self, files: dict[str, int]) -> list[DagsterRun]:
        """The runs once all have finished and those of each sensor cover ``files[sensor]``
        new files in all (a batch that lands across two ticks takes two runs)."""

        def covered(runs: list[DagsterRun]) -> bool:
            total = {name: 0 for name in files}
            for run in runs:
                total[tag(run, "sensor")] += int(tag(run, "new_files"))
            return total == files and all(run.status in DONE for run in runs)

        return self.wait_until(covered, f"runs covering {files}")

    def staged(self, run: DagsterRun) -> dict[str, Any]:
        """What the run's staging step read: files and records."""
        assert self.instance is not None
        for entry in self.instance.all_logs(
            run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ):
            materialization = entry.asset_materialization
            if materialization and materialization.asset_key.path[0].startswith("staging_"):
                shown = {key: value.value for key, value in materialization.metadata.items()}
                return {"files": shown["files_read"], "records": shown["records_staged"]}
        raise AssertionError(f"run {run.run_id} staged nothing")

    def explain(self, runs: list[DagsterRun]) -> str:
        assert self.instance is not None
        lines = []
        for run in runs:
            for entry in self.instance.all_logs(run.run_id):
                if (
                    entry.is_dagster_event
                    and entry.dagster_event
                    and "FAILURE" in str(entry.dagster_event.event_type_value)
                ):
                    lines.append(str(entry.dagster_event.message))
        return "\n".join(lines) + "\n" + self.tail()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@pytest.fixture
def daemon(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Daemon, str]]:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    with (home / "dagster.yaml").open("a") as config:  # look at the queue every second, not 5
        config.write("\nrun_queue:\n  dequeue_interval_seconds: 1\n")
    target = f"duckdb:///{tmp_path / 'w.duckdb'}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SPARKIFY_TARGET": target,
        "SPARKIFY_SONG_DATA": store.location("song_data"),
        "SPARKIFY_LOG_DATA": store.location("log_data"),
        "SPARKIFY_SENSOR_INTERVAL": "1",
    }
    monkeypatch.chdir(home)  # the instance's storage is relative to the working directory
    running = Daemon(home, env)
    try:
        yield running, target
    finally:
        running.stop()


def tag(run: DagsterRun, name: str) -> str:
    return run.tags[f"sparkify/{name}"]


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_the_daemon_loads_new_files_once_and_matches_a_clean_load(
    daemon: tuple[Daemon, str], store: Store, tmp_path: Path
) -> None:
    running, target = daemon
    data = sparkify_dagster.generate(tmp_path / "gen", songs=40, events=400, days=4, seed=3)
    last_day = data.log_data / "2018/11/2018-11-04-events.json"
    # A late day: the 2nd arrives after the 3rd, so its key sorts before the newest one seen.
    late_day = data.log_data / "2018/11/2018-11-02-events.json"
    store.upload(data.song_data, "song_data")
    store.upload(data.log_data, "log_data", skip=(last_day.name, late_day.name))

    started = running.dagster("sensor", "start", "--start-all", "-m", "sparkify_dagster")
    assert started.returncode == 0, started.stderr[-2000:]
    running.start()

    def logs_loaded(runs: list[DagsterRun]) -> bool:
        return any(tag(run, "sensor") == "new_logs" and run.status in DONE for run in runs)

    (first_logs,) = [
        run for run in running.wait_until(logs_loaded, "the first new_logs run")
        if tag(run, "sensor") == "new_logs"
    ]  # fmt: skip
    assert tag(first_logs, "new_files") == "2"
    records = sum(
        lines(data.log_data / day)
        for day in ("2018/11/2018-11-01-events.json", "2018/11/2018-11-03-events.json")
    )
    assert running.staged(first_logs) == {"files": 2, "records": records}

    for path in (last_day, late_day):
        store.put(f"log_data/{path.relative_to(data.log_data).as_posix()}", path.read_bytes())
    runs = running.wait_for({"new_songs": 40, "new_logs": 4})

    songs = [run for run in runs if tag(run, "sensor") == "new_songs"]
    assert [running.staged(run) for run in songs] == [{"files": 40, "records": 40}]
    late = [run for run in runs if tag(run, "sensor") == "new_logs" and run != first_logs]
    assert 1 <= len(late) <= 2  # the two files in one tick's run, or in two ticks' runs
    assert {
        "files": sum(running.staged(run)["files"] for run in late),
        "records": sum(running.staged(run)["records"] for run in late),
    } == {"files": 2, "records": lines(last_day) + lines(late_day)}

    reference = f"duckdb:///{tmp_path / 'clean.duckdb'}"
    sparkify_dagster.etl(
        song_data=str(data.song_data), log_data=str(data.log_data), target=reference
    )
    assert sparkify_dagster.analyze(target) == sparkify_dagster.analyze(reference)
    assert star(target) == star(reference)
