"""Find and read the input files: local folders now, other stores behind the same interface.

A location is a folder (read recursively) or a single file. Only ``*.json`` and ``*.json.gz``
files count; hidden files and folders (a name starting with ``.``, such as
``.ipynb_checkpoints``) are skipped so that stray copies never double-count records.
Files are returned in path order, so every run sees them in the same order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sparkify_dagster.core.errors import SourceError
from sparkify_dagster.ingest.files import (
    SETTLING_NS,
    SUFFIXES,
    Folder,
    Folders,
    ListedFile,
    Listing,
    Source,
    SourceFile,
    Survey,
    mtime_version,
)

_new = tuple.__new__  # makes a SourceFile of a tuple without a call of its Python-level __new__


class _Recorded:
    """What the last listing recorded, and what a survey finds (:func:`_walk`)."""

    def __init__(
        self, known: Folders, clock: int, names: Mapping[str, Sequence[str]] | None
    ) -> None:
        self.known = known
        self.names = names  # None: trusting folder times, the files of unchanged folders unstat'ed
        self.clock = clock
        self.settled = clock - SETTLING_NS
        self.children: dict[str, list[str]] = {}  # a folder's prefix: its subfolders' names
        for folder in sorted(known):
            name = folder.rpartition("/")[2]
            if name and not name.startswith("."):  # a root such as "." or "/" is no one's child
                self.children.setdefault(folder[: len(folder) - len(name)], []).append(name)
        self.found: Folders = {}
        self.trusted = 0
        self.looked = 0


class LocalSource:
    """A folder (searched recursively) or a single file on the local file system.

    Staging lists it with :meth:`survey`, which does not open the folders whose entries did not
    change since they were last listed; with ``trust_folder_times``
    (``SPARKIFY_TRUST_FOLDER_TIMES``; default off) it does not stat their files either: see there
    for what that misses.
    """

    def __init__(
        self, location: str | os.PathLike[str], *, trust_folder_times: bool = False
    ) -> None:
        self.location = os.fspath(location)
        self.root = Path(self.location)
        self.trust_folder_times = trust_folder_times

    def files(self) -> list[SourceFile]:
        """Every wanted file with its size and modification time: a stat each, the rule rsync
        follows, and the one that sees a file rewritten in place (:func:`.files.mtime_version`)."""
        return self._list(None)[0]

    def survey(self, known: Folders, names: Mapping[str, Sequence[str]] | None = None) -> Survey:
        """The files of the location, opening only the folders that changed since ``known``
        was listed.

        A folder's modification time changes whenever an entry is added to it, removed or
        renamed (new files, deletions, ``mv``, the temporary-file-then-rename of rsync, ``aws s3
        sync`` and most downloaders). A folder of ``known`` whose time is still the one recorded
        holds the entries it held then: the subfolders and the number of files ``known`` gives,
        each of them recorded in the manifest by the same transaction as ``known``. The time
        must be the same, not merely older: ``rsync -a`` and ``cp -p`` set a folder's time back
        to its source's.

        Given ``names`` (the names of the files the manifest knows, by the prefix of their
        folder: ``a/b/`` for ``a/b/c.json``; the exact default), the files of an unchanged
        folder are stat'ed by name, without opening the folder: the same stamps as
        :meth:`files`, for less. Without (with :attr:`trust_folder_times`), they are not stat'ed
        either: their stamps are the manifest's, and a stat of each folder is all a run with
        nothing new costs. That misses a file rewritten in place (appended to, or written over
        by ``cp``, ``>`` or an editor that writes in place), which changes the file's time but
        not its folder's; and the target of a symbolic link.
        """
        found, recorded = self._list(known, names)
        if recorded is None:  # a single file: nothing recorded to go by
            return Survey(found, 0, {}, 1)
        return Survey(found, recorded.trusted, recorded.found, recorded.looked)

    def _list(
        self, known: Folders | None, names: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[list[SourceFile], _Recorded | None]:
        clock = time.time_ns()
        recorded = None
        if self.root.is_file():
            stat = self.root.stat()
            version = mtime_version(stat.st_mtime_ns, clock)
            found = [SourceFile(str(self.root), stat.st_size, version)]
        elif self.root.is_dir():
            top = str(self.root)  # as pathlib writes it: "./a/" is "a"
            prefix = "" if top == "." else top if top.endswith("/") else top + "/"
            found = []
            recorded = _Recorded(known, clock, names) if known is not None else None
            _walk(top, prefix, clock, found, recorded)
        else:
            raise SourceError(f"{self.location} does not exist")
        if not found and not (recorded and recorded.trusted):
            raise SourceError(
                f"{self.location} holds no *.json or *.json.gz files (hidden ones are skipped)"
            )
        return found, recorded

    def contents(self, files: Iterable[SourceFile]) -> Iterator[tuple[SourceFile, bytes]]:
        for file in files:
            try:
                data = _read(file.uri, file.size)
            except OSError as exc:
                raise SourceError(f"cannot read {file.uri}: {exc.strerror}") from None
            yield file, data

    def list_after(self, start_after: str = "", *, max_keys: int | None = None) -> Listing:
        """The wanted files whose key below the location sorts after ``start_after``, in key
        order (the order S3 lists in); at most ``max_keys`` of them.

        Folders whose every key sorts before ``start_after`` are not opened, so listing the last
        days of ``log_data/YYYY/MM/`` costs the same after a year as after a week.
        """
        clock = time.time()
        if self.root.is_file():
            name = self.root.name
            found = [_listed(name, str(self.root), self.root.stat())] if name > start_after else []
        elif self.root.is_dir():
            top = str(self.root)
            prefix = "" if top == "." else top if top.endswith("/") else top + "/"
            found = sorted(_walk_after(top, prefix, "", start_after), key=lambda f: f.key)
        else:
            raise SourceError(f"{self.location} does not exist")
        if max_keys is not None and len(found) > max_keys:
            found = found[:max_keys]
            return Listing(found, found[-1].key, clock)
        return Listing(found, None, clock)


def _walk(
    folder: str, prefix: str, clock: int, found: list[SourceFile], recorded: _Recorded | None
) -> None:
    """Append the wanted files below ``folder`` (written ``prefix`` in their paths) to ``found``,
    in path order; ``clock`` is when the listing began (:func:`~.files.mtime_version`).

    Depth first, each folder's entries sorted by name: the order of sorting the paths part by
    part. Hidden entries are skipped before they are looked into; symbolic links to folders are
    not followed (links to files are). A folder that cannot be read, a link that leads nowhere and
    a name that is not UTF-8 fail the listing (:func:`_entries`): nothing is passed over unsaid.
    This loop is most of a run with nothing new: a stat per file, little else, but for the
    folders whose entries are as ``recorded`` (:meth:`LocalSource.survey`), which are not opened.
    """
    if recorded is not None:
        modified = _modified(folder)
        was = recorded.known.get(folder)
        if (  # its entries are the ones recorded: it need not be opened
            was is not None
            and was.modified_ns == modified
            and _unopened(prefix, recorded, was, found)
        ):
            recorded.found[folder] = was
            return
        recorded.looked += 1
    settled = clock - SETTLING_NS
    direct = 0
    append = found.append
    for entry in sorted(_entries(folder), key=_name):
        name = entry.name
        if entry.is_dir(follow_symlinks=False):
            _walk(prefix + name, prefix + name + "/", clock, found, recorded)
        elif name.endswith(SUFFIXES) and (
            entry.is_file(follow_symlinks=False) or _is_data_file(entry, prefix + name)
        ):
            stat = entry.stat()
            mtime = stat.st_mtime_ns
            version = str(mtime) if mtime <= settled else mtime_version(mtime, clock)
            append(_new(SourceFile, (prefix + name, stat.st_size, version)))
            direct += 1
    if recorded is not None:
        recorded.found[folder] = Folder(direct, modified if modified <= recorded.settled else None)


def _unopened(prefix: str, recorded: _Recorded, was: Folder, found: list[SourceFile]) -> bool:
    """Append the files below the folder ``prefix`` names, whose entries are the ones ``was``
    records, to ``found`` without opening it (:meth:`LocalSource.survey`); False, having
    appended nothing, when the manifest's names do not account for its files: open it."""
    subfolders = recorded.children.get(prefix, [])
    if recorded.names is None:  # trusting folder times: its files keep the manifest's stamps
        recorded.trusted += was.files
        for name in subfolders:
            _walk(prefix + name, prefix + name + "/", recorded.clock, found, recorded)
        return True
    files = _stat_names(prefix, recorded.names.get(prefix, ()), recorded.clock)
    if files is None or len(files) != was.files:
        return False
    here = [(file.uri, file) for file in files] + [(prefix + name, None) for name in subfolders]
    for path, file in sorted(here, key=_first):
        if file is not None:
            found.append(file)
        else:
            _walk(path, path + "/", recorded.clock, found, recorded)
    return True


