"""The careful path: Python parses every record (:mod:`~sparkify_dagster.ingest.parse`).

Each record becomes a staging row (its lineage appended) or a :class:`~.report.Reject` with the
reason; the counts of each file go to its manifest entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sparkify_dagster.core.errors import RecordError
from sparkify_dagster.ingest.files import Source, SourceFile, decompress
from sparkify_dagster.ingest.parse import (
    BOM,
    EVENT_FIELDS,
    SONG_FIELDS,
    Parsed,
    Rejected,
    event_line_results,
    song_results,
)
from sparkify_dagster.warehouse.model import RAW_TEXT_LIMIT
from sparkify_dagster.warehouse.staging.manifest import checksum, manifest_entry
from sparkify_dagster.warehouse.staging.report import Outputs, Reject

# The most bytes a record may have (an event's line, a song's file): a larger one is rejected
# unread. Real records have a few hundred; DuckDB holds a record several times over while it
# stages it, and 16 MiB keeps that within its staging memory.
RECORD_LIMIT = 16 * 1024 * 1024
# The record keys each parser reads, in the order of the values it gives.
PARSER_KEYS: dict[str, tuple[str, ...]] = {
    kind: tuple(field.key for field in fields)
    for kind, fields in (("songs", SONG_FIELDS), ("events", EVENT_FIELDS))
}


def too_large(size: int) -> str | None:
    """Why a record of ``size`` bytes is rejected unread, or None if it may be read."""
    if size <= RECORD_LIMIT:
        return None
    return f"record is {size:,} bytes, over the {RECORD_LIMIT // 2**20} MiB a record may have"


def sized_song_results(
    data: bytes, source: str, unknown: Counter[str] | None = None
) -> Iterator[Parsed]:
    """:func:`~sparkify_dagster.ingest.parse.song_results`, a file over :data:`RECORD_LIMIT`
    rejected unread (a song file is one record)."""
    size = len(data.removeprefix(BOM))
    reason = too_large(size)
    if reason is None:
        yield from song_results(data, source, unknown)
    elif data.strip():
        yield Rejected(None, reason, _head(data))


def sized_event_results(
    data: bytes, source: str, unknown: Counter[str] | None = None
) -> Iterator[Parsed]:
    """:func:`~sparkify_dagster.ingest.parse.event_results`, a line over :data:`RECORD_LIMIT`
    rejected unread."""
    for number, line in enumerate(data.removeprefix(BOM).split(b"\n"), start=1):
        yield from sized_event_line(number, line, source, unknown)


def sized_event_line(
    number: int, line: bytes, source: str, unknown: Counter[str] | None = None
) -> Iterator[Parsed]:
    """:func:`~sparkify_dagster.ingest.parse.event_line_results`, a line over
    :data:`RECORD_LIMIT` rejected unread."""
    text = line.removesuffix(b"\r")
    reason = too_large(len(text))
    if reason is None:
        yield from event_line_results(number, line, source, unknown)
    elif text.strip():
        yield Rejected(number, reason, _head(text))


def _head(data: bytes) -> bytes:
    """The start of a record too large to keep: what ``load_errors`` shows of it, and no more."""
    return data[: 4 * RAW_TEXT_LIMIT]


Parser = Callable[[bytes, str, "Counter[str] | None"], Iterable[Parsed]]
# The careful parser of a whole file, by kind of source.
PARSERS: dict[str, Parser] = {"songs": sized_song_results, "events": sized_event_results}


@dataclass
class Count:
    """Records read from one file, and how many of them were rejected."""

    records: int = 0
    rejected: int = 0

    @property
    def totals(self) -> tuple[int, int]:
        return self.records, self.rejected


def careful_rows(
    kind: str, source: Source, files: list[SourceFile], out: Outputs
) -> Iterator[tuple[object, ...]]:
    """Staging rows of ``files`` (lineage appended); rejects, counts and manifest on the side."""
    parse = PARSERS[kind]
    report = out.report
    for file, stored in source.contents(files):
        count = Count()
        results: Iterable[Parsed]
        try:
            results = parse(decompress(file, stored), file.uri, report.unknown_fields)
        except RecordError as exc:
            results = [Rejected(None, exc.reason, stored)]
        yield from route(kind, file.uri, results, count, out.rejects)
        report.records += count.records
        report.rejected += count.rejected
        out.manifest.append(manifest_entry(out, file, checksum(stored), count.totals))
        out.reporter.advance(1, count.records, count.rejected, len(stored))


def route(
    kind: str, uri: str, results: Iterable[Parsed], count: Count, rejects: list[Reject]
) -> Iterator[tuple[object, ...]]:
    """The staging rows of ``results`` (lineage appended); its rejects go to ``rejects``."""
    for result in results:
        count.records += 1
        if isinstance(result, Rejected):
            count.rejected += 1
            rejects.append(reject(uri, kind, result))
        else:
            line, row = result
            yield (*row, uri, line)


def reject(uri: str, kind: str, rejected: Rejected) -> Reject:
    """``rejected`` as the :class:`Reject` kept in ``load_errors`` (its raw text cut short)."""
    raw = rejected.raw.decode("utf-8", errors="replace")[:RAW_TEXT_LIMIT].replace("\x00", "\ufffd")
    return Reject(uri, rejected.line, kind, rejected.reason, raw)
