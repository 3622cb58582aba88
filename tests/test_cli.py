"""The command line, run in-process: exit codes, messages, rows written, help that explains."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import sparkify
from sparkify.cli import cli
from sparkify.model import TABLES
from tests.conftest import REPO


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_etl_with_no_arguments_loads_the_built_in_sample(runner: CliRunner, tmp_path: Path) -> None:
    outcome = runner.invoke(cli, ["etl"])
    assert outcome.exit_code == 0, outcome.output
    assert (tmp_path / "sparkify.duckdb").is_file()
    assert "Rows per table" in outcome.output
    assert "songs: 14,896 records read = 14,896 staged + 0 rejected" in outcome.output
    assert "events: 8,056 records read = 8,056 staged + 0 rejected" in outcome.output
    assert "data-quality checks passed" in outcome.output

    outcome = runner.invoke(cli, ["analyze", "--json"])
    assert outcome.exit_code == 0
    counts = json.loads(outcome.output)
    assert list(counts) == [table.name for table in TABLES]
    assert counts["staging_events"] == 8056 and counts["staging_songs"] == 14896
    assert counts["songplays"] == sparkify.analyze()["songplays"] > 0

    again = runner.invoke(cli, ["etl", "--quiet"])
    assert again.exit_code == 0 and again.output == ""
    assert json.loads(runner.invoke(cli, ["analyze", "--json"]).output) == counts


def test_etl_reads_environment_and_classic_config(runner: CliRunner, tmp_path: Path) -> None:
    sparkify.generate(tmp_path / "data", songs=30, events=200, days=2, seed=1)
    (tmp_path / "dwh.cfg").write_text(
        "[S3]\nLOG_DATA='data/log_data'\nLOG_JSONPATH='s3://x/log_json_path.json'\n"
        "SONG_DATA='data/song_data'\n"
    )
    outcome = runner.invoke(cli, ["etl", "--config", "dwh.cfg", "--target", "cfg.duckdb"])
    assert outcome.exit_code == 0, outcome.output
    assert sparkify.analyze("cfg.duckdb")["staging_events"] == 200

    env = {"SPARKIFY_SONG_DATA": "data/song_data", "SPARKIFY_LOG_DATA": "data/log_data",
           "SPARKIFY_TARGET": "duckdb:///env.duckdb"}  # fmt: skip
    outcome = runner.invoke(cli, ["etl", "-q"], env=env)
    assert outcome.exit_code == 0, outcome.output
    assert sparkify.analyze("env.duckdb")["staging_songs"] == 30


def test_create_tables_and_drop(runner: CliRunner) -> None:
    outcome = runner.invoke(cli, ["create-tables", "--target", "t.duckdb"])
    assert outcome.exit_code == 0
    assert "Created (if missing) 9 tables" in outcome.output
    assert set(sparkify.analyze("t.duckdb").values()) == {0}
    with sparkify.connect("t.duckdb") as warehouse:
        warehouse.execute("INSERT INTO users VALUES (1, 'A', 'B', 'F', 'free')")
    runner.invoke(cli, ["create-tables", "--target", "t.duckdb"])
    assert sparkify.analyze("t.duckdb")["users"] == 1
    outcome = runner.invoke(cli, ["create-tables", "--drop", "--target", "t.duckdb"])
    assert outcome.exit_code == 0 and "Dropped and created" in outcome.output
    assert sparkify.analyze("t.duckdb")["users"] == 0


def test_generate(runner: CliRunner, tmp_path: Path) -> None:
    outcome = runner.invoke(cli, ["generate", "out", "--songs", "12", "--events", "90"])
    assert outcome.exit_code == 0
    assert "Wrote 12 song files" in outcome.output
    assert len(list((tmp_path / "out" / "song_data").rglob("*.json"))) == 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "--target", "missing.duckdb"], "has no table"),
        (["etl", "--song-data", "nowhere"], "log_data is not set: looked at --log-data"),
        (["etl", "--song-data", "nowhere", "--log-data", "nowhere"], "nowhere does not exist"),
        (["etl", "--target", "mysql://x"], "unsupported target 'mysql://x'"),
        (["etl", "--config", "absent.cfg"], "config file absent.cfg does not exist"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(
    runner: CliRunner, args: list[str], message: str
) -> None:
    outcome = runner.invoke(cli, args)
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith("Error: ") and message in outcome.stderr
    assert "Traceback" not in outcome.output


def test_debug_shows_the_traceback(runner: CliRunner) -> None:
    outcome = runner.invoke(cli, ["--debug", "analyze", "--target", "missing.duckdb"])
    assert isinstance(outcome.exception, sparkify.WarehouseError)


def commands(group: click.Group) -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in commands(command)]
    return found


@pytest.mark.parametrize(("name", "command"), commands(cli), ids=lambda value: str(value))
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    outcome = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert outcome.exit_code == 0
    assert command.help and "Example" in outcome.output, name


def test_readme_quick_start_and_commands_are_real() -> None:
    readme = (REPO / "README.md").read_text()
    quick_start = readme.split("## Quick start")[1].split("```sh")[1].split("```")[0]
    assert [line.split("#")[0].strip() for line in quick_start.strip().splitlines()] == [
        "./dev sparkify etl",
        "./dev test",
    ]
    names = {name for name, _ in commands(cli)}
    for mentioned in re.findall(r"`sparkify ([a-z-]+(?: [a-z-]+)?)", readme):
        assert mentioned in names or mentioned.split()[0] in names, mentioned
    ci = (REPO / ".ci" / "run").read_text()
    assert "./dev test" in ci
