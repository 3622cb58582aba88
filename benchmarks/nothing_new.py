"""Where a run with nothing new spends its time: listing, the manifest, comparing them.

    python benchmarks/nothing_new.py /tmp/sparkify-tiers/tier-M            # a generated tier
    python benchmarks/nothing_new.py DATASET --warehouse loaded.duckdb --repeat 5

``DATASET`` holds ``song_data`` and ``log_data`` (``python -m sparkify_dagster.ingest.generate``).
The warehouse is loaded once (in a process of its own) unless ``--warehouse`` names one already
loaded from it; it is copied, and every figure is the fastest of ``--repeat`` runs on the copy:

- ``listing``: ``source.files()`` of both locations (a stat per file);
- ``folders``: a ``stat`` of every folder alone, what a listing that trusted folders' times would
  pay (a folder's time changes when entries are added, removed or renamed, not when a file is
  rewritten in place);
- ``manifest``: ``read_manifest`` of both kinds, in one open transaction;
- ``compare``: ``changed_files`` of both kinds, given the listing and the manifest;
- ``run``: the whole ``sparkify_dagster.etl(checks=False)``, in this process (imports already
  paid): the warehouse work of a run with nothing new, as ``RunResult.seconds`` counts it;
- ``surveyed``: the song listing as a run makes it once the folders are recorded: a folder
  unchanged since is not opened, its files stat'ed by the names the manifest knows;
- ``trusted``, ``run-trusted``: the song listing and the run with ``SPARKIFY_TRUST_FOLDER_TIMES``
  on (folders unchanged since they were last listed are neither opened nor their files
  stat'ed); where the release has it.

Each figure is given as wall seconds and CPU seconds (this process's user + system) of the same
fastest run.

It runs on any release whose staging has ``read_manifest`` and ``changed_files`` (put its tree
first on ``PYTHONPATH`` to measure it), so that before and after are measured alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sparkify_dagster
from sparkify_dagster.core.settings import Settings
from sparkify_dagster.ingest.files import Folder, names_by_folder
from sparkify_dagster.ingest.sources import LocalSource, open_source
from sparkify_dagster.warehouse.staging import manifest

KINDS = {"songs": "song_data", "events": "log_data"}


def fastest(repeat: int, work: Callable[[], object]) -> tuple[float, float]:
    """The wall and CPU seconds of the fastest of ``repeat`` calls of ``work``."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        work()
        best = min(best, (time.perf_counter() - started, time.process_time() - cpu))
    return best


def folders(root: str) -> int:
    """Stat every folder below ``root`` (not its files): what trusting folder times costs."""
    count, stack = 0, [root]
    while stack:
        folder = stack.pop()
        os.stat(folder)
        count += 1
        with os.scandir(folder) as entries:
            stack += [entry.path for entry in entries if entry.is_dir(follow_symlinks=False)]
    return count


def measure(dataset: Path, target: str, repeat: int) -> dict[str, tuple[float, float]]:
    sources = {kind: open_source(str(dataset / folder)) for kind, folder in KINDS.items()}
    listings = {kind: source.files() for kind, source in sources.items()}
    files = float(sum(map(len, listings.values())))
    figures = {
        "files": (files, files),
        "listing": fastest(repeat, lambda: [source.files() for source in sources.values()]),
        "folders": fastest(repeat, lambda: [folders(str(dataset / f)) for f in KINDS.values()]),
    }
    with sparkify_dagster.connect(target) as warehouse, warehouse.transaction():
        known = {kind: manifest.read_manifest(warehouse, kind) for kind in KINDS}
        figures["manifest"] = fastest(
            repeat, lambda: [manifest.read_manifest(warehouse, kind) for kind in KINDS]
        )

        def compare() -> None:
            for kind, source in sources.items():
                changed = manifest.changed_files(warehouse, source, listings[kind], known[kind])
                assert not changed or not changed[0], f"{kind}: something new"

        figures["compare"] = fastest(repeat, compare)
    data = {"song_data": str(dataset / "song_data"), "log_data": str(dataset / "log_data")}
    figures["run"] = fastest(
        repeat, lambda: sparkify_dagster.etl(**data, target=target, checks=False)
    )
    if hasattr(LocalSource, "survey"):  # the runs above recorded the folders
        with sparkify_dagster.connect(target) as warehouse:
            rows = warehouse.query(warehouse.dialect.folders_sql(), ["songs"])
            entries = warehouse.query(warehouse.dialect.manifest_files_sql(), ["songs"])
        recorded = {folder: Folder(files, modified) for folder, files, modified in rows}
        names = names_by_folder(uri for uri, _, _ in entries)
        exact = LocalSource(str(dataset / "song_data"))
        assert exact.survey(recorded, names).files == listings["songs"]
        figures["surveyed"] = fastest(repeat, lambda: exact.survey(recorded, names))
        trusted = Settings.resolve(**data, target=target, environ={}, trust_folder_times=True)
        trusting = LocalSource(str(dataset / "song_data"), trust_folder_times=True)
        assert trusting.survey(recorded).trusted == len(listings["songs"])
        figures["trusted"] = fastest(repeat, lambda: trusting.survey(recorded))
        figures["run-trusted"] = fastest(
            repeat, lambda: sparkify_dagster.etl(trusted, checks=False)
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--warehouse", type=Path, help="a DuckDB file loaded from the dataset")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "warehouse.duckdb"
        if args.warehouse:
            shutil.copyfile(args.warehouse, copy)
        else:
            load = (
                "import sys, sparkify_dagster; sparkify_dagster.etl(song_data=sys.argv[1], "
                "log_data=sys.argv[2], target=sys.argv[3], checks=False)"
            )
            data = [str(args.dataset / folder) for folder in KINDS.values()]
            subprocess.run([sys.executable, "-c", load, *data, f"duckdb:///{copy}"], check=True)
            time.sleep(2.1)  # every stamp settled, as it is for a run some time later
        figures = measure(args.dataset, f"duckdb:///{copy}", args.repeat)
    files = figures.pop("files")[0]
    print(f"{args.dataset}: {files:,.0f} files, load average {os.getloadavg()[0]:.1f}")
    for name, (seconds, cpu) in figures.items():
        print(
            f"  {name:<11} {seconds:7.3f} s  {seconds / files * 1e6:6.2f} µs a file  "
            f"{cpu:7.3f} s CPU"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
