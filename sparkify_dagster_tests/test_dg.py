"""``dg``, Dagster's newer CLI, on this project: ``dg check defs``, ``dg list defs`` and ``dg
launch`` in subprocesses, and every front end (``dagster dev``, ``dagster dev -w workspace.yaml``,
``dg dev``) showing the one ``sparkify`` code location."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

import sparkify_dagster
from sparkify_dagster_tests.dagster_dev import DAGSTER, LOCATION, DagsterDev
from sparkify_dagster_tests.helpers import (
    REPO,
    dagster_home,
    event,
    song,
    write_events,
    write_songs,
)

DG = Path(sys.executable).parent / "dg"


def dg(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``dg`` command, run from the project's folder as a user runs it."""
    return subprocess.run(
        [str(DG), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )


def test_the_dg_project_is_the_workspace_location() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dg"]["project"]
    (entry,) = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"]
    assert project["code_location_name"] == entry["python_module"]["location_name"] == LOCATION
    assert project["code_location_target_module"] == entry["python_module"]["module_name"]


def test_dg_checks_and_lists_the_definitions(tmp_path: Path) -> None:
    env = dagster_home(tmp_path)
    checked = dg(env, "check", "defs")
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
    assert "does not match" not in checked.stderr  # no warning about the virtual environment
    listed = dg(env, "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    defs = json.loads(listed.stdout)
    graph = sparkify_dagster.defs.resolve_asset_graph()
    assets = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {asset["asset_key"] for asset in defs["assets"]} == assets
    assert {sensor["name"] for sensor in defs["sensors"]} == {
        "new_logs",
        "new_songs",
        "run_failure_alert",
        "default_automation_condition_sensor",
    }
    assert {"provision_redshift", "redshift_status", "teardown_redshift"} <= {
        job["name"] for job in defs["jobs"]
    }


def test_dg_launch_materializes_an_asset(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_songs(data / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(data / "log_data/2018/11/2018-11-01-events.json", [event(1541105830796)])
    target = f"duckdb:///{tmp_path / 'dg.duckdb'}"
    env = dagster_home(tmp_path)
    env.update(
        SPARKIFY_TARGET=target,
        SPARKIFY_SONG_DATA=str(data / "song_data"),
        SPARKIFY_LOG_DATA=str(data / "log_data"),
    )
    done = dg(env, "launch", "--assets", "staging_songs")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr
    with sparkify_dagster.connect(target) as warehouse:
        assert warehouse.query("SELECT song_id FROM staging_songs") == [("SOAAA",)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        [str(DAGSTER), "dev"],
        [str(DAGSTER), "dev", "-w", "workspace.yaml"],
        [str(DG), "dev"],
    ],
    ids=["dagster dev", "dagster dev -w workspace.yaml", "dg dev"],
)
def test_every_front_end_shows_the_one_sparkify_location(
    command: list[str], tmp_path: Path
) -> None:
    with DagsterDev(tmp_path / "home", {}, command=command, cwd=REPO) as server:
        assert server.locations == [LOCATION]
    assert os.path.isdir(tmp_path / "home" / ".dagster")  # the instance stayed in its home
