"""``./dev materialize`` and ``./dev ui`` as a user runs them: the real script in a subprocess,
on a temporary Dagster instance; materialize shows only its summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sparkify_dagster_tests.dagster_dev import DagsterDev
from sparkify_dagster_tests.helpers import (
    REPO,
    dagster_home,
    event,
    song,
    write_events,
    write_songs,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path, dataset: Path) -> dict[str, str]:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(
        dataset / "log_data/2018/11/2018-11-01-events.json",
        [event(1541105830796, song="A", artist="Art", length=1.5), event(1541105830797)],
    )
    return {
        **os.environ,
        "DAGSTER_HOME": dagster_home(tmp_path)["DAGSTER_HOME"],
        "SPARKIFY_TARGET": str(tmp_path / "dev.duckdb"),
        "SPARKIFY_SONG_DATA": str(dataset / "song_data"),
        "SPARKIFY_LOG_DATA": str(dataset / "log_data"),
    }


def materialize(env: dict[str, str], *args: str, **changes: str) -> tuple[int, str]:
    """``./dev materialize ARGS`` with the report in the instance's folder; the exit status
    and everything it printed."""
    report = {"ops": {"listening_report": {"config": {"out_dir": f"{env['DAGSTER_HOME']}/r"}}}}
    done = subprocess.run(
        [str(REPO / "dev"), "materialize", "--config-json", json.dumps(report), *args],
        capture_output=True, text=True, env={**env, **changes}, timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_materialize_shows_its_run_and_what_was_new(env: dict[str, str]) -> None:
    status, output = materialize(env)
    assert status == 0, output
    assert output.startswith("Run ") and ": SUCCESS in " in output.splitlines()[0]
    assert "staging_events" in output and "1 file read" in output
    assert " - DEBUG - " not in output and "Traceback" not in output  # the quiet console holds
    assert (Path(env["DAGSTER_HOME"]) / "r" / "report.html").exists()  # your config merged in

    status, again = materialize(env)
    assert status == 0, again
    assert "nothing new: 1 file unchanged" in again
    assert "Nothing new was staged: the tables after it were rebuilt" in again
    assert again.splitlines()[0] != output.splitlines()[0]  # another run


def test_a_failure_names_its_step_cause_and_fix_once(env: dict[str, str], tmp_path: Path) -> None:
    status, output = materialize(env, SPARKIFY_TARGET="mysql://etl:s3cr@t@db/dwh")
    assert status != 0
    assert ": FAILURE in " in output.splitlines()[0]
    failed = [line for line in output.splitlines() if " failed: " in line]
    assert failed == [
        "staging_events, staging_songs failed: unsupported target 'mysql://etl:***@db/dwh': "
        "expected duckdb:///path.duckdb, a path ending in .duckdb, postgresql://user@host:5432/db "
        "or redshift://user@host:5439/db; set SPARKIFY_TARGET to one of them"
    ]
    assert output.count("unsupported target") == 1
    assert "Traceback" not in output and "Stack Trace" not in output and "s3cr@t" not in output
    assert "Not built (a step before them failed): " in output and "songplays" in output

    missing = str(tmp_path / "nowhere")
    status, output = materialize(env, SPARKIFY_LOG_DATA=missing)
    assert status != 0
    assert f"staging_events failed: {missing} does not exist: set SPARKIFY_LOG_DATA" in output


def test_a_command_that_made_no_run_says_so_and_never_shows_an_older_run(
    env: dict[str, str],
) -> None:
    status, output = materialize(env)
    assert status == 0, output
    status, output = materialize(env, SPARKIFY_SENSOR_INTERVAL="soon")
    assert status != 0
    assert output.strip() == (
        "No run was made: ConfigError: $SPARKIFY_SENSOR_INTERVAL is 'soon': give a whole number "
        "from 1"
    )
    status, output = materialize(env, "--no-such-option")
    assert status != 0
    assert output.strip() == "No run was made: No such option '--no-such-option'."


def test_dev_ui_leaves_nothing_but_the_instance_in_the_checkout(tmp_path: Path) -> None:
    """``./dev ui`` in a copy of the checkout (its instance is the checkout: DAGSTER_HOME
    unset) writes only ``.dagster/``: no telemetry ``logs/``, no ``.logs_queue/``."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("dev", "dagster.yaml", "workspace.yaml"):
        shutil.copy2(REPO / name, checkout / name)
    (checkout / ".venv").symlink_to(REPO / ".venv")
    command = [str(checkout / "dev"), "ui"]
    with DagsterDev(checkout, {}, command=command, cwd=checkout) as server:
        assert server.locations == ["sparkify"]
    left = {path.name for path in checkout.iterdir()} - {"dagster-dev.log"}
    assert left == {"dev", "dagster.yaml", "workspace.yaml", ".venv", ".dagster"}


def test_your_options_reach_the_command_and_a_missing_json_is_named(env: dict[str, str]) -> None:
    status, output = materialize(env, "--select", "staging_songs")
    assert status == 0, output
    assert "staging_songs" in output and "songplays" not in output
    status, again = materialize(env, "--select", "staging_songs")
    assert again.rstrip().endswith("Nothing new was staged.")
    done = subprocess.run(
        [str(REPO / "dev"), "materialize", "--config-json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip() == "No run was made: Option '--config-json' requires an argument."
