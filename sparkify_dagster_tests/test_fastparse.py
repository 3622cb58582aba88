"""The fast path never changes what a record means: same row, or it steps aside."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from sparkify_dagster.ingest import parse
from sparkify_dagster.ingest.fastparse import TEXT, record_decoder

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["", " ", "7", " 42 ", "1e3", "2.5", "-0", "abc", "1541105830796"]),
    st.lists(st.integers(), max_size=2),
)


GOOD: dict[Any, st.SearchStrategy[Any]] = {
    parse.as_text: st.none() | st.text(max_size=8),
    parse.as_double: st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
    parse.as_int: st.none() | st.integers(-(2**31), 2**31 - 1),
    parse.as_bigint: st.none() | st.integers(-(2**63), 2**63 - 1),
    parse.as_epoch_ms: st.integers(0, 2**63 - 1),
}


def records(fields: tuple[parse.Field, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly well-typed records with, now and then, an odd value, a gap or an extra key."""
    usual = st.fixed_dictionaries({field.key: GOOD[field.convert] for field in fields})
    odd = st.dictionaries(st.sampled_from([field.key for field in fields] + ["extra"]), values)
    return st.builds(lambda base, changes: {**base, **changes}, usual, odd)


def careful(data: bytes, fields: tuple[parse.Field, ...]) -> Any:
    try:
        return parse._typed(parse._decode(data), fields)
    except ValueError:
        return None


@settings(max_examples=400, deadline=None)
@given(records(parse.EVENT_FIELDS))
def test_fast_event_agrees_with_the_careful_path(record: dict[str, Any]) -> None:
    data = json.dumps(record).encode()
    fast = parse._fast_event(data)
    event("fast path" if fast is not None else "careful path")
    if fast is not None:
        assert fast == careful(data, parse.EVENT_FIELDS)
        assert [type(value) for value in fast] == [
            type(value) for value in careful(data, parse.EVENT_FIELDS)
        ]


@settings(max_examples=400, deadline=None)
@given(records(parse.SONG_FIELDS))
def test_fast_song_agrees_with_the_careful_path(record: dict[str, Any]) -> None:
    data = json.dumps(record).encode()
    fast = parse._fast_song(data)
    if fast is not None:
        assert fast == careful(data, parse.SONG_FIELDS)


@given(st.binary(max_size=64))
def test_fast_path_steps_aside_on_any_bytes_it_cannot_read(data: bytes) -> None:
    fast = parse._fast_event(data)
    if fast is not None:
        assert fast == careful(data, parse.EVENT_FIELDS)


def test_typical_records_take_the_fast_path() -> None:
    line = (
        b'{"artist":"Des\'ree","auth":"Logged In","firstName":"Kaylee","gender":"F",'
        b'"itemInSession":1,"lastName":"Summers","length":246.30812,"level":"free",'
        b'"location":"Phoenix-Mesa-Scottsdale, AZ","method":"PUT","page":"NextSong",'
        b'"registration":1540344794796.0,"sessionId":139,"song":"You Gotta Be","status":200,'
        b'"ts":1541106106796,"userAgent":"Mozilla\\/5.0","userId":"8"}'
    )
    row = parse._fast_event(line)
    assert row == careful(line, parse.EVENT_FIELDS)
    assert row is not None and row[11] == 1540344794796 and row[-1] == 8
    assert parse._fast_event(b'{"ts": null}') is None  # required: the careful path explains
    assert parse._fast_event(b'{"ts": 1, "userId": "x"}') is None


def test_a_converter_the_fast_path_does_not_know_is_always_called() -> None:
    def shout(value: Any) -> str:
        return str(value).upper()

    fields = (parse.Field("a", shout), parse.Field("b", parse.as_text))
    decode = record_decoder(fields, {parse.as_text: TEXT}, "Shout")
    assert decode(b'{"a": null, "b": "x"}') == ("NONE", "x")
    assert decode(b'{"a": [1], "b": 2}') is None
