"""Stage: every input record, typed, into ``staging_songs`` and ``staging_events``.

Records stream from the sources into the engine in batches; nothing holds the whole dataset in
memory. An engine that types JSON itself (DuckDB) gets each source's raw records as one stream
and types the plain ones (:mod:`~sparkify_dagster.ingest.plain`) on every core while the next
batch is read; the files that hold any other record are read again, and those records, and
every record on other engines, go through the careful parser
(:mod:`~sparkify_dagster.ingest.parse`). Either way a record means the same. A record that cannot be
loaded is not dropped: it becomes a :class:`Reject` (file, line, reason, raw text), kept in
``load_errors``.

Incremental: ``load_manifest`` remembers every file loaded (size, version, checksum). A run reads
only new files and files whose size or version changed; a changed file's earlier rows and rejects
are replaced, never duplicated. A file whose version changed but whose bytes did not (a ``touch``)
is not reloaded. Run :func:`stage_sources` inside a transaction: a failure keeps nothing.
"""

from __future__ import annotations

import contextvars
import gc
import hashlib
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple, TypeVar

from sparkify_dagster.core.errors import RecordError, SourceError, SparkifyError
from sparkify_dagster.core.progress import Reporter, Silent
from sparkify_dagster.ingest.files import Source, SourceFile, decompress
from sparkify_dagster.ingest.parse import (
    Parsed,
    Rejected,
    event_line_results,
    event_results,
    song_results,
)
from sparkify_dagster.ingest.plain import SHAPES, RawRecords
from sparkify_dagster.ingest.sources import open_source
from sparkify_dagster.warehouse.engines import Warehouse, quote
from sparkify_dagster.warehouse.model import (
    LOAD_ERRORS,
    LOAD_MANIFEST,
    RAW_TEXT_LIMIT,
    STAGING_EVENTS,
    STAGING_SONGS,
    Table,
)


@dataclass(frozen=True)
class Reject:
    """One record that could not be loaded."""

    source_file: str
    line: int | None
    kind: str
    reason: str
    raw_text: str

    def __str__(self) -> str:
        where = self.source_file if self.line is None else f"{self.source_file}:{self.line}"
        return f"{where}: {self.reason}"


class TooManyRejects(SparkifyError):
    """More records were rejected than ``max_errors`` allows; the run was rolled back."""

    def __init__(self, rejects: list[Reject], max_errors: int) -> None:
        self.rejects = rejects
        self.max_errors = max_errors
        self.rejects_file: str | None = None  # where all of them were written, once they are
        super().__init__(rejects, max_errors)

    SHOWN: ClassVar[int] = 5  # rejects named in the message

    def __str__(self) -> str:
        message = (
            f"{len(self.rejects):,} records rejected, more than max_errors {self.max_errors} "
            "allows; nothing was loaded"
        )
        if self.rejects_file:
            message += f"; all of them are in {self.rejects_file}"
        shown = "".join(f"\n  {reject}" for reject in self.rejects[: self.SHOWN])
        more = len(self.rejects) - self.SHOWN
        return message + shown + (f"\n  … and {more:,} more" if more > 0 else "")


class ReconciliationError(SparkifyError):
    """Records read did not equal records staged plus records rejected (a bug, never data)."""


@dataclass
class SourceReport:
    """What one run did with one source: files seen and read, records read, staged, rejected."""

    kind: str  # "songs" or "events"
    location: str
    files: int = 0
    files_loaded: int = 0
    records: int = 0
    staged: int = 0
    rejected: int = 0
    unknown_fields: Counter[str] = field(default_factory=Counter)
    bytes_loaded: int = 0  # stored bytes of the files read
    copied: bool = False  # the engine copied the whole location itself (Redshift)
    seconds: float = field(default=0.0, compare=False)

    @property
    def files_unchanged(self) -> int:
        return self.files - self.files_loaded


@dataclass
class StageReport:
    sources: list[SourceReport]
    rejects: list[Reject]

    @property
    def changed(self) -> bool:
        """True when this run changed staging (so the star must be rebuilt)."""
        return any(report.files_loaded or report.copied for report in self.sources)


class _Known(NamedTuple):
    size: int
    version: str
    checksum: str


KINDS: tuple[tuple[str, Table], ...] = (("songs", STAGING_SONGS), ("events", STAGING_EVENTS))
PARSERS = {"songs": song_results, "events": event_results}
T = TypeVar("T")


