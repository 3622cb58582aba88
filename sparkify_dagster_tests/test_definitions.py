"""The code location as users load it: ``defs``, and the real ``dagster`` CLI in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]
from dagster import DagsterInstance, Definitions

import sparkify_dagster
from sparkify_dagster_tests.helpers import (
    REPO,
    dagster,
    dagster_home,
    event,
    song,
    star,
    write_events,
    write_songs,
)

# Loads the code location the way a code server does, with every socket refused and every warning
# an error: loading must neither reach the network nor warn.
LOAD_OFFLINE = """
import socket, warnings
def refuse(*args, **kwargs):
    raise OSError("network access while loading the definitions")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.getaddrinfo = refuse
warnings.simplefilter("error")
from dagster import Definitions
import sparkify_dagster
Definitions.validate_loadable(sparkify_dagster.defs)
repository = sparkify_dagster.defs.get_repository_def()
print(len(repository.asset_graph.get_all_asset_keys()), "assets")
"""


def test_definitions_load_offline_and_without_warnings(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOAD_OFFLINE], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "10 assets"  # seven tables, the report and two raw sources


def test_the_package_exposes_defs_and_every_asset_has_a_description() -> None:
    defs = sparkify_dagster.defs
    assert isinstance(defs, Definitions)
    assert defs is sparkify_dagster.definitions.defs  # type: ignore[attr-defined]
    assert "defs" in dir(sparkify_dagster)
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key
        assert node.group_name == "sparkify"
    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"


def test_the_workspace_and_instance_files_are_the_ones_users_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    assert workspace["load_from"] == [
        {"python_module": {"module_name": "sparkify_dagster", "location_name": "sparkify"}}
    ]
    monkeypatch.chdir(tmp_path)  # the instance's storage folders are relative to the process
    instance = DagsterInstance.from_config(str(REPO))
    assert not instance.telemetry_enabled and not instance.nux_enabled
    concurrency = instance.get_concurrency_config()
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert concurrency.pool_config.default_pool_limit == 1  # the warehouse pool: one run at a time
    assert concurrency.pool_config.pool_granularity.value == "run"
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
    assert not instance.run_retries_retry_on_asset_or_op_failure  # a failed step names a cause
    tools = tomllib.loads((REPO / "pyproject.toml").read_text()).get("tool", {})
    # A bare `dagster dev` loads pyproject's [tool.dg] project instead: the same one location.
    assert "dagster" not in tools
    assert tools["dg"]["project"]["code_location_name"] == "sparkify"


def test_every_relative_link_in_the_docs_leads_to_a_file() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = [
        f"{page.relative_to(REPO)}: {target}"
        for page in pages
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text())
        if not target.startswith(("http://", "https://", "mailto:", "#"))
        and not (page.parent / target.split("#")[0]).exists()
    ]
    assert not broken, broken


@pytest.fixture
def small(dataset: Path) -> Path:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(
        dataset / "log_data/2018/11/2018-11-01-events.json",
        [event(1541105830796, song="A", artist="Art", length=1.5), event(1541105830797)],
    )
    return dataset


# Every asset for the one day of the ``small`` dataset, as ``./dev materialize`` asks.
EVERY_DAY_OF_SMALL = (
    "asset", "materialize", "--select", "*", "--partition-range", "2018-11-01...2018-11-01",
    "-m", "sparkify_dagster",
)  # fmt: skip


def test_dagster_asset_materialize_builds_the_warehouse(small: Path, tmp_path: Path) -> None:
    env = dagster_home(tmp_path)
    target = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    env.update(
        SPARKIFY_TARGET=target,
        SPARKIFY_SONG_DATA=str(small / "song_data"),
        SPARKIFY_LOG_DATA=str(small / "log_data"),
    )
    done = dagster(env, *EVERY_DAY_OF_SMALL)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr
    counts = sparkify_dagster.analyze(target)
    assert counts["songplays"] == 2 and counts["songs"] == 1
    reference = f"duckdb:///{tmp_path / 'library.duckdb'}"
    sparkify_dagster.etl(
        song_data=str(small / "song_data"), log_data=str(small / "log_data"), target=reference
    )
    assert star(target) == star(reference)
    home = Path(env["DAGSTER_HOME"])
    assert (
        home / ".dagster" / "storage" / "history" / "runs.db"
    ).exists()  # the run is on the instance
    assert (home / "report" / "report.html").exists()

    summary = subprocess.run(
        [sys.executable, "-m", "sparkify_dagster.summary"],
        capture_output=True, text=True, env=env, cwd=home,
    )  # fmt: skip
    assert summary.returncode == 0, summary.stderr
    assert "SUCCESS" in summary.stdout
    assert "songplays" in summary.stdout and "9 passed" in summary.stdout


def test_dagster_reports_rejects_with_file_line_and_reason(small: Path, tmp_path: Path) -> None:
    env = dagster_home(tmp_path)
    env.update(
        SPARKIFY_TARGET=f"duckdb:///{tmp_path / 'cli.duckdb'}",
        SPARKIFY_SONG_DATA=str(small / "song_data"),
        SPARKIFY_LOG_DATA=str(small / "log_data"),
    )
    path = small / "log_data/2018/11/2018-11-01-events.json"
    path.write_text(path.read_text() + '\n{"ts": 1541105830798, "userId": "x"}')
    done = dagster(env, *EVERY_DAY_OF_SMALL)
    assert done.returncode != 0
    assert f'{path}:3: userId is "x", expected a 64-bit integer' in done.stderr
    assert "nothing was loaded" in done.stderr
    env["SPARKIFY_MAX_ERRORS"] = "1"
    again = dagster(env, *EVERY_DAY_OF_SMALL)
    assert again.returncode == 0, again.stderr[-3000:]


def test_dagster_definitions_validate(tmp_path: Path) -> None:
    done = dagster(dagster_home(tmp_path), "definitions", "validate", "-m", "sparkify_dagster")
    assert done.returncode == 0, done.stderr
    assert "Validation successful" in done.stdout + done.stderr


CHECK_KEYS = """
import sparkify_dagster
graph = sparkify_dagster.defs.resolve_asset_graph()
print(sorted(key.to_user_string() for key in graph.asset_check_keys))
"""


def test_a_bad_target_fails_the_run_with_its_fix_and_the_code_location_still_loads(
    small: Path, tmp_path: Path
) -> None:
    env = dagster_home(tmp_path)
    env.update(
        SPARKIFY_TARGET="mysql://etl:s3cr@t@db/dwh",
        SPARKIFY_SONG_DATA=str(small / "song_data"),
        SPARKIFY_LOG_DATA=str(small / "log_data"),
    )
    loaded = dagster(env, "definitions", "validate", "-m", "sparkify_dagster")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    done = dagster(
        env, "asset", "materialize", "--select", "staging_songs", "-m", "sparkify_dagster"
    )
    assert done.returncode != 0
    assert (
        "unsupported target 'mysql://etl:***@db/dwh': expected duckdb:///path.duckdb" in done.stderr
    )
    assert "s3cr@t" not in done.stderr


def test_the_checks_do_not_depend_on_the_target(tmp_path: Path) -> None:
    """A launchpad override to another target must never run another engine's set of checks."""
    keys = []
    for target in ("duckdb:///x.duckdb", "redshift://u@h:5439/dev", "mysql://nowhere"):
        env = {**os.environ, "SPARKIFY_TARGET": target}
        done = subprocess.run(
            [sys.executable, "-c", CHECK_KEYS],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        keys.append(done.stdout)
    assert keys[0] == keys[1] == keys[2]
    assert "staging_events:records_reconcile" in keys[0]


def test_every_public_name_resolves_from_its_module() -> None:
    names = set(sparkify_dagster.__all__) - {"__version__"}
    assert names == set(sparkify_dagster._HOMES)
    for name in names:
        assert getattr(sparkify_dagster, name) is not None, name
