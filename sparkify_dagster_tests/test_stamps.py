"""The manifest's stamp: a file's size and modification time decide whether it is read; its
checksum decides only where the stamp cannot (a stamp that changed, or one too fresh to vouch for
the bytes). S3's ETag is tested with the other S3 tests (``test_s3.py``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from dagster import EnvVar, materialize

import sparkify_dagster
from sparkify_dagster.assets import staging_songs
from sparkify_dagster.core.settings import Settings
from sparkify_dagster.ingest import sources as local
from sparkify_dagster.ingest.files import UNSETTLED, Folder, Folders
from sparkify_dagster.ingest.sources import LocalSource, SourceOptions, open_source
from sparkify_dagster.resources import SourcesResource, sources_from_env
from sparkify_dagster.warehouse.staging import StageReport, stage_sources
from sparkify_dagster.warehouse.upgrade import prepare
from sparkify_dagster_tests.helpers import (
    ReadingFolders,
    day_file,
    load,
    resources,
    settle,
    song,
    star,
    write_day,
    write_songs,
)


def stage(dataset: Path, target: str, *, trust: bool = False) -> tuple[StageReport, list[str]]:
    """Stage ``dataset`` into ``target`` as a run does; the report and the files read."""
    sources = {
        "songs": ReadingFolders(LocalSource(dataset / "song_data", trust_folder_times=trust)),
        "events": ReadingFolders(LocalSource(dataset / "log_data", trust_folder_times=trust)),
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


# -- SPARKIFY_TRUST_FOLDER_TIMES ----------------------------------------------------------------


def age(folder: Path, seconds_ago: float = 60.0) -> None:
    """Set the modification time of ``folder`` and every folder below it ``seconds_ago``, as if
    their entries had last changed then."""
    when = time.time_ns() - int(seconds_ago * 1e9)
    for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        os.utime(path, ns=(when, when))


def catalogue(dataset: Path, target: str) -> None:
    """Songs in three folders (A/A/A, A/A/B, A/A/C), settled, loaded trusting folder times."""
    write_songs(
        dataset / "song_data",
        [song(f"SOA{f}{n}", f"T{f}{n}", "ARA", "Art", 1.5) for f in "ABC" for n in "XY"],
    )
    write_day(dataset, 1)
    settle(dataset)
    age(dataset)
    assert loaded(stage(dataset, target, trust=True)[0]) == [6, 1]


def test_trusting_folder_times_misses_a_file_rewritten_in_place(dataset: Path, target: str) -> None:
    """What the setting skips: the files of a folder whose entries did not change since the last
    load are not stat'ed, so a file rewritten in place there is not seen; without the setting
    (the default) it is."""
    catalogue(dataset, target)
    path = dataset / "song_data" / "A" / "A" / "B" / "TRABX.json"
    path.write_text(path.read_text().replace('"TBX"', '"TBX, rewritten"'))  # in place

    trusted, read = stage(dataset, target, trust=True)
    assert (loaded(trusted), read) == ([0, 0], [])  # missed
    assert trusted.sources[0].files == 6  # its files are still listed, with their known stamps

    exact, read = stage(dataset, target)
    assert (loaded(exact), read) == ([1, 0], ["TRABX.json"] * 2)  # compared, then loaded


def test_trusting_folder_times_still_finds_new_renamed_and_deleted_entries(
    dataset: Path, target: str
) -> None:
    """What it still catches: a file added (the other file of its folder rewritten in place is
    seen too, since that folder is stat'ed), a file replaced by renaming (atomic writers, rsync,
    ``aws s3 sync``), a file deleted, a new folder. Then nothing is new."""
    catalogue(dataset, target)
    songs = dataset / "song_data" / "A" / "A"
    rewritten = songs / "A" / "TRAAX.json"
    rewritten.write_text(rewritten.read_text().replace('"TAX"', '"TAX, again"'))
    write_songs(dataset / "song_data", [song("SOAAZ", "TAZ", "ARA", "Art", 1.5)])  # added in A
    replacement = songs / "B" / "new.tmp"
    replacement.write_text((songs / "B" / "TRABY.json").read_text().replace('"TBY"', '"TBY 2"'))
    os.replace(replacement, songs / "B" / "TRABY.json")  # renamed over, keeping its size or not
    (songs / "C" / "TRACY.json").unlink()
    write_songs(dataset / "song_data", [song("SOADX", "TDX", "ARA", "Art", 1.5)])  # a new folder
    settle(rewritten, songs / "A" / "TRAAZ.json", songs / "B" / "TRABY.json", songs / "D")

    found, read = stage(dataset, target, trust=True)
    assert loaded(found) == [4, 0]  # TRAAX, TRAAZ, TRABY, TRADX
    assert sorted(set(read)) == ["TRAAX.json", "TRAAZ.json", "TRABY.json", "TRADX.json"]
    assert found.sources[0].files == 7

    age(dataset)
    nothing, read = stage(dataset, target, trust=True)
    assert (loaded(nothing), read) == ([0, 0], [])


def folders(target: str) -> Folders:
    """The song folders ``load_folders`` holds."""
    with sparkify_dagster.connect(target) as warehouse:
        rows = warehouse.query(warehouse.dialect.folders_sql(), ["songs"])
    return {folder: Folder(files, modified) for folder, files, modified in rows}


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders listings open from now on."""
    folders: list[str] = []
    entries = local._entries
    monkeypatch.setattr(local, "_entries", lambda folder: folders.append(folder) or entries(folder))
    return folders


