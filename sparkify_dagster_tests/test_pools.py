"""Concurrency by pool, not by run queue, under the real ``dagster-daemon`` on the project's
``dagster.yaml``: two loads launched together take turns on the warehouse, and a cluster job
launched during a load starts at once instead of queueing behind it."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef

import sparkify_dagster
from sparkify_dagster_tests.helpers import CLASSIC, REPO, days_of, star

BIN = Path(sys.executable).parent
DONE = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
STEP_ENDS = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}


@pytest.fixture
def home(tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME with the project's instance file (the queue looked at every second) and a
    classic dwh.cfg for the cluster jobs (AWS is the loopback moto server), as the working
    directory of the test and of every process it starts."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    with (home / "dagster.yaml").open("a") as config:
        config.write("\nrun_queue:\n  dequeue_interval_seconds: 1\n")
    (home / "dwh.cfg").write_text(CLASSIC)
    boto3.client("redshift").create_cluster(
        ClusterIdentifier="dwhcluster", ClusterType="multi-node", NumberOfNodes=4,
        NodeType="dc2.large", MasterUsername="dwhuser", MasterUserPassword="Passw0rd",
    )  # fmt: skip
    data = sparkify_dagster.generate(tmp_path / "data", songs=300, events=20_000, days=6, seed=5)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SPARKIFY_TARGET", f"duckdb:///{tmp_path / 'w.duckdb'}")
    monkeypatch.setenv("SPARKIFY_SONG_DATA", str(data.song_data))
    monkeypatch.setenv("SPARKIFY_LOG_DATA", str(data.log_data))
    monkeypatch.delenv("SPARKIFY_CONFIG", raising=False)
    monkeypatch.chdir(home)  # the instance's storage is relative to the working directory
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        # Its storage made once, before the processes that share it start; and the pool known,
        # as after a first load: Dagster gives a pool its default limit when it first sees the
        # pool, in a queue pass that still launches every run it holds.
        instance.event_log_storage.initialize_concurrency_limit_to_default("warehouse")
        assert instance.event_log_storage.get_pool_limits()[0].limit == 1
    return home


@contextlib.contextmanager
def daemon(home: Path) -> Iterator[None]:
    """``dagster-daemon run`` on ``home`` until the block ends."""
    with (home / "daemon.log").open("wb") as log:
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-m", "sparkify_dagster"],
            cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()


def launch(job: str, tags: dict[str, str] | None = None) -> None:
    """``dagster job launch``: the run goes to the instance's queue, as from the UI."""
    extra = ["--tags", json.dumps(tags)] if tags else []
    done = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", "-m", "sparkify_dagster", "-j", job, *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def wait_for(instance: DagsterInstance, what: str, condition, seconds: float = 180):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition(instance.get_runs())
        if found:
            return found
        time.sleep(0.3)
    log = Path("daemon.log").read_text(errors="replace")[-3000:]
    raise AssertionError(f"{what} did not happen within {seconds:g} s\n{log}")


def steps(instance: DagsterInstance, run_id: str) -> list[tuple[float, float, str]]:
    """Each step of a run as (start, end, step key), from its events in the instance."""
    started: dict[str, float] = {}
    spans = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[event.step_key] = entry.timestamp
        elif event.event_type in STEP_ENDS:
            spans.append((started.pop(event.step_key), entry.timestamp, event.step_key))
    assert not started, f"steps that never ended: {started}"
    return spans


def failures(instance: DagsterInstance, run_id: str) -> list[str]:
    return [
        str(entry.dagster_event.step_failure_data.error)
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
        if entry.dagster_event is not None
    ]


def run_span(instance: DagsterInstance, run_id: str) -> tuple[float, float]:
    """When the run started and ended, from its RUN_START and RUN_SUCCESS/FAILURE events."""
    times = {
        entry.dagster_event.event_type: entry.timestamp
        for entry in instance.all_logs(run_id)
        if entry.dagster_event is not None
    }
    end = times.get(DagsterEventType.RUN_SUCCESS) or times[DagsterEventType.RUN_FAILURE]
    return times[DagsterEventType.RUN_START], end


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="stops the daemon's process group")
def test_two_loads_take_turns_on_the_warehouse_and_a_cluster_job_does_not_wait(home: Path) -> None:
    days = days_of(Path(os.environ["SPARKIFY_LOG_DATA"]))  # every day of the logs
    for job in ("__ASSET_JOB", "__ASSET_JOB", "redshift_status"):  # queued in this order
        launch(job, days if job == "__ASSET_JOB" else None)
    with daemon(home), DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert {run.status for run in instance.get_runs()} == {DagsterRunStatus.QUEUED}

        def all_done(runs):  # type: ignore[no-untyped-def]
            return len(runs) == 3 and all(run.status in DONE for run in runs) and runs

        runs = wait_for(instance, "the three runs finishing", all_done)
        by_job: dict[str, list[str]] = {}
        for run in runs:
            assert run.status == DagsterRunStatus.SUCCESS, failures(instance, run.run_id)
            by_job.setdefault(run.job_name, []).append(run.run_id)
        first, second = sorted(by_job["__ASSET_JOB"], key=lambda run: run_span(instance, run)[0])
        (status,) = by_job["redshift_status"]

        # Every step of a load but the raw sources' observation opens the warehouse; no two of
        # different runs overlap in time, and the second load started once the first had ended.
        assert run_span(instance, first)[1] < run_span(instance, second)[0]
        spans = sorted(
            (start, end, run_id, key)
            for run_id in (first, second)
            for start, end, key in steps(instance, run_id)
        )
        assert len(spans) == 2 * 16  # the observation, 8 assets and 7 check ops per load
        for earlier, later in itertools.pairwise(spans):
            assert earlier[1] <= later[0], f"{earlier} overlaps {later}"

        # The cluster job, queued behind both loads, ran while the first one did: it is in no
        # pool. (With one run at a time, it would have started after the second.)
        status_start, status_end = run_span(instance, status)
        first_start, first_end = run_span(instance, first)
        assert status_start < first_end and first_start < status_end
        assert {run.run_id: run.run_op_concurrency is None for run in runs} == {
            first: False, second: False, status: True,
        }  # fmt: skip

    reference = f"duckdb:///{home.parent / 'reference.duckdb'}"
    sparkify_dagster.etl(
        song_data=os.environ["SPARKIFY_SONG_DATA"],
        log_data=os.environ["SPARKIFY_LOG_DATA"],
        target=reference,
    )
    assert star(os.environ["SPARKIFY_TARGET"]) == star(reference)
