"""The catalog answers questions: who owns each asset, its layer, whether its code changed since
its last materialization, where that code lives, and which pool its steps queue in."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, materialize

import sparkify_dagster
from sparkify_dagster.assets import TABLE_ASSETS, listening_report
from sparkify_dagster.catalog import (
    POOL,
    SQL_DIR,
    code_version,
    model_line,
    table_code_version,
    table_sql,
)
from sparkify_dagster.checks import TABLE_CHECKS
from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.core.settings import OWNER
from sparkify_dagster.jobs import CLUSTER_JOBS
from sparkify_dagster.warehouse.model import (
    ARTISTS,
    SONGPLAYS,
    SONGS,
    STAGING_EVENTS,
    STAGING_SONGS,
    TIME,
    USERS,
)
from sparkify_dagster_tests.helpers import resources, song, write_songs

TABLES = (STAGING_EVENTS, STAGING_SONGS, SONGPLAYS, USERS, SONGS, ARTISTS, TIME)
LAYERS = {
    "log_data": "raw",
    "song_data": "raw",
    "staging_events": "staging",
    "staging_songs": "staging",
    "songplays": "star",
    "users": "star",
    "songs": "star",
    "artists": "star",
    "time": "star",
    "listening_report": "report",
}


def graph():  # type: ignore[no-untyped-def]
    return sparkify_dagster.defs.resolve_asset_graph()


def references(name: str) -> list[tuple[str, str]]:
    """The asset's code references as (path inside the package, label or line)."""
    found = graph().get(AssetKey(name)).metadata["dagster/code_references"].code_references
    package = Path(sparkify_dagster.__file__).parent
    return [
        (Path(ref.file_path).relative_to(package).as_posix(), ref.label or str(ref.line_number))
        for ref in found
    ]


def test_every_asset_has_owners_a_layer_and_a_code_version() -> None:
    nodes = {key.to_user_string(): graph().get(key) for key in graph().get_all_asset_keys()}
    assert set(nodes) == set(LAYERS)
    for name, node in nodes.items():
        assert node.owners == list(OWNER.lookup()), name
        assert node.tags["layer"] == LAYERS[name], name
        if node.is_materializable:  # the raw sources are observed: their version is their data's
            assert node.code_version and len(node.code_version) == 16, name
    assert OWNER.lookup(env={}) == ("team:data-engineering",)
    for table in TABLES:
        assert nodes[table.name].code_version == table_code_version(table)
    versions = [node.code_version for node in nodes.values() if node.is_materializable]
    assert len(set(versions)) == len(versions)


def test_tag_selection_finds_a_layer() -> None:
    from dagster import AssetSelection

    star = AssetSelection.tag("layer", "star").resolve(graph())
    assert {key.to_user_string() for key in star} == {
        "songplays",
        "users",
        "songs",
        "artists",
        "time",
    }


def test_code_references_lead_to_the_sql_the_model_and_the_asset_function() -> None:
    sql = "warehouse/sql"
    assert references("songs") == [
        (f"{sql}/songs.sql", "songs.sql"),
        (f"{sql}/song_matches.sql", "song_matches.sql"),  # songs keeps the plays' matches
        (f"{sql}/rematch_days.sql", "rematch_days.sql"),
        (f"{sql}/_songs_once.sql", "_songs_once.sql"),
        (f"{sql}/_matches.sql", "_matches.sql"),
        ("assets/star.py", references("songs")[-1][1]),
    ]
    assert [path for path, _ in references("songplays")] == [
        f"{sql}/songplays.sql", "assets/star.py",
    ]  # fmt: skip
    assert [path for path, _ in references("users")] == [
        "warehouse/sql/users.sql",
        "assets/star.py",
    ]
    for table in (STAGING_EVENTS, STAGING_SONGS):
        (model, function) = (
            graph().get(AssetKey(table.name)).metadata["dagster/code_references"].code_references
        )
        assert Path(model.file_path).name == "model.py"
        line = Path(model.file_path).read_text().splitlines()[model.line_number - 1]
        assert line.endswith("= Table(") and model.line_number == model_line(table)
        assert Path(function.file_path).name == "staging.py"
        source = Path(function.file_path).read_text().splitlines()
        assert source[function.line_number - 1].strip() == "@asset("  # the decorated function
    assert [path for path, _ in references("listening_report")] == ["assets/report.py"]