def checksum(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def stage_locations(
    warehouse: Warehouse,
    locations: dict[str, str],
    reporter: Reporter | None = None,
    *,
    full_refresh: bool = False,
    max_errors: int = 0,
    no_sign_request: bool = False,
) -> StageReport:
    """Bring the staging table of each kind in ``locations`` up to date with the folder or
    ``s3://`` prefix it names, the way the engine stages: read here and loaded in batches, or
    (Redshift) copied from S3 by the engine itself, which always reloads in full.
    """
    if warehouse.copies_from_s3:
        reports = []
        for kind, location in locations.items():
            staged = warehouse.stage_from_s3(kind, location, max_errors=max_errors)
            reports.append(SourceReport(kind, location, records=staged, staged=staged, copied=True))
        return StageReport(reports, [])
    sources = {
        kind: open_source(location, no_sign_request=no_sign_request)
        for kind, location in locations.items()
    }
    return stage_sources(
        warehouse, sources, reporter, full_refresh=full_refresh, max_errors=max_errors
    )


def stage_sources(
    warehouse: Warehouse,
    sources: dict[str, Source],
    reporter: Reporter | None = None,
    *,
    full_refresh: bool = False,
    max_errors: int = 0,
) -> StageReport:
    """Bring the staging table of each kind in ``sources`` (``songs``, ``events``) up to date.

    Only those tables, and the ``load_errors`` and ``load_manifest`` rows of those kinds, are
    touched. Run it inside a transaction: on :class:`TooManyRejects` (more than ``max_errors``
    rejects in all) or any other error, the caller's rollback keeps nothing.
    """
    reporter = reporter or Silent()
    now = datetime.now(UTC).replace(tzinfo=None)
    kinds = [(kind, table) for kind, table in KINDS if kind in sources]
    if full_refresh:
        for kind, table in kinds:
            warehouse.execute(f"DELETE FROM {quote(table.name)}")
            for meta in (LOAD_ERRORS, LOAD_MANIFEST):
                warehouse.execute(
                    f"DELETE FROM {quote(meta.name)} WHERE kind = {warehouse.placeholder}", [kind]
                )
    # List every source before loading anything: a missing folder fails the run up front.
    listings = [(kind, table, sources[kind], sources[kind].files()) for kind, table in kinds]

    rejects: list[Reject] = []
    manifest: list[tuple[object, ...]] = []  # written at the end when Python parses every file
    reports = []
    with without_cycle_collector(), warehouse.staging_memory():
        while listings:
            # Each listing is let go once staged: a million song files' takes 300 MB.
            kind, table, source, files = listings.pop(0)
            # This kind's files only: a million song files' entries took 2 s and 570 MB to read.
            known = _read_manifest(warehouse, kind)
            report = SourceReport(kind, source.location, files=len(files))
            reports.append(report)
            pending = _changed(warehouse, source, files, known)
            replaced = [file.uri for file in pending if file.uri in known]
            for stale in (table, LOAD_ERRORS, LOAD_MANIFEST):
                warehouse.delete_sources(stale, replaced)

            reporter.start(f"staging {kind}", len(pending))
            started = time.perf_counter()
            out = _Out(report, rejects, manifest, reporter, now)
            if warehouse.types_json:
                report.staged = _load_plain(warehouse, kind, table, source, pending, out)
            else:
                rows = _rows(kind, source, pending, out)
                report.staged = warehouse.load_rows(table, rows)
            report.files_loaded = len(pending)
            report.bytes_loaded = sum(file.size for file in pending)
            report.seconds = time.perf_counter() - started
            if report.records != report.staged + report.rejected:
                raise ReconciliationError(
                    f"{kind}: read {report.records:,} records but staged {report.staged:,} and "
                    f"rejected {report.rejected:,}; please report this as a bug"
                )

    if len(rejects) > max_errors:
        raise TooManyRejects(rejects, max_errors)
    warehouse.load_rows(
        LOAD_ERRORS,
        ((r.source_file, r.line, r.kind, r.reason, r.raw_text, now) for r in rejects),
    )
    warehouse.load_rows(LOAD_MANIFEST, manifest)
    return StageReport(reports, rejects)


@contextmanager
def without_cycle_collector() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block that makes millions of small objects.

    Staging creates a tuple per value row and keeps batches of them alive; none is part of a
    reference cycle (they are freed by reference counting), yet the collector would scan the
    growing batches again and again: about 12 % of a large load's time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _changed(
    warehouse: Warehouse, source: Source, files: list[SourceFile], known: dict[str, _Known]
) -> list[SourceFile]:
    """The files to (re)load: new ones, and known ones whose bytes changed.

    A known file whose size or version changed but whose bytes did not (a ``touch``) only gets
    its manifest entry refreshed.
    """
    candidates = [file for file in files if _differs(known.get(file.uri), file)]
    touched = [file for file in candidates if file.uri in known]
    p = warehouse.placeholder
    unchanged = set()
    for file, data in source.contents(touched):
        if checksum(data) == known[file.uri].checksum:
            unchanged.add(file.uri)
            warehouse.execute(
                f"UPDATE {quote(LOAD_MANIFEST.name)} SET size = {p}, version = {p} "
                f"WHERE source_file = {p}",
                [file.size, file.version, file.uri],
            )
    return [file for file in candidates if file.uri not in unchanged]


