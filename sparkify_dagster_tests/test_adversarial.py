"""Bad input as an adversary would bring it: one row per case, the input and what must happen.

Every case starts from a small good dataset (one song, one day of events), spoils it in one way,
and loads it with the library on each engine. What must happen is one of:

- ``loads``: the load succeeds and nothing is rejected;
- ``rejects N: text``: the load succeeds with ``max_errors`` N, rejecting exactly N records, the
  first of which says ``text`` (and with ``max_errors`` N - 1 it fails and changes nothing);
- ``fails: text``: the load fails with a :class:`SparkifyError` whose message says ``text``
  (never a raw ``OSError`` or ``UnicodeError``) and changes nothing.

To add a case, add a row to :data:`CASES`.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import sparkify_dagster
from sparkify_dagster.core.errors import SparkifyError
from sparkify_dagster.ingest.sources import LocalSource
from sparkify_dagster.warehouse.model import TABLES
from sparkify_dagster.warehouse.staging import TooManyRejects
from sparkify_dagster.warehouse.staging.careful import RECORD_LIMIT
from sparkify_dagster_tests.helpers import event, song, write_events, write_songs

DAY = "log_data/2018/11/2018-11-01-events.json"
T0 = 1541105830796
NOBODY = 65534
MB = 1_000_000


@dataclass(frozen=True)
class Case:
    name: str
    spoil: Callable[[Path], object]  # given the dataset folder
    outcome: str

    def __str__(self) -> str:
        return self.name


def _append_line(line: str) -> Callable[[Path], None]:
    def spoil(data: Path) -> None:
        path = data / DAY
        path.write_text(path.read_text() + "\n" + line)

    return spoil


def _symlink(relative: str, to: str) -> Callable[[Path], None]:
    def spoil(data: Path) -> None:
        link = data / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(to)

    return spoil


def _non_utf8_name(data: Path) -> None:
    folder = os.fsencode(data / "song_data" / "A" / "B")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, b"TR\xff\xfe.json"), "w") as handle:
        handle.write('{"song_id": "SOBAD"}')


def _large_events(count: int, size: int) -> Callable[[Path], None]:
    """``count`` more events, each a line of exactly ``size`` bytes (its userAgent fills it)."""

    def spoil(data: Path) -> None:
        with (data / DAY).open("a") as log:
            for number in range(count):
                line = json.dumps(event(T0 + 2 + number, userAgent=""), separators=(",", ":"))
                filler = size - len(line)
                log.write("\n" + line.replace('"userAgent":""', f'"userAgent":"{"x" * filler}"'))

    return spoil


YEAR_39996 = 1_200_000_000_000_000  # 39996-06-26, in epoch milliseconds
YEAR_9999 = 253_370_764_800_000  # 9999-01-01
SONG = "song_data/A/A/A/TRAAA.json"
EMPTY_SONG_FILE = "rejects 1: TRAAA.json: song file is empty: a song file holds one JSON object"


def _spoil_song(change: Callable[[str], str]) -> Callable[[Path], None]:
    def spoil(data: Path) -> None:
        path = data / SONG
        path.write_bytes(change(path.read_text()).encode())

    return spoil


def _large_song(size: int) -> Callable[[Path], None]:
    """One more song file of exactly ``size`` bytes (its title fills it)."""

    def spoil(data: Path) -> None:
        path = data / "song_data" / "A" / "B" / "I" / "TRBIG.json"
        path.parent.mkdir(parents=True)
        text = json.dumps(song("SOBIG", "", "ARBIG", "Big", 1.0))
        path.write_text(text.replace('"title": ""', f'"title": "{"x" * (size - len(text))}"'))

    return spoil


def _prefix_bom(data: Path) -> None:
    for path in (data / DAY, data / SONG):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


CASES = [
    Case("the good dataset", lambda data: None, "loads"),
    Case(
        "a line that is not JSON",
        _append_line("{not json"),
        "rejects 1: events.json:3: invalid JSON",
    ),
    Case(
        "a ts that is text",
        _append_line('{"ts": "abc", "userId": "7", "page": "NextSong"}'),
        "rejects 1: ts is",
    ),
    Case(
        "a log file that links to itself",
        _symlink("log_data/2018/11/2018-11-02-events.json", "2018-11-02-events.json"),
        "fails: 2018-11-02-events.json is a symbolic link that loops or leads to nothing",
    ),
    Case(
        "a song file that links to nothing",
        _symlink("song_data/A/B/C/TRGONE.json", "/nonexistent/TRGONE.json"),
        "fails: TRGONE.json is a symbolic link that loops or leads to nothing",
    ),
    Case(
        "a file name that is not UTF-8",
        _non_utf8_name,
        "fails: TR\\xff\\xfe.json is not valid UTF-8: rename it",
    ),
    # sizes and resources
    Case(
        "an event of 50 MB",
        _large_events(1, 50 * MB),
        "rejects 1: events.json:3: record is 50,000,000 bytes, over the 16 MiB a record may have",
    ),
    Case(
        "a song file of 50 MB",
        _large_song(50 * MB),
        "rejects 1: TRBIG.json: record is 50,000,000 bytes, over the 16 MiB a record may have",
    ),
    Case("an event of 16 MiB, the most a record may have", _large_events(1, RECORD_LIMIT), "loads"),
    Case("a song file of 16 MiB", _large_song(RECORD_LIMIT), "loads"),
    Case(
        "an event of one byte over 16 MiB",
        _large_events(1, RECORD_LIMIT + 1),
        "rejects 1: events.json:3: record is 16,777,217 bytes, over the 16 MiB a record may have",
    ),
    Case("three events of 15 MB", _large_events(3, 15 * MB), "loads"),
    Case("sixty events of 1 MB", _large_events(60, MB), "loads"),
    # records
    Case(
        "a ts of 2^63 - 1",
        _append_line('{"ts": 9223372036854775807, "userId": "7", "page": "NextSong"}'),
        "rejects 1: events.json:3: ts is 9223372036854775807, expected epoch milliseconds from "
        "1970-01-01 to 9998-12-31",
    ),
    Case(
        "a ts of 9.3e15, which DuckDB's timestamps cannot hold",
        _append_line('{"ts": 9300000000000000, "userId": "7", "page": "NextSong"}'),
        "rejects 1: ts is 9300000000000000, expected epoch milliseconds from 1970-01-01",
    ),
    Case(
        "a ts in year 39996, past a SMALLINT year",
        _append_line(f'{{"ts": {YEAR_39996}, "userId": "7", "page": "NextSong"}}'),
        f"rejects 1: ts is {YEAR_39996}, expected epoch milliseconds from 1970-01-01",
    ),
    Case(
        "a ts in year 9999, the last year of Python's dates",
        _append_line(f'{{"ts": {YEAR_9999}, "userId": "7", "page": "NextSong"}}'),
        f"rejects 1: ts is {YEAR_9999}, expected epoch milliseconds from 1970-01-01",
    ),
    Case(
        "a ts given as a string in year 9999",
        _append_line(f'{{"ts": "{YEAR_9999}", "userId": "7", "page": "NextSong"}}'),
        f'rejects 1: ts is "{YEAR_9999}", expected epoch milliseconds from 1970-01-01',
    ),
    Case(
        "a ts before 1970",
        _append_line('{"ts": -1, "userId": "7", "page": "NextSong"}'),
        "rejects 1: ts is -1, expected epoch milliseconds from 1970-01-01",
    ),
    Case(
        "the last millisecond of 9998",
        _append_line(f'{{"ts": {YEAR_9999 - 1}, "userId": "7", "page": "NextSong"}}'),
        "loads",
    ),
    Case(
        "a registration past year 9999",
        _append_line('{"ts": 1541105830800, "registration": 9.3e15, "page": "Home"}'),
        "rejects 1: registration is 9300000000000000.0, expected epoch milliseconds from "
        "1970-01-01",
    ),
    Case(
        "a byte-order mark at the start of a line inside a log file",
        _append_line('\ufeff{"ts": 1541105830800, "userId": "7", "page": "Home"}'),
        "rejects 1: events.json:3: a byte-order mark (EF BB BF) inside the file, at line 3: "
        "remove it",
    ),
    Case(
        "a byte-order mark after the record of a song file",
        _spoil_song(lambda text: text + "\ufeff"),
        "rejects 1: TRAAA.json: a byte-order mark (EF BB BF) inside the file, at line 1",
    ),
    Case(
        "a byte-order mark at the start of a log file and of a song file",
        _prefix_bom,
        "loads",
    ),
    Case(
        "a key given twice in an event",
        _append_line('{"ts": 1541105830800, "ts": 1541105830801, "page": "Home"}'),
        "rejects 1: events.json:3: ts is given 2 times, expected once",
    ),
    Case(
        "a key given twice in a song file",
        _spoil_song(lambda text: text[:-1] + ', "duration": 2.5}'),
        "rejects 1: TRAAA.json: duration is given 2 times, expected once",
    ),
    Case(
        "a key given twice, once escaped",
        _append_line('{"ts": 1541105830800, "page": "Home", "p\\u0061ge": "NextSong"}'),
        "rejects 1: page is given 2 times, expected once",
    ),
    Case(
        "an unknown key given twice",
        _append_line('{"ts": 1541105830800, "page": "Home", "x": 1, "x": 2}'),
        "loads",
    ),
    Case("an empty song file", _spoil_song(lambda text: ""), EMPTY_SONG_FILE),
    Case("a song file of whitespace", _spoil_song(lambda text: " \r\n\t\n"), EMPTY_SONG_FILE),
    Case("a song file of a byte-order mark", _spoil_song(lambda text: "\ufeff"), EMPTY_SONG_FILE),
]


def good_dataset(data: Path) -> None:
    write_songs(data / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(data / DAY, [event(T0, song="A", artist="Art", length=1.5), event(T0 + 1)])


def load(data: Path, target: str, max_errors: int) -> sparkify_dagster.RunResult:
    return sparkify_dagster.etl(
        song_data=str(data / "song_data"),
        log_data=str(data / "log_data"),
        target=target,
        max_errors=max_errors,
        rejects_file=data.parent / "rejects.jsonl",
    )


def rows_in(target: str) -> int:
    """Rows in every table the warehouse has of the model's."""
    with sparkify_dagster.connect(target) as warehouse:
        names = warehouse.table_names()
        return sum(warehouse.count(table) for table in TABLES if table.name in names)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_loaded_rejected_or_refused_with_its_reason(
    case: Case, dataset: Path, target: str
) -> None:
    good_dataset(dataset)
    case.spoil(dataset)
    kind, _, text = case.outcome.partition(": ")
    if kind == "loads":
        assert load(dataset, target, 0).stage.rejects == []
        return
    if kind == "fails":
        with pytest.raises(SparkifyError) as failed:
            load(dataset, target, 0)
        assert text in str(failed.value)
        assert rows_in(target) == 0
        return
    allowed = int(kind.removeprefix("rejects "))
    with pytest.raises(TooManyRejects):
        load(dataset, target, allowed - 1)
    assert rows_in(target) == 0
    result = load(dataset, target, allowed)
    assert len(result.stage.rejects) == allowed
    assert text in str(result.stage.rejects[0])


