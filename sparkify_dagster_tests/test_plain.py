"""Plain records typed by the engine mean exactly what the careful parser says they mean.

DuckDB types the plain records itself (ingest/plain.py) and leaves the rest to Python; a DuckDB
warehouse that parses everything in Python is the reference. Both must stage the same rows,
reject the same records with the same reasons, and count the same unknown fields.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sparkify_dagster.core.errors import SourceError
from sparkify_dagster.ingest import plain
from sparkify_dagster.ingest.generate import generate
from sparkify_dagster.ingest.plain import SHAPES, RawRecords
from sparkify_dagster.ingest.sources import LocalSource
from sparkify_dagster.warehouse.engines import DuckDBWarehouse, quote
from sparkify_dagster.warehouse.model import (
    LOAD_ERRORS,
    LOAD_MANIFEST,
    STAGING_EVENTS,
    STAGING_SONGS,
    TABLES,
)
from sparkify_dagster.warehouse.staging import StageReport, Staging, read_ahead, stage_sources


class PythonParsedDuckDB(DuckDBWarehouse):
    """DuckDB with every record parsed in Python, as on engines that cannot type JSON."""

    staging: ClassVar[Staging] = Staging()


Staged = tuple[list[tuple[Any, ...]], ...]


def staged(warehouse: DuckDBWarehouse) -> Staged:
    """The staging tables, the rejects and the manifest (without when they were written)."""
    written_at = {LOAD_ERRORS.name: "rejected_at", LOAD_MANIFEST.name: "loaded_at"}
    return tuple(
        sorted(
            warehouse.query(
                f"SELECT * EXCLUDE ({written_at[table.name]}) FROM {quote(table.name)}"
                if table.name in written_at
                else f"SELECT * FROM {quote(table.name)}"
            ),
            key=repr,
        )
        for table in (STAGING_SONGS, STAGING_EVENTS, LOAD_ERRORS, LOAD_MANIFEST)
    )


def stage_both(songs: list[bytes], events: list[bytes]) -> tuple[Staged, Staged]:
    """Stage the same files through the engine and through Python; what each staged."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "song_data" / "A").mkdir(parents=True)
        for index, data in enumerate(songs):
            (root / "song_data" / "A" / f"TR{index:04}.json").write_bytes(data)
        (root / "log_data").mkdir()
        (root / "log_data" / "2018-11-01-events.json").write_bytes(b"\n".join(events))
        results = []
        reports: list[StageReport] = []
        for engine in (DuckDBWarehouse, PythonParsedDuckDB):
            with engine(":memory:") as warehouse:
                warehouse.create_tables(TABLES)
                sources = {
                    "songs": LocalSource(root / "song_data"),
                    "events": LocalSource(root / "log_data"),
                }
                report = stage_sources(warehouse, sources, max_errors=10**6)
                reports.append(report)
                results.append(staged(warehouse))
    engine_report, python_report = reports
    for ours, theirs in zip(engine_report.sources, python_report.sources, strict=True):
        assert (ours.records, ours.staged, ours.rejected) == (
            theirs.records,
            theirs.staged,
            theirs.rejected,
        )
        assert ours.unknown_fields == theirs.unknown_fields
    return results[0], results[1]


EVENT_KEYS = [field.key for field in SHAPES["events"].fields]
SONG_KEYS = [field.key for field in SHAPES["songs"].fields]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(-1e20, 1e20).map(lambda number: float(int(number)))
    | st.text(max_size=12)
    | st.integers(-(2**64), 2**64).map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.sampled_from(["", " 7", "+7", "1e3", "1_0", "0x10", "007", "-0", "nan", "٣"])
)
values = scalars | st.lists(scalars, max_size=2) | st.dictionaries(st.text(max_size=3), scalars)


