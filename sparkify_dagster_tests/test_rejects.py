"""Bad input: every record ends staged or rejected with a reason; nothing is dropped."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sparkify_dagster
from sparkify_dagster.warehouse.staging import TooManyRejects
from sparkify_dagster_tests.helpers import event, song, write_events, write_songs

T0 = 1541105830796
DAY = "log_data/2018/11/2018-11-01-events.json"


def load(dataset: Path, target: str, **options: object) -> sparkify_dagster.RunResult:
    return sparkify_dagster.etl(
        song_data=str(dataset / "song_data"),
        log_data=str(dataset / "log_data"),
        target=target,
        rejects_file=dataset.parent / "rejects.jsonl",
        **options,  # type: ignore[arg-type]
    )


def rejects(target: str) -> list[tuple[object, ...]]:
    with sparkify_dagster.connect(target) as warehouse:
        return warehouse.query(
            "SELECT source_file, source_line, kind, reason, raw_text FROM load_errors "
            "ORDER BY source_file, source_line"
        )


def one_song(dataset: Path) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])


def line(record: object) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()


GOOD = line(event(T0))


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b'{"ts": 1541105830796, "page": "Ho', "invalid JSON: unexpected end of data"),
        (b"[1, 2, 3]", "expected a JSON object, found [1,2,3]"),
        (b'"just text"', 'expected a JSON object, found "just text"'),
        (b'{"page": "Home"}', "ts is missing, it is required"),
        (b'{"ts": null, "page": "Home"}', "ts is null, it is required"),
        (b'{"ts": "abc"}', 'ts is "abc", expected epoch milliseconds'),
        (b'{"ts": 1541105830796, "itemInSession": "x"}', 'itemInSession is "x", expected a 32-bit'),
        (b'{"ts": 1541105830796, "length": "long"}', 'length is "long", expected a number'),
        (b'{"ts": 1541105830796, "userId": 3.5}', "userId is 3.5, expected a 64-bit integer"),
        (b'{"ts": 1541105830796, "page": 7}', "page is 7, expected a string"),
        (b'{"ts": 1541105830796, "artist": "\xff\xfe"}', "not valid UTF-8"),
    ],
)
def test_rejected_event_lines(dataset: Path, target: str, bad: bytes, reason: str) -> None:
    one_song(dataset)
    path = dataset / DAY
    path.parent.mkdir(parents=True)
    path.write_bytes(GOOD + b"\n" + bad + b"\n" + GOOD)
    result = load(dataset, target, max_errors=1)
    assert result.counts["staging_events"] == 2
    ((source, source_line, kind, why, raw),) = rejects(target)
    assert (source, source_line, kind) == (str(path), 2, "events")
    assert why.startswith(reason)
    assert raw == bad.decode("utf-8", errors="replace")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"num_songs": 1, "song_id": "SOX", "title": "Tru', "invalid JSON"),
        (b'{"num_songs": 1, "title": "No id"}', "song_id is missing, it is required"),
        (b'{"song_id": "SOX", "duration": "long"}', 'duration is "long", expected a number'),
        (b'{"song_id": "SOX", "year": "MCMLXIX"}', 'year is "MCMLXIX", expected a 32-bit'),
        (b"[]", "expected a JSON object, found []"),
    ],
)
def test_rejected_song_files(dataset: Path, target: str, content: bytes, reason: str) -> None:
    one_song(dataset)
    bad = dataset / "song_data" / "A" / "B" / "TRBAD.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(content)
    write_events(dataset / DAY, [event(T0)])
    result = load(dataset, target, max_errors=1)
    assert result.counts["staging_songs"] == 1
    ((source, source_line, kind, why, _),) = rejects(target)
    assert (source, source_line, kind) == (str(bad), None, "songs")
    assert why.startswith(reason)


def test_accepted_quirks(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    pretty = dataset / "song_data" / "A" / "P" / "TRPRETTY.json"
    pretty.parent.mkdir(parents=True)
    record = song("SOPPP", "Pretty", "ARP", "Printed", 2.25, year="1999", shiny=True)
    pretty.write_text(json.dumps(record, indent=4) + "\n")
    empty = dataset / "song_data" / "A" / "P" / "TREMPTY.json"
    empty.write_bytes(b"")  # not a quirk: a song lost, counted as a reject
    packed = dataset / "song_data" / "A" / "P" / "TRGZIP.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(song("SOGGG", "G", "ARG", "Gz", 3.0)).encode()))

    logs = dataset / "log_data" / "2018" / "11"
    logs.mkdir(parents=True)
    numeric = event(T0 + 1, itemInSession="3", length="246.30812", sessionId="38", status="200")
    (logs / "2018-11-01-events.json").write_bytes(
        b"\xef\xbb\xbf" + line(event(T0)) + b"\r\n" + line(numeric) + b"\r\n"
    )
    (logs / "2018-11-02-events.json").write_bytes(b"")
    (logs / "2018-11-03-events.json.gz").write_bytes(
        gzip.compress(line(event(T0 + 2, mood="happy")) + b"\n\n" + line(event(T0 + 3)))
    )
    result = load(dataset, target, max_errors=1)
    assert [str(reject) for reject in result.stage.rejects] == [
        f"{empty}: song file is empty: a song file holds one JSON object"
    ]
    assert result.counts["staging_songs"] == 3
    assert result.counts["staging_events"] == 4
    songs, events = result.stage.sources
    assert songs.unknown_fields == {"shiny": 1}
    assert events.unknown_fields == {"mood": 1}
    with sparkify_dagster.connect(target) as warehouse:
        assert warehouse.query("SELECT year FROM staging_songs WHERE song_id = 'SOPPP'") == [
            (1999,)
        ]
        assert warehouse.query(
            "SELECT item_in_session, length, session_id, status FROM staging_events "
            f"WHERE ts = {warehouse.dialect.placeholder}",
            [T0 + 1],
        ) == [(3, 246.30812, 38, 200)]


def test_too_many_rejects_leave_the_warehouse_as_it_was(dataset: Path, target: str) -> None:
    one_song(dataset)
    write_events(dataset / DAY, [event(T0)])
    before = load(dataset, target).counts
    path = dataset / "log_data/2018/11/2018-11-02-events.json"
    path.write_bytes(GOOD + b"\n{oops\n" + GOOD + b'\n{"ts": -5}')
    with pytest.raises(TooManyRejects) as caught:
        load(dataset, target, max_errors=1)
    assert [(r.line, r.reason.split(":")[0]) for r in caught.value.rejects] == [
        (2, "invalid JSON"),
        (4, "ts is -5, expected epoch milliseconds from 1970-01-01 to 9998-12-31"),
    ]
    assert sparkify_dagster.analyze(target) == before
    written = (dataset.parent / "rejects.jsonl").read_text().splitlines()
    assert [json.loads(row)["line"] for row in written] == [2, 4]

    result = load(dataset, target, max_errors=2)
    assert result.counts["staging_events"] == before["staging_events"] + 2
    assert result.counts["load_errors"] == 2


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_end_staged_or_rejected(tmp_path: Path, content: bytes) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    write_songs(folder / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    path = folder / DAY
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    (folder / "song_data" / "A" / "X.json").write_bytes(content)
    target = f"duckdb:///{folder / 'w.duckdb'}"
    result = sparkify_dagster.etl(
        song_data=str(folder / "song_data"),
        log_data=str(folder / "log_data"),
        target=target,
        max_errors=10_000,
        checks=False,
    )
    for report in result.stage.sources:
        assert report.records == report.staged + report.rejected
    body = content.removeprefix(b"\xef\xbb\xbf")
    lines = [part for part in body.split(b"\n") if part.removesuffix(b"\r").strip()]
    assert result.stage.sources[1].records == len(lines)


def test_a_broken_gzip_file_is_one_reject(dataset: Path, target: str) -> None:
    one_song(dataset)
    write_events(dataset / DAY, [event(T0)])
    broken = dataset / "log_data/2018/11/2018-11-02-events.json.gz"
    broken.write_bytes(gzip.compress(GOOD)[:-6])
    result = load(dataset, target, max_errors=1)
    assert result.counts["staging_events"] == 1
    ((source, source_line, kind, reason, _),) = rejects(target)
    assert (source, source_line, kind) == (str(broken), None, "events")
    assert reason.startswith("not a valid gzip file")
