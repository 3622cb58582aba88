"""Declarative automation, evaluated the way Dagster's automation sensor does:
``evaluate_automation_conditions`` against an instance that holds real runs; and the freshness
policies the code location carries."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import (
    AssetChecksDefinition,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DagsterInstance,
    Definitions,
    FreshnessPolicy,
    RunRequest,
    evaluate_automation_conditions,
    materialize,
)
from dagster._core.definitions.automation_tick_evaluation_context import build_run_requests
from dagster._core.definitions.declarative_automation.automation_condition_tester import (
    EvaluateAutomationConditionsResult,
)

import sparkify_dagster
from sparkify_dagster.assets import TABLE_ASSETS, listening_report
from sparkify_dagster.automation import expected_daily, freshness
from sparkify_dagster.checks import TABLE_CHECKS
from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster_tests.helpers import every_day, resources, song, write_day, write_songs

# Dagster's own tester selects with a beta parameter; nothing of ours to change.
pytestmark = pytest.mark.filterwarnings("ignore:Parameter `include_sources`")
GRAPH = [*TABLE_ASSETS, listening_report]
CATALOGUE = ("staging_songs", "songs", "artists")  # the catalogue, staged and built
EVENT_PATH = ("staging_events", "songplays", "time", "users", "listening_report")  # the logs


class Warehouse:
    """One dataset, one warehouse and one instance: runs as a user starts them, and ticks of the
    automation sensor (each from the previous tick's cursor)."""

    def __init__(self, dataset: Path, target: str) -> None:
        self.resources = resources(target, dataset)
        self.report = dataset.parent / "report"  # not the checkout's
        self.instance = DagsterInstance.ephemeral()
        self.cursors: dict[str, Any] = {}
        self.requests: list[RunRequest] = []

    def run(self, *names: str, days: tuple[str, str] | None = None) -> None:
        """One run of the assets ``names`` (for the days from ``days[0]`` to ``days[1]``)."""
        out = {"ops": {"listening_report": {"config": {"out_dir": str(self.report)}}}}
        result = materialize(
            [asset for asset in GRAPH if asset.key.path[0] in names]
            + [checks for checks in TABLE_CHECKS if checked(checks) in names],
            resources=self.resources,
            instance=self.instance,
            tags=every_day(*days) if days else None,
            run_config=out if "listening_report" in names else None,
            raise_on_error=False,
        )
        assert result.success

    def tick(self, graph: list[AssetsDefinition] = GRAPH, name: str = "ours") -> dict[str, Any]:
        """What one tick of an automation sensor (``name``: one cursor each) asks for with the
        conditions of ``graph``: each asset's days, or ``"whole"``."""
        defs = Definitions(assets=graph, asset_checks=TABLE_CHECKS, resources=self.resources)
        result = evaluate_automation_conditions(defs, self.instance, cursor=self.cursors.get(name))
        self.cursors[name] = result.cursor
        subsets = [
            evaluated.true_subset for evaluated in result.results if evaluated.true_subset.size
        ]
        self.requests = list(
            build_run_requests(subsets, defs.resolve_asset_graph(), None, emit_backfills=True)
        )
        return requested(result)

    def check(self, table: str) -> list[str]:
        """Run the checks of ``table`` alone; the blocking ones that failed."""
        (checks,) = [checks for checks in TABLE_CHECKS if checked(checks) == table]
        (asset,) = [asset for asset in GRAPH if asset.key.path[0] == table]
        result = materialize(
            [asset, checks],
            selection=AssetSelection.checks_for_assets(asset),
            resources=self.resources,
            instance=self.instance,
            raise_on_error=False,
        )
        return [
            evaluation.check_name
            for evaluation in result.get_asset_check_evaluations()
            if not evaluation.passed and evaluation.blocking
        ]


def checked(checks: AssetChecksDefinition) -> str:
    """The table whose checks ``checks`` are."""
    (table,) = {key.asset_key.path[0] for key in checks.check_keys}
    return table


def requested(result: EvaluateAutomationConditionsResult) -> dict[str, Any]:
    asked: dict[str, Any] = {}
    for evaluated in result.results:
        subset = evaluated.true_subset
        if subset.size:
            keys = subset.expensively_compute_partition_keys() if subset.is_partitioned else None
            asked[evaluated.key.to_user_string()] = sorted(keys) if keys is not None else "whole"
    return asked


def with_eager(graph: list[AssetsDefinition]) -> list[AssetsDefinition]:
    """``graph`` with Dagster's plain ``eager()`` on every asset that has a condition."""
    eager = AutomationCondition.eager()
    return [
        asset.map_asset_specs(
            lambda spec: (
                spec.replace_attributes(automation_condition=eager)
                if spec.automation_condition is not None
                else spec
            )
        )
        for asset in graph
    ]


@pytest.fixture
def empty(dataset: Path, duckdb_target: str) -> Warehouse:
    """A catalogue and logs for 2018-11-01 to 03, nothing loaded yet."""
    write_songs(dataset / "song_data", [song("SOAAA", "Alpha", "ARA", "Ann", 100.5)])
    for day in (1, 2, 3):
        write_day(dataset, day, user=str(day))
    return Warehouse(dataset, duckdb_target)


@pytest.fixture
def warehouse(empty: Warehouse) -> Warehouse:
    """The catalogue built, logs for 2018-11-01 to 03, none of them staged yet."""
    built = empty
    built.run(*CATALOGUE)
    assert built.tick() == {}  # a first tick asks for nothing: conditions follow what changes
    return built


def test_a_day_staged_by_hand_is_followed_by_its_plays_and_users_then_the_report(
    warehouse: Warehouse,
) -> None:
    warehouse.run("staging_events", days=("2018-11-03", "2018-11-03"))

    assert warehouse.tick() == {
        "songplays": ["2018-11-03"],
        "time": ["2018-11-03"],
        "users": "whole",
    }
    warehouse.run("songplays", "time", days=("2018-11-03", "2018-11-03"))
    warehouse.run("users")
    assert warehouse.tick() == {"listening_report": "whole"}  # once what it reads is built
    warehouse.run("listening_report")
    assert warehouse.tick() == {}


def test_the_days_of_a_sensor_run_are_built_in_one_run_then_the_report_once(
    warehouse: Warehouse,
) -> None:
    """new_logs stages the days it found (with staging's checks); the automation sensor asks for
    exactly those days of songplays and time, as one backfill that the backfill policy makes one
    run, and users beside it; the report follows once they are built."""
    warehouse.run("staging_events", days=("2018-11-02", "2018-11-03"))

    asked = warehouse.tick()
    assert asked == {
        "songplays": ["2018-11-02", "2018-11-03"],
        "time": ["2018-11-02", "2018-11-03"],
        "users": "whole",
    }
    backfill, users = warehouse.requests
    assert backfill.asset_graph_subset is not None  # songplays and time: one single-run backfill
    assert {key.to_user_string() for key in backfill.asset_graph_subset.asset_keys} == {
        "songplays",
        "time",
    }
    assert users.asset_selection == [AssetKey("users")]

    the_report_follows(warehouse, ("2018-11-02", "2018-11-03"))


def the_report_follows(warehouse: Warehouse, days: tuple[str, str]) -> None:
    """Build what the last tick asked for, the plays and time rows of ``days`` and users: then
    the report is asked for, once, and nothing after it."""
    warehouse.run("songplays", "time", days=days)
    warehouse.run("users")
    assert warehouse.tick() == {"listening_report": "whole"}
    warehouse.run("listening_report")
    assert warehouse.tick() == {}


def test_the_report_waits_for_the_plays_of_the_first_day_after_the_catalogue(
    empty: Warehouse,
) -> None:
    """The sensors switched on before anything is loaded: new_songs stages the catalogue, songs
    and artists follow, and the report waits for users. When a day is staged, the report is not
    asked for beside users, which would build it before the day's plays, but after them."""
    assert empty.tick() == {}
    empty.run("staging_songs")
    assert empty.tick() == {"songs": "whole", "artists": "whole"}
    empty.run("songs", "artists")
    assert empty.tick() == {}  # no users yet

    empty.run("staging_events", days=("2018-11-03", "2018-11-03"))
    assert empty.tick() == {"songplays": ["2018-11-03"], "time": ["2018-11-03"], "users": "whole"}
    the_report_follows(empty, ("2018-11-03", "2018-11-03"))


def test_a_failed_blocking_check_of_staging_holds_the_star_back(
    warehouse: Warehouse, duckdb_target: str
) -> None:
    warehouse.run("staging_events", days=("2018-11-03", "2018-11-03"))
    database = duckdb_target.removeprefix("duckdb:///")
    with duckdb.connect(database) as connection:  # a row staged twice
        connection.execute("INSERT INTO staging_events SELECT * FROM staging_events LIMIT 1")
    failed = warehouse.check("staging_events")
    assert failed, "a row staged twice fails a blocking check of staging_events"

    assert warehouse.tick() == {}  # nothing is built from it while the check fails

    with duckdb.connect(database) as connection:
        connection.execute(
            "DELETE FROM staging_events WHERE rowid = (SELECT max(rowid) FROM staging_events)"
        )
    assert warehouse.check("staging_events") == []
    assert warehouse.tick() == {
        "songplays": ["2018-11-03"],
        "time": ["2018-11-03"],
        "users": "whole",
    }


def test_a_late_day_is_followed_too_where_eager_alone_waits_for_the_latest_day(
    warehouse: Warehouse,
) -> None:
    """The latest day of the partitions is 2019-12-31: Dagster's eager() looks at it alone."""
    warehouse.run(*EVENT_PATH, days=("2018-11-03", "2018-11-03"))
    assert warehouse.tick() == {}
    warehouse.tick(with_eager(GRAPH), "eager")

    warehouse.run("staging_events", days=("2018-11-01", "2018-11-01"))  # a day older than the last

    assert warehouse.tick() == {
        "songplays": ["2018-11-01"],
        "time": ["2018-11-01"],
        "users": "whole",
    }
    # Dagster's eager(): no play of the late day; missing days hold the whole tables back
    assert warehouse.tick(with_eager(GRAPH), "eager") == {}


def test_a_run_that_built_the_tables_with_their_staging_asks_for_nothing_more(
    warehouse: Warehouse,
) -> None:
    """./dev materialize builds staging and everything downstream: automation adds no run."""
    warehouse.run(*EVENT_PATH, days=("2018-11-01", "2018-11-03"))

    assert warehouse.tick() == {}


def test_a_catalogue_change_rebuilds_no_day(warehouse: Warehouse) -> None:
    """new_songs stages the catalogue; songs re-matches the plays a change of it moves, so no day
    is built again: songs and artists, then the report."""
    warehouse.run(*EVENT_PATH, days=("2018-11-01", "2018-11-03"))
    warehouse.tick()

    warehouse.run("staging_songs")

    assert warehouse.tick() == {"songs": "whole", "artists": "whole"}
    warehouse.run("songs", "artists")
    assert warehouse.tick() == {"listening_report": "whole"}
    warehouse.run("listening_report")
    assert warehouse.tick() == {}


def test_the_definitions_carry_the_conditions_and_the_sensor_that_runs_them() -> None:
    defs = sparkify_dagster.defs
    graph = defs.resolve_asset_graph()
    followers = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).automation_condition is not None
    }
    assert followers == {"songplays", "time", "users", "songs", "artists", "listening_report"}
    sensors = {sensor.name: sensor for sensor in defs.get_repository_def().sensor_defs}
    sensor = sensors["default_automation_condition_sensor"]
    assert isinstance(sensor, AutomationConditionSensorDefinition)
    # stopped like new_logs and new_songs: `dagster sensor start --start-all` starts the three
    assert sensor.default_status.value == "STOPPED"
    assert sensor.minimum_interval_seconds == 30  # Dagster's, SPARKIFY_SENSOR_INTERVAL being 60
    assert sensor.asset_selection.resolve(graph) >= {AssetKey(name) for name in followers}
    assert "Must be on" in (sensor.description or "")
    for name in ("new_logs", "new_songs"):
        assert "default_automation_condition_sensor" in (sensors[name].description or "")


