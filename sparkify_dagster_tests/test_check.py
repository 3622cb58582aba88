"""Every data-quality check passes on a sound warehouse and fails when it is broken on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

import sparkify_dagster
from sparkify_dagster.warehouse.model import TABLES, table
from sparkify_dagster.warehouse.quality import Check, checks
from sparkify_dagster_tests.helpers import event, song, write_events, write_songs

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
    result = sparkify_dagster.etl(
        song_data=str(dataset / "song_data"), log_data=str(dataset / "log_data"), target=target
    )
    assert result.failed_checks == []
    return target


def break_for(check: Check) -> list[str]:
    """Statements that make ``check`` fail on the ``loaded`` warehouse."""
    t = table(check.table)
    if check.rule == "unique":
        return [f'INSERT INTO "{t.name}" SELECT * FROM "{t.name}" LIMIT 1']
    if check.rule == "not_null":
        column = check.name.removesuffix("_not_null")
        return [
            f'ALTER TABLE "{t.name}" ALTER COLUMN "{column}" DROP NOT NULL',
            f'UPDATE "{t.name}" SET "{column}" = NULL',
        ]
    if check.rule == "references":
        (parent,) = check.depends_on
        return [f'DELETE FROM "{parent}"']
    if check.rule == "accepted":
        column = check.name.removesuffix("_accepted")
        return [f'UPDATE "{t.name}" SET "{column}" = \'bogus\'']
    if check.rule == "reconciliation":
        if t.kind == "staging":  # a staged row the manifest does not account for
            return [f'INSERT INTO "{t.name}" SELECT * FROM "{t.name}" LIMIT 1']
        return [
            f'DELETE FROM "{t.name}" WHERE start_time = (SELECT MIN(start_time) FROM "{t.name}")'
        ]
    raise AssertionError(f"no way to break {check.description!r}")


def test_checks_cover_every_table_key() -> None:
    described = {check.description for check in checks()}
    for t in TABLES:
        if t.key:
            assert f"{t.name}: {' + '.join(t.key)} is unique" in described


def test_check_names_are_unique_per_table() -> None:
    names = [(check.table, check.name) for check in checks()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("check", checks(), ids=lambda check: f"{check.table}.{check.name}")
def test_each_check_can_fail(loaded: str, check: Check) -> None:
    with sparkify_dagster.connect(loaded) as warehouse:
        for statement in break_for(check):
            warehouse.execute(statement)
    results = {result.check: result for result in sparkify_dagster.check(loaded)}
    assert not results[check].passed
    assert results[check].sample
    assert len(results[check].columns) == len(results[check].sample[0])
    if check.rule in ("not_null", "accepted", "references"):
        assert list(results[check].columns) == list(table(check.table).column_names)
