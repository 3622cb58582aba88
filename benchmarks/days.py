"""What a day costs: one new day's run against a backfill of every day, through the real CLI.

    python benchmarks/days.py                     # tier M
    python benchmarks/days.py --tiers S,M,L --baseline /path/to/an/older/checkout/.venv

For each tier it generates the dataset once (30 days; cached under ``--workdir``) and reads it
once (so that no run pays alone for a cold disk), then runs,
each as its own process with its wall time, CPU time and peak memory (``wait4``), on a new
Dagster instance with the project's ``dagster.yaml``:

- ``backfill``: ``dagster asset materialize`` of the seven tables and their checks with
  ``--partition-range`` of the 30 days, into a new DuckDB file: one run;
- ``day``: one more day of events arrives (the last day's log, a day later), then the same for
  ``staging_events``, ``songplays``, ``time`` and ``users`` with ``--partition <that day>``: the
  day's staging, its plays and time rows, the users it changes and their checks;
- ``nothing-new``: the same day's run again, with nothing new;
- ``library-day``: another day arrives; the library calls its run makes (stage the day, then
  ``songplays`` and ``time`` for it and ``users``), in one process without Dagster;
- ``library-full``: the library load of the 30 days (``sparkify_dagster.etl``, no checks) into a
  new DuckDB file: what a day's work is compared with;
- ``baseline`` (with ``--baseline``, a virtual environment holding a release from before days
  were partitions): its ``dagster asset materialize`` of the seven tables, unpartitioned, on the
  same 30 days: what a full load cost before.

Besides each process's figures, the run's own seconds (from its RUN_START to its RUN_SUCCESS in
the instance, so without the CLI's start) are printed, with the seconds of its asset steps and
of its check steps and its events' count: the goals compare the runs' steps. Results
go to ``benchmarks/results/<date>-days-<tier>.json`` (``--stamp`` names them otherwise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from tiers import REPO, TIERS, Step, add_one_day, etl_command, generate, run

HERE = Path(__file__).resolve().parent
STAR = "staging_events,staging_songs,songplays,users,songs,artists,time"
DAY = "staging_events,songplays,time,users"  # what a new day changes
# What a day's run does, through the library: argv is the log location, the target and the day.
LIBRARY_DAY = """
import sys
from sparkify_dagster.warehouse.days import Days
from sparkify_dagster.warehouse.engines import connect
from sparkify_dagster.warehouse.model import SONGPLAYS, TIME, USERS
from sparkify_dagster.warehouse.staging import stage_locations
from sparkify_dagster.warehouse.transform import build_table
from sparkify_dagster.warehouse.upgrade import prepare
logs, target, day = sys.argv[1:]
days = Days(day, day)
with connect(target) as warehouse:
    with warehouse.transaction():
        prepare(warehouse)
        stage_locations(warehouse, {"events": logs}, days=days)
    for table in (SONGPLAYS, TIME, USERS):
        with warehouse.transaction():
            build_table(warehouse, table, None if table is USERS else days)
"""


def run_seconds(home: Path) -> dict[str, float]:
    """The newest run's own seconds, from its start to its end, read from the instance, with
    the seconds of its asset steps, of its check steps, and its events' count."""
    from dagster import DagsterEventType, DagsterInstance

    os.environ["DAGSTER_HOME"] = str(home)
    here = Path.cwd()
    os.chdir(home)  # the instance's storage is relative to where its processes ran
    try:
        with DagsterInstance.get() as instance:
            (newest,) = instance.get_runs(limit=1)
            stats = instance.get_run_stats(newest.run_id)
            assert stats.start_time is not None and stats.end_time is not None
            records = instance.all_logs(newest.run_id)
    finally:
        os.chdir(here)
    started: dict[str, float] = {}
    steps = {"assets": 0.0, "checks": 0.0}
    for record in records:
        kind, key = record.dagster_event_type, record.step_key or ""
        if kind == DagsterEventType.STEP_START:
            started[key] = record.timestamp
        elif kind == DagsterEventType.STEP_SUCCESS and key in started:
            part = "checks" if key.endswith("_checks") else "assets"
            steps[part] += record.timestamp - started[key]
    return {
        "run": round(stats.end_time - stats.start_time, 3),
        "asset_steps": round(steps["assets"], 3),
        "check_steps": round(steps["checks"], 3),
        "events": len(records),
    }


def warm(*folders: Path) -> None:
    """Read every file of ``folders`` once, so that the first timed run does not pay alone for
    reading them from disk (a million song files after another tier evicted them)."""
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                with path.open("rb") as stream:
                    while stream.read(1 << 20):
                        pass


def home_for(
    workdir: Path, name: str, env: dict[str, str], checkout: Path = REPO
) -> tuple[Path, dict[str, str]]:
    home = workdir / f"home-{name}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(checkout / "dagster.yaml", home / "dagster.yaml")
    return home, {**env, "DAGSTER_HOME": str(home)}


