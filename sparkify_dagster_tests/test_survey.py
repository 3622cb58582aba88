"""Surveys against the listing of every file, over random trees and random changes to them, on
the real file system: the exact one (the default) lists the same files with the same stamps;
the one that trusts folder times (``SPARKIFY_TRUST_FOLDER_TIMES``) lists the files of the
folders that changed and counts the others.

Each change sets the times of the folders it touched to a new, settled time, as if it had been
made a while before the next run: a folder's time then differs from the recorded one exactly
when its entries changed (or when something set it back, as ``rsync -a`` does).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sparkify_dagster.ingest.files import UNSETTLED, Folders, SourceFile, names_by_folder
from sparkify_dagster.ingest.sources import LocalSource

NAMES = st.sampled_from(["a", "b", "c", "d"])


class Surveys(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="survey-")) / "songs"
        self.root.mkdir()
        self.clock = time.time_ns() - 86_400 * 10**9  # a day ago: every time settled
        self.back = self.clock - 86_400 * 10**9  # older still: times set back
        self.known: Folders = {}  # as the trusting survey last recorded them
        self.before: set[str] = set()  # the files the last survey's folders held
        self.exactly: Folders = {}  # as the exact survey last recorded them
        self.manifest: set[str] = set()  # every file ever listed: deleted ones stay
        self.source = LocalSource(self.root, trust_folder_times=True)

    def teardown(self) -> None:
        shutil.rmtree(self.root.parent)

    def settle(self, *folders: Path) -> None:
        for folder in folders:
            self.clock += 10**9
            os.utime(folder, ns=(self.clock, self.clock))

    def folders(self) -> list[Path]:
        return sorted([self.root, *(p for p in self.root.rglob("*") if p.is_dir())])

    def data_files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*.json") if p.is_file())

    @rule(index=st.integers(0), name=NAMES)
    def add_file(self, index: int, name: str) -> None:
        folder = self.folders()[index % len(self.folders())]
        (folder / f"{name}.json").write_text("{}")
        self.settle(folder)

    @rule(index=st.integers(0), name=NAMES)
    def add_folder(self, index: int, name: str) -> None:
        folder = self.folders()[index % len(self.folders())]
        if not (folder / name).exists():
            (folder / name).mkdir()
            self.settle(folder / name, folder)

    @precondition(lambda self: self.data_files())
    @rule(index=st.integers(0))
    def remove_file(self, index: int) -> None:
        path = self.data_files()[index % len(self.data_files())]
        path.unlink()
        self.settle(path.parent)

    @precondition(lambda self: self.data_files())
    @rule(index=st.integers(0))
    def replace_by_rename(self, index: int) -> None:
        path = self.data_files()[index % len(self.data_files())]
        (path.parent / "new.tmp").write_text('{"again": 1}')
        os.replace(path.parent / "new.tmp", path)
        self.settle(path.parent)

    @precondition(lambda self: self.data_files())
    @rule(index=st.integers(0))
    def rewrite_in_place(self, index: int) -> None:
        """What only a stat of the file sees: its folder's time does not change."""
        path = self.data_files()[index % len(self.data_files())]
        path.write_text(path.read_text() + " ")

    @precondition(lambda self: self.manifest)
    @rule(index=st.integers(0))
    def lose_a_manifest_entry(self, index: int) -> None:
        """A manifest that does not account for a folder's files: the folder is opened."""
        self.manifest.discard(sorted(self.manifest)[index % len(self.manifest)])

    @rule(index=st.integers(0))
    def remove_empty_folder(self, index: int) -> None:
        empty = [f for f in self.folders() if f != self.root and not any(f.iterdir())]
        if empty:
            folder = empty[index % len(empty)]
            folder.rmdir()
            self.settle(folder.parent)

    @rule(index=st.integers(0), name=NAMES)
    def add_file_setting_the_time_back(self, index: int, name: str) -> None:
        """What ``rsync -a`` and ``cp -p`` do: the folder gets its source's older time."""
        folder = self.folders()[index % len(self.folders())]
        (folder / f"{name}.json").write_text("{}")
        self.back += 10**9
        os.utime(folder, ns=(self.back, self.back))

    @invariant()
    def a_survey_lists_what_changed_and_counts_the_rest(self) -> None:
        every = {str(path) for path in self.data_files()}
        if not every:
            return
        survey = self.source.survey(self.known)
        listed = {file.uri for file in survey.files}
        assert {file.uri for file in self.source.files()} == every
        assert listed <= every
        untouched = every - listed
        assert survey.trusted == len(untouched)
        assert untouched <= self.before  # trusted folders hold what they held when recorded
        for uri in untouched:
            folder = str(Path(uri).parent)
            assert survey.folders[folder] == self.known[folder]
        assert set(survey.folders) == {str(folder) for folder in self.folders()}
        self.known, self.before = survey.folders, every

    @invariant()
    def an_exact_survey_lists_every_file_with_its_stamp(self) -> None:
        if not self.data_files():
            return
        survey = self.source.survey(self.exactly, names_by_folder(sorted(self.manifest)))
        every = self.source.files()
        assert [stamp(file) for file in survey.files] == [stamp(file) for file in every]
        assert survey.trusted == 0
        self.exactly = survey.folders
        self.manifest |= {file.uri for file in every}


def stamp(file: SourceFile) -> tuple[str, int, str]:
    """A file's stamp, settled or not (two listings a moment apart may differ in that)."""
    return file.uri, file.size, file.version.rstrip(UNSETTLED)


Surveys.TestCase.settings = settings(max_examples=40, stateful_step_count=12, deadline=None)
test_surveys = Surveys.TestCase