# -- freshness ----------------------------------------------------------------------------------


def test_staging_events_and_the_report_are_overdue_after_26_hours() -> None:
    graph = sparkify_dagster.defs.resolve_asset_graph()
    policies = {
        key.to_user_string(): graph.get(key).freshness_policy for key in graph.get_all_asset_keys()
    }
    daily = FreshnessPolicy.time_window(fail_window=timedelta(hours=26))
    assert {name for name, policy in policies.items() if policy is not None} == {
        "staging_events",
        "listening_report",
    }
    assert policies["staging_events"] == daily
    assert policies["listening_report"] == daily


def test_the_window_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_FRESHNESS_HOURS", "6")
    assert freshness() == FreshnessPolicy.time_window(fail_window=timedelta(hours=6))
    (fresh,) = expected_daily([listening_report])
    assert fresh.specs_by_key[AssetKey("listening_report")].freshness_policy == freshness()
    monkeypatch.setenv("SPARKIFY_FRESHNESS_HOURS", "0")
    with pytest.raises(ConfigError, match="SPARKIFY_FRESHNESS_HOURS is '0'"):
        freshness()


def test_the_code_location_reads_the_window_when_it_loads(tmp_path: Path) -> None:
    shown = (
        "import sparkify_dagster; "
        "graph = sparkify_dagster.defs.resolve_asset_graph(); "
        "from dagster import AssetKey; "
        "print(graph.get(AssetKey('staging_events')).freshness_policy.fail_window.to_timedelta())"
    )
    done = subprocess.run(
        [sys.executable, "-c", shown],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "SPARKIFY_FRESHNESS_HOURS": "50"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2 days, 2:00:00"
