"""DuckDB's staging: its own JSON reader types the plain records, Python decides the rest.

Each source's raw records go to DuckDB as one stream, which types the plain ones
(:mod:`~sparkify_dagster.ingest.plain`) on every core while the next batch is read; the files
that hold any other record are read again, and those records go through the careful parser
(:mod:`~sparkify_dagster.warehouse.staging.careful`), exactly as on engines that parse everything
in Python. Either way a record means the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sparkify_dagster.core.errors import RecordError, SourceError
from sparkify_dagster.ingest.files import Source, SourceFile, decompress
from sparkify_dagster.ingest.parse import Parsed, Rejected
from sparkify_dagster.ingest.plain import SHAPES, RawRecords
from sparkify_dagster.warehouse.model import LOAD_MANIFEST, Table
from sparkify_dagster.warehouse.staging.careful import (
    PARSERS,
    Count,
    route,
    sized_event_line,
    sized_song_results,
)
from sparkify_dagster.warehouse.staging.manifest import checksum, manifest_entry
from sparkify_dagster.warehouse.staging.read_ahead import read_ahead
from sparkify_dagster.warehouse.staging.report import Outputs, Reject

if TYPE_CHECKING:
    from sparkify_dagster.ingest.plain import Shape


class JsonEngine(Protocol):
    """What the JSON path needs of its connection (DuckDB's), declared here so that the
    connection's module imports this one and not the reverse."""

    def load_plain(self, table: Table, shape: Shape, batches: Iterable[Any]) -> int: ...

    def plain_left(self, shape: Shape, records: Any) -> list[int]: ...

    def staged_per_file(self, table: Table, uris: list[str]) -> dict[str, int]: ...

    def load_rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> int: ...


@dataclass
class _Batch:
    """Files read ahead for :func:`load_json`, their candidates already in Arrow form."""

    records: RawRecords = field(default_factory=RawRecords)
    files: list[tuple[SourceFile, str]] = field(default_factory=list)  # with their checksums
    failures: dict[int, str] = field(default_factory=dict)  # files that did not decompress
    table: Any = None

    @property
    def full(self) -> bool:
        return self.records.size >= BATCH_BYTES or len(self.files) >= BATCH_FILES


BATCH_BYTES = 64 * 1024 * 1024  # text per batch; two are held (being loaded, being read)
BATCH_FILES = 20_000  # song files per batch
# Records over this many bytes (real ones have a few hundred) are typed by Python instead: the
# engine's statement holds the records of a whole vector at once, and a few large ones exceeded its
# staging memory.
LARGE_RECORD = 8 * 1024


def load_json(
    warehouse: JsonEngine,
    kind: str,
    table: Table,
    source: Source,
    files: list[SourceFile],
    out: Outputs,
) -> int:
    """Stage ``files`` through the engine's JSON reader, Python deciding what it leaves.

    First the engine types the plain records (:mod:`~sparkify_dagster.ingest.plain`) of every
    file in one statement, on every core, while the next batch of files is read. Then the files
    that hold a record it left (it staged fewer rows than they have records), and whole files
    that are not UTF-8, are read again: their other records go through the careful parser
    exactly as on engines that parse everything in Python. Returns the number of rows staged;
    counts and rejects go to ``out``, the manifest entries into the warehouse.
    """
    seen = _Seen()
    staged = warehouse.load_plain(table, SHAPES[kind], seen.candidates(kind, source, files, out))
    if seen.failure is not None:
        raise seen.failure  # raised here, not inside the engine's statement
    again = set(seen.careful)
    if staged < sum(seen.count):
        again |= _short(warehouse, table, files, seen.count)
    settled: dict[int, Count] = {}  # the files read again, by index
    for index, count, rows in _careful(warehouse, kind, source, files, sorted(again), seen, out):
        settled[index] = count
        staged += warehouse.load_rows(table, rows)
        out.reporter.advance(records=count.records - seen.count[index], rejected=count.rejected)
    out.report.records += sum(seen.count)
    for index, count in settled.items():
        out.report.records += count.records - seen.count[index]
        out.report.rejected += count.rejected

    def totals(index: int) -> tuple[int, int]:
        return settled[index].totals if index in settled else (seen.count[index], 0)

    entries = (
        manifest_entry(out, file, digest, totals(index))
        for index, (file, digest) in enumerate(zip(files, seen.digests, strict=True))
    )
    warehouse.load_rows(LOAD_MANIFEST, entries)
    return staged


class _Seen:
    """What the engine's pass learned of each file: its checksum, its candidate records, whether
    only the careful parser can read it; and the error that stopped the pass, if one did."""

    def __init__(self) -> None:
        self.digests: list[str] = []
        self.count: list[int] = []  # candidate records, by file
        self.careful: list[int] = []  # files the careful parser reads whole
        self.failure: BaseException | None = None

    def candidates(
        self, kind: str, source: Source, files: list[SourceFile], out: Outputs
    ) -> Iterator[Any]:
        """The candidates of ``files`` as Arrow record batches, read ahead in a thread.

        An error ends the stream and waits in :attr:`failure`: raised inside the engine's
        statement, it would come back as the engine's error instead of its own.
        """
        try:
            for batch in read_ahead(_batches(kind, source, files)):
                for raw_file, (_, digest) in zip(batch.records.files, batch.files, strict=True):
                    if raw_file.careful:
                        self.careful.append(len(self.count))
                    self.digests.append(digest)
                    self.count.append(raw_file.candidates)
                nbytes = sum(file.size for file, _ in batch.files)
                out.reporter.advance(len(batch.files), batch.records.count, nbytes=nbytes)
                if batch.table is not None:
                    yield from _small(batch.table).to_batches()
        except Exception as exc:
            self.failure = exc


def _short(
    warehouse: JsonEngine, table: Table, files: list[SourceFile], count: list[int]
) -> set[int]:
    """The files of which the engine staged fewer rows than they have candidates."""
    staged = warehouse.staged_per_file(table, [file.uri for file in files])
    return {
        index
        for index, (file, records) in enumerate(zip(files, count, strict=True))
        if staged.get(file.uri, 0) < records
    }


def _careful(
    warehouse: JsonEngine,
    kind: str,
    source: Source,
    files: list[SourceFile],
    indexes: list[int],
    seen: _Seen,
    out: Outputs,
) -> Iterator[tuple[int, Count, list[tuple[object, ...]]]]:
    """Read the files at ``indexes`` again and settle what the engine left of each: its count
    and the rows the careful parser stages (its rejects go to ``out``), file by file."""
    chosen = [files[index] for index in indexes]
    position = iter(indexes)
    for batch in read_ahead(_batches(kind, source, chosen)):
        left = _left_by_file(warehouse, kind, batch)
        tally = _Tally(kind, batch, out.rejects, out.report.unknown_fields)
        for number, raw_file in enumerate(batch.records.files):
            index = next(position)
            file, digest = batch.files[number]
            if digest != seen.digests[index]:
                raise SourceError(f"{file.uri} changed while it was being loaded; run again")
            if number in batch.failures:
                tally.decide(number, [Rejected(None, batch.failures[number], raw_file.data)])
            elif raw_file.careful:
                tally.decide(number, PARSERS[kind](raw_file.data, raw_file.uri, tally.unknown))
            for candidate in left.get(number, ()):
                tally.settle(candidate)
            yield index, tally.counts[number], tally.take_rows()


def _left_by_file(warehouse: JsonEngine, kind: str, batch: _Batch) -> dict[int, list[int]]:
    """The positions of the candidates the engine leaves in ``batch``, by file."""
    left: dict[int, list[int]] = {}
    positions = warehouse.plain_left(SHAPES[kind], _small(batch.table))
    for position in sorted([*positions, *_large(batch.table)]):
        left.setdefault(batch.records.file_of(position), []).append(position)
    return left


def _is_large(table: Any) -> Any:
    """Which records of ``table`` are over :data:`LARGE_RECORD` bytes (an Arrow mask)."""
    import pyarrow.compute as pc

    return pc.greater(pc.binary_length(table.column("raw")), LARGE_RECORD)


def _small(table: Any) -> Any:
    """``table`` without its large records: the engine's statement leaves those to Python."""
    if table is None:
        return None
    import pyarrow.compute as pc

    large = _is_large(table)
    return table.filter(pc.invert(large)) if pc.any(large).as_py() else table


def _large(table: Any) -> list[int]:
    """The positions of the large records of ``table``."""
    if table is None:
        return []
    large = _is_large(table)
    return list(table.column("position").filter(large).to_pylist())


class _Tally:
    """Per-file counts of one batch while Python decides the records the engine left."""

    def __init__(
        self, kind: str, batch: _Batch, rejects: list[Reject], unknown: Counter[str]
    ) -> None:
        self.kind = kind
        self.batch = batch
        self.rejects = rejects
        self.unknown = unknown
        self.counts = [Count(raw_file.candidates) for raw_file in batch.records.files]
        self.rows: list[tuple[object, ...]] = []  # staged by Python, lineage appended

    def settle(self, position: int) -> None:
        """Parse the candidate the engine left at ``position`` (it may be 0, 1 or more)."""
        index, line, text = self.batch.records.record(position)
        self.counts[index].records -= 1
        uri = self.batch.records.files[index].uri
        if line is None:
            self.decide(index, sized_song_results(text, uri, self.unknown))
        else:
            self.decide(index, sized_event_line(line, text, uri, self.unknown))

    def decide(self, index: int, results: Iterable[Parsed]) -> None:
        uri = self.batch.records.files[index].uri
        self.rows.extend(route(self.kind, uri, results, self.counts[index], self.rejects))

    def take_rows(self) -> list[tuple[object, ...]]:
        """The rows decided since the last call."""
        rows, self.rows = self.rows, []
        return rows


def _batches(kind: str, source: Source, files: list[SourceFile]) -> Iterator[_Batch]:
    batch = _Batch()
    for file, stored in source.contents(files):
        try:
            batch.records.add(kind, file.uri, decompress(file, stored))
        except RecordError as exc:
            batch.failures[len(batch.files)] = exc.reason
            batch.records.add_careful(file.uri, stored)
        batch.files.append((file, checksum(stored)))
        if batch.full:
            batch.table = batch.records.table()
            yield batch
            batch = _Batch()
    if batch.files:
        batch.table = batch.records.table()
        yield batch
