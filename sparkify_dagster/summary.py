"""What the latest run on this Dagster instance built, and which checks passed, as a short table.

It exits non-zero when a check failed, so scripts can stop on a warehouse that is not sound.

``./dev materialize`` prints it after ``dagster asset materialize``; run it yourself with
``DAGSTER_HOME=. python -m sparkify_dagster.summary`` from the project root.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field

from dagster import DagsterEventType, DagsterInstance, DagsterRun


@dataclass
class AssetLine:
    rows: int | None = None
    path: str | None = None  # a file the asset wrote (the report)
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def summarize(instance: DagsterInstance, run: DagsterRun) -> tuple[str, bool]:
    """The run's status and time, then one line per asset: rows, checks passed and failed;
    and whether every check passed."""
    kinds = {DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION}
    records = instance.get_records_for_run(run.run_id, of_type=kinds, limit=10_000).records
    assets: dict[str, AssetLine] = defaultdict(AssetLine)
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        data = event.event_specific_data
        if event.event_type is DagsterEventType.ASSET_MATERIALIZATION:
            materialization = data.materialization  # type: ignore[union-attr]
            line = assets[materialization.asset_key.to_user_string()]
            rows = materialization.metadata.get("dagster/row_count")
            line.rows = rows.value if rows is not None and isinstance(rows.value, int) else None
            path = materialization.metadata.get("path")
            line.path = None if path is None else str(path.value)
        else:
            line = assets[data.asset_key.to_user_string()]  # type: ignore[union-attr]
            outcome = line.passed if data.passed else line.failed  # type: ignore[union-attr]
            outcome.append(data.check_name)  # type: ignore[union-attr]
    stats = instance.get_run_stats(run.run_id)
    seconds = (stats.end_time or 0) - (stats.start_time or 0)
    lines = [f"Run {run.run_id[:8]}: {run.status.value} in {seconds:.1f} s", ""]
    width = max((len(name) for name in assets), default=5)
    lines.append(f"{'asset':<{width}}  {'rows':>10}  checks")
    for name, line in assets.items():
        rows = "" if line.rows is None else f"{line.rows:,}"
        checks = f"{len(line.passed)} passed" if line.passed or line.failed else ""
        if line.failed:
            checks += f", {len(line.failed)} FAILED: {', '.join(line.failed)}"
        if line.path:
            checks = line.path
        lines.append(f"{name:<{width}}  {rows:>10}  {checks}".rstrip())
    return "\n".join(lines), not any(line.failed for line in assets.values())


def main() -> int:
    instance = DagsterInstance.get()
    runs = instance.get_runs(limit=1)
    if not runs:
        print("No run on this Dagster instance yet.", file=sys.stderr)
        return 1
    text, all_passed = summarize(instance, runs[0])
    print(text)
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
