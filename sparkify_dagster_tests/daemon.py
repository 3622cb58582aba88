"""The real ``dagster-daemon`` on a temporary instance, for the tests of the sensors under it
(``test_sensors_daemon*.py``): its runs, what they built and staged, and the catalogue loaded
first as the README says. The ``daemon`` fixture is in ``conftest.py``."""

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

from sparkify_dagster_tests.helpers import REPO, Store

BIN = Path(sys.executable).parent
DEADLINE = 45.0  # seconds to wait for the runs of one step
FOLLOWED = 90.0  # and for the automation sensor's runs after them, one after the other
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

    def wait_until(
        self, done: Callable[[list[DagsterRun]], bool], what: str, seconds: float = DEADLINE
    ) -> list[DagsterRun]:
        """The instance's runs once ``done`` holds for them; a failed run fails at once."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            runs = self.runs()
            failed = [run for run in runs if run.status in DONE - {DagsterRunStatus.SUCCESS}]
            assert not failed, self.explain(failed)
            if done(runs):
                return runs
            assert self.process is not None and self.process.poll() is None, self.tail()
            time.sleep(0.3)
        raise AssertionError(f"{what} did not happen in {seconds:.0f} s\n{self.tail()}")

    def wait_for_run(self, sensor: str, before: set[str]) -> None:
        """Until a run of ``sensor`` that is not one of the runs ``before`` exists."""

        def asked(runs: list[DagsterRun]) -> bool:
            return any(run.run_id not in before and sensor_of(run) == sensor for run in runs)

        self.wait_until(asked, f"a run of {sensor}")

    def followed(self, seconds: float = FOLLOWED) -> list[DagsterRun]:
        """The runs once all have finished and the report was built after every other table."""

        def done(runs: list[DagsterRun]) -> bool:
            if not runs or not all(run.status in DONE for run in runs):
                return False
            latest = {
                name: max((at for _, name_at, at in self.built(runs) if name_at == name), default=0)
                for name in STAR_AND_STAGING
            }
            report = latest.pop("listening_report")
            return report > max(latest.values())

        return self.wait_until(done, "the star and the report following staging", seconds)

    def built(self, runs: list[DagsterRun]) -> list[tuple[DagsterRun, str, float]]:
        """Each materialization of ``runs``: its run, asset (``name@day`` for a day) and time."""
        assert self.instance is not None
        found = []
        for run in runs:
            for entry in self.instance.all_logs(
                run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
            ):
                materialization = entry.asset_materialization
                if materialization is not None:
                    found.append((run, materialization.asset_key.path[0], entry.timestamp))
        return found

    def days(self, runs: list[DagsterRun], asset: str) -> set[str]:
        """The days of ``asset`` that ``runs`` built."""
        assert self.instance is not None
        return {
            str(entry.asset_materialization.partition)
            for run in runs
            for entry in self.instance.all_logs(
                run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
            )
            if entry.asset_materialization is not None
            and entry.asset_materialization.asset_key.path[0] == asset
        }

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


AUTOMATION = "default_automation_condition_sensor"
STAR_AND_STAGING = (
    "staging_events", "staging_songs", "songplays", "time", "users", "songs", "artists",
    "listening_report",
)  # fmt: skip


def tag(run: DagsterRun, name: str) -> str:
    return run.tags[f"sparkify/{name}"]


def sensor_of(run: DagsterRun) -> str:
    """The sensor that asked for ``run``: ``new_logs``, ``new_songs`` or ``automation``."""
    return run.tags.get("sparkify/sensor", "automation")


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def catalogue_first(running: Daemon, store: Store, song_data: Path) -> None:
    """Song files in the location, the sensors switched on as the README says: new_songs stages
    the catalogue and the automation sensor builds songs and artists from it."""
    store.upload(song_data, "song_data")
    started = running.dagster("sensor", "start", "--start-all", "-m", "sparkify_dagster")
    assert started.returncode == 0, started.stderr[-2000:]
    running.start()

    def catalogue_built(runs: list[DagsterRun]) -> bool:
        built = {asset for _, asset, _ in running.built(runs)}
        return {"songs", "artists"} <= built and all(run.status in DONE for run in runs)

    runs = running.wait_until(catalogue_built, "the catalogue built", FOLLOWED)
    (songs,) = [run for run in runs if sensor_of(run) == "new_songs"]
    assert running.staged(songs) == {"files": 40, "records": 40}
    assert [asset for _, asset, _ in running.built([songs])] == ["staging_songs"]
    automation = [run for run in runs if sensor_of(run) == "automation"]
    assert sorted(asset for _, asset, _ in running.built(automation)) == ["artists", "songs"]


def running_daemon(
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
