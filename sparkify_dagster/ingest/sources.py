"""Find and read the input files: local folders now, other stores behind the same interface.

A location is a folder (read recursively) or a single file. Only ``*.json`` and ``*.json.gz``
files count; hidden files and folders (a name starting with ``.``, such as
``.ipynb_checkpoints``) are skipped so that stray copies never double-count records.
Files are returned in path order, so every run sees them in the same order.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sparkify_dagster.errors import RecordError, SourceError

SUFFIXES = (".json", ".json.gz")


@dataclass(frozen=True)
class SourceFile:
    """One input file: ``uri`` is how people and lineage columns name it."""

    uri: str
    size: int
    version: str  # changes whenever the content may have changed (mtime, ETag)


class Source(Protocol):
    """Lists the input files of one location and reads their contents."""

    location: str

    def files(self) -> list[SourceFile]: ...

    def contents(self, files: Iterable[SourceFile]) -> Iterator[tuple[SourceFile, bytes]]:
        """Each file with its bytes as stored (see :func:`decompress`), in the order given."""
        ...


def is_wanted(relative_parts: Iterable[str]) -> bool:
    """True for a non-hidden ``*.json``/``*.json.gz`` path (given as its parts below the root)."""
    parts = list(relative_parts)
    if not parts or any(part.startswith(".") for part in parts):
        return False
    return parts[-1].endswith(SUFFIXES)


def decompress(file: SourceFile, data: bytes) -> bytes:
    """The content of ``file`` given its stored bytes; a bad ``.gz`` file is a RecordError."""
    if not file.uri.endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise RecordError(file.uri, None, f"not a valid gzip file ({exc})") from None


class LocalSource:
    """A folder (searched recursively) or a single file on the local file system."""

    def __init__(self, location: str | os.PathLike[str]) -> None:
        self.location = os.fspath(location)
        self.root = Path(self.location)

    def files(self) -> list[SourceFile]:
        if self.root.is_file():
            stat = self.root.stat()
            found = [SourceFile(str(self.root), stat.st_size, str(stat.st_mtime_ns))]
        elif self.root.is_dir():
            top = str(self.root)  # as pathlib writes it: "./a/" is "a"
            prefix = "" if top == "." else top if top.endswith("/") else top + "/"
            found = list(_walk(top, prefix))
        else:
            raise SourceError(f"{self.location} does not exist")
        if not found:
            raise SourceError(
                f"{self.location} holds no *.json or *.json.gz files (hidden ones are skipped)"
            )
        return found

    def contents(self, files: Iterable[SourceFile]) -> Iterator[tuple[SourceFile, bytes]]:
        for file in files:
            try:
                data = _read(file.uri, file.size)
            except OSError as exc:
                raise SourceError(f"cannot read {file.uri}: {exc.strerror}") from None
            yield file, data


def _walk(folder: str, prefix: str) -> Iterator[SourceFile]:
    """The wanted files below ``folder`` (written ``prefix`` in their paths), in path order.

    Depth first, each folder's entries sorted by name: the order of sorting the paths part by
    part. Hidden entries are skipped before they are looked into; symbolic links to folders are
    not followed (links to files are), and an unreadable folder is passed over.
    """
    try:
        with os.scandir(folder) as listing:
            entries = sorted(
                (entry for entry in listing if not entry.name.startswith(".")),
                key=lambda entry: entry.name,
            )
    except PermissionError:
        return
    for entry in entries:
        path = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path, path + "/")
        elif entry.name.endswith(SUFFIXES) and entry.is_file():
            stat = entry.stat()
            yield SourceFile(path, stat.st_size, str(stat.st_mtime_ns))


def _read(path: str, size: int) -> bytes:
    """The whole file, with plain system calls: most inputs are tiny, and a buffered file object
    costs more than reading them. ``size`` (from the listing) is a hint; reading goes on to EOF."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(descriptor, size + 1)]
        while chunks[-1]:
            chunks.append(os.read(descriptor, max(size, 1 << 20)))
    finally:
        os.close(descriptor)
    return b"".join(chunks)


def open_source(location: str, *, no_sign_request: bool = False) -> Source:
    """The source for ``location``: ``s3://bucket/prefix`` (:mod:`~sparkify_dagster.ingest.s3`) or
    a path.

    ``no_sign_request`` reads S3 without credentials, as for a public bucket.
    """
    if location.startswith("s3://"):
        from sparkify_dagster.ingest.s3 import S3Source  # boto3 is imported only when S3 is used

        return S3Source(location, no_sign_request=no_sign_request)
    return LocalSource(location)
