"""The assets through Dagster: ``materialize()`` with an ephemeral instance, on every engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    EnvVar,
    ExecuteInProcessResult,
    materialize,
)

import sparkify_dagster
from sparkify_dagster import resources as resources_module
from sparkify_dagster.assets import TABLE_ASSETS, listening_report, staging_events
from sparkify_dagster.checks import TABLE_CHECKS
from sparkify_dagster.resources import SourcesResource
from sparkify_dagster.warehouse import engines
from sparkify_dagster.warehouse.engines import Warehouse
from sparkify_dagster.warehouse.model import STAGING_TABLES, STAR_TABLES
from sparkify_dagster_tests.helpers import (
    days_of,
    event,
    every_day,
    resources,
    run_all,
    song,
    star,
    write_day,
    write_events,
    write_songs,
)

TABLE_NAMES = [table.name for table in (*STAGING_TABLES, *STAR_TABLES)]


def checks_of(result: ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {
        (evaluation.asset_key.to_user_string(), evaluation.check_name): evaluation.passed
        for evaluation in result.get_asset_check_evaluations()
    }


def metadata(result: ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata of ``asset``'s materialization (the same for each day a run was for)."""
    *_, materialization = result.asset_materializations_for_node(asset)
    return {key: value.value for key, value in materialization.metadata.items()}


def materialized(result: ExecuteInProcessResult) -> set[str]:
    return {
        event.asset_key.to_user_string()
        for event in result.all_events
        if event.event_type is DagsterEventType.ASSET_MATERIALIZATION and event.asset_key
    }


@pytest.fixture
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    sparkify_dagster.generate(folder, songs=300, events=2_000, days=3, seed=7, match_share=0.5)
    return folder


def test_materialize_all_builds_the_library_s_warehouse_and_every_check_passes(
    generated: Path, target: str, tmp_path: Path
) -> None:
    result = run_all(target, generated)
    assert result.success
    assert materialized(result) == set(TABLE_NAMES)
    checks = checks_of(result)
    assert all(checks.values()), [key for key, passed in checks.items() if not passed]
    assert {asset for asset, _ in checks} == set(TABLE_NAMES)

    reference = f"duckdb:///{tmp_path / 'library.duckdb'}"
    sparkify_dagster.etl(
        song_data=str(generated / "song_data"), log_data=str(generated / "log_data"),
        target=reference,
    )  # fmt: skip
    assert sparkify_dagster.analyze(target) == sparkify_dagster.analyze(reference)
    assert star(target) == star(reference)
    assert (
        metadata(result, "songplays")["dagster/row_count"]
        == sparkify_dagster.analyze(reference)["songplays"]
    )


def test_a_run_s_steps_share_one_connection_closed_when_the_run_ends(
    generated: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Warehouse] = []
    closed: list[Warehouse] = []

    def connect(*args: Any, **kwargs: Any) -> Warehouse:
        warehouse = engines.connect(*args, **kwargs)
        close = warehouse.close
        monkeypatch.setattr(warehouse, "close", lambda: (closed.append(warehouse), close()))
        opened.append(warehouse)
        return warehouse

    monkeypatch.setattr(resources_module, "connect", connect)
    result = run_all(target, generated)
    assert result.success
    assert len(result.get_step_success_events()) == len(TABLE_ASSETS) + len(TABLE_CHECKS)
    assert len(opened) == 1
    assert closed == opened


def test_duckdb_s_memory_cap_comes_from_the_environment(
    generated: Path, duckdb_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARKIFY_TARGET", duckdb_target)
    monkeypatch.setenv("SPARKIFY_DUCKDB_MEMORY_LIMIT", "1GB")
    caps: list[object] = []

    def connect(*args: Any, **kwargs: Any) -> Warehouse:
        warehouse = engines.connect(*args, **kwargs)
        caps.extend(warehouse.query("SELECT current_setting('memory_limit')"))
        return warehouse

    monkeypatch.setattr(resources_module, "connect", connect)
    warehouse = resources_module.warehouse_from_env()
    assert isinstance(warehouse.memory_limit, EnvVar)  # the UI shows the variable's name
    result = materialize(
        TABLE_ASSETS,
        resources={**resources(duckdb_target, generated), "warehouse": warehouse},
        instance=DagsterInstance.ephemeral(),
        tags=days_of(generated / "log_data"),
    )
    assert result.success
    assert caps == [("953.6 MiB",)]  # 1 GB


def test_materializing_again_with_nothing_new_changes_nothing(generated: Path, target: str) -> None:
    assert run_all(target, generated).success
    before = (sparkify_dagster.analyze(target), star(target))
    again = run_all(target, generated)
    assert again.success
    assert (sparkify_dagster.analyze(target), star(target)) == before
    for asset in ("staging_songs", "staging_events"):
        assert metadata(again, asset)["files_read"] == 0
        assert metadata(again, asset)["files_unchanged"] > 0


def test_a_new_log_file_adds_exactly_its_rows(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    assert run_all(target, dataset).success
    before = sparkify_dagster.analyze(target)
    write_day(dataset, 2, count=4)
    result = run_all(target, dataset)
    assert result.success
    after = sparkify_dagster.analyze(target)
    assert after["staging_events"] == before["staging_events"] + 4
    assert after["songplays"] == before["songplays"] + 4
    assert metadata(result, "staging_events")["files_read"] == 1
    assert metadata(result, "staging_events")["records_staged"] == 4


def bad_day(dataset: Path) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    path = dataset / "log_data/2018/11/2018-11-01-events.json"
    write_events(path, [event(1541105830796), event(1541105830797)])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], '{"ts": "abc", "page": "NextSong"}', lines[1]]))


