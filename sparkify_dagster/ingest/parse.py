"""Turn raw source bytes into typed staging rows, or say precisely why a record cannot be loaded.

These are pure functions: bytes in, tuples out, a
:class:`~sparkify_dagster.core.errors.RecordError` for a bad record. Every engine that loads through
Python (DuckDB, PostgreSQL) uses them, so a record means the same thing everywhere.

Accepted quirks of real files: a UTF-8 byte-order mark at the start of a file, CRLF line endings,
no final newline, pretty-printed song files, numbers given as numeric strings, ``\\/`` escapes,
unknown extra fields (ignored). ``userId`` ``""`` (a logged-out visitor) becomes NULL.

Refused, with the reason:

- an epoch-milliseconds value outside the model's range
  (:data:`~sparkify_dagster.core.epoch.EPOCH_MS_RANGE`, which every later step can carry);
- a byte-order mark inside a file;
- a field the model reads given twice in one record (JSON readers disagree on which one counts:
  DuckDB's keeps the first, Python's the last);
- an empty song file (a song file holds one song).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from sparkify_dagster.core.epoch import EPOCH_MS_RANGE, EPOCH_MS_RANGE_TEXT
from sparkify_dagster.core.errors import RecordError
from sparkify_dagster.ingest import fastparse

Row = tuple[Any, ...]
BOM = b"\xef\xbb\xbf"
EMPTY_SONG_FILE = "song file is empty: a song file holds one JSON object"
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def _show(value: Any) -> str:
    """A JSON rendering of ``value`` for messages, cut to a readable length."""
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        if "\x00" in value:  # PostgreSQL and Redshift cannot store it: refused everywhere
            raise ValueError("a string without NUL characters (\\u0000)")
        return value
    raise ValueError("a string")


def _integer(
    value: Any, bounds: tuple[int, int], what: str, within: str | None = None
) -> int | None:
    """``value`` as an integer in ``bounds``; ValueError(``what``), or (``within``) when it is an
    integer out of bounds."""
    if value is None:
        return None
    kind = type(value)
    if kind is int:
        number: int = value
    elif kind is float and value.is_integer():
        number = int(value)
    elif kind is str:
        text = value.strip()
        if text == "":
            return None
        try:
            number = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise ValueError(what) from None
            if not as_float.is_integer():
                raise ValueError(what) from None
            number = int(as_float)
    else:
        raise ValueError(what)
    if not bounds[0] <= number <= bounds[1]:
        raise ValueError(within or what)
    return number


def as_int(value: Any) -> int | None:
    return _integer(value, INT32, "a 32-bit integer")


def as_bigint(value: Any) -> int | None:
    return _integer(value, INT64, "a 64-bit integer")


def as_epoch_ms(value: Any) -> int | None:
    return _integer(
        value,
        EPOCH_MS_RANGE,
        "epoch milliseconds",
        f"epoch milliseconds from {EPOCH_MS_RANGE_TEXT}",
    )


def as_double(value: Any) -> float | None:
    if value is None:
        return None
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return float(value)
    if kind is str:
        if value.strip() == "":
            return None
        try:
            number = float(value)
        except ValueError:
            raise ValueError("a number") from None
        if math.isfinite(number):
            return number
    raise ValueError("a number")


Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    key: str  # the field's name in the source JSON
    convert: Converter
    required: bool = False


# Each field's key is the source_key of a staging column, in the table's column order
# (sparkify_dagster.warehouse.model; checked by its source_columns wherever rows are staged).
EVENT_FIELDS: tuple[Field, ...] = (
    Field("artist", as_text),
    Field("auth", as_text),
    Field("firstName", as_text),
    Field("gender", as_text),
    Field("itemInSession", as_int),
    Field("lastName", as_text),
    Field("length", as_double),
    Field("level", as_text),
    Field("location", as_text),
    Field("method", as_text),
    Field("page", as_text),
    Field("registration", as_epoch_ms),
    Field("sessionId", as_bigint),
    Field("song", as_text),
    Field("status", as_int),
    Field("ts", as_epoch_ms, required=True),
    Field("userAgent", as_text),
    Field("userId", as_bigint),
)

SONG_FIELDS: tuple[Field, ...] = (
    Field("num_songs", as_int),
    Field("artist_id", as_text),
    Field("artist_latitude", as_double),
    Field("artist_longitude", as_double),
    Field("artist_location", as_text),
    Field("artist_name", as_text),
    Field("song_id", as_text, required=True),
    Field("title", as_text),
    Field("duration", as_double),
    Field("year", as_int),
)

KNOWN_KEYS = {
    fields: frozenset(field.key for field in fields) for fields in (EVENT_FIELDS, SONG_FIELDS)
}

# What each converter accepts without question, for the paths that type plain records in bulk:
# the msgspec fast path (ingest/fastparse.py) and the engine's own JSON reader (ingest/plain.py).
# Both answer "not sure" for anything else, and the careful code below then decides, with the
# same messages.
KIND_OF_CONVERTER: dict[Converter, fastparse.Kind] = {
    as_text: fastparse.TEXT,
    as_double: fastparse.DOUBLE,
    as_int: fastparse.integer(*INT32),
    as_bigint: fastparse.integer(*INT64),
    as_epoch_ms: fastparse.integer(*EPOCH_MS_RANGE),
}
_fast_event = fastparse.record_decoder(EVENT_FIELDS, KIND_OF_CONVERTER, "Event")
_fast_song = fastparse.record_decoder(SONG_FIELDS, KIND_OF_CONVERTER, "Song")


def _typed(record: Any, fields: tuple[Field, ...], unknown: Counter[str] | None = None) -> Row:
    """``record`` (a decoded JSON value) as a tuple of typed values; ValueError says why not.

    Fields the model does not know are ignored, and counted by name in ``unknown`` if given.
    """
    if type(record) is not dict:
        raise ValueError(f"expected a JSON object, found {_show(record)}")
    if unknown is not None:
        extra = record.keys() - KNOWN_KEYS[fields]
        if extra:
            unknown.update(extra)
    row = []
    for field in fields:
        raw = record.get(field.key)
        if raw is None and field.required:
            state = "null" if field.key in record else "missing"
            raise ValueError(f"{field.key} is {state}, it is required")
        try:
            row.append(field.convert(raw))
        except ValueError as exc:
            raise ValueError(f"{field.key} is {_show(raw)}, expected {exc}") from None
    return tuple(row)


def _decode(data: bytes, line: int = 1) -> Any:
    """The JSON value of ``data``, which starts at ``line`` of its file; ValueError says why not."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if data.decode("utf-8", errors="replace")[exc.pos : exc.pos + 1] == "\ufeff":
            where = line + exc.lineno - 1
            raise ValueError(
                f"a byte-order mark (EF BB BF) inside the file, at line {where}: remove it"
            ) from None
        message = str(exc)
        if "utf-8" in message.lower():
            raise ValueError("not valid UTF-8") from None
        raise ValueError(f"invalid JSON: {message}") from None


