"""A dead run never blocks the queue: the real ``dagster dev`` (webserver, daemon, code server)
on the project's ``dagster.yaml``, a run killed with SIGKILL, and the next run starting."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from sparkify_dagster.launcher import process_alive
from sparkify_dagster_tests.helpers import REPO
from sparkify_dagster_tests.pgserver import free_port

DAGSTER = Path(sys.executable).parent / "dagster"
LOCATION = REPO / "sparkify_dagster_tests" / "locations" / "napping.py"
# run monitoring's poll interval (dagster.yaml) and the queue's next pass, with room for a slow CI
QUEUE_MOVES_WITHIN = 30.0


def wait_for(condition, seconds: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen within {seconds:g} s")


@contextlib.contextmanager
def dagster_dev(home: Path, port: int, env: dict[str, str]) -> Iterator[DagsterGraphQLClient]:
    """``dagster dev`` on ``home`` until the block ends; every process it started ends then."""
    log = (home / "dev.log").open("ab")
    process = subprocess.Popen(
        [str(DAGSTER), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=30)
    try:
        wait_for(lambda: _answers(port), 120, "the webserver answering")
        wait_for(lambda: (home / ".dagster" / "storage").is_dir(), 60, "the instance's storage")
        yield client
    finally:
        kill_all(process, home)
        log.close()


def _answers(port: int) -> bool:
    with (
        contextlib.suppress(OSError),
        urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2),
    ):
        return True
    return False


def kill_all(process: subprocess.Popen[bytes], home: Path) -> None:
    """SIGKILL ``dagster dev`` and every process working in ``home`` (code servers and run
    workers start process groups of their own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if Path(os.readlink(entry / "cwd")).is_relative_to(home):
                    os.kill(int(entry.name), signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table in /proc")
def test_a_killed_run_is_marked_failed_and_the_queue_moves_on(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    (home / "workspace.yaml").write_text(
        f"load_from:\n  - python_file:\n      relative_path: {LOCATION}\n"
        "      location_name: napping\n"
    )
    pid_file = tmp_path / "pid"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SPARKIFY_TEST_PID_FILE": str(pid_file),
        "PYTHONPATH": str(REPO),
    }
    port = free_port()
    with dagster_dev(home, port, env) as client:
        first = client.submit_job_execution("napping", repository_location_name="napping")
        wait_for(pid_file.exists, 120, "the first run starting")
        worker = int(pid_file.read_text())
        assert client.get_run_status(first) == DagsterRunStatus.STARTED
        os.kill(worker, signal.SIGKILL)  # with everything else: nobody is left to notice
    # SIGKILL is delivered asynchronously: on a busy machine the process may take a moment to go.
    wait_for(lambda: not process_alive(worker, time.time()), 10, "the killed worker exiting")

    pid_file.unlink()
    with dagster_dev(home, port, env) as client:
        second = client.submit_job_execution("napping", repository_location_name="napping")
        wait_for(pid_file.exists, QUEUE_MOVES_WITHIN, "the second run starting")
        assert client.get_run_status(first) == DagsterRunStatus.FAILURE
        assert client.get_run_status(second) == DagsterRunStatus.STARTED


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table in /proc")
def test_a_process_is_alive_only_while_it_runs_and_is_the_one_reported() -> None:
    assert process_alive(os.getpid(), time.time())
    assert not process_alive(os.getpid(), time.time() - 3600)  # the pid was reused since
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    reported = time.time()
    wait_for(lambda: not process_alive(child.pid, reported), 30, "the child exiting")  # a zombie
    child.wait()
    assert not process_alive(child.pid, reported)


def test_the_launcher_every_dagster_process_loads_does_not_load_the_engines() -> None:
    code = (
        "import sys, sparkify_dagster.launcher; print(sorted(m for m in sys.modules if "
        "'duckdb' in m or 'psycopg' in m or m.startswith('sparkify_dagster.warehouse')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
