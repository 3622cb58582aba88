"""What a run on this Dagster instance built, which checks passed, and why it failed if it did.

It exits non-zero when the run failed or a check failed, so scripts can stop on a warehouse that
is not sound.

``./dev materialize`` prints it after ``dagster asset materialize``: it notes the time before the
command starts (``--since``) and keeps the command's error output (``--output``), so it reports
the run that command made and never an older one; when the command made no run (a setting the
code location could not load, a bad option), it says so with the command's own one-line cause.
Run it yourself with ``DAGSTER_HOME=. python -m sparkify_dagster.summary`` from the project root
for the latest run.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterEvent, DagsterEventType, DagsterInstance, DagsterRun, RunsFilter
from dagster._core.execution.plan.objects import StepFailureData
from dagster_shared.error import SerializableErrorInfo

from sparkify_dagster.core.settings import redact

# Tags of runs that automation launched, not a command: a sensor's, a schedule's, a backfill's.
AUTOMATION_TAGS = ("dagster/sensor_name", "dagster/schedule_name", "dagster/backfill")
STAGING_PREFIX = "staging_"
_MODULE_PATH = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*: )")


@dataclass
class AssetLine:
    rows: int | None = None
    path: str | None = None  # a file the asset wrote (the report)
    files: str | None = None  # what a staging load read: "nothing new: 30 files unchanged"
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _int(metadata: dict[str, object], key: str) -> int | None:
    entry = metadata.get(key)
    value = getattr(entry, "value", None)
    return value if isinstance(value, int) else None


def files_note(read: int | None, unchanged: int | None) -> str | None:
    """What a staging load read, in words.

    >>> files_note(0, 30), files_note(2, 28), files_note(1, 0)
    ('nothing new: 30 files unchanged', '2 files read, 28 unchanged', '1 file read')
    """
    if read is None or unchanged is None:
        return None
    if read == 0:
        return f"nothing new: {_files(unchanged)} unchanged"
    return f"{_files(read)} read" + (f", {unchanged:,} unchanged" if unchanged else "")


def _files(count: int) -> str:
    return f"{count:,} file{'s' * (count != 1)}"


def failure_cause(event: DagsterEvent) -> str:
    """A failed step's cause in the words of the error that failed it: a :class:`dagster.Failure`'s
    description, else the innermost exception's first line without its module path."""
    data = event.event_specific_data
    if not isinstance(data, StepFailureData):
        return "failed"
    if data.user_failure_data is not None and data.user_failure_data.description:
        return redact(data.user_failure_data.description.strip())
    error: SerializableErrorInfo | None = data.error
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "failed"
    first = error.message.strip().splitlines()[0] if error.message.strip() else "failed"
    return redact(_MODULE_PATH.sub("", first))


