"""Runs launched on this machine, watched: a run whose process died is marked failed.

Dagster's :class:`~dagster.DefaultRunLauncher` starts each run in a process of the code server
but cannot tell the daemon's run monitoring whether that process still lives, so a run killed
with SIGKILL (or by the kernel when memory ran out) stays STARTED for ever, holding the
``warehouse`` pool's one turn, and every later load waits in the queue behind it.
:class:`LocalRunLauncher` is the default launcher plus that one answer, from the process table:
the run worker's pid is the one Dagster itself records when the process starts ("Started process
for run (pid: N)").
Run monitoring then marks the run failed, the queue moves on and ``run_retries`` applies.

It needs the daemon and the run workers on one machine, as ``dagster dev`` runs them; a team's
instance with run workers in containers uses their launcher's own health checks
(``docs/deploy/dagster.yaml``).
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRun, DefaultRunLauncher
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus

# A process that started this long after the run's worker was reported is another process that
# got the same pid: the worker itself is gone.
PID_REUSE_SLACK_SECONDS = 2.0


class LocalRunLauncher(DefaultRunLauncher):
    """:class:`~dagster.DefaultRunLauncher` that tells run monitoring whether a run's worker
    process is alive."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        worker = run_worker(self._instance, run.run_id)
        if worker is None:  # not started yet, or started where its pid was never reported
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no run worker reported yet")
        pid, reported_at = worker
        if process_alive(pid, reported_at):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run's process (pid {pid}) is gone: it was killed or ran out of memory",
            run_worker_id=str(pid),
        )


def run_worker(instance: DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid of a run's latest worker process and when it was reported, if it was."""
    found = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ENGINE_EVENT, ascending=False, limit=1000
    ).records
    for record in found:
        entry = record.event_log_entry
        event = entry.dagster_event
        metadata = event.engine_event_data.metadata if event and event.engine_event_data else {}
        pid = str(metadata["pid"].value) if "pid" in metadata else ""
        if pid.isdigit():
            return int(pid), entry.timestamp
    return None


def process_alive(pid: int, started_by: float) -> bool:
    """Whether process ``pid`` runs and is the one that existed at ``started_by`` (a time)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.parent.parent.is_dir():  # no /proc: the signal check alone
        return _signal_reaches(pid)
    try:
        fields = stat.read_text().rpartition(")")[2].split()
    except OSError:
        return False
    if fields[0] in ("Z", "X"):  # a zombie: dead, not yet reaped by its parent
        return False
    return _started_at(int(fields[19])) <= started_by + PID_REUSE_SLACK_SECONDS


def _signal_reaches(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _started_at(ticks_after_boot: int) -> float:
    """A process's start time as a Unix time, from its start in clock ticks after boot."""
    boot = next(
        float(line.split()[1])
        for line in Path("/proc/stat").read_text().splitlines()
        if line.startswith("btime ")
    )
    return boot + ticks_after_boot / os.sysconf("SC_CLK_TCK")
