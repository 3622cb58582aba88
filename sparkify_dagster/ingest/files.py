"""The input files and listings every source shares, local folders and S3 alike.

:mod:`~sparkify_dagster.ingest.sources` (local files) and :mod:`~sparkify_dagster.ingest.s3`
both build on these types, so neither needs the other.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from sparkify_dagster.core.errors import RecordError

SUFFIXES = (".json", ".json.gz")


@dataclass(frozen=True, slots=True)  # a listing can hold a million: no __dict__ each
class SourceFile:
    """One input file: ``uri`` is how people and lineage columns name it."""

    uri: str
    size: int
    version: str  # changes whenever the content may have changed (mtime, ETag)


@dataclass(frozen=True)
class ListedFile:
    """One file as a look for changes sees it (:mod:`~sparkify_dagster.ingest.watch`).

    ``key`` is its path below the location, ``/``-separated; ``version`` is its ETag or its
    modification time in nanoseconds; ``modified`` is when it was last written, in epoch seconds
    (S3's LastModified; locally the later of mtime and ctime, since a copy may keep an old mtime).
    """

    key: str
    uri: str
    size: int
    version: str
    modified: float

    @property
    def stamp(self) -> str:
        """Changes whenever the content may have changed: size and version."""
        return f"{self.size}:{self.version}"


@dataclass(frozen=True)
class Listing:
    """Files of one location whose keys sort after a given key, in key order.

    ``resume_after`` is the last key looked at when more keys remain (list again after it), and
    ``None`` when the listing reached the end; ``clock`` is the store's time when it began.
    """

    files: list[ListedFile]
    resume_after: str | None
    clock: float


class Source(Protocol):
    """Lists the input files of one location and reads their contents."""

    location: str

    def files(self) -> list[SourceFile]: ...

    def contents(self, files: Iterable[SourceFile]) -> Iterator[tuple[SourceFile, bytes]]:
        """Each file with its bytes as stored (see :func:`decompress`), in the order given."""
        ...

    def list_after(self, start_after: str = "", *, max_keys: int | None = None) -> Listing:
        """The files whose key below the location sorts after ``start_after``, in key order."""
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
