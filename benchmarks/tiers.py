"""Time a whole load (``sparkify_dagster.etl``) at growing sizes against the floors, in one run.

    python benchmarks/tiers.py                       # tiers S and M
    python benchmarks/tiers.py --tiers S,M,L --postgres-url postgresql://etl@localhost/dwh
    python benchmarks/tiers.py --repeat 3 --only floor-duckdb,load --name=-load  # some steps

For each tier it generates the dataset once (``python -m sparkify_dagster.ingest.generate``, cached
under ``--workdir``), then runs, each as its own process with its wall time, CPU time and peak
memory (``wait4``):

- ``etl``: the library load into a new DuckDB file, end to end, then the data-quality checks;
- ``load``: the same without the checks: the load itself, the work the floors do;
- ``floor-parse``: read every file and decode every record with orjson, nothing else;
- ``floor-duckdb``: the minimal DuckDB pipeline of ``benchmarks/floors.py`` (batched song files,
  one ``read_json`` per table, the star SQL, no safety work);
- ``rerun``: the load again with nothing new;
- ``dagster``: ``dagster asset materialize`` of the seven table assets and their checks into a
  new DuckDB file, on a temporary instance with the project's ``dagster.yaml``;
- ``floor-dagster``: the same on ``benchmarks/dagster_floor.py``, the same graph of assets and
  checks doing nothing: what Dagster itself costs (starting, planning, writing the run's events);
- ``incremental``: the load again after one more day of events arrived;
- ``floor-postgres``, ``load-postgres``, ``etl-postgres``: the floor of ``benchmarks/floors.py``
  and the library load without and with the checks, into PostgreSQL, with ``--postgres-url`` or
  ``--start-postgres`` (skipped otherwise); each load goes into a database of its own, made new.

It prints a table with the ratio of ``load`` and ``etl`` to each floor and writes
``benchmarks/results/<date>-<tier>.json`` with the machine's description. Timings on a shared
machine move with its load: the load average is recorded before and after every step.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TIERS = {
    "S": {"songs": 15_000, "events": 8_000},
    "M": {"songs": 100_000, "events": 1_000_000},
    "L": {"songs": 1_000_000, "events": 10_000_000},
}
SEED = 7
DAYS = 30


@dataclass
class Step:
    name: str
    seconds: float | None = None  # wall clock
    cpu_seconds: float | None = None  # user + system, the process and its children
    peak_rss_mb: float | None = None
    exit_code: int | None = None
    load_before: float | None = None
    load_after: float | None = None
    note: str = ""
    all_seconds: list[float] | None = None  # every repeat's wall time; seconds is the fastest


def repeat(
    times: int,
    name: str,
    command: list[str],
    before: Callable[[], None] | None = None,
    **options: Any,
) -> Step:
    """The fastest of ``times`` runs: on a busy machine the least disturbed one.

    ``before`` runs before each of them, so that each starts from the same state.
    """
    steps = []
    for _ in range(times):
        if before is not None:
            before()
        steps.append(run(name, command, **options))
    best = min(steps, key=lambda step: step.seconds or 0.0)
    best.all_seconds = [step.seconds or 0.0 for step in steps]
    best.peak_rss_mb = max(step.peak_rss_mb or 0.0 for step in steps)
    failed = [step for step in steps if step.exit_code != 0]
    return failed[0] if failed else best


def run(
    name: str, command: list[str], *, env: dict[str, str] | None = None, cwd: Path = REPO
) -> Step:
    """Run ``command`` as a process; its wall time, CPU time and peak resident memory."""
    step = Step(name, load_before=round(os.getloadavg()[0], 2))
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=output, env=env, cwd=cwd)
        # wait4 gives this child's own resource usage (with the children it waited for).
        _, status, usage = os.wait4(process.pid, 0)
        output.seek(0)
        text = output.read().decode(errors="replace")
    process.returncode = os.waitstatus_to_exitcode(status)
    step.seconds = round(time.perf_counter() - started, 3)
    step.cpu_seconds = round(usage.ru_utime + usage.ru_stime, 3)
    step.peak_rss_mb = round(usage.ru_maxrss / 1024, 1)
    step.exit_code = process.returncode
    step.load_after = round(os.getloadavg()[0], 2)
    if process.returncode != 0:
        lines = text.strip().splitlines()
        step.note = lines[-1][:300] if lines else "failed"
    return step


# One whole load through the library, in one transaction: what the assets do, without Dagster.
ETL = (
    "import sys, sparkify_dagster; "
    "sparkify_dagster.etl(song_data=sys.argv[1], log_data=sys.argv[2], target=sys.argv[3], "
    "checks=sys.argv[4] == 'checks')"
)
TABLE_ASSETS = "staging_events,staging_songs,songplays,users,songs,artists,time"


def etl_command(song_data: Path, log_data: Path, target: str, *, checks: bool = True) -> list[str]:
    """The library load of ``song_data`` and ``log_data`` into ``target``, with or without the
    data-quality checks that follow it."""
    what = "checks" if checks else "no-checks"
    return [sys.executable, "-c", ETL, str(song_data), str(log_data), target, what]


def generate(workdir: Path, tier: str) -> tuple[Path, Step]:
    folder = workdir / f"tier-{tier}"
    done = folder / ".complete"
    if done.exists():
        return folder, Step("generate", note="cached")
    shutil.rmtree(folder, ignore_errors=True)
    size = TIERS[tier]
    step = run(
        "generate",
        [
            sys.executable,
            "-m",
            "sparkify_dagster.ingest.generate",
            str(folder),
            "--songs",
            str(size["songs"]),
            "--events",
            str(size["events"]),
            "--days",
            str(DAYS),
            "--seed",
            str(SEED),
        ],
    )
    if step.exit_code == 0:
        done.touch()
    return folder, step


def dagster_home(
    workdir: Path, song_data: Path, log_data: Path, target: str
) -> tuple[Path, dict[str, str]]:
    """A Dagster instance (the project's dagster.yaml) and the environment of a run on it."""
    home = workdir / "dagster-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SPARKIFY_TARGET": target,
        "SPARKIFY_SONG_DATA": str(song_data),
        "SPARKIFY_LOG_DATA": str(log_data),
    }
    return home, env


