"""The input files and listings every source shares, local folders and S3 alike.

:mod:`~sparkify_dagster.ingest.sources` (local files) and :mod:`~sparkify_dagster.ingest.s3`
both build on these types, so neither needs the other.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from sparkify_dagster.core.errors import RecordError

SUFFIXES = (".json", ".json.gz")


class SourceFile(NamedTuple):  # a listing can hold a million: a tuple is made fastest
    """One input file: ``uri`` is how people and lineage columns name it."""

    uri: str
    size: int
    version: str  # changes whenever the content may have changed (mtime, ETag); see `unsettled`


Stamp = tuple[str, int, str]  # a file's uri, size and version, as the manifest knows it

# A file's modification time is kept to a filesystem's granularity (a few milliseconds on Linux,
# 2 s on FAT and some network shares): a file written again within it, with the same size, keeps
# its stamp. A time this close to the listing cannot vouch for the content yet.
SETTLING_NS = 2_000_000_000
UNSETTLED = "?"  # ends the version of a file whose stamp cannot decide (read and compared)


def mtime_version(mtime_ns: int, clock_ns: int) -> str:
    """A local file's version: its modification time in nanoseconds, marked :data:`UNSETTLED`
    when it is less than :data:`SETTLING_NS` before ``clock_ns`` (when the listing began).

    Git's "racily clean" entries, the same way round: a stamp taken while the file may still be
    written within the same tick is no proof that its bytes are the ones read. Staging compares
    such a file's checksum on every run until its stamp settles (a run two seconds later).
    """
    version = str(mtime_ns)
    return version + UNSETTLED if mtime_ns > clock_ns - SETTLING_NS else version


def unsettled(version: str) -> bool:
    """Whether ``version`` (:func:`mtime_version`) cannot vouch for the file's bytes."""
    return version.endswith(UNSETTLED)


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
    ``None`` when the listing reached the end; ``clock`` is the store's time when it began;
    ``requests`` is how many list requests it took (none for a local folder).
    """

    files: list[ListedFile]
    resume_after: str | None
    clock: float
    requests: int = 0


class Source(Protocol):
    """Lists the input files of one location and reads their contents."""

    location: str

    def files(self) -> list[SourceFile]:
        """Every wanted file, with its stamp (size and version)."""
        ...

    def contents(self, files: Iterable[SourceFile]) -> Iterator[tuple[SourceFile, bytes]]:
        """Each file with its bytes as stored (see :func:`decompress`), in the order given."""
        ...

    def list_after(self, start_after: str = "", *, max_keys: int | None = None) -> Listing:
        """The files whose key below the location sorts after ``start_after``, in key order."""
        ...


class Folder(NamedTuple):
    """A folder as a listing found it: the wanted files directly in it, and its modification time
    (ns), or None when that was too recent to vouch for its entries (:data:`SETTLING_NS`:
    an entry changed within the same tick of a coarse clock would leave the same time)."""

    files: int
    modified_ns: int | None


Folders = dict[str, Folder]  # every folder a listing went through, by path


class Survey(NamedTuple):
    """A listing that opened only the folders that changed (:meth:`.sources.LocalSource.survey`)."""

    files: list[SourceFile]  # every file it stat'ed, in path order
    trusted: int  # more files, in folders taken on trust: not listed, the manifest has their stamps
    folders: Folders  # what it found, for the next listing
    looked: int  # the folders it opened: none when every one was as last recorded


@runtime_checkable
class Surveying(Protocol):
    """A source that can list only the folders that changed since a listing recorded them
    (:meth:`.sources.LocalSource.survey`)."""

    trust_folder_times: bool

    def survey(
        self, known: Folders, names: Mapping[str, Sequence[str]] | None = None
    ) -> Survey: ...


def names_by_folder(uris: Iterable[str]) -> dict[str, list[str]]:
    """The names of ``uris`` by the prefix of their folder (``a/b/`` for ``a/b/c.json``): the
    ``names`` a survey stats (:meth:`.sources.LocalSource.survey`)."""
    names: dict[str, list[str]] = {}
    for uri in uris:
        head, slash, name = uri.rpartition("/")
        names.setdefault(head + slash, []).append(name)
    return names


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