def cli_cause(output: str) -> str:
    """The one-line cause in a command's error output: the last exception of a traceback
    (without its module path), else click's ``Error: …`` line, else the last line.

    >>> cli_cause("Traceback (most recent call last):\\n  File x\\n    y()\\nmod.ConfigError: bad")
    'ConfigError: bad'
    >>> cli_cause("Usage: dagster asset materialize\\n\\nError: No such option: --x")
    'No such option: --x'
    """
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    tracebacks = [n for n, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    if tracebacks:
        rest = lines[tracebacks[-1] + 1 :]
        message = [line for line in rest if not line.startswith((" ", "\t"))]
        if message:
            return redact(_MODULE_PATH.sub("", message[0]))
    for line in reversed(lines):
        if line.startswith("Error: "):
            return redact(line.removeprefix("Error: "))
    return redact(lines[-1]) if lines else "it printed nothing"


def summarize(instance: DagsterInstance, run: DagsterRun) -> tuple[str, bool]:
    """The run's status and time, one line per asset (rows, checks passed and failed, what a
    staging load read), then each failed step with its cause and the assets not built; and
    whether the run succeeded with every check passing."""
    kinds = {
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_CHECK_EVALUATION,
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        DagsterEventType.STEP_FAILURE,
    }
    records = instance.get_records_for_run(run.run_id, of_type=kinds, limit=10_000).records
    assets: dict[str, AssetLine] = defaultdict(AssetLine)
    planned: list[str] = []
    causes: dict[str, list[str]] = {}  # cause -> the steps it failed
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        data = event.event_specific_data
        if event.event_type is DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            planned.append(data.asset_key.to_user_string())  # type: ignore[union-attr]
        elif event.event_type is DagsterEventType.STEP_FAILURE:
            causes.setdefault(failure_cause(event), []).append(event.step_key or "run")
        elif event.event_type is DagsterEventType.ASSET_MATERIALIZATION:
            materialization = data.materialization  # type: ignore[union-attr]
            name = materialization.asset_key.to_user_string()
            line = assets[name]
            metadata = dict(materialization.metadata)
            line.rows = _int(metadata, "dagster/row_count")
            path = metadata.get("path")
            line.path = None if path is None else str(path.value)
            if name.startswith(STAGING_PREFIX):
                line.files = files_note(
                    _int(metadata, "files_read"), _int(metadata, "files_unchanged")
                )
        else:
            line = assets[data.asset_key.to_user_string()]  # type: ignore[union-attr]
            outcome = line.passed if data.passed else line.failed  # type: ignore[union-attr]
            outcome.append(data.check_name)  # type: ignore[union-attr]
    stats = instance.get_run_stats(run.run_id)
    seconds = (stats.end_time or 0) - (stats.start_time or 0)
    lines = [f"Run {run.run_id[:8]}: {run.status.value} in {seconds:.1f} s"]
    if assets:
        lines += ["", *_table(assets)]
    staged = [line for name, line in assets.items() if name.startswith(STAGING_PREFIX)]
    if staged and all(line.files and line.files.startswith("nothing new") for line in staged):
        rebuilt = len(staged) < len(assets)  # the tables after staging ran too
        then = ": the tables after it were rebuilt from what was there." if rebuilt else "."
        lines += ["", f"Nothing new was staged{then}"]
    failed_steps = {step for steps in causes.values() for step in steps}
    for cause, steps in causes.items():
        lines += ["", f"{', '.join(steps)} failed: {cause}"]
    not_built = [  # each asset once, however many days it was planned for
        name for name in dict.fromkeys(planned) if name not in assets and name not in failed_steps
    ]
    if causes and not_built:
        lines += ["", f"Not built (a step before them failed): {', '.join(not_built)}"]
    if causes:
        lines += ["", f"Every event of the run: the UI's Runs page, run {run.run_id[:8]}."]
    succeeded = run.status.value == "SUCCESS" and not causes
    return "\n".join(lines), succeeded and not any(line.failed for line in assets.values())


def _table(assets: dict[str, AssetLine]) -> list[str]:
    width = max(len(name) for name in assets)
    lines = [f"{'asset':<{width}}  {'rows':>10}  checks"]
    for name, line in assets.items():
        rows = "" if line.rows is None else f"{line.rows:,}"
        notes = [f"{len(line.passed)} passed"] if line.passed or line.failed else []
        if line.failed:
            notes[-1] += f", {len(line.failed)} FAILED: {', '.join(line.failed)}"
        if line.files:
            notes.append(line.files)
        if line.path:
            notes = [line.path]
        lines.append(f"{name:<{width}}  {rows:>10}  {'; '.join(notes)}".rstrip())
    return lines


def run_since(instance: DagsterInstance, since: float) -> DagsterRun | None:
    """The first run a command made at or after ``since`` (seconds since the epoch): not one a
    sensor, schedule or backfill launched meanwhile."""
    created = datetime.fromtimestamp(since, UTC)
    records = instance.get_run_records(RunsFilter(created_after=created), limit=50)
    made = [r.dagster_run for r in records if not set(AUTOMATION_TAGS) & set(r.dagster_run.tags)]
    return made[-1] if made else None  # newest first: the last is the first made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sparkify_dagster.summary",
        description="What a run built, which checks passed, and why it failed if it did.",
    )
    parser.add_argument(
        "--since",
        type=float,
        help="report the first run made at or after this time (seconds since the epoch), "
        "not the latest run",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="the command's error output: its cause is shown when it made no run",
    )
    args = parser.parse_args(argv)
    instance = DagsterInstance.get()
    if args.since is None:
        runs = instance.get_runs(limit=1)
        run = runs[0] if runs else None
    else:
        run = run_since(instance, args.since)
    if run is None:
        if args.output is None:
            print("No run on this Dagster instance yet.", file=sys.stderr)
        else:
            cause = cli_cause(args.output.read_text(errors="replace"))
            print(f"No run was made: {cause}", file=sys.stderr)
        return 1
    text, succeeded = summarize(instance, run)
    print(text)
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
