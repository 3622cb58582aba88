"""The team instance (docs/deploy/dagster.yaml): runs, events and check results in PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml  # type: ignore[import-untyped]
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.run_coordinator import QueuedRunCoordinator

import sparkify_dagster
from sparkify_dagster_tests.dagster_dev import DAGSTER, TABLE_ASSETS
from sparkify_dagster_tests.helpers import REPO, partition_range, star

TEAM_INSTANCE = REPO / "docs" / "deploy" / "dagster.yaml"
DAY_PARTITIONED = ("staging_events", "songplays", "time")


def test_the_team_instance_keeps_the_local_rules() -> None:
    team = yaml.safe_load(TEAM_INSTANCE.read_text())
    local = yaml.safe_load((REPO / "dagster.yaml").read_text())
    for setting in ("telemetry", "nux", "concurrency", "run_retries"):
        assert team[setting] == local[setting], setting
    settings = team["storage"]["postgres"]["postgres_db"]
    assert settings.pop("scheme") == "postgresql+psycopg2"
    assert {value["env"] for value in settings.values()} == {
        "DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME",
        "DAGSTER_PG_PASSWORD",
    }  # fmt: skip
    assert "sqlite" not in TEAM_INSTANCE.read_text()


@pytest.fixture
def instance_database(postgres_server: str) -> dict[str, str]:
    """A new database for the Dagster instance, as DAGSTER_PG_* variables."""
    name = "dagster_team"
    with psycopg.connect(postgres_server + "postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    url = urlsplit(postgres_server)
    return {
        "DAGSTER_PG_HOST": str(url.hostname),
        "DAGSTER_PG_PORT": str(url.port),
        "DAGSTER_PG_DB": name,
        "DAGSTER_PG_USERNAME": str(url.username),
        "DAGSTER_PG_PASSWORD": "",  # the suite's server trusts loopback connections
    }


def test_a_full_materialization_is_stored_in_postgresql(
    instance_database: dict[str, str],
    postgres_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = sparkify_dagster.generate(tmp_path / "data", songs=200, events=2000, days=2, seed=11)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(TEAM_INSTANCE, home / "dagster.yaml")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SPARKIFY_", "DAGSTER_"))},
        **instance_database,
        "DAGSTER_HOME": str(home),
        "SPARKIFY_TARGET": postgres_database,  # the warehouse on PostgreSQL too
        "SPARKIFY_SONG_DATA": str(data.song_data),
        "SPARKIFY_LOG_DATA": str(data.log_data),
    }
    done = subprocess.run(
        [str(DAGSTER), "asset", "materialize", "--select", ",".join(TABLE_ASSETS),
         "--partition-range", partition_range(data.log_data), "-m", "sparkify_dagster"],
        capture_output=True, text=True, env=env, cwd=home, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert not list(home.rglob("*.db")), "no SQLite storage beside the PostgreSQL instance"

    reference = f"duckdb:///{tmp_path / 'reference.duckdb'}"
    sparkify_dagster.etl(
        song_data=str(data.song_data), log_data=str(data.log_data), target=reference
    )
    assert star(postgres_database) == star(reference)

    # What the instance's own tables hold, read with plain SQL.
    server = urlsplit(postgres_database)._replace(path="/" + instance_database["DAGSTER_PG_DB"])
    with psycopg.connect(server.geturl()) as connection:
        ((run_id, status),) = connection.execute("SELECT run_id, status FROM runs").fetchall()
        assert status == "SUCCESS"
        kinds: dict[str, int] = dict(
            connection.execute(
                "SELECT dagster_event_type, COUNT(*) FROM event_logs WHERE run_id = %s "
                "GROUP BY dagster_event_type",
                [run_id],
            ).fetchall()
        )
        checks = connection.execute(
            "SELECT asset_key, check_name, execution_status FROM asset_check_executions "
            "WHERE run_id = %s",
            [run_id],
        ).fetchall()
    assert kinds["PIPELINE_SUCCESS"] == 1  # RUN_SUCCESS, under its stored name
    assert kinds["STEP_SUCCESS"] == kinds["STEP_START"] == 2 * len(TABLE_ASSETS)  # + check ops
    # one a day (two days) for the day-partitioned tables, one for each other table
    assert kinds["ASSET_MATERIALIZATION"] == len(TABLE_ASSETS) + len(DAY_PARTITIONED)
    assert kinds["ASSET_CHECK_EVALUATION"] == len(checks) > len(TABLE_ASSETS)
    assert {status for _, _, status in checks} == {"SUCCEEDED"}
    assert {key.strip('[]"') for key, _, _ in checks} == set(TABLE_ASSETS)

    # The same through Dagster's API, with the instance file as the team's processes load it.
    for name, value in instance_database.items():
        monkeypatch.setenv(name, value)  # read by the instance file's env: settings
    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert (run.run_id, run.status) == (run_id, DagsterRunStatus.SUCCESS)
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        concurrency = instance.get_concurrency_config()
        queue = concurrency.run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 4
        assert concurrency.pool_config.default_pool_limit == 1
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert not instance.telemetry_enabled and not instance.nux_enabled