def _record(data: bytes, fields: tuple[Field, ...], line: int = 1) -> Any:
    """:func:`_decode`, and :func:`_given_once`."""
    return _given_once(_decode(data, line), data, fields)


def _given_once(record: Any, data: bytes, fields: tuple[Field, ...]) -> Any:
    """``record``, decoded from ``data``; ValueError if ``data`` gives a field of ``fields`` twice.

    Decoders keep one of a repeated key's values (orjson the last, DuckDB's the first), so the
    bytes are read again for the keys, when :func:`fastparse.each_key_once` is not sure.
    """
    if type(record) is dict and not fastparse.each_key_once(data, len(record)):
        given = Counter(_top_level_keys(data))
        for field in fields:
            if given[field.key] > 1:
                raise ValueError(f"{field.key} is given {given[field.key]} times, expected once")
    return record


_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]:]', re.DOTALL)


def _top_level_keys(data: bytes) -> Iterator[str]:
    """The keys of the JSON object ``data`` (valid JSON), in order, repeated ones included.

    A scan rather than a second decoder: no recursion, however deep the values nest.
    """
    depth = 0
    previous = b""
    for match in _TOKEN.finditer(data):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
        elif token == b":" and depth == 1:
            key: str = orjson.loads(previous)
            yield key
        previous = token


def parse_event(
    line: bytes, source: str, line_number: int, unknown: Counter[str] | None = None
) -> Row:
    """One event line as a ``staging_events`` row (without the lineage columns).

    >>> parse_event(b'{"ts": 1541105830796, "userId": "", "page": "Home"}', "x.json", 1)[-3:]
    (1541105830796, None, None)
    """
    fast = _fast_event(line)
    if fast is not None:
        return fast
    try:
        row = _typed(_record(line, EVENT_FIELDS, line_number), EVENT_FIELDS, unknown)
    except ValueError as exc:
        raise RecordError(source, line_number, str(exc)) from None
    return row


def event_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """``(line_number, line)`` for each non-blank line of a newline-delimited file."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    for number, line in enumerate(data.split(b"\n"), start=1):
        text = _record_text(line)
        if text is not None:
            yield number, text


def _record_text(line: bytes) -> bytes | None:
    """One line's record, without its carriage return; None for a blank line (no record)."""
    line = line.removesuffix(b"\r")
    return line if line.strip() else None


@dataclass(frozen=True)
class Rejected:
    """A record that cannot be loaded: where it is, why, and its raw bytes."""

    line: int | None
    reason: str
    raw: bytes


Parsed = tuple[int | None, Row] | Rejected


def event_results(
    data: bytes, source: str, unknown: Counter[str] | None = None
) -> Iterator[Parsed]:
    """Every line of a newline-delimited event file: ``(line_number, row)`` or a Rejected."""
    for number, line in event_lines(data):
        yield _event_result(number, line, source, unknown)


def event_line_results(
    number: int, line: bytes, source: str, unknown: Counter[str] | None = None
) -> Iterator[Parsed]:
    """Line ``number`` of an event file, as :func:`event_results` reads it (nothing if blank)."""
    text = _record_text(line)
    if text is not None:
        yield _event_result(number, text, source, unknown)


def _event_result(number: int, line: bytes, source: str, unknown: Counter[str] | None) -> Parsed:
    try:
        return number, parse_event(line, source, number, unknown)
    except RecordError as exc:
        return Rejected(number, exc.reason, line)


def song_results(data: bytes, source: str, unknown: Counter[str] | None = None) -> Iterator[Parsed]:
    """Every song of a song file: ``(line_number, row)`` or a Rejected.

    A song file normally holds one JSON object, compact or pretty-printed (line ``None``).
    A file of several newline-delimited objects is read line by line.
    """
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if not data.strip():
        yield Rejected(None, EMPTY_SONG_FILE, data)
        return
    fast = _fast_song(data)
    if fast is not None:
        yield None, fast
        return
    try:
        record = _decode(data)
    except ValueError as whole_file_error:
        lines = list(event_lines(data))
        if len(lines) < 2:
            yield Rejected(None, str(whole_file_error), data)
            return
        for number, line in lines:
            try:
                yield number, _typed(_record(line, SONG_FIELDS, number), SONG_FIELDS, unknown)
            except ValueError as exc:
                yield Rejected(number, str(exc), line)
        return
    try:
        yield None, _typed(_given_once(record, data, SONG_FIELDS), SONG_FIELDS, unknown)
    except ValueError as exc:
        yield Rejected(None, str(exc), data)