def test_rejects_above_the_allowed_number_fail_the_run_and_change_nothing(
    dataset: Path, target: str
) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 2)
    assert run_all(target, dataset).success
    before = sparkify_dagster.analyze(target), star(target)

    bad_day(dataset)
    result = run_all(target, dataset)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type is DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "staging_events"
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "1 records rejected, more than max_errors 0 allows; nothing was loaded" in message
    assert "2018-11-01-events.json:2: ts is" in message
    failure_metadata = failure.step_failure_data.user_failure_data.metadata  # type: ignore[union-attr]
    assert "2018-11-01-events.json" in str(failure_metadata["rejects"].value)
    assert (sparkify_dagster.analyze(target), star(target)) == before
    assert not materialized(result) & {"songplays", "users", "time"}


def test_allowed_rejects_load_and_show_in_the_metadata(dataset: Path, duckdb_target: str) -> None:
    bad_day(dataset)
    config = {"ops": {"staging_events": {"config": {"max_errors": 1}}}}
    result = run_all(duckdb_target, dataset, run_config=config)
    assert result.success
    shown = metadata(result, "staging_events")
    assert shown["records_rejected"] == 1 and shown["records_staged"] == 2
    assert "| file | line | reason |" in shown["rejects"]
    assert sparkify_dagster.analyze(duckdb_target)["load_errors"] == 1


def test_max_errors_defaults_to_the_environment(
    dataset: Path, duckdb_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_day(dataset)
    sources = SourcesResource(
        song_data=str(dataset / "song_data"),
        log_data=str(dataset / "log_data"),
        max_errors=EnvVar("SPARKIFY_MAX_ERRORS"),
    )
    monkeypatch.setenv("SPARKIFY_MAX_ERRORS", "1")
    run = {**resources(duckdb_target, dataset), "sources": sources}
    days = days_of(dataset / "log_data")
    assert materialize(
        TABLE_ASSETS, resources=run, instance=DagsterInstance.ephemeral(), tags=days
    ).success
    monkeypatch.setenv("SPARKIFY_MAX_ERRORS", "lots")
    result = materialize(
        [staging_events], resources=run, instance=DagsterInstance.ephemeral(),
        raise_on_error=False, tags=days,
    )  # fmt: skip
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert "$SPARKIFY_MAX_ERRORS is 'lots': give a whole number from 0" in str(
        failure.step_failure_data.error
    )


def test_full_refresh_reloads_every_file(dataset: Path, duckdb_target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    write_day(dataset, 2)
    assert run_all(duckdb_target, dataset).success
    (dataset / "log_data/2018/11/2018-11-02-events.json").unlink()
    config = {"ops": {"staging_events": {"config": {"full_refresh": True}}}}
    days = every_day("2018-11-01", "2018-11-02")  # a full refresh drops what its days held
    result = run_all(duckdb_target, dataset, run_config=config, days=days)
    assert metadata(result, "staging_events")["files_read"] == 1
    assert sparkify_dagster.analyze(duckdb_target)["staging_events"] == 3


def test_a_failed_blocking_staging_check_keeps_the_star_from_running(
    generated: Path, duckdb_target: str
) -> None:
    assert run_all(duckdb_target, generated).success
    with sparkify_dagster.connect(duckdb_target) as warehouse:
        warehouse.execute('INSERT INTO "staging_events" SELECT * FROM "staging_events" LIMIT 1')
    result = run_all(duckdb_target, generated)
    assert not checks_of(result)[("staging_events", "source_file_source_line_unique")]
    assert not materialized(result) & {"songplays", "users", "time"}


def test_materializations_carry_the_standard_table_metadata(
    generated: Path, duckdb_target: str
) -> None:
    result = run_all(duckdb_target, generated)
    counts = sparkify_dagster.analyze(duckdb_target)
    for name in TABLE_NAMES:
        shown = metadata(result, name)
        assert shown["dagster/row_count"] == counts[name]
        assert shown["dagster/table_name"] == name
    lineage = metadata(result, "songplays")["dagster/column_lineage"]
    assert {dep.asset_key for dep in lineage.deps_by_column["start_time"]} == {
        AssetKey("staging_events")
    }
    staged = metadata(result, "staging_songs")
    assert staged["files_read"] == 300 and staged["records_staged"] == 300
    assert staged["records_rejected"] == 0 and staged["bytes_read"] > 0 and staged["seconds"] >= 0
    for asset in TABLE_ASSETS:
        spec = next(iter(asset.specs))
        schema = spec.metadata["dagster/column_schema"]
        assert [column.name for column in schema.columns]
        assert spec.description and spec.group_name == "sparkify"


def test_the_report_asset_writes_its_html_and_shows_the_key_tables(
    generated: Path, duckdb_target: str, tmp_path: Path
) -> None:
    config = {"ops": {"listening_report": {"config": {"out_dir": str(tmp_path / "out")}}}}
    result = materialize(
        [*TABLE_ASSETS, listening_report],
        resources=resources(duckdb_target, generated),
        instance=DagsterInstance.ephemeral(),
        run_config=config,
        tags=days_of(generated / "log_data"),
    )
    shown = metadata(result, "listening_report")
    assert shown["path"] == str(tmp_path / "out" / "report.html")
    assert (tmp_path / "out" / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert shown["plays"] == sparkify_dagster.analyze(duckdb_target)["songplays"]
    assert "# Sparkify listening report" in shown["report"]