@dataclass
class _Out:
    """Where staging one source reports: its counts, the run's rejects and manifest, progress."""

    report: SourceReport
    rejects: list[Reject]
    manifest: list[tuple[object, ...]]
    reporter: Reporter
    now: datetime  # when the run started: the manifest's loaded_at

    def manifest_entry(
        self, file: SourceFile, digest: str, totals: tuple[int, int]
    ) -> tuple[object, ...]:
        """The ``load_manifest`` row of ``file``: its checksum, and records read and rejected."""
        return (file.uri, self.report.kind, file.size, file.version, digest, *totals, self.now)


def _rows(
    kind: str,
    source: Source,
    files: list[SourceFile],
    out: _Out,
) -> Iterator[tuple[object, ...]]:
    """Staging rows of ``files`` (lineage appended); rejects, counts and manifest on the side."""
    parse = PARSERS[kind]
    report = out.report
    for file, stored in source.contents(files):
        count = _Count()
        results: Iterable[Parsed]
        try:
            results = parse(decompress(file, stored), file.uri, report.unknown_fields)
        except RecordError as exc:
            results = [Rejected(None, exc.reason, stored)]
        yield from _sort(kind, file.uri, results, count, out.rejects)
        report.records += count.records
        report.rejected += count.rejected
        out.manifest.append(out.manifest_entry(file, checksum(stored), count.totals))
        out.reporter.advance(files=1, records=count.records)


@dataclass
class _Count:
    """Records read from one file, and how many of them were rejected."""

    records: int = 0
    rejected: int = 0

    @property
    def totals(self) -> tuple[int, int]:
        return self.records, self.rejected


def _sort(
    kind: str, uri: str, results: Iterable[Parsed], count: _Count, rejects: list[Reject]
) -> Iterator[tuple[object, ...]]:
    """The staging rows of ``results`` (lineage appended); its rejects go to ``rejects``."""
    for result in results:
        count.records += 1
        if isinstance(result, Rejected):
            count.rejected += 1
            rejects.append(_reject(uri, kind, result))
        else:
            line, row = result
            yield (*row, uri, line)


def _reject(uri: str, kind: str, rejected: Rejected) -> Reject:
    raw = rejected.raw.decode("utf-8", errors="replace")[:RAW_TEXT_LIMIT].replace("\x00", "\ufffd")
    return Reject(uri, rejected.line, kind, rejected.reason, raw)


@dataclass
class _Batch:
    """Files read ahead for :func:`_load_plain`, their candidates already in Arrow form."""

    records: RawRecords = field(default_factory=RawRecords)
    files: list[tuple[SourceFile, str]] = field(default_factory=list)  # with their checksums
    failures: dict[int, str] = field(default_factory=dict)  # files that did not decompress
    table: Any = None

    @property
    def full(self) -> bool:
        return self.records.size >= BATCH_BYTES or len(self.files) >= BATCH_FILES


BATCH_BYTES = 64 * 1024 * 1024  # text per batch; two are held (being loaded, being read)
BATCH_FILES = 20_000  # song files per batch