def add_one_day(log_data: Path) -> Path:
    """One more day of events: the last day's file, moved a day later, as a new file."""
    latest = sorted(log_data.rglob("*-events.json"))[-1]
    day = dt.date.fromisoformat(latest.name[:10]) + dt.timedelta(days=1)
    shift = 86_400_000
    lines = []
    for line in latest.read_bytes().split(b"\n"):
        record = json.loads(line)
        record["ts"] += shift
        lines.append(json.dumps(record, separators=(",", ":")).encode())
    target = log_data / f"{day:%Y}" / f"{day:%m}" / f"{day:%Y-%m-%d}-events.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\n".join(lines))
    return target


STEPS = (
    "floor-parse", "floor-duckdb", "load", "etl", "rerun", "dagster", "floor-dagster",
    "incremental", "postgres",
)  # fmt: skip


def bench_tier(
    tier: str,
    workdir: Path,
    postgres_url: str | None,
    times: int,
    only: frozenset[str] = frozenset(STEPS),
) -> dict[str, object]:
    """Time the steps of ``tier`` named in ``only`` (``rerun`` and ``incremental`` start from
    the warehouse ``etl`` leaves, so they bring ``etl`` with them)."""
    if only & {"rerun", "incremental"}:
        only |= {"etl"}
    folder, generated = generate(workdir, tier)
    song_data, log_data = folder / "song_data", folder / "log_data"
    warehouse = workdir / f"tier-{tier}.duckdb"
    for leftover in (warehouse, Path(f"{warehouse}.wal"), workdir / f"floor-{tier}.duckdb"):
        leftover.unlink(missing_ok=True)
    steps = [generated]
    print(f"tier {tier}: {TIERS[tier]['songs']:,} songs, {TIERS[tier]['events']:,} events")
    if "floor-parse" in only:
        steps.append(repeat(times, "floor-parse", [sys.executable, str(HERE / "floors.py"),
                                         "parse", str(song_data), str(log_data)]))  # fmt: skip
    if "floor-duckdb" in only:
        steps.append(repeat(times, "floor-duckdb", [sys.executable, str(HERE / "floors.py"),
                                          "duckdb", str(song_data), str(log_data),
                                          str(workdir / f"floor-{tier}.duckdb")]))  # fmt: skip
    loaded = workdir / f"tier-{tier}-loaded.duckdb"  # the warehouse after one etl

    def new_warehouse() -> None:
        for path in (warehouse, Path(f"{warehouse}.wal")):
            path.unlink(missing_ok=True)

    def loaded_warehouse() -> None:
        new_warehouse()
        shutil.copyfile(loaded, warehouse)

    if "load" in only:
        load = etl_command(song_data, log_data, f"duckdb:///{warehouse}", checks=False)
        steps.append(repeat(times, "load", load, before=new_warehouse))
    target = etl_command(song_data, log_data, f"duckdb:///{warehouse}")
    if "etl" in only:
        steps.append(repeat(times, "etl", target, before=new_warehouse))
        assert not Path(f"{warehouse}.wal").exists(), "DuckDB left a WAL: copy it too"
        shutil.copyfile(warehouse, loaded)
    if "rerun" in only:
        steps.append(repeat(times, "rerun", target, before=loaded_warehouse))
    home, env = dagster_home(workdir, song_data, log_data, f"duckdb:///{warehouse}")
    materialize = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize"]
    days = sorted(path.name[:10] for path in log_data.rglob("*-events.json"))
    env["SPARKIFY_FIRST_DAY"] = days[0]  # the partitions begin with the dataset's first day
    materialize += ["--select", TABLE_ASSETS, "-m", "sparkify_dagster"]
    materialize += ["--partition-range", f"{days[0]}...{days[-1]}"]  # every day, one run
    if "dagster" in only:
        steps.append(repeat(times, "dagster", materialize, before=new_warehouse, env=env,
                            cwd=home))  # fmt: skip
    if "floor-dagster" in only:
        nothing = [*materialize[:3], "--select", "*", "-f", str(HERE / "dagster_floor.py")]
        steps.append(repeat(times, "floor-dagster", nothing, env=env, cwd=home))
    if "incremental" in only:
        new_day = add_one_day(log_data)
        try:
            steps.append(repeat(times, "incremental", target, before=loaded_warehouse))
        finally:
            new_day.unlink()
    if postgres_url and "postgres" in only:
        floor = [sys.executable, str(HERE / "floors.py"), "postgres", str(song_data)]
        steps.append(run("floor-postgres", [*floor, str(log_data), postgres_url]))
        load = etl_command(song_data, log_data, new_database(postgres_url, "load"), checks=False)
        steps.append(run("load-postgres", load))
        target = etl_command(song_data, log_data, new_database(postgres_url, "etl"))
        steps.append(run("etl-postgres", target))
    elif "postgres" in only:
        steps.append(Step("etl-postgres", note="skipped: no --postgres-url given"))
    for leftover in (warehouse, loaded, workdir / f"floor-{tier}.duckdb"):
        leftover.unlink(missing_ok=True)
    by_name = {step.name: step for step in steps}
    ratios = {}
    pairs = [
        ("etl", "floor-parse"),
        ("load", "floor-duckdb"),
        ("etl", "floor-duckdb"),
        ("dagster", "floor-duckdb"),
        ("dagster", "etl"),
        ("load-postgres", "floor-postgres"),
        ("etl-postgres", "floor-postgres"),
    ]
    for name, floor in pairs:
        if name not in by_name or floor not in by_name:
            continue
        etl_step, base = by_name[name], by_name[floor]
        if etl_step.seconds and base.seconds and base.exit_code == 0 == etl_step.exit_code:
            ratios[f"{name}/{floor}"] = {
                "wall": round(etl_step.seconds / base.seconds, 2),
                "cpu": round((etl_step.cpu_seconds or 0) / (base.cpu_seconds or 1), 2),
                "memory": round((etl_step.peak_rss_mb or 0) / (base.peak_rss_mb or 1), 2),
            }
    return {
        "tier": tier,
        "size": TIERS[tier],
        "seed": SEED,
        "days": DAYS,
        "steps": [asdict(step) for step in steps],
        "ratios": ratios,
        "dagster_cost": dagster_cost(by_name),
    }