def bench(tier: str, workdir: Path, baseline: Path | None) -> dict[str, object]:
    folder, generated = generate(workdir, tier)
    song_data, log_data = folder / "song_data", folder / "log_data"
    warehouse = workdir / f"days-{tier}.duckdb"
    for path in (warehouse, Path(f"{warehouse}.wal")):
        path.unlink(missing_ok=True)
    days = sorted(path.name[:10] for path in log_data.rglob("*-events.json"))
    env = {
        **os.environ,
        "SPARKIFY_TARGET": f"duckdb:///{warehouse}",
        "SPARKIFY_SONG_DATA": str(song_data),
        "SPARKIFY_LOG_DATA": str(log_data),
        "SPARKIFY_FIRST_DAY": days[0],
        "SPARKIFY_LAST_DAY": "",
    }
    dagster = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize"]
    dagster += ["-m", "sparkify_dagster"]
    steps: list[Step] = [generated]
    seconds: dict[str, float] = {}
    runs: dict[str, dict[str, float]] = {}

    warm(song_data, log_data)
    home, env = home_for(workdir, tier, env)
    everything = [*dagster, "--select", STAR, "--partition-range", f"{days[0]}...{days[-1]}"]
    steps.append(run("backfill", everything, env=env, cwd=home))
    runs["backfill"] = run_seconds(home)
    seconds["backfill"] = runs["backfill"]["run"]
    new_day = add_one_day(log_data)
    try:
        day = [*dagster, "--select", DAY, "--partition", new_day.name[:10]]
        steps.append(run("day", day, env=env, cwd=home))
        runs["day"] = run_seconds(home)
        seconds["day"] = runs["day"]["run"]
        steps.append(run("nothing-new", day, env=env, cwd=home))
        runs["nothing-new"] = run_seconds(home)
        seconds["nothing-new"] = runs["nothing-new"]["run"]
        another = add_one_day(log_data)
        try:
            library = [sys.executable, "-c", LIBRARY_DAY, str(log_data), env["SPARKIFY_TARGET"]]
            steps.append(run("library-day", [*library, another.name[:10]], env=env))
        finally:
            another.unlink()
    finally:
        new_day.unlink()
    for path in (warehouse, Path(f"{warehouse}.wal")):
        path.unlink(missing_ok=True)
    full = etl_command(song_data, log_data, env["SPARKIFY_TARGET"], checks=False)
    steps.append(run("library-full", full, env=env))
    if baseline is not None:
        for path in (warehouse, Path(f"{warehouse}.wal")):
            path.unlink(missing_ok=True)
        home, env = home_for(workdir, f"{tier}-baseline", env, baseline.parent)
        old = [str(baseline / "bin" / "dagster"), "asset", "materialize", "-m", "sparkify_dagster"]
        steps.append(run("baseline", [*old, "--select", STAR], env=env, cwd=home))
        runs["baseline"] = run_seconds(home)
        seconds["baseline"] = runs["baseline"]["run"]
    for path in (warehouse, Path(f"{warehouse}.wal")):
        path.unlink(missing_ok=True)

    by_name = {step.name: step for step in steps}
    ratios = {"day/backfill (run seconds)": round(seconds["day"] / seconds["backfill"], 3)}
    library = (by_name["library-day"].seconds or 0) / (by_name["library-full"].seconds or 1)
    ratios["library-day/library-full (wall)"] = round(library, 3)
    ratios["day/backfill (process wall)"] = round(
        (by_name["day"].seconds or 0) / (by_name["backfill"].seconds or 1), 3
    )
    ratios["day/backfill (asset steps)"] = round(
        runs["day"]["asset_steps"] / (runs["backfill"]["asset_steps"] or 1), 3
    )
    if "baseline" in seconds:
        ratios["backfill/baseline (run seconds)"] = round(
            seconds["backfill"] / seconds["baseline"], 3
        )
        ratios["backfill/baseline (process CPU)"] = round(
            (by_name["backfill"].cpu_seconds or 0) / (by_name["baseline"].cpu_seconds or 1), 3
        )
    return {
        "tier": tier,
        "size": TIERS[tier],
        "steps": [asdict(step) for step in steps],
        "run_seconds": seconds,
        "runs": runs,
        "ratios": ratios,
    }


def show(result: dict[str, object]) -> None:
    print(f"tier {result['tier']}: {result['size']}")
    print(f"{'step':<12} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'run s':>8}  note")
    seconds = result["run_seconds"]
    assert isinstance(seconds, dict)
    for step in result["steps"]:  # type: ignore[attr-defined]
        run_s = seconds.get(step["name"], "")
        print(
            f"{step['name']:<12} {step['seconds'] or '':>8} {step['cpu_seconds'] or '':>8} "
            f"{step['peak_rss_mb'] or '':>8} {run_s:>8}  {step['note']}"
        )
    for name, figures in result["runs"].items():  # type: ignore[attr-defined]
        print(f"  {name}: " + ", ".join(f"{key} {value}" for key, value in figures.items()))
    for name, value in result["ratios"].items():  # type: ignore[attr-defined]
        print(f"  {name}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", default="M", help="comma-separated tiers: S, M, L")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sparkify-tiers"))
    parser.add_argument("--baseline", type=Path, help="a virtual environment of an older release")
    parser.add_argument(
        "--stamp", default=dt.date.today().isoformat(), help="results' name: <stamp>-days-<tier>"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for tier in args.tiers.split(","):
        result = bench(tier, args.workdir, args.baseline)
        show(result)
        out = HERE / "results" / f"{args.stamp}-days-{tier}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
