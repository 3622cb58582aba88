"""Day by day: after any sequence of day loads, backfills, late days, rewritten and deleted logs,
song arrivals and full refreshes, in any order, the warehouse equals one clean load of the latest
version of every file it has loaded (a deleted file keeps its rows; a full refresh of its day
drops them): the same rows in every table, the same play ids, the same rejects.

The steps call what the assets call (:func:`materialize_days`), on DuckDB and PostgreSQL; the
Dagster runs themselves are tested in ``test_partitions.py``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import sparkify_dagster
from sparkify_dagster.warehouse.days import EVERY_DAY, Days
from sparkify_dagster.warehouse.engines import connect
from sparkify_dagster.warehouse.model import (
    ARTISTS,
    LOAD_ERRORS,
    SONGPLAYS,
    SONGS,
    STAGING_TABLES,
    STAR_TABLES,
    TIME,
    USERS,
    Table,
)
from sparkify_dagster.warehouse.staging import stage_locations
from sparkify_dagster.warehouse.transform import build_table
from sparkify_dagster.warehouse.upgrade import prepare
from sparkify_dagster_tests.helpers import T0, event, song

DAYS = [f"2018-11-0{number}" for number in range(1, 5)]
HOUR = 3_600_000
# A few instants shared by every day's logs, so that plays of different days share start times
# (a log may hold events of any time: staging accepts every ts in range).
INSTANTS = [T0 + offset * HOUR for offset in (0, 1, 30, 55, 80)]
CATALOGUE = [
    song("SOA", "Alpha", "ARA", "Ann", 100.5),
    song("SOB", "Beta", "ARB", "Bob", 200.25),
    song("SOC", "Alpha", "ARC", "Ann", 100.5),  # the same match as SOA: the smaller id wins
    song("SOD", "Delta", "ARB", "Bob", 300.0),
]
EVENT_RECORDS = st.builds(
    lambda instant, user, page, pick, level: event(
        instant,
        user_id=user,
        page=page,
        level=level,
        song=pick["title"],
        artist=pick["artist_name"],
        length=pick["duration"],
    ),
    st.sampled_from(INSTANTS),
    st.sampled_from(["1", "2", "3", ""]),
    st.sampled_from(["NextSong", "NextSong", "Home"]),
    st.sampled_from([*CATALOGUE, song("SOX", "Unknown", "ARX", "Nobody", 1.0)]),
    st.sampled_from(["free", "paid"]),
)
LOGS = st.lists(EVENT_RECORDS, max_size=4).map(
    lambda records: [json.dumps(record) for record in records]
)
SONG_FILES = st.lists(st.sampled_from(CATALOGUE), min_size=1, max_size=3, unique_by=id)
RANGES = st.tuples(st.sampled_from(DAYS), st.sampled_from(DAYS)).map(sorted)

STAR_BY_DAY = (SONGPLAYS, TIME, USERS)  # what a day's run builds after staging its logs
CATALOGUE_TABLES = (SONGS, ARTISTS)


def materialize_days(
    target: str,
    data: Path,
    kinds: tuple[str, ...],
    tables: tuple[Table, ...],
    days: Days,
    *,
    full_refresh: bool = False,
) -> None:
    """What the assets of ``kinds`` and ``tables`` do in one run for ``days``: each in its own
    transaction, staging first."""
    with connect(target) as warehouse:
        locations = {
            kind: str(data / f"{'song' if kind == 'songs' else 'log'}_data") for kind in kinds
        }
        with warehouse.transaction():
            prepare(warehouse)
            stage_locations(
                warehouse, locations, full_refresh=full_refresh, max_errors=10**6, days=days
            )
        for table in tables:
            with warehouse.transaction():
                prepare(warehouse)
                build_table(warehouse, table, days if table in (SONGPLAYS, TIME) else None)


def contents(target: str, root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table a clean load must reproduce, each as a sorted list of rows, the files named
    below ``root``."""
    queries = {
        table.name: f'SELECT * FROM "{table.name}"' for table in (*STAGING_TABLES, *STAR_TABLES)
    }
    queries[LOAD_ERRORS.name] = 'SELECT source_file, source_line, kind, reason FROM "load_errors"'
    with connect(target) as warehouse:
        return {
            name: sorted((_below(row, str(root)) for row in warehouse.query(sql)), key=repr)
            for name, sql in queries.items()
        }


