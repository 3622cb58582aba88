"""Reading input files: whole, even when they changed after they were listed."""

from __future__ import annotations

import os
import time
from pathlib import Path
from unittest.mock import ANY

import pytest

from sparkify_dagster.core.errors import SourceError
from sparkify_dagster.ingest.files import (
    SETTLING_NS,
    UNSETTLED,
    SourceFile,
    is_wanted,
    mtime_version,
    unsettled,
)
from sparkify_dagster.ingest.sources import LocalSource


def test_a_file_that_grew_after_listing_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"x" * 10)
    source = LocalSource(tmp_path)
    files = source.files()
    path.write_bytes(b"y" * 3_000_000)
    ((_, data),) = source.contents(files)
    assert data == b"y" * 3_000_000


def test_a_file_gone_after_listing_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"{}")
    source = LocalSource(tmp_path)
    files = source.files()
    path.unlink()
    with pytest.raises(SourceError, match=r"cannot read .*a\.json: No such file or directory"):
        list(source.contents(files))


def _settled(files: list[SourceFile]) -> list[SourceFile]:
    """``files`` as listed once their stamps settle (these were all written just now)."""
    return [file._replace(version=file.version.removesuffix(UNSETTLED)) for file in files]


def test_a_stamp_taken_moments_after_a_write_is_unsettled(tmp_path: Path) -> None:
    """A file written less than two seconds before the listing may be written again within the
    same tick of its clock: its version says so, and staging compares its checksum."""
    path = tmp_path / "a.json"
    path.write_bytes(b"{}")
    ((file,),) = [LocalSource(tmp_path).files()]
    assert file.version == f"{path.stat().st_mtime_ns}{UNSETTLED}"
    assert unsettled(file.version)
    earlier = time.time_ns() - SETTLING_NS - 1_000_000
    os.utime(path, ns=(earlier, earlier))
    assert LocalSource(tmp_path).files() == [SourceFile(str(path), 2, str(earlier))]
    assert LocalSource(path).files() == [SourceFile(str(path), 2, str(earlier))]
    assert mtime_version(earlier, earlier + SETTLING_NS - 1) == f"{earlier}{UNSETTLED}"
    assert mtime_version(earlier, earlier + SETTLING_NS) == str(earlier)


def _listed_by_pathlib(root: Path) -> list[SourceFile]:
    """How LocalSource listed a folder before it walked with os.scandir: the reference."""
    paths = sorted(
        path
        for path in root.rglob("*")
        if is_wanted(path.relative_to(root).parts) and path.is_file()
    )
    return [
        SourceFile(str(path), path.stat().st_size, str(path.stat().st_mtime_ns)) for path in paths
    ]


def test_listing_keeps_the_files_and_order_of_sorted_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    names = [
        "a/b.json", "a-c.json", "a.json", "a.json.gz", "a/.hidden.json", ".hidden/x.json",
        "a.b/c.json", "A/z.json", "x.JSON", "notes.txt", "b/c/d/e.json", "b/c.json",
        "b/c/.ipynb_checkpoints/d.json", "e.json/inside.json", "_/1.json", "z ~.json",
    ]  # fmt: skip
    for number, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"{}" * number)
    (root / "link-to-file.json").symlink_to(root / "a.json")
    (root / "link-to-folder").symlink_to(root / "b", target_is_directory=True)
    expected = _listed_by_pathlib(root)
    first = [f"{root}/{name}" for name in ("A/z.json", "_/1.json", "a/b.json", "a-c.json")]
    assert [file.uri for file in expected][:4] == first  # part by part, not as strings
    assert _settled(LocalSource(root).files()) == expected
    assert _settled(LocalSource(f"{root}/").files()) == expected
    assert _settled(LocalSource(f"{tmp_path}/./data").files()) == expected
    monkeypatch.chdir(root)
    assert _settled(LocalSource(".").files()) == _listed_by_pathlib(Path("."))
    assert _settled(LocalSource("b").files()) == _listed_by_pathlib(Path("b"))
    assert LocalSource("b/c.json").files() == [SourceFile("b/c.json", 22, ANY)]
