"""`benchmarks/floors.py` is the reference every load is measured against: it must keep running
the product's star SQL, and build what the library builds from the same files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import sparkify_dagster
from sparkify_dagster.ingest.generate import generate
from sparkify_dagster.warehouse.engines import DuckDBWarehouse
from sparkify_dagster_tests.helpers import REPO


def test_the_duckdb_floor_builds_the_plays_the_library_builds(tmp_path: Path) -> None:
    generate(tmp_path / "data", songs=40, events=300, seed=5)
    song_data, log_data = tmp_path / "data" / "song_data", tmp_path / "data" / "log_data"
    floor = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "floors.py"), "duckdb", str(song_data),
         str(log_data), str(tmp_path / "floor.duckdb")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert floor.returncode == 0, floor.stderr
    built = re.fullmatch(r"built ([\d,]+) songplays\n", floor.stdout)
    assert built is not None, floor.stdout
    sparkify_dagster.etl(
        song_data=str(song_data),
        log_data=str(log_data),
        target=f"duckdb:///{tmp_path / 'library.duckdb'}",
        checks=False,
        rejects_file=tmp_path / "rejects.csv",
    )
    with DuckDBWarehouse(tmp_path / "library.duckdb") as library:
        ((plays,),) = library.query("SELECT count(*) FROM songplays")
    assert int(built.group(1).replace(",", "")) == plays > 0