def _below(row: tuple[Any, ...], root: str) -> tuple[Any, ...]:
    return tuple(value.replace(root, "") if isinstance(value, str) else value for value in row)


class Warehouse(RuleBasedStateMachine):
    """The user's folders (``live``), what the warehouse has loaded of them (``loaded``), and
    the warehouse itself; after every step it must equal a clean load of ``loaded``."""

    target: str
    root: Path

    @initialize(logs=LOGS, songs=SONG_FILES)
    def start(self, logs: list[str], songs: list[dict[str, Any]]) -> None:
        self.folder = Path(tempfile.mkdtemp(dir=self.root))
        self.live = self.folder / "live"
        self.loaded = self.folder / "loaded"
        for place in (self.live, self.loaded):
            (place / "song_data").mkdir(parents=True)
            (place / "log_data").mkdir(parents=True)
        sparkify_dagster.create_tables(self.target, drop=True)
        self.write_songs(songs)
        self.write_log(DAYS[0], logs)
        self.load_songs()
        self.load(DAYS[0], DAYS[0])

    # -- the user's folders ----------------------------------------------------------------------

    def log(self, place: Path, day: str) -> Path:
        return place / "log_data" / day[:4] / day[5:7] / f"{day}-events.json"

    @rule(day=st.sampled_from(DAYS), logs=LOGS)
    def write_log(self, day: str, logs: list[str]) -> None:
        """A new day, a late day, or a day rewritten in place."""
        path = self.log(self.live, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(logs))

    @rule(day=st.sampled_from(DAYS))
    def delete_log(self, day: str) -> None:
        """A log expires (a location holding no log at all is refused as misconfigured: one
        stays)."""
        if len(list((self.live / "log_data").rglob("*.json"))) > 1:
            self.log(self.live, day).unlink(missing_ok=True)

    @rule(songs=SONG_FILES)
    def write_songs(self, songs: list[dict[str, Any]]) -> None:
        """Song files arrive or change (a file per song id, as the published data has)."""
        for record in songs:
            path = self.live / "song_data" / f"{record['song_id']}.json"
            path.write_text(json.dumps({**record, "year": len(songs)}))

    # -- runs ------------------------------------------------------------------------------------

    @rule(days=RANGES)
    def load_days(self, days: list[str]) -> None:
        """A day's run, or a backfill of a range as one run."""
        self.load(*days)

    def load(self, first: str, last: str, *, full_refresh: bool = False) -> None:
        days = Days(first, last)
        materialize_days(
            self.target, self.live, ("events",), STAR_BY_DAY, days, full_refresh=full_refresh
        )
        for day in DAYS:
            if days.holds(day):
                live, loaded = self.log(self.live, day), self.log(self.loaded, day)
                if live.exists():
                    loaded.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(live, loaded)
                elif full_refresh:
                    loaded.unlink(missing_ok=True)

    @rule(days=RANGES)
    def full_refresh(self, days: list[str]) -> None:
        self.load(*days, full_refresh=True)

    @rule()
    def load_songs(self) -> None:
        """What new_songs asks for: the catalogue's staging and tables (songs re-matches)."""
        materialize_days(self.target, self.live, ("songs",), CATALOGUE_TABLES, EVERY_DAY)
        shutil.copytree(self.live / "song_data", self.loaded / "song_data", dirs_exist_ok=True)

    @precondition(lambda self: hasattr(self, "folder"))
    @invariant()
    def equals_a_clean_load_of_what_it_loaded(self) -> None:
        reference = f"duckdb:///{tempfile.mkdtemp(dir=self.folder)}/clean.duckdb"
        if not any((self.loaded / "log_data").rglob("*.json")):  # a full refresh dropped them
            every_table = (*CATALOGUE_TABLES, *STAR_BY_DAY)
            materialize_days(reference, self.loaded, ("songs",), every_table, EVERY_DAY)
            assert contents(self.target, self.live) == contents(reference, self.loaded)
            return
        sparkify_dagster.etl(
            song_data=str(self.loaded / "song_data"),
            log_data=str(self.loaded / "log_data"),
            target=reference,
            max_errors=10**6,
            checks=False,
        )
        assert contents(self.target, self.live) == contents(reference, self.loaded)


def test_any_sequence_of_day_runs_equals_a_clean_load(target: str, tmp_path: Path) -> None:
    class Machine(Warehouse):
        pass

    Machine.target = target
    Machine.root = tmp_path
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=8,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