def _stat_names(prefix: str, names: Iterable[str], clock: int) -> list[SourceFile] | None:
    """The files ``prefix + name`` of ``names`` with their stamps, a stat each relative to the
    open folder; a name no longer there (a file deleted before its folder was recorded: the
    manifest keeps its rows) is left out. None when one cannot be stat'ed: opening the folder
    says why."""
    settled = clock - SETTLING_NS
    stat = os.stat
    files = []
    try:
        descriptor = os.open(prefix or ".", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for name in names:
            try:
                result = stat(name, dir_fd=descriptor)
            except FileNotFoundError:
                continue
            mtime = result.st_mtime_ns
            version = str(mtime) if mtime <= settled else mtime_version(mtime, clock)
            files.append(_new(SourceFile, (prefix + name, result.st_size, version)))
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return files


def _first(pair: tuple[str, object]) -> str:
    return pair[0]


def _walk_after(folder: str, prefix: str, key_prefix: str, after: str) -> Iterator[ListedFile]:
    """:func:`_walk`'s files below ``folder`` whose key (path below the location, written with
    ``key_prefix`` here) sorts after ``after``; a folder whose keys all sort before it is skipped
    unopened."""
    for entry in _entries(folder):
        key = key_prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            below = key + "/"
            if below > after or after.startswith(below):
                yield from _walk_after(prefix + entry.name, prefix + entry.name + "/", below, after)
        elif key > after and _is_data_file(entry, prefix + entry.name):
            yield _listed(key, prefix + entry.name, entry.stat())


def _modified(folder: str) -> int:
    """The modification time (ns) of ``folder``; one that cannot be looked at is a
    :class:`SourceError` as in :func:`_entries`."""
    try:
        return os.stat(folder).st_mtime_ns
    except OSError as exc:
        raise SourceError(f"cannot read the folder {_shown(folder)}: {exc.strerror}") from None


def _entries(folder: str) -> list[os.DirEntry[str]]:
    """The entries of ``folder`` that are not hidden; a folder that cannot be read, or an entry
    whose name is not UTF-8, is a :class:`SourceError` naming it and the fix."""
    try:
        with os.scandir(folder) as listing:
            entries = [entry for entry in listing if not entry.name.startswith(".")]
    except OSError as exc:
        raise SourceError(
            f"cannot read the folder {_shown(folder)}: {exc.strerror}; give the user running "
            "Dagster read access to it, or move it out of the data's location"
        ) from None
    for entry in entries:
        if entry.name.isascii():
            continue
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            raise SourceError(
                f"the name of {_shown(entry.path)} is not valid UTF-8: rename it (file and "
                "folder names are stored as text)"
            ) from None
    return entries


def _is_data_file(entry: os.DirEntry[str], path: str) -> bool:
    """Whether ``entry`` is a data file to load; a ``*.json`` link that leads nowhere (broken,
    or a loop) is a :class:`SourceError`, never passed over."""
    if not entry.name.endswith(SUFFIXES):
        return False
    if entry.is_symlink() and not os.path.exists(entry.path):
        raise SourceError(
            f"{path} is a symbolic link that loops or leads to nothing: remove it, or point it "
            "at the file it stands for"
        )
    return entry.is_file()


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _shown(path: str) -> str:
    """``path`` as a message can show it, whatever bytes its name holds."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def _listed(key: str, path: str, stat: os.stat_result) -> ListedFile:
    modified = max(stat.st_mtime, stat.st_ctime)
    return ListedFile(key, path, stat.st_size, str(stat.st_mtime_ns), modified)


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
    if len(chunks) == 2:  # read whole at once, the usual case: no copy of a large log
        return chunks[0]
    return b"".join(chunks)


@dataclass(frozen=True)
class SourceOptions:
    """How the sources of a run are read: ``no_sign_request`` reads S3 without credentials, as
    for a public bucket (``SPARKIFY_NO_SIGN_REQUEST``); ``trust_folder_times`` lets a local
    song folder's own time vouch for its files (``SPARKIFY_TRUST_FOLDER_TIMES``,
    :meth:`LocalSource.survey`)."""

    no_sign_request: bool = False
    trust_folder_times: bool = False

    def open(self, location: str) -> Source:
        return open_source(
            location,
            no_sign_request=self.no_sign_request,
            trust_folder_times=self.trust_folder_times,
        )


DEFAULT_OPTIONS = SourceOptions()  # S3 signed, every local file stat'ed


def open_source(
    location: str, *, no_sign_request: bool = False, trust_folder_times: bool = False
) -> Source:
    """The source for ``location``: ``s3://bucket/prefix`` (:mod:`~sparkify_dagster.ingest.s3`) or
    a path.

    ``no_sign_request`` reads S3 without credentials, as for a public bucket;
    ``trust_folder_times`` lets a local folder's own time vouch for its files (see
    :class:`LocalSource`).
    """
    if location.startswith("s3://"):
        from sparkify_dagster.ingest.s3 import S3Source  # boto3 is imported only when S3 is used

        return S3Source(location, no_sign_request=no_sign_request)
    return LocalSource(location, trust_folder_times=trust_folder_times)
