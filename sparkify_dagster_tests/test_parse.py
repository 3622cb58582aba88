"""The parser: valid records round-trip exactly; anything else is rejected with a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkify_dagster.core.epoch import EPOCH_MS_RANGE
from sparkify_dagster.core.errors import RecordError
from sparkify_dagster.ingest.parse import (
    EVENT_FIELDS,
    SONG_FIELDS,
    Rejected,
    event_results,
    parse_event,
    song_results,
)
from sparkify_dagster.warehouse.model import (
    LINEAGE_COLUMNS,
    STAGING_TABLE_OF_KIND,
    source_columns,
)
from sparkify_dagster.warehouse.staging.careful import PARSER_KEYS

no_nul = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
texts = st.none() | st.text(no_nul, max_size=40)
int32 = st.none() | st.integers(-(2**31), 2**31 - 1)
int64 = st.none() | st.integers(-(2**63), 2**63 - 1)
doubles = st.none() | st.floats(allow_nan=False, allow_infinity=False)
epoch_ms = st.integers(*EPOCH_MS_RANGE)

EVENTS = st.fixed_dictionaries(
    {
        "artist": texts, "auth": texts, "firstName": texts, "gender": texts,
        "itemInSession": int32, "lastName": texts, "length": doubles, "level": texts,
        "location": texts, "method": texts, "page": texts,
        "registration": st.none() | epoch_ms.map(float), "sessionId": int64, "song": texts,
        "status": int32, "ts": epoch_ms, "userAgent": texts,
        "userId": st.just("") | st.integers(0, 2**62).map(str),
    }
)  # fmt: skip
SONGS = st.fixed_dictionaries(
    {
        "num_songs": int32, "artist_id": texts, "artist_latitude": doubles,
        "artist_longitude": doubles, "artist_location": texts, "artist_name": texts,
        "song_id": st.text(no_nul, min_size=1, max_size=18), "title": texts, "duration": doubles,
        "year": int32,
    }
)  # fmt: skip


def expected(record: dict[str, Any], fields: Any) -> tuple[Any, ...]:
    values = []
    for field in fields:
        value = record[field.key]
        if field.key == "userId":
            value = int(value) if value else None
        elif field.key == "registration" and value is not None:
            value = int(value)
        elif isinstance(value, int) and field.key in ("length",):
            value = float(value)
        values.append(value)
    return tuple(values)


@given(EVENTS, st.booleans())
def test_valid_events_round_trip(record: dict[str, Any], escaped: bool) -> None:
    text = json.dumps(record, ensure_ascii=escaped)
    if escaped:
        text = text.replace("/", "\\/")
    assert parse_event(text.encode(), "x.json", 1) == expected(record, EVENT_FIELDS)


@given(SONGS, st.sampled_from([None, 2, 4]))
def test_valid_songs_round_trip(record: dict[str, Any], indent: int | None) -> None:
    data = json.dumps(record, indent=indent).encode()
    assert list(song_results(data, "s.json")) == [(None, expected(record, SONG_FIELDS))]


@given(st.binary(max_size=400))
def test_arbitrary_lines_are_rows_or_reasons(data: bytes) -> None:
    for result in event_results(data, "x.json"):
        if isinstance(result, Rejected):
            assert result.reason and result.line is not None
        else:
            assert len(result[1]) == len(EVENT_FIELDS)


@given(st.binary(max_size=400))
def test_arbitrary_song_files_are_rows_or_reasons(data: bytes) -> None:
    for result in song_results(data, "s.json"):
        if isinstance(result, Rejected):
            assert result.reason
        else:
            assert len(result[1]) == len(SONG_FIELDS)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("38", 38), (" 38 ", 38), ("38.0", 38), (38.0, 38), ("", None), (None, None)],
)
def test_numeric_strings_are_numbers(value: object, parsed: int | None) -> None:
    line = json.dumps({"ts": 1, "sessionId": value}).encode()
    assert parse_event(line, "x.json", 1)[12] == parsed


def test_published_line_with_escapes() -> None:
    line = (
        b'{"artist":"Des\'ree","auth":"Logged In","firstName":"Kaylee","gender":"F",'
        b'"itemInSession":1,"lastName":"Summers","length":246.30812,"level":"free",'
        b'"location":"Phoenix-Mesa-Scottsdale, AZ","method":"PUT","page":"NextSong",'
        b'"registration":1540344794796.0,"sessionId":139,"song":"You Gotta Be","status":200,'
        b'"ts":1541106106796,"userAgent":"Mozilla\\/5.0 (Windows NT 6.1; WOW64)","userId":"8"}'
    )
    row = parse_event(line, "x.json", 1)
    assert row == (
        "Des'ree", "Logged In", "Kaylee", "F", 1, "Summers", 246.30812, "free",
        "Phoenix-Mesa-Scottsdale, AZ", "PUT", "NextSong", 1540344794796, 139, "You Gotta Be",
        200, 1541106106796, "Mozilla/5.0 (Windows NT 6.1; WOW64)", 8,
    )  # fmt: skip


def test_error_names_source_line_and_reason() -> None:
    with pytest.raises(RecordError) as caught:
        parse_event(b'{"ts": 1.5}', "log_data/2018/11/x.json", 17)
    assert (
        str(caught.value)
        == "log_data/2018/11/x.json line 17: ts is 1.5, expected epoch milliseconds"
    )


def test_ndjson_song_file_is_read_line_by_line() -> None:
    data = b'{"song_id": "SOA"}\n{"song_id": "SOB"}\n{"title": "no id"}'
    results = list(song_results(data, "s.json"))
    assert [r[0] for r in results[:2]] == [1, 2]  # type: ignore[index]
    assert results[2] == Rejected(3, "song_id is missing, it is required", b'{"title": "no id"}')


def test_the_parsers_fill_the_staging_columns_in_their_order() -> None:
    for kind, keys in PARSER_KEYS.items():
        staging = STAGING_TABLE_OF_KIND[kind]
        columns = [column.name for column in source_columns(staging, keys)]
        assert columns == [name for name in staging.column_names if name not in LINEAGE_COLUMNS]
    keys = PARSER_KEYS["events"]
    with pytest.raises(ValueError, match="not the source keys of staging_events"):
        source_columns(STAGING_TABLE_OF_KIND["events"], (keys[1], keys[0], *keys[2:]))
