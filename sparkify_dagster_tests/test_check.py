"""Every data-quality check passes on a sound warehouse and fails when it is broken on purpose;
a check of some days fails when a row of those days is broken, and not for another day's."""

from __future__ import annotations

from pathlib import Path

import pytest

import sparkify_dagster
from sparkify_dagster.core.settings import Settings
from sparkify_dagster.warehouse.days import EVERY_DAY, Days
from sparkify_dagster.warehouse.model import TABLES, Type, table
from sparkify_dagster.warehouse.quality import Check, bind, checks, of_days, run_check
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
    songs, logs = str(dataset / "song_data"), str(dataset / "log_data")
    trusting = Settings.resolve(  # load_folders is kept only then
        song_data=songs, log_data=logs, target=target, environ={}, trust_folder_times=True
    )
    result = sparkify_dagster.etl(trusting)
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


# -- checks of some days -----------------------------------------------------------------------

DAY_1, DAY_2 = Days("2018-11-01", "2018-11-01"), Days("2018-11-02", "2018-11-02")
BY_DAY = [check for check in checks() if check.day_sql is not None]
# A value no parent row holds, by the type of the referencing column.
NOWHERE = {Type.BIGINT: -5, Type.TEXT: "nowhere", Type.TIMESTAMP: "2001-01-01 00:00:00"}


@pytest.fixture
def two_days(dataset: Path, target: str) -> str:
    """Two days of logs, each with its own user, song and artist (so that breaking a parent
    of one day's plays leaves the other day's sound)."""
    write_songs(
        dataset / "song_data",
        [song("SOAAA", "A", "ARA", "Art", 1.5), song("SOBBB", "B", "ARB", "Bee", 2.5)],
    )
    for number, (user, title, artist, length) in enumerate(
        [("7", "A", "Art", 1.5), ("9", "B", "Bee", 2.5)], start=1
    ):
        base = T0 + (number - 1) * 86_400_000
        write_events(
            dataset / f"log_data/2018/11/2018-11-0{number}-events.json",
            [
                event(base, user_id=user, song=title, artist=artist, length=length),
                event(base + 1, user_id=user, song=title, artist=artist, length=length),
                event(base + 2, user_id="", page="Home"),
            ],
        )
    songs, logs = str(dataset / "song_data"), str(dataset / "log_data")
    trusting = Settings.resolve(  # load_folders is kept only then
        song_data=songs, log_data=logs, target=target, environ={}, trust_folder_times=True
    )
    result = sparkify_dagster.etl(trusting)
    assert result.failed_checks == []
    return target


def break_day(check: Check, days: Days, placeholder: str) -> list[tuple[str, list[object]]]:
    """Statements that make ``check`` fail for ``days`` (and only them) on ``two_days``."""
    t = table(check.table)
    rows, params = bind(of_days(t) or "", days, placeholder)
    if check.rule == "unique" or (check.rule == "reconciliation" and t.kind == "staging"):
        return [(f'INSERT INTO "{t.name}" SELECT * FROM "{t.name}" WHERE {rows} LIMIT 1', params)]
    if check.rule == "references":
        column = t.column(check.name.split("_in_")[0])
        value = NOWHERE[column.type]
        cast = f"CAST({placeholder} AS TIMESTAMP)" if column.type is Type.TIMESTAMP else placeholder
        return [(f'UPDATE "{t.name}" SET "{column.name}" = {cast} WHERE {rows}', [value, *params])]
    if check.rule == "accepted":
        column = check.name.removesuffix("_accepted")
        return [(f'UPDATE "{t.name}" SET "{column}" = \'bogus\' WHERE {rows}', params)]
    if check.rule == "reconciliation":  # a star row of those days is missing
        key = t.key[0]
        return [
            (
                f'DELETE FROM "{t.name}" WHERE "{key}" = '
                f'(SELECT MIN("{key}") FROM "{t.name}" WHERE {rows})',
                params,
            )
        ]
    raise AssertionError(f"no way to break {check.description!r} for some days")


def test_the_checks_of_the_tables_by_day_can_look_at_some_days() -> None:
    assert {check.table for check in BY_DAY} == {"staging_events", "songplays", "time"}
    assert not [check for check in BY_DAY if check.rule == "not_null"]  # NULLs have no day


@pytest.mark.parametrize("check", BY_DAY, ids=lambda check: f"{check.table}.{check.name}")
def test_a_check_of_a_day_fails_for_that_day_and_not_for_another(
    two_days: str, check: Check
) -> None:
    with sparkify_dagster.connect(two_days) as warehouse:
        assert run_check(warehouse, check, DAY_2).passed
        for statement, params in break_day(check, DAY_2, warehouse.dialect.placeholder):
            warehouse.execute(statement, params)
        broken_day = run_check(warehouse, check, DAY_2)
        other_day = run_check(warehouse, check, DAY_1)
        whole = run_check(warehouse, check)

    assert not broken_day.passed and broken_day.sample
    assert broken_day.days == DAY_2
    assert other_day.passed and other_day.days == DAY_1  # another day's row: not its concern
    assert not whole.passed and whole.days == EVERY_DAY


def test_a_check_that_reads_whole_tables_says_so_in_a_run_of_a_day(two_days: str) -> None:
    (not_null,) = [c for c in checks() if c.table == "songplays" and c.rule == "not_null"]
    (users,) = [c for c in checks() if c.table == "users" and c.rule == "unique"]
    with sparkify_dagster.connect(two_days) as warehouse:
        assert run_check(warehouse, not_null, DAY_2).days == EVERY_DAY
        assert run_check(warehouse, users, DAY_2).days == EVERY_DAY