def records(keys: list[str]) -> st.SearchStrategy[str]:
    """JSON objects over ``keys`` (mostly in order), with quirks and breakage sprinkled in."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        chosen = [key for key in keys if draw(st.booleans()) or key in ("ts", "song_id")]
        if draw(st.integers(0, 9)) == 0:
            chosen = draw(st.permutations(chosen))
        members = [(key, draw(values)) for key in chosen]
        if draw(st.integers(0, 9)) == 0:
            members.append((draw(st.sampled_from([*keys, "extra"])), draw(values)))
        separator = draw(st.sampled_from([",", ", ", " ,", ",\t"]))
        colon = draw(st.sampled_from([":", ": ", " :"]))
        ascii_only = draw(st.booleans())
        body = separator.join(
            json.dumps(key) + colon + json.dumps(value, ensure_ascii=ascii_only)
            for key, value in members
        )
        text = "{" + body + "}"
        breakage = draw(st.integers(0, 14))
        if breakage == 0:
            text = text[:-1] + ",}"
        elif breakage == 1:
            text = text.replace("null", "NaN", 1)
        elif breakage == 2:
            text = text[: draw(st.integers(0, len(text)))]
        elif breakage == 3:
            text = " " + text + "\r"
        elif breakage == 4:
            text = text.replace('"', '"\\u0000', 1)
        return text

    return build()


event_lines = records(EVENT_KEYS).map(str.encode) | st.binary(max_size=40)
song_files = records(SONG_KEYS).map(str.encode) | st.binary(max_size=40)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(songs=st.lists(song_files, min_size=1, max_size=4), events=st.lists(event_lines, max_size=8))
@example(
    songs=[b'{"song_id": "S1", "year": 2000.0, "duration": "1.5e2"}', b'{"song_id":"S2"}\n{}'],
    events=[
        b'{"ts":1541105830796,"userId":"","registration":1540919166796.0,"length":null}',
        b'{"ts":1,"page":"Home",}',
        b'{"ts":1,"ts":2}',
        b'{"page":"a","ts":1,"artist":"b"}',
        b'{"ts":1,"length":NaN}',
        b'{"ts":1,"song":"\\ud83c\\udfb5"}',
        b'{"ts":1,"song":"a\\u0000b"}',
        b'{"ts":1,"userId":99999999999999999999}',
        b'{"ts":1,"status":1e2}',
        b'{"ts":1,"extra":true}',
        b'{"ts" :1}',
        b"",
        b"  ",
        b'{"ts":1,"auth":"\xff"}',
    ],
)
@example(  # what only a lenient reader takes, and lines an attacker would write
    songs=[b'\xef\xbb\xbf{"song_id":"S1"}\r\n', b"[]", b'{"song_id":"S1",}', b"\n\n"],
    events=[
        b'{"ts":1 , }\r',
        b'{"ts":1,"length":Infinity}',
        b'{"ts":1,"length":-inf}',
        b'{"ts":1,"length":1e400}',
        b'{"ts":1,"page":["a",]}',
        b'{"ts":1,"t\\u0073":2}',
        b'{"ts":1,"userAgent":"a\\":","ts":2}',
        b'{"ts":253370764800000}',
        b'{"ts":"007","userId":" 7"}',
        b'{"ts":"1e3","status":"0x10"}',
        b'{"ts":1,"sessionId":9223372036854775808}',
        b'\xef\xbb\xbf{"ts":1}',
        b"\x0c",
        b'{"ts":1}\r\r',
        b'{"ts":1}{"ts":2}',
        b"[1]",
        b'{"ts":1,"page":"' + b"a" * 9000 + b'"}',  # over LARGE_RECORD: Python's to type
        b'{"ts":1,"page":"' + b"a" * 9000 + b'",}',
        b'{"ts":1}',  # the last line, without a line break
    ],
)
def test_the_engine_stages_what_python_would(songs: list[bytes], events: list[bytes]) -> None:
    ours, python = stage_both(songs, events)
    assert ours == python


@given(
    data=st.lists(st.sampled_from([b"a", b"{}", b"\n", b"\r\n", b"xyz"]), max_size=30).map(
        b"".join
    ),
    slice_bytes=st.integers(1, 9),
)
def test_log_files_split_into_their_lines_whatever_the_search_slice(
    data: bytes, slice_bytes: int
) -> None:
    with patch.object(plain, "SPLIT_SLICE", slice_bytes):
        records = RawRecords()
        records.add("events", "day.json", data)
    lines = data.splitlines(keepends=True) if data else []
    assert records.count == len(lines)
    assert [records.record(position) for position in range(records.count)] == [
        (0, number, line.removesuffix(b"\n")) for number, line in enumerate(lines, start=1)
    ]


def test_generated_records_are_all_plain(tmp_path: Path) -> None:
    """The published layout is plain: the engine types every record, Python none."""
    generate(tmp_path, songs=50, events=400, seed=3)
    with DuckDBWarehouse(":memory:") as warehouse:
        warehouse.create_tables(TABLES)
        for kind, table, folder in (
            ("songs", STAGING_SONGS, "song_data"),
            ("events", STAGING_EVENTS, "log_data"),
        ):
            raw = RawRecords()
            source = LocalSource(tmp_path / folder)
            for file, data in source.contents(source.files()):
                raw.add(kind, file.uri, data)
            assert warehouse.load_plain(table, SHAPES[kind], raw.table().to_batches()) == raw.count
            assert warehouse.plain_left(SHAPES[kind], raw.table()) == []


def test_a_repeated_key_is_refused_alike_by_the_engine_and_by_python() -> None:
    """DuckDB's reader keeps a repeated key's first value, Python's the last: the pattern keeps
    such records from the engine, and Python refuses them, naming the key."""
    with DuckDBWarehouse(":memory:") as warehouse:
        first = warehouse.query("""SELECT from_json('{"ts":1,"ts":2}', '{"ts":"BIGINT"}').ts""")
    assert first == [(1,)]
    events = [
        b'{"ts":1,"page":"Home"}',
        b'{"ts":1,"ts":2}',
        b'{"ts":1,"page":"Home","page":"NextSong"}',
        b'{"ts":1, "page":"a","p\\u0061ge":"b"}',
        b'{"ts":1,"userAgent":"rv:1","userAgent":"rv:2"}',
        b'{"ts":1,"x":{"ts":2},"x":[{"ts":3}]}',  # only the model's keys, only at the top
    ]
    songs = [b'{\n  "song_id": "S1",\n  "year": 1,\n  "year": 2\n}']
    ours, python = stage_both(songs, events)
    assert ours == python
    _, _, load_errors, _ = ours
    assert sorted((row[1] or 0, row[3]) for row in load_errors) == [
        (0, "year is given 2 times, expected once"),  # the one song of its file
        (2, "ts is given 2 times, expected once"),
        (3, "page is given 2 times, expected once"),
        (4, "page is given 2 times, expected once"),
        (5, "userAgent is given 2 times, expected once"),
    ]


@pytest.mark.parametrize(
    ("record", "plain"),
    [
        (b'{"ts":1}', True),
        (b' { "ts" : 1 } ', False),  # whitespace before a colon: Python's
        (b'{ "ts": 1 }\r\n', True),
        (b'{"ts":1,"userId":""}', True),
        (b'{"ts":1,"userId":"42"}', True),
        (b'{"registration":1540919166796.0,"ts":1}', True),
        (b'{"registration":1540919166796.5,"ts":1}', False),
        (b'{"registration":-1,"ts":1}', False),  # epoch milliseconds are not negative
        (b'{"sessionId":123456789012345678,"ts":1}', True),
        (b'{"sessionId":1234567890123456789,"ts":1}', False),  # 19 digits: Python checks range
        (b'{"length":1.5e300,"ts":1}', False),  # 3-digit exponent
        (b'{"length":"2.5","ts":1}', True),
        (b'{"page":"\\u00e9\\/","ts":1}', True),
        (b'{"page":"\\ud83c\\udfb5","ts":1}', False),  # surrogates: Python's
        (b'{"ts":null}', False),
        (b'{"userId":"1"}', False),  # ts is required
        (b'{"ts":1,}', False),
        (b'{"ts":1,"ts":2}', False),
        (b'{"userId":"1","ts":1}', False),  # out of order
        (b"[1]", False),
    ],
)
def test_what_is_plain(record: bytes, plain: bool) -> None:
    raw = RawRecords()
    raw.add("events", "x.json", record)
    with DuckDBWarehouse(":memory:") as warehouse:
        warehouse.create_tables([STAGING_EVENTS])
        inserted = warehouse.load_plain(STAGING_EVENTS, SHAPES["events"], raw.table().to_batches())
        left = warehouse.plain_left(SHAPES["events"], raw.table())
    assert (inserted == 1, left == []) == (plain, plain)


def test_read_ahead_hands_over_items_in_order_and_raises_the_producers_error() -> None:
    def items() -> Iterator[int]:
        yield from range(5)
        raise ValueError("broken source")

    seen = []
    with pytest.raises(ValueError, match="broken source"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_read_ahead_produces_one_item_ahead_of_the_consumer_at_most() -> None:
    produced = []

    def items() -> Iterator[int]:
        for number in range(6):
            produced.append(number)
            yield number

    for taken, item in enumerate(read_ahead(items()), start=1):
        time.sleep(0.1)  # a slow consumer: the producer has all the time it wants
        assert item == taken - 1
        assert len(produced) <= taken + 1  # the item being consumed and the next one


def test_read_ahead_stops_its_producer_when_the_consumer_stops() -> None:
    produced = []

    def items() -> Iterator[int]:
        for number in range(1000):
            produced.append(number)
            yield number

    for item in read_ahead(items()):
        if item == 2:
            break
    assert len(produced) < 10
    assert not any(thread.name == "sparkify-read-ahead" for thread in threading.enumerate())


def test_read_ahead_does_not_hang_when_the_consumer_stops_with_items_queued() -> None:
    closed = []

    def items() -> Iterator[int]:
        try:
            yield from range(2)
        finally:
            closed.append(True)

    for _ in read_ahead(items()):
        time.sleep(0.3)  # meanwhile the producer has queued item 1 and offers the end
        break
    assert closed == [True]


class Rewritten(LocalSource):
    """A folder whose one file is rewritten right after it was first read."""

    def __init__(self, location: Path, rewrite: bytes) -> None:
        super().__init__(location)
        self.rewrite = rewrite
        self.reads = 0

    def contents(self, files: Any) -> Iterator[tuple[Any, bytes]]:
        for file, data in super().contents(files):
            self.reads += 1
            yield file, (data if self.reads == 1 else self.rewrite)


class Unreadable(LocalSource):
    def contents(self, files: Any) -> Iterator[tuple[Any, bytes]]:
        raise SourceError("cannot read day.json: Permission denied")
        yield from ()  # pragma: no cover


def test_a_file_rewritten_between_the_engine_s_pass_and_python_s_fails_the_load(
    tmp_path: Path,
) -> None:
    """Python reads again the files that hold a record the engine left; if one changed in
    between, its rows would not be one version of it."""
    (tmp_path / "2018-11-01-events.json").write_bytes(
        b'{"ts":1}\n{"ts":2,"extra":true}'
    )  # one left
    source = Rewritten(tmp_path, b'{"ts":3}\n{"ts":4,"extra":true}')
    with DuckDBWarehouse(":memory:") as warehouse:
        warehouse.create_tables(TABLES)
        with pytest.raises(
            SourceError, match=r"2018-11-01-events\.json changed while it was being loaded"
        ):
            stage_sources(warehouse, {"events": source}, max_errors=10)
    assert source.reads == 2


def test_a_source_s_error_during_the_engine_s_pass_is_raised_as_itself(tmp_path: Path) -> None:
    (tmp_path / "2018-11-01-events.json").write_bytes(b'{"ts":1}')
    with DuckDBWarehouse(":memory:") as warehouse:
        warehouse.create_tables(TABLES)
        with pytest.raises(SourceError, match=r"cannot read day\.json: Permission denied"):
            stage_sources(warehouse, {"events": Unreadable(tmp_path)})
