"""Reading input files: whole, even when they changed after they were listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkify.errors import SourceError
from sparkify.sources import LocalSource


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
