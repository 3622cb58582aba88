"""The manifest's stamp: a file's size and modification time decide whether it is read; its
checksum decides only where the stamp cannot (a stamp that changed, or one too fresh to vouch for
the bytes). S3's ETag is tested with the other S3 tests (``test_s3.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import sparkify_dagster
from sparkify_dagster.ingest.files import UNSETTLED
from sparkify_dagster.ingest.sources import LocalSource
from sparkify_dagster.warehouse.staging import StageReport, stage_sources
from sparkify_dagster.warehouse.upgrade import prepare
from sparkify_dagster_tests.helpers import (
    Reading,
    day_file,
    load,
    settle,
    song,
    star,
    write_day,
    write_songs,
)


def stage(dataset: Path, target: str) -> tuple[StageReport, list[str]]:
    """Stage ``dataset`` into ``target`` as a run does; the report and the files read."""
    sources = {
        "songs": Reading(LocalSource(dataset / "song_data")),
        "events": Reading(LocalSource(dataset / "log_data")),
    }
    with sparkify_dagster.connect(target) as warehouse, warehouse.transaction():
        prepare(warehouse)
        report = stage_sources(warehouse, dict(sources))
    return report, [Path(uri).name for source in sources.values() for uri in source.read]


def loaded(report: StageReport) -> list[int]:
    return [source.files_loaded for source in report.sources]


def versions(target: str) -> dict[str, str]:
    with sparkify_dagster.connect(target) as warehouse:
        rows = warehouse.query("SELECT source_file, version FROM load_manifest")
    return {Path(uri).name: version for uri, version in rows}


def users(target: str) -> set[str]:
    with sparkify_dagster.connect(target) as warehouse:
        return {str(user) for (user,) in warehouse.query("SELECT user_id FROM staging_events")}


def rewrite_keeping_the_stamp(path: Path, write: object) -> None:
    """Call ``write`` (which rewrites ``path`` with as many bytes), then set the modification
    time back: what a writer within the same tick of the clock leaves, or ``touch -r``."""
    stat = path.stat()
    write()  # type: ignore[operator]
    assert path.stat().st_size == stat.st_size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_known_stamp_is_not_read_even_if_the_bytes_changed(dataset: Path, target: str) -> None:
    """As rsync: same size and modification time, not read. A rewrite that sets the time back is
    not seen (a full refresh stages it)."""
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    settle(dataset)
    first, read = stage(dataset, target)
    assert loaded(first) == [1, 1]
    assert sorted(read) == ["2018-11-01-events.json", "TRAAA.json"]

    rewrite_keeping_the_stamp(day_file(dataset, 1), lambda: write_day(dataset, 1, user="8"))
    again, read = stage(dataset, target)
    assert (loaded(again), read) == ([0, 0], [])
    assert users(target) == {"7"}


def test_a_new_stamp_is_read_and_the_checksum_decides(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    settle(dataset)
    stage(dataset, target)
    path = day_file(dataset, 1)

    settle(path, seconds_ago=5)  # touched: a new stamp, the same bytes
    touched, read = stage(dataset, target)
    assert (loaded(touched), read) == ([0, 0], ["2018-11-01-events.json"])
    assert versions(target)[path.name] == str(path.stat().st_mtime_ns)  # refreshed
    assert stage(dataset, target)[1] == []  # and not read again

    write_day(dataset, 1, user="8")  # the same size, other bytes, a new stamp
    settle(path, seconds_ago=3)
    rewritten, read = stage(dataset, target)
    assert (loaded(rewritten), read) == ([0, 1], ["2018-11-01-events.json"] * 2)  # compared, loaded
    assert users(target) == {"8"}


def test_a_stamp_too_fresh_to_vouch_is_checked_by_content(dataset: Path, target: str) -> None:
    """A file written moments before the run may be written again within the same tick of the
    clock, keeping its stamp: its checksum decides until its stamp settles."""
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    settle(dataset)
    write_day(dataset, 1)
    path = day_file(dataset, 1)
    settle(path, seconds_ago=-60)  # fresh for every run of this test, however slow
    first, _ = stage(dataset, target)
    assert loaded(first) == [1, 1]
    assert versions(target)[path.name] == f"{path.stat().st_mtime_ns}{UNSETTLED}"

    rewrite_keeping_the_stamp(path, lambda: write_day(dataset, 1, user="8"))
    again, read = stage(dataset, target)
    assert (loaded(again), read) == ([0, 1], ["2018-11-01-events.json"] * 2)  # compared, loaded
    assert users(target) == {"8"}

    settle(path)  # later, the stamp settles: read once more, the same bytes, entry refreshed
    settled, read = stage(dataset, target)
    assert (loaded(settled), read) == ([0, 0], ["2018-11-01-events.json"])
    assert versions(target)[path.name] == str(path.stat().st_mtime_ns)
    assert stage(dataset, target)[1] == []


def test_a_manifest_the_previous_release_wrote_is_kept_as_it_is(
    dataset: Path, target: str, tmp_path: Path
) -> None:
    """The previous release wrote every modification time bare, fresh or not, and read every
    entry's checksum. Its warehouse needs no upgrade: a run with nothing new reads no file whose
    stamp settled, and reloads nothing (a fresh one is read once, to compare its checksum)."""
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_day(dataset, 1)
    settle(dataset)
    write_day(dataset, 2)
    settle(day_file(dataset, 2), seconds_ago=-60)  # fresh when either release lists it
    load(dataset, target)
    with sparkify_dagster.connect(target) as warehouse, warehouse.transaction():
        warehouse.execute(f"UPDATE load_manifest SET version = RTRIM(version, '{UNSETTLED}')")
    before = star(target)

    upgraded, read = stage(dataset, target)
    assert loaded(upgraded) == [0, 0]
    assert read == ["2018-11-02-events.json"]
    settle(day_file(dataset, 2))
    assert stage(dataset, target)[1] == ["2018-11-02-events.json"]  # its new stamp, same bytes
    nothing, read = stage(dataset, target)
    assert (loaded(nothing), read) == ([0, 0], [])
    assert load(dataset, target).stage.changed is False
    assert star(target) == before