def _load_plain(
    warehouse: Warehouse,
    kind: str,
    table: Table,
    source: Source,
    files: list[SourceFile],
    out: _Out,
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
    settled: dict[int, _Count] = {}  # the files read again, by index
    for index, count, rows in _careful(warehouse, kind, source, files, sorted(again), seen, out):
        settled[index] = count
        staged += warehouse.load_rows(table, rows)
    out.report.records += sum(seen.count)
    for index, count in settled.items():
        out.report.records += count.records - seen.count[index]
        out.report.rejected += count.rejected

    def totals(index: int) -> tuple[int, int]:
        return settled[index].totals if index in settled else (seen.count[index], 0)

    entries = (
        out.manifest_entry(file, digest, totals(index))
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
        self, kind: str, source: Source, files: list[SourceFile], out: _Out
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
                out.reporter.advance(files=len(batch.files), records=batch.records.count)
                if batch.table is not None:
                    yield from batch.table.to_batches()
        except Exception as exc:
            self.failure = exc


def _short(
    warehouse: Warehouse, table: Table, files: list[SourceFile], count: list[int]
) -> set[int]:
    """The files of which the engine staged fewer rows than they have candidates."""
    staged = dict(
        warehouse.query(
            f"SELECT s.source_file, count(*) FROM {quote(table.name)} AS s "
            f"JOIN (SELECT unnest({warehouse.placeholder}) AS uri) AS f ON s.source_file = f.uri "
            "GROUP BY s.source_file",
            [[file.uri for file in files]],
        )
    )
    return {
        index
        for index, (file, records) in enumerate(zip(files, count, strict=True))
        if staged.get(file.uri, 0) < records
    }


def _careful(
    warehouse: Warehouse,
    kind: str,
    source: Source,
    files: list[SourceFile],
    indexes: list[int],
    seen: _Seen,
    out: _Out,
) -> Iterator[tuple[int, _Count, list[tuple[object, ...]]]]:
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


def _left_by_file(warehouse: Warehouse, kind: str, batch: _Batch) -> dict[int, list[int]]:
    """The positions of the candidates the engine leaves in ``batch``, by file."""
    left: dict[int, list[int]] = {}
    for position in warehouse.plain_left(SHAPES[kind], batch.table):
        left.setdefault(batch.records.file_of(position), []).append(position)
    return left


class _Tally:
    """Per-file counts of one batch while Python decides the records the engine left."""

    def __init__(
        self, kind: str, batch: _Batch, rejects: list[Reject], unknown: Counter[str]
    ) -> None:
        self.kind = kind
        self.batch = batch
        self.rejects = rejects
        self.unknown = unknown
        self.counts = [_Count(raw_file.candidates) for raw_file in batch.records.files]
        self.rows: list[tuple[object, ...]] = []  # staged by Python, lineage appended

    def settle(self, position: int) -> None:
        """Parse the candidate the engine left at ``position`` (it may be 0, 1 or more)."""
        index, line, text = self.batch.records.record(position)
        self.counts[index].records -= 1
        uri = self.batch.records.files[index].uri
        if line is None:
            self.decide(index, song_results(text, uri, self.unknown))
        else:
            self.decide(index, event_line_results(line, text, uri, self.unknown))

    def decide(self, index: int, results: Iterable[Parsed]) -> None:
        uri = self.batch.records.files[index].uri
        self.rows.extend(_sort(self.kind, uri, results, self.counts[index], self.rejects))

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


_DONE = object()


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """``items``, produced one step ahead in a thread, so that producing overlaps consuming.

    The next item is produced only once the consumer has taken the last one, so two items at
    most are alive: the one being consumed and the next (a batch can be one 160 MB log file).
    The producer's exceptions are raised in the consumer; a consumer that stops early stops the
    producer at its next item.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    taken = threading.Semaphore(0)
    stop = threading.Event()

    def offer(item: object) -> bool:
        """Hand ``item`` over unless the consumer has stopped; whether it was handed over."""
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def was_taken() -> bool:
        """Wait for the consumer to take the item offered; False once it has stopped."""
        while not stop.is_set():
            if taken.acquire(timeout=0.1):
                return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not (offer(item) and was_taken()):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's own clean-up (an S3 source's fetch pool) runs now

    # The producer runs in this context (the active progress reporter is a context variable).
    context = contextvars.copy_context()
    worker = threading.Thread(
        target=context.run, args=(produce,), name="sparkify-read-ahead", daemon=True
    )
    worker.start()
    try:
        while True:
            item = handoff.get()
            taken.release()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exception
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


@dataclass(frozen=True)
class _Failure:
    exception: BaseException


def _differs(entry: _Known | None, file: SourceFile) -> bool:
    return entry is None or entry.size != file.size or entry.version != file.version


def manifest_sql(warehouse: Warehouse) -> str:
    """The statement that reads what the manifest knows of the files of one kind (bound)."""
    return (
        f"SELECT source_file, size, version, checksum FROM {quote(LOAD_MANIFEST.name)} "
        f"WHERE kind = {warehouse.placeholder}"
    )


def statements(warehouse: Warehouse) -> list[str]:
    """The statements a run sends to stage (:func:`~.plan.plan` shows them); which files they touch
    depends on the manifest, read for each kind first."""
    plan = []
    for kind, table in KINDS:
        plan.append(manifest_sql(warehouse))
        plan += [
            warehouse.delete_sources_sql(stale) for stale in (table, LOAD_ERRORS, LOAD_MANIFEST)
        ]
        if warehouse.types_json:  # the plain records; the pattern is bound (ingest/plain.py)
            plan.append(warehouse.load_plain_sql(table, SHAPES[kind]))
        plan.append(warehouse.load_sql(table))
    return [*plan, warehouse.load_sql(LOAD_ERRORS), warehouse.load_sql(LOAD_MANIFEST)]


def _read_manifest(warehouse: Warehouse, kind: str) -> dict[str, _Known]:
    rows = warehouse.query(manifest_sql(warehouse), [kind])
    return {uri: _Known(int(size), version, digest) for uri, size, version, digest in rows}