def test_a_survey_of_unchanged_folders_opens_none_of_them(
    dataset: Path, target: str, opened: list[str]
) -> None:
    """With nothing changed, a trusted listing stats each folder and opens none: their files
    are counted from ``load_folders``. A folder changed after that listing is opened, and its
    files get the stamps a stat gives; its time, too recent to vouch for it, is not kept."""
    catalogue(dataset, target)
    known = folders(target)
    opened.clear()
    songs = dataset / "song_data"
    assert {folder: files for folder, (files, _) in known.items()} == {
        str(songs): 0, f"{songs}/A": 0, f"{songs}/A/A": 0,
        **{f"{songs}/A/A/{folder}": 2 for folder in "ABC"},
    }  # fmt: skip
    assert all(modified == os.stat(path).st_mtime_ns for path, (_, modified) in known.items())
    trusting = LocalSource(songs, trust_folder_times=True)

    survey = trusting.survey(known)
    assert (survey.files, survey.trusted, survey.looked, opened) == ([], 6, 0, [])
    assert survey.folders == known

    os.utime(songs / "A" / "A" / "B")  # its entries changed just now
    survey = trusting.survey(known)
    assert opened == [f"{songs}/A/A/B"] and (survey.trusted, survey.looked) == (4, 1)
    assert survey.files == [f for f in LocalSource(songs).files() if "/A/A/B/" in f.uri]
    assert survey.folders == {**known, f"{songs}/A/A/B": Folder(2, None)}


