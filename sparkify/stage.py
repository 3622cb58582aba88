"""Stage: every input record, typed, into ``staging_songs`` and ``staging_events``.

Records stream from the sources through the parser (:mod:`sparkify.parse`) into the engine's
bulk loader; nothing holds the whole dataset in memory. A bad record raises
:class:`~sparkify.errors.RecordError` naming its file, line and reason, and since the caller runs
staging inside the run's transaction, nothing of that run is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sparkify.model import STAGING_EVENTS, STAGING_SONGS
from sparkify.parse import Row, parse_events, parse_song_file
from sparkify.progress import Reporter, Silent
from sparkify.sources import Source, SourceFile
from sparkify.warehouses import Warehouse, quote


@dataclass(frozen=True)
class Staged:
    """How many files and records one staging table received."""

    table: str
    files: int
    records: int


def song_rows(source: Source, files: list[SourceFile], reporter: Reporter) -> Iterator[Row]:
    """``staging_songs`` rows (lineage included) for every song record in ``files``."""
    for file, data in source.contents(files):
        songs = parse_song_file(data, file.uri)
        for line, row in songs:
            yield (*row, file.uri, line)
        reporter.advance(files=1, records=len(songs))


def event_rows(source: Source, files: list[SourceFile], reporter: Reporter) -> Iterator[Row]:
    """``staging_events`` rows (lineage included) for every event line in ``files``."""
    for file, data in source.contents(files):
        records = 0
        for line, row in parse_events(data, file.uri):
            yield (*row, file.uri, line)
            records += 1
        reporter.advance(files=1, records=records)


def stage(
    warehouse: Warehouse,
    songs: Source,
    events: Source,
    reporter: Reporter | None = None,
) -> list[Staged]:
    """Replace the staging tables' rows with every record of ``songs`` and ``events``.

    Call it inside ``warehouse.transaction()``: a failure then leaves the warehouse unchanged.
    """
    reporter = reporter or Silent()
    song_files = songs.files()
    event_files = events.files()
    results = []
    for table, files, rows in (
        (STAGING_SONGS, song_files, song_rows(songs, song_files, reporter)),
        (STAGING_EVENTS, event_files, event_rows(events, event_files, reporter)),
    ):
        reporter.start(f"staging {table.name.removeprefix('staging_')}", len(files))
        warehouse.execute(f"DELETE FROM {quote(table.name)}")
        warehouse.load_rows(table, rows)
        results.append(Staged(table.name, len(files), warehouse.count(table)))
    return results