# -- a folder that cannot be read --------------------------------------------------------------


@contextlib.contextmanager
def world_readable_dataset() -> Iterator[Path]:
    """A dataset folder that another user can reach (pytest's own are private to this one)."""
    top = Path(tempfile.mkdtemp(prefix="sparkify-unreadable-"))
    top.chmod(0o755)
    try:
        yield top
    finally:
        for folder, _, _ in os.walk(top):
            Path(folder).chmod(0o755)
        shutil.rmtree(top, ignore_errors=True)


def list_as_another_user(location: Path) -> BaseException | None:
    """What listing ``location`` raises, listed by a user that the folder's mode keeps out: this
    one, or, for root (whom no mode keeps out), ``nobody`` in a forked child."""
    if os.geteuid() != 0:
        try:
            LocalSource(location).files()
        except BaseException as exc:
            return exc
        return None
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        outcome: BaseException | None = None
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            LocalSource(location).files()
        except BaseException as exc:
            outcome = exc
        os.write(write, pickle.dumps(outcome))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(child, 0)
    found: BaseException | None = pickle.loads(answer)
    return found


def test_an_unreadable_song_folder_fails_the_load_and_names_the_folder() -> None:
    with world_readable_dataset() as top:
        good_dataset(top)
        locked = top / "song_data" / "A" / "A"
        locked.chmod(stat.S_IRWXU)  # its owner only
        if os.geteuid() == 0:
            os.chown(locked, 0, 0)
        failure = list_as_another_user(top / "song_data")
    assert isinstance(failure, SparkifyError), failure
    assert f"cannot read the folder {locked}: Permission denied" in str(failure)


