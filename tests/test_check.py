"""Every data-quality check passes on a sound warehouse and fails when it is broken on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import sparkify
from sparkify.check import Check, checks
from sparkify.cli import cli
from sparkify.model import TABLES, table
from tests.conftest import event, song, write_events, write_songs

T0 = 1541105830796


@pytest.fixture
def loaded(dataset: Path, target: str) -> str:
    write_songs(
        dataset / "song_data",
        [song("SOAAA", "A", "ARA", "Art", 1.5), song("SOBBB", "B", "ARB", "Bee", 2.5)],
    )
    write_events(
        dataset / "log_data/2018/11/2018-11-01-events.json",
        [
            event(T0, song="A", artist="Art", length=1.5),
            event(T0 + 1, user_id="9", song="B", artist="Bee", length=2.5, level="paid"),
            event(T0 + 2, user_id="", page="Home"),
        ],
    )
    result = sparkify.etl(
        song_data=str(dataset / "song_data"), log_data=str(dataset / "log_data"), target=target
    )
    assert result.failed_checks == []
    return target


def break_for(check: Check) -> list[str]:
    """Statements that make ``check`` fail on the ``loaded`` warehouse."""
    name = check.name
    t = table(name.split(":")[0])
    if name.endswith("is unique"):
        return [f'INSERT INTO "{t.name}" SELECT * FROM "{t.name}" LIMIT 1']
    if name.endswith("is not null"):
        column = name.split(": ")[1].removesuffix(" is not null")
        return [
            f'ALTER TABLE "{t.name}" ALTER COLUMN "{column}" DROP NOT NULL',
            f'UPDATE "{t.name}" SET "{column}" = NULL',
        ]
    if " exists in " in name:
        column = name.split("every ")[1].split(" exists")[0]
        parent = str(t.column(column).references).split(".")[0]
        return [f'DELETE FROM "{parent}"']
    if " or null" in name:
        column = name.split(": ")[1].split(" in (")[0]
        return [f'UPDATE "{t.name}" SET "{column}" = \'bogus\'']
    if name.startswith("songplays: one row per staged NextSong event"):
        return ['DELETE FROM "songplays" WHERE songplay_id = 1']
    raise AssertionError(f"no way to break {name!r}")


def test_checks_cover_every_table_key() -> None:
    names = {check.name for check in checks()}
    for t in TABLES:
        if t.key:
            assert f"{t.name}: {' + '.join(t.key)} is unique" in names


@pytest.mark.parametrize("check", checks(), ids=lambda check: check.name)
def test_each_check_can_fail(loaded: str, check: Check) -> None:
    with sparkify.connect(loaded) as warehouse:
        for statement in break_for(check):
            warehouse.execute(statement)
    results = {result.check.name: result for result in sparkify.check(loaded)}
    assert not results[check.name].passed
    assert results[check.name].sample


def test_cli_check_exit_codes(loaded: str) -> None:
    outcome = CliRunner().invoke(cli, ["check", "--target", loaded])
    assert outcome.exit_code == 0, outcome.output
    assert f"All {len(checks())} data-quality checks passed." in outcome.output

    with sparkify.connect(loaded) as warehouse:
        warehouse.execute("UPDATE users SET level = 'gold'")
    outcome = CliRunner().invoke(cli, ["check", "--target", loaded])
    assert outcome.exit_code == 1
    assert "FAIL  users: level in (free, paid) or null (2 offending rows)" in outcome.output
    assert "'gold'" in outcome.output
    assert "Error: 1 of" in outcome.stderr
