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
    EVENT_FIELDS,
    SONG_FIELDS,
    Parsed,
    Rejected,
    event_results,
    song_results,
)
from sparkify_dagster.warehouse.model import RAW_TEXT_LIMIT
from sparkify_dagster.warehouse.staging.manifest import checksum, manifest_entry
from sparkify_dagster.warehouse.staging.report import Outputs, Reject

Parser = Callable[[bytes, str, "Counter[str] | None"], Iterable[Parsed]]
# The careful parser of a whole file, by kind of source.
PARSERS: dict[str, Parser] = {"songs": song_results, "events": event_results}
# The record keys each parser reads, in the order of the values it gives.
PARSER_KEYS: dict[str, tuple[str, ...]] = {
    kind: tuple(field.key for field in fields)
    for kind, fields in (("songs", SONG_FIELDS), ("events", EVENT_FIELDS))
}


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
        out.reporter.advance(files=1, records=count.records)


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