def dagster_cost(by_name: dict[str, Step]) -> dict[str, float]:
    """Dagster's fixed cost (the ``dagster`` step less the library's ``load``) beside Dagster's
    own floor (``floor-dagster``: the same graph doing nothing), in wall seconds."""
    steps = [by_name.get(name) for name in ("dagster", "load", "floor-dagster")]
    if not all(step and step.seconds and step.exit_code == 0 for step in steps):
        return {}
    dagster, load, floor = (step.seconds or 0.0 for step in steps if step)
    return {
        "dagster-load": round(dagster - load, 2),
        "floor-dagster": floor,
        "beyond-floor": round(dagster - load - floor, 2),
    }


def new_database(url: str, name: str) -> str:
    """The URL of a new, empty database ``sparkify_bench_<name>`` beside the one ``url`` names
    (made again when it exists), so that each load starts from nothing."""
    import psycopg
    from psycopg import sql

    database = f"sparkify_bench_{name}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return urllib.parse.urlsplit(url)._replace(path=f"/{database}").geturl()


@contextlib.contextmanager
def local_postgres(workdir: Path) -> Iterator[str | None]:
    """A throwaway PostgreSQL server on loopback (trust auth), or ``None`` when none can start."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        yield None
        return
    data = workdir / "postgres"
    shutil.rmtree(data, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    as_owner: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_owner = ["runuser", "-u", "postgres", "--"]
        workdir.chmod(0o755)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        data.mkdir()
        if as_owner:
            shutil.chown(data, "postgres")
        subprocess.run([*as_owner, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
                       check=True, **quiet)  # fmt: skip
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-o", options, "-w", "start",
                        "-l", str(data / "log")], check=True, **quiet)  # fmt: skip
    except (OSError, subprocess.CalledProcessError, LookupError):
        yield None
        return
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-m", "fast", "stop"], **quiet)
        shutil.rmtree(data, ignore_errors=True)


def machine() -> dict[str, object]:
    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    import duckdb

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory": first("/proc/meminfo", "MemTotal"),
        "cpu": first("/proc/cpuinfo", "model name"),
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "sparkify_commit": commit or "unknown",
        "page_cache": "warm: the files were read just before (generated or read by a floor)",
    }


def show(result: dict[str, object]) -> None:
    print(f"{'step':14} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'load':>11}  note")
    for step in result["steps"]:  # type: ignore[attr-defined]
        wall = "" if step["seconds"] is None else f"{step['seconds']:.2f}"
        cpu = "" if step["cpu_seconds"] is None else f"{step['cpu_seconds']:.2f}"
        rss = "" if step["peak_rss_mb"] is None else f"{step['peak_rss_mb']:.0f}"
        load = "" if step["load_before"] is None else f"{step['load_before']}→{step['load_after']}"
        print(f"{step['name']:14} {wall:>8} {cpu:>8} {rss:>8} {load:>11}  {step['note']}")
    for name, ratio in result["ratios"].items():  # type: ignore[attr-defined]
        print(f"  {name}: wall {ratio['wall']}x, cpu {ratio['cpu']}x, memory {ratio['memory']}x")
    cost: dict[str, float] = result.get("dagster_cost") or {}  # type: ignore[assignment]
    if cost:
        print(
            f"  Dagster's fixed cost (dagster - load) {cost['dagster-load']:.2f} s; the same "
            f"graph doing nothing (floor-dagster) {cost['floor-dagster']:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiers", default="S,M", help="comma-separated: S, M, L (default S,M)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "sparkify-tiers",
        help="where datasets are generated and kept between runs",
    )
    parser.add_argument("--postgres-url", help="also time the load into this PostgreSQL")
    parser.add_argument(
        "--start-postgres",
        action="store_true",
        help="without --postgres-url: start a throwaway local PostgreSQL (initdb, pg_ctl)",
    )
    parser.add_argument(
        "--results", type=Path, default=HERE / "results", help="folder for the result files"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each step N times, keep the fastest wall time"
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument(
        "--only",
        default=",".join(STEPS),
        help=f"comma-separated steps to time (default all: {','.join(STEPS)})",
    )
    parser.add_argument("--name", default="", help="added to the result file's name")
    args = parser.parse_args()
    tiers = [tier.strip().upper() for tier in args.tiers.split(",") if tier.strip()]
    only = frozenset(step.strip() for step in args.only.split(",") if step.strip())
    if only - set(STEPS):
        parser.error(f"unknown step {', '.join(sorted(only - set(STEPS)))}: use {','.join(STEPS)}")
    args.only = only
    unknown = [tier for tier in tiers if tier not in TIERS]
    if unknown:
        parser.error(f"unknown tier {', '.join(unknown)}: use S, M or L")
    args.workdir.mkdir(parents=True, exist_ok=True)
    description = machine()
    print(json.dumps(description, indent=1))
    with contextlib.ExitStack() as stack:
        postgres_url = args.postgres_url
        if postgres_url is None and args.start_postgres:
            postgres_url = stack.enter_context(local_postgres(args.workdir))
            print(f"PostgreSQL: {postgres_url or 'could not start one'}")
        for tier in tiers:
            bench_and_save(tier, args, postgres_url, description)


def bench_and_save(
    tier: str, args: argparse.Namespace, postgres_url: str | None, description: dict[str, object]
) -> None:
    today = dt.date.today().isoformat()
    result = bench_tier(tier, args.workdir, postgres_url, args.repeat, args.only)
    result["repeat"] = args.repeat
    result["machine"] = description
    result["date"] = today
    show(result)
    if not args.no_save:
        args.results.mkdir(parents=True, exist_ok=True)
        path = args.results / f"{today}{args.name}-{tier}.json"
        path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