def test_every_step_that_opens_the_warehouse_is_in_its_pool() -> None:
    for asset in [*TABLE_ASSETS, listening_report]:
        assert asset.op.pool == POOL, asset.key
    for checks in TABLE_CHECKS:
        assert checks.node_def.pool == POOL, checks.node_def.name
    for job in CLUSTER_JOBS:  # the cluster jobs never wait for a load
        assert {node.definition.pool for node in job.graph.node_dict.values()} == {None}


# -- the code version follows the SQL ---------------------------------------------------------


@pytest.fixture
def sql(tmp_path: Path) -> Path:
    folder = tmp_path / "sql"
    shutil.copytree(SQL_DIR, folder)
    return folder


def test_the_code_version_changes_with_the_sql_and_with_what_it_includes(sql: Path) -> None:
    before = {table.name: table_code_version(table, sql) for table in TABLES}
    assert before == {table.name: table_code_version(table) for table in TABLES}  # stable
    assert before == {table.name: table_code_version(table, sql) for table in TABLES}

    once = sql / "_songs_once.sql"
    once.write_text(once.read_text() + "\n-- a comment is a change too\n")
    after = {table.name: table_code_version(table, sql) for table in TABLES}
    assert {name for name in before if before[name] != after[name]} == {"songs"}

    users = sql / "users.sql"
    users.write_text(users.read_text().replace("SELECT", "SELECT DISTINCT", 1))
    assert table_code_version(USERS, sql) != after["users"]
    assert table_code_version(ARTISTS, sql) == before["artists"]


def test_a_new_mode_of_a_table_counts_and_an_unknown_include_is_named(sql: Path) -> None:
    before = table_code_version(TIME, sql)
    (sql / "time_incremental.sql").write_text('{% include "_window.sql" %}\n')
    with pytest.raises(FileNotFoundError, match=r"_window\.sql"):
        table_sql(TIME, sql)
    (sql / "_window.sql").write_text("WHERE ts >= :start\n")
    assert [path.name for path in table_sql(TIME, sql)] == [
        "time.sql", "time_incremental.sql", "_window.sql",
    ]  # fmt: skip
    assert table_code_version(TIME, sql) != before


def test_the_staging_code_version_follows_the_model_not_its_docs() -> None:
    version = table_code_version(STAGING_SONGS)
    assert table_sql(STAGING_SONGS) == []
    assert table_code_version(replace(STAGING_SONGS, doc="other words")) == version
    wider = replace(
        STAGING_SONGS,
        columns=tuple(
            replace(column, size=64) if column.name == "song_id" else column
            for column in STAGING_SONGS.columns
        ),
    )
    assert table_code_version(wider) != version


def test_code_version_hashes_its_parts_in_order() -> None:
    assert code_version(["a", "b"]) == code_version(["a", "b"])
    assert (
        len({code_version(parts) for parts in (["a", "b"], ["b", "a"], ["ab"], ["a", "b", ""])})
        == 4
    )


def test_a_materialization_records_the_code_version(dataset: Path, duckdb_target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [*TABLE_ASSETS], resources=resources(duckdb_target, dataset), instance=instance,
        selection=["staging_songs", "songs"],
    )  # fmt: skip
    assert result.success
    for table in (STAGING_SONGS, SONGS):
        event = instance.get_latest_materialization_event(AssetKey(table.name))
        assert event is not None and event.asset_materialization is not None
        assert event.asset_materialization.tags is not None
        assert event.asset_materialization.tags["dagster/code_version"] == table_code_version(table)


# -- owners from the settings ------------------------------------------------------------------

LOAD_OWNERS = """
import sparkify_dagster
graph = sparkify_dagster.defs.resolve_asset_graph()
print(sorted({tuple(graph.get(key).owners) for key in graph.get_all_asset_keys()}))
"""


def test_owners_come_from_sparkify_owner(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SPARKIFY_OWNER": "team:warehouse, ana@example.com"}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_OWNERS], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[('team:warehouse', 'ana@example.com')]"


@pytest.mark.parametrize("value", ["data-engineering", "team:", "ana@", "team:x, bob"])
def test_an_owner_dagster_would_refuse_is_named_with_the_fix(value: str) -> None:
    with pytest.raises(ConfigError, match=r"\$SPARKIFY_OWNER names owner .*: give email addresses"):
        OWNER.lookup(env={"SPARKIFY_OWNER": value})
