"""The asset checks: every warehouse check is an asset check on its table, and they fail with
their evidence on a warehouse made bad on purpose; a run of some days checks those days."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    materialize,
)

import sparkify_dagster
from sparkify_dagster.assets import TABLE_ASSETS
from sparkify_dagster.checks import ROW_COUNT, TABLE_CHECKS, check_result, table_checks
from sparkify_dagster.warehouse.engines import RedshiftWarehouse
from sparkify_dagster.warehouse.model import STAGING_TABLES, STAR_TABLES
from sparkify_dagster.warehouse.quality import checks, checks_for
from sparkify_dagster_tests.helpers import every_day, resources, run_all


def check_keys() -> set[AssetCheckKey]:
    return {key for definition in TABLE_CHECKS for key in definition.check_keys}


def test_every_warehouse_check_and_a_row_count_per_table_is_an_asset_check() -> None:
    tables = [t.name for t in (*STAGING_TABLES, *STAR_TABLES)]
    expected = {
        AssetCheckKey.from_user_string(f"{c.table}:{c.name}") for c in checks() if c.table in tables
    }
    expected |= {AssetCheckKey.from_user_string(f"{name}:{ROW_COUNT}") for name in tables}
    assert check_keys() == expected


def test_staging_checks_block_and_star_checks_do_not() -> None:
    for definition in TABLE_CHECKS:
        for spec in definition.check_specs:
            staging = spec.asset_key.to_user_string().startswith("staging_")
            assert spec.blocking == (staging and spec.name != ROW_COUNT), spec.key


def test_a_reference_check_waits_for_the_table_it_reads() -> None:
    (songplays_checks,) = [d for d in TABLE_CHECKS if d.node_def.name == "songplays_checks"]
    (spec,) = [s for s in songplays_checks.check_specs if s.name == "start_time_in_time"]
    assert [dep.asset_key.to_user_string() for dep in spec.additional_deps] == ["time"]


def test_redshift_keeps_no_manifest_to_reconcile_staging_against() -> None:
    """The checks are the same on every engine; on Redshift the reconciliation passes and says
    why it does not apply."""
    (staging_songs,) = STAGING_TABLES[1:]
    names = {spec.name for spec in table_checks(staging_songs).check_specs}
    assert "records_reconcile" in names
    assert len(checks_for(RedshiftWarehouse)) == len(checks()) - 2
    (reconcile,) = [
        c for c in checks() if c.table == "staging_songs" and c.name == "records_reconcile"
    ]
    with sparkify_dagster.connect("duckdb:///:memory:") as connection:
        key = AssetKey("staging_songs")
        result = check_result(connection, key, reconcile, holds=False)
    assert result.passed and "keeps no manifest" in str(result.metadata["skipped"].value)


def test_checks_fail_with_their_evidence_on_a_broken_warehouse(
    dataset: Path, duckdb_target: str, tmp_path: Path
) -> None:
    sparkify_dagster.generate(dataset, songs=50, events=400, days=2, seed=3)
    assert run_all(duckdb_target, dataset).success
    with sparkify_dagster.connect(duckdb_target) as warehouse:
        warehouse.execute('INSERT INTO "songplays" SELECT * FROM "songplays" LIMIT 1')
        warehouse.execute("UPDATE \"users\" SET level = 'gold' WHERE user_id = "
                          '(SELECT MIN(user_id) FROM "users")')  # fmt: skip
        warehouse.execute('DELETE FROM "artists"')
    result = materialize(
        [*TABLE_ASSETS, *TABLE_CHECKS],
        resources=resources(duckdb_target, dataset),
        instance=DagsterInstance.ephemeral(),
        selection=AssetSelection.all_asset_checks(),
    )
    evaluations = {
        e.asset_check_key.to_user_string(): e for e in result.get_asset_check_evaluations()
    }
    assert len(evaluations) == len(check_keys())  # every check ran, no asset was rebuilt
    failed = {key for key, e in evaluations.items() if not e.passed}
    assert failed == {
        "songplays:songplay_id_unique",
        "songplays:one_per_nextsong_event",
        "songplays:artist_id_in_artists",
        "users:level_accepted",
        "songs:artist_id_in_artists",
        "artists:row_count",
    }
    unique = evaluations["songplays:songplay_id_unique"]
    assert unique.severity is AssetCheckSeverity.ERROR
    assert unique.metadata["offending_rows"].value == 1
    assert "| songplay_id | copies |" in unique.metadata["sample"].value
    empty = evaluations["artists:row_count"]
    assert empty.severity is AssetCheckSeverity.WARN and empty.metadata["rows"].value == 0
    assert evaluations["songs:row_count"].metadata["rows"].value == 50


def test_a_run_of_a_day_checks_that_day_and_says_so(dataset: Path, duckdb_target: str) -> None:
    sparkify_dagster.generate(dataset, songs=50, events=400, days=2, seed=3)
    assert run_all(duckdb_target, dataset).success
    with sparkify_dagster.connect(duckdb_target) as warehouse:  # a copy of a play of day 1
        warehouse.execute(
            'INSERT INTO "songplays" SELECT * FROM "songplays" WHERE songplay_id = '
            '(SELECT MIN(songplay_id) FROM "songplays")'
        )

    def evaluations(**tags: str) -> dict[str, object]:
        result = materialize(
            [*TABLE_ASSETS, *TABLE_CHECKS],
            resources=resources(duckdb_target, dataset),
            instance=DagsterInstance.ephemeral(),
            selection=AssetSelection.all_asset_checks(),
            tags=tags,
            raise_on_error=False,
        )
        return {e.asset_check_key.to_user_string(): e for e in result.get_asset_check_evaluations()}

    day_2 = evaluations(**every_day("2018-11-02", "2018-11-02"))
    unique = day_2["songplays:songplay_id_unique"]
    assert unique.passed and unique.metadata["days"].value == "2018-11-02"  # day 1's copy
    assert day_2["users:user_id_unique"].metadata["days"].value == "every day"  # users is whole
    assert day_2["songplays:songplay_id_not_null"].metadata["days"].value == "every day"

    day_1 = evaluations(**{"dagster/partition": "2018-11-01"})  # as --partition tags it
    assert not day_1["songplays:songplay_id_unique"].passed
    assert day_1["songplays:songplay_id_unique"].metadata["days"].value == "2018-11-01"
    for whole in (evaluations(), evaluations(**every_day())):  # no partition; every day of them
        assert not whole["songplays:songplay_id_unique"].passed
        assert whole["songplays:songplay_id_unique"].metadata["days"].value == "every day"


@pytest.mark.parametrize("definition", TABLE_CHECKS, ids=lambda d: d.node_def.name)
def test_every_check_has_a_description(definition: object) -> None:
    for spec in definition.check_specs:  # type: ignore[attr-defined]
        assert spec.description, spec.key