def test_a_survey_counts_each_folder_once_wherever_the_location_is(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The location may be ``.`` or ``/``-ended: each folder is trusted once, files directly
    in the location included."""
    songs = dataset / "song_data"
    write_songs(songs, [song("SOAAA", "TAA", "ARA", "Art", 1.5)])
    (songs / "TRTOP.json").write_text((songs / "A" / "A" / "A" / "TRAAA.json").read_text())
    age(dataset)
    monkeypatch.chdir(songs)
    for location in (".", f"{songs}/", str(songs)):
        source = LocalSource(location, trust_folder_times=True)
        first = source.survey({})
        assert (len(first.files), first.trusted, first.looked) == (2, 0, 4)
        again = source.survey(first.folders)
        assert (again.files, again.trusted, again.looked) == ([], 2, 0)
        assert again.folders == first.folders


def test_an_exact_run_opens_no_unchanged_folder_and_sees_a_rewrite_in_place(
    dataset: Path, target: str, opened: list[str]
) -> None:
    """By default, a song folder whose time is the recorded one is not opened: its files are
    stat'ed by the names the manifest knows, so a file rewritten in place there is seen."""
    catalogue(dataset, target)
    opened.clear()
    songs = str(dataset / "song_data")

    nothing, read = stage(dataset, target)
    assert (loaded(nothing), read, nothing.sources[0].files) == ([0, 0], [], 6)
    path = dataset / "song_data" / "A" / "A" / "B" / "TRABX.json"
    path.write_text(path.read_text().replace('"TBX"', '"TBX, rewritten"'))  # in place
    found, read = stage(dataset, target)
    assert (loaded(found), read) == ([1, 0], ["TRABX.json"] * 2)  # compared, then loaded
    assert [folder for folder in opened if folder.startswith(songs)] == []


def test_a_folder_whose_time_was_set_back_is_looked_into(dataset: Path, target: str) -> None:
    """``rsync -a`` and ``cp -p`` give a folder they fill the time of its source, which may be
    older than the last listing: a time that differs from the recorded one, older or not, opens
    the folder."""
    catalogue(dataset, target)
    write_songs(dataset / "song_data", [song("SOABZ", "TBZ", "ARA", "Art", 1.5)])  # into A/A/B
    settle(dataset / "song_data" / "A" / "A" / "B" / "TRABZ.json")
    age(dataset / "song_data" / "A" / "A" / "B", seconds_ago=120)  # older than that listing

    found, read = stage(dataset, target, trust=True)
    assert (loaded(found), read, found.sources[0].files) == ([1, 0], ["TRABZ.json"], 7)


def test_trusting_folder_times_finds_files_in_a_folder_that_held_none(
    dataset: Path, target: str
) -> None:
    """A folder that held no data file when it was listed is still looked at: a file added to
    it changes its time, not its parent's."""
    (dataset / "song_data" / "A" / "A" / "E").mkdir(parents=True)
    catalogue(dataset, target)
    assert folders(target)[str(dataset / "song_data" / "A" / "A" / "E")].files == 0
    write_songs(dataset / "song_data", [song("SOAEX", "TEX", "ARA", "Art", 1.5)])  # into A/A/E
    settle(dataset / "song_data" / "A" / "A" / "E")

    found, read = stage(dataset, target, trust=True)
    assert (loaded(found), read, found.sources[0].files) == ([1, 0], ["TRAEX.json"], 7)


def test_a_survey_after_runs_that_did_not_trust_is_exact(dataset: Path, target: str) -> None:
    """``load_folders`` is kept only by runs that trust folder times: after runs that did not,
    the folders that changed since it was recorded are looked into again."""
    catalogue(dataset, target)
    write_songs(dataset / "song_data", [song("SOADX", "TDX", "ARA", "Art", 1.5)])  # a new folder
    settle(dataset / "song_data" / "A" / "A" / "D")
    assert loaded(stage(dataset, target)[0]) == [1, 0]  # not trusting: load_folders unchanged

    nothing, read = stage(dataset, target, trust=True)  # A/A changed since: looked into
    assert (loaded(nothing), read, nothing.sources[0].files) == ([0, 0], [], 7)
    write_songs(dataset / "song_data", [song("SOADY", "TDY", "ARA", "Art", 1.5)])
    settle(dataset / "song_data" / "A" / "A" / "D" / "TRADY.json")
    found, read = stage(dataset, target, trust=True)
    assert (loaded(found), read, found.sources[0].files) == ([1, 0], ["TRADY.json"], 8)


def test_a_full_refresh_trusts_no_folder(dataset: Path, target: str) -> None:
    """A full refresh forgets the folders with the manifest: every file is loaded again."""
    catalogue(dataset, target)
    sources_ = {
        kind: LocalSource(dataset / folder, trust_folder_times=True)
        for kind, folder in (("songs", "song_data"), ("events", "log_data"))
    }
    with sparkify_dagster.connect(target) as warehouse, warehouse.transaction():
        report = stage_sources(warehouse, dict(sources_), full_refresh=True)
    assert loaded(report) == [6, 1]
    assert folders(target)[str(dataset / "song_data")].files == 0


def test_trusting_folder_times_is_a_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SPARKIFY_TRUST_FOLDER_TIMES reaches a run by the sources resource (the UI shows it) and
    the library by its settings; a source trusts nothing unless told."""
    assert LocalSource(tmp_path).trust_folder_times is False
    assert SourcesResource().options == SourceOptions()
    assert Settings.resolve(environ=None).trust_folder_times is False
    monkeypatch.setenv("SPARKIFY_TRUST_FOLDER_TIMES", "true")
    assert sources_from_env().trust_folder_times == EnvVar("SPARKIFY_TRUST_FOLDER_TIMES")
    assert Settings.resolve(environ=None).trust_folder_times is True
    assert Settings.resolve(environ={}).trust_folder_times is False  # the library's own call
    trusting = open_source(str(tmp_path), trust_folder_times=True)
    assert isinstance(trusting, LocalSource) and trusting.trust_folder_times


def test_a_run_trusts_folder_times_when_its_sources_resource_says_so(
    dataset: Path, target: str
) -> None:
    """The staging asset hands the sources resource's setting to its source: trusting, the file
    rewritten in place is passed over; by default, the next run loads it."""
    catalogue(dataset, target)
    path = dataset / "song_data" / "A" / "A" / "B" / "TRABX.json"
    path.write_text(path.read_text().replace('"TBX"', '"TBX, rewritten"'))
    given = resources(target, dataset)
    trusting = SourcesResource(
        song_data=str(dataset / "song_data"),
        log_data=str(dataset / "log_data"),
        trust_folder_times="true",
    )

    def titles() -> set[str]:
        with sparkify_dagster.connect(target) as warehouse:
            return {str(title) for (title,) in warehouse.query("SELECT title FROM staging_songs")}

    for sources, title in ((trusting, "TBX"), (given["sources"], "TBX, rewritten")):
        result = materialize(
            [staging_songs], resources={**given, "sources": sources}, raise_on_error=True
        )
        assert result.success and title in titles()