def test_a_deleted_raw_file_keeps_its_rows_until_a_full_refresh(dataset: Path, target: str) -> None:
    good_dataset(dataset)
    write_events(dataset / "log_data/2018/11/2018-11-02-events.json", [event(T0 + 86_400_000)])
    before = load(dataset, target, 0)
    (dataset / "log_data/2018/11/2018-11-02-events.json").unlink()
    after = load(dataset, target, 0)
    assert after.counts == before.counts and after.counts["staging_events"] == 3
    refreshed = sparkify_dagster.etl(
        song_data=str(dataset / "song_data"),
        log_data=str(dataset / "log_data"),
        target=target,
        full_refresh=True,
    )
    assert refreshed.counts["staging_events"] == 2


# -- a full disk -------------------------------------------------------------------------------

FULL_DISK_LOAD = """
import resource, signal, sys
import sparkify_dagster
from sparkify_dagster.core.errors import SparkifyError

limit, song_data, log_data, target = sys.argv[1:]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), hard))
try:
    sparkify_dagster.etl(song_data=song_data, log_data=log_data, target=target, checks=False)
except SparkifyError as exc:
    sys.exit(f"Error: {exc}")
"""


def load_on_a_full_disk(data: Path, target: str, limit: int) -> str:
    """What a load of ``data`` into ``target`` says when its files may not exceed ``limit``."""
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            FULL_DISK_LOAD,
            str(limit),
            str(data / "song_data"),
            str(data / "log_data"),
            target,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
        timeout=120,
    )
    assert child.returncode == 1, child.stdout + child.stderr
    return child.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("events", "limit", "written"),
    [(0, 8192, "warehouse.duckdb"), (2000, 65536, "warehouse.duckdb.wal")],
    ids=["while creating the file", "while committing the load"],
)
def test_a_full_disk_says_which_and_the_next_run_loads_everything(
    dataset: Path, duckdb_target: str, events: int, limit: int, written: str
) -> None:
    good_dataset(dataset)
    """DuckDB's file fills the disk while it is created, or its ``.wal`` when the load commits.

    The load runs in a child process whose files may not grow past ``limit`` bytes
    (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored, as Python ignores it anyway): every write beyond
    fails as on a full disk (``EFBIG`` instead of ``ENOSPC``). That needs neither root nor a small
    file system of its own (a tmpfs or loop device would need root), so it runs alike as root
    (CI) and as a normal user. The PostgreSQL server is another process, out of its reach.
    """
    day = [event(T0 + 86_400_000 + n) for n in range(events)]
    write_events(dataset / "log_data/2018/11/2018-11-02-events.json", day)
    path = duckdb_target.removeprefix("duckdb:///")
    said = load_on_a_full_disk(dataset, duckdb_target, limit)
    assert said == (
        f"Error: no space left on the disk holding {Path(path).parent / written} "
        "(File too large): free space, then run again"
    )
    assert load(dataset, duckdb_target, 0).counts["staging_events"] == 2 + events
