"""Plain records: the ones an engine may type with its own JSON reader, exactly as Python would.

Most records are plain: a JSON object whose keys are the model's, in the model's order, each at
most once, with values the careful parser (:mod:`~sparkify_dagster.ingest.parse`) accepts without
question (strings for text, integers that fit, numbers or numeric strings, ``""`` or null). For
those, an engine's ``from_json`` gives the same values as the careful parser, many times faster
and on every core. :func:`record_pattern` writes that definition as one regular expression (RE2
syntax) that the engine tests on the raw text before typing it. A record the pattern refuses is
not rejected: it goes back to the careful parser, which decides, with the exact message. So the
pattern changes how fast a record is read, never what it means; it only has to be conservative.

What the pattern leaves to Python, on purpose: keys out of order or repeated (DuckDB's reader
would keep a repeated key's first value; Python refuses the record), unknown keys, whitespace
before a colon, ``\\u0000`` and surrogate escapes, numbers with more than 18 integer digits or a
3-digit exponent, integers written with an exponent, epoch milliseconds of more than 14 digits
(the range's end, 9999-01-01, has 15: Python checks it exactly), and text that is not valid UTF-8
(checked before the engine sees it). JSON that only a lenient reader accepts (trailing commas,
``NaN``) never matches.

:class:`RawRecords` gathers the records of many files into Arrow columns without a Python object
per record: event files are split into lines by position, and a song file is one record.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sparkify_dagster.ingest import fastparse
from sparkify_dagster.ingest.parse import BOM, EVENT_FIELDS, KIND_OF_CONVERTER, SONG_FIELDS, Field

WHITESPACE = r"[ \t\n\r]*"
_HEX = "[0-9a-fA-F]"
# \uXXXX except \u0000 (refused in text) and the surrogates D800-DFFF (pairs are Python's to check)
_ESCAPED_UNICODE = (
    rf"\\u(?:[1-9a-cA-CefEF]{_HEX}{{3}}|[dD][0-7]{_HEX}{{2}}|0[1-9a-fA-F]{_HEX}{{2}}"
    rf"|00[1-9a-fA-F]{_HEX}|000[1-9a-fA-F])"
)
STRING = rf'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|{_ESCAPED_UNICODE})*"'
# At most 18 integer digits and a 2-digit exponent: always finite, read alike by every parser.
NUMBER = r"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,2})?"
FLOAT_SAFE_DIGITS = 15  # an integer of up to 15 digits is exact as a double


def _integer(low: int, high: int) -> list[str]:
    """Spellings of an integer in ``[low, high]`` that every reader turns into the same value."""
    digits = len(str(min(high, -low) if low < 0 else high)) - 1  # any number of this many fits
    sign = "-?" if low < 0 else ""
    whole = f"{sign}(?:0|[1-9][0-9]{{0,{digits - 1}}})"
    point = f"{sign}(?:0|[1-9][0-9]{{0,{min(digits, FLOAT_SAFE_DIGITS) - 1}}})\\.0+"
    return [whole, point, f'"{sign}[0-9]{{1,{digits}}}"']


def value_pattern(kind: fastparse.Kind, *, required: bool) -> str:
    """The values of one field of ``kind`` that are plain. A required field takes no null."""
    if kind == fastparse.TEXT:
        spellings = [STRING]
    elif kind == fastparse.DOUBLE:
        spellings = [NUMBER, f'"{NUMBER}"']
    elif isinstance(kind, tuple):
        spellings = _integer(*kind)
    else:
        raise ValueError(f"no plain spelling for values of kind {kind!r}")
    if not required:
        # "" is NULL for numbers and "" for text, in Python as in the engine
        spellings += ['""', "null"] if kind != fastparse.TEXT else ["null"]
    return "|".join(spellings)


def record_pattern(fields: Sequence[Field]) -> str:
    """One RE2 pattern matching exactly the plain records of ``fields``.

    Keys must come in the order of ``fields``, each at most once: that is what lets a regular
    expression rule out repeated keys, on which JSON readers disagree. Written out, "an ordered
    list with commas between" is, for each field, that field and then each later field, optional:
    quadratic in the number of fields, yet faster to match than any shorter form tried. Required
    fields may still be absent here: the engine checks that ``"key":`` occurs in the text, which
    under this pattern can only be the key itself.
    """
    values = [value_pattern(KIND_OF_CONVERTER[f.convert], required=f.required) for f in fields]
    members = [
        f'"{f.key}":{WHITESPACE}(?:{value}){WHITESPACE}'
        for f, value in zip(fields, values, strict=True)
    ]
    lists = [
        member + "".join(f"(?:,{WHITESPACE}{later})?" for later in members[index + 1 :])
        for index, member in enumerate(members)
    ]
    return rf"{WHITESPACE}\{{{WHITESPACE}(?:{'|'.join(lists)})?\}}{WHITESPACE}"


@dataclass(frozen=True)
class Shape:
    """What an engine needs to type the plain records of one kind of source file."""

    fields: tuple[Field, ...]

    @property
    def pattern(self) -> str:
        return _pattern(self.fields)

    @property
    def required_keys(self) -> list[str]:
        return [f.key for f in self.fields if f.required]


@cache
def _pattern(fields: tuple[Field, ...]) -> str:
    return record_pattern(fields)


SHAPES = {"songs": Shape(SONG_FIELDS), "events": Shape(EVENT_FIELDS)}


COLUMNS = ("position", "source_file", "line", "raw")
SPLIT_SLICE = 16 * 1024 * 1024  # bytes of a log file searched for line breaks at once


@dataclass
class RawFile:
    """One source file of a :class:`RawRecords` batch."""

    uri: str
    data: bytes  # decompressed, without a byte-order mark
    candidates: int = 0  # records handed to the engine
    careful: bool = False  # the whole file goes to the careful parser instead (not UTF-8)


@dataclass
class _EventChunk:
    start: int  # position of the chunk's first line in the batch
    file: int  # index in RawRecords.files
    lines: Any  # pyarrow LargeStringArray over the file's bytes, one element per line


@dataclass
class RawRecords:
    """The candidate records of a batch of files, as Arrow columns for the engine.

    :meth:`table` has the columns :data:`COLUMNS`: ``position`` (the record's index in the
    batch), ``source_file``, ``line`` (NULL for a one-record song file) and ``raw`` (the record's
    text). :meth:`record` gives back the file, line and bytes of a position the engine left.
    """

    files: list[RawFile] = field(default_factory=list)
    size: int = 0  # bytes of text held
    count: int = 0  # candidate records
    _events: list[_EventChunk] = field(default_factory=list)
    _songs: list[int] = field(default_factory=list)  # file index of each song, by position

    def add(self, kind: str, uri: str, data: bytes) -> RawFile:
        data = data.removeprefix(BOM)
        raw_file = RawFile(uri, data)
        self.files.append(raw_file)
        self.size += len(data)
        if kind == "events":
            self._add_lines(raw_file)
        elif data.strip() and (data.isascii() or _is_utf8(data)):
            # a song file is one record; a file of several is Python's, later
            raw_file.candidates = 1
            self._songs.append(len(self.files) - 1)
            self.count += 1
        else:
            raw_file.careful = True  # not UTF-8, or empty: Python says why
        return raw_file

    def add_careful(self, uri: str, data: bytes) -> RawFile:
        """A file that only the careful parser reads (one that did not even decompress)."""
        raw_file = RawFile(uri, data, careful=True)
        self.files.append(raw_file)
        return raw_file

    def _add_lines(self, raw_file: RawFile) -> None:
        """Split a newline-delimited file into lines by position, without an object per line.

        Each line keeps its line break (JSON whitespace, which the pattern allows); a file that
        ends with one has no empty last line.
        """
        import numpy as np
        import pyarrow as pa

        data = raw_file.data
        if not data:
            return
        text = np.frombuffer(data, dtype=np.uint8)
        # Line breaks found a slice at a time: a mask of the whole of a 160 MB log is 160 MB.
        breaks = [
            np.flatnonzero(text[start : start + SPLIT_SLICE] == ord("\n")) + (start + 1)
            for start in range(0, len(text), SPLIT_SLICE)
        ]
        offsets = np.concatenate([[0], *breaks]).astype(np.int64)
        if offsets[-1] != len(data):
            offsets = np.append(offsets, len(data))
        count = len(offsets) - 1
        lines = pa.LargeStringArray.from_buffers(
            count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)
        )
        try:
            lines.validate(full=True)  # valid UTF-8, or the file is the careful parser's
        except pa.ArrowInvalid:
            raw_file.careful = True
            return
        raw_file.candidates = count
        self._events.append(_EventChunk(self.count, len(self.files) - 1, lines))
        self.count += count

    def table(self) -> Any:
        """The candidates as one Arrow table with the columns :data:`COLUMNS` (:func:`schema`)."""
        import numpy as np
        import pyarrow as pa

        uris = pa.array([f.uri for f in self.files], type=pa.string())
        layout = schema()
        batches = []
        for chunk in self._events:
            count = len(chunk.lines)
            batches.append(
                pa.RecordBatch.from_arrays(
                    [
                        pa.array(np.arange(chunk.start, chunk.start + count, dtype=np.int32)),
                        pa.DictionaryArray.from_arrays(
                            pa.array(np.full(count, chunk.file, dtype=np.int32)), uris
                        ),
                        pa.array(np.arange(1, count + 1, dtype=np.int32)),
                        chunk.lines,
                    ],
                    schema=layout,
                )
            )
        if self._songs:
            count = len(self._songs)
            batches.append(
                pa.RecordBatch.from_arrays(
                    [
                        pa.array(np.arange(count, dtype=np.int32)),
                        pa.DictionaryArray.from_arrays(pa.array(self._songs, pa.int32()), uris),
                        pa.nulls(count, pa.int32()),
                        pa.array(
                            [self.files[i].data for i in self._songs], type=pa.large_binary()
                        ).cast(pa.large_string()),
                    ],
                    schema=layout,
                )
            )
        return pa.Table.from_batches(batches) if batches else None

    def record(self, position: int) -> tuple[int, int | None, bytes]:
        """The file (an index in :attr:`files`), line and text of the candidate at ``position``."""
        if self._songs:
            index = self._songs[position]
            return index, None, self.files[index].data
        chunk = self._chunk(position)
        line = position - chunk.start
        text: str = chunk.lines[line].as_py()
        return chunk.file, line + 1, text.encode().removesuffix(b"\n")

    def file_of(self, position: int) -> int:
        """The file (an index in :attr:`files`) of the candidate at ``position``."""
        return self._songs[position] if self._songs else self._chunk(position).file

    def _chunk(self, position: int) -> _EventChunk:
        return self._events[bisect.bisect_right(self._events, position, key=_start) - 1]


def schema() -> Any:
    """The Arrow schema of :meth:`RawRecords.table`, the same for songs and events."""
    import pyarrow as pa

    types = [pa.int32(), pa.dictionary(pa.int32(), pa.string()), pa.int32(), pa.large_string()]
    return pa.schema(list(zip(COLUMNS, types, strict=True)))


def _start(chunk: _EventChunk) -> int:
    return chunk.start


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
