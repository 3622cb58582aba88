"""The manifest of files loaded (``load_manifest``): what it knows, and which files changed.

A file's stamp decides, as it does for rsync and for S3 sensors: its size and version (the
modification time in nanoseconds here, the ETag on S3). A file whose stamp the manifest knows is
not read. A file whose stamp changed is read, and its checksum decides: the same bytes (a
``touch``, a copy that kept the content) only refresh its entry; other bytes replace its rows. A
checksum is also compared when the stamp is too fresh to vouch for the bytes
(:func:`~sparkify_dagster.ingest.files.mtime_version`). Like rsync, a file rewritten with the same
size whose modification time is then set back is not seen: stage it with ``full_refresh``.

A run with nothing new reads the stamps of one kind in one query (no checksums) and compares them
as tuples: at 100,000 song files about 0.1 s, the listing's stat of each file three times that
(``benchmarks/README.md``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, NamedTuple

from sparkify_dagster.ingest.files import (
    Folder,
    Source,
    SourceFile,
    Stamp,
    Surveying,
    names_by_folder,
    unsettled,
)
from sparkify_dagster.warehouse.model import LOAD_FOLDERS, LOAD_MANIFEST, SOURCES_PER_STATEMENT
from sparkify_dagster.warehouse.staging.report import Outputs

if TYPE_CHECKING:
    from sparkify_dagster.warehouse.engines.base import Warehouse


def checksum(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def manifest_sql(warehouse: Warehouse) -> str:
    """The statement that reads the stamps the manifest knows of the files of one kind (bound)."""
    return warehouse.dialect.manifest_sql()


def read_manifest(warehouse: Warehouse, kind: str) -> set[Stamp]:
    """The files of ``kind`` whose stamp vouches for the bytes loaded: ``(uri, size, version)``,
    the shape of a :class:`SourceFile`, so that a listed file is known when it is in the set.
    Entries whose version is unsettled are left out: their checksum decides."""
    return set(warehouse.query(manifest_sql(warehouse), [kind]))


class Listed(NamedTuple):
    """A kind's files against the manifest (:func:`listed`)."""

    files: list[SourceFile]  # the files to compare with the manifest
    trusted: int  # more files, in folders taken on trust: the manifest has their stamps
    known: set[Stamp]  # the stamps the manifest knows of (at least) ``files``


def listed(warehouse: Warehouse, kind: str, source: Source) -> Listed:
    """The files of ``source`` and the stamps the manifest knows of them.

    A local song location is surveyed (:meth:`~.sources.LocalSource.survey`): the folders
    unchanged since ``load_folders`` last recorded them are not opened; their files are
    stat'ed by the names the manifest knows, or, with ``SPARKIFY_TRUST_FOLDER_TIMES``, not
    stat'ed either (only the stamps of the other folders' files are read then). The folders are
    recorded again, in the run's transaction, whenever one was opened. The catalogue is staged
    whole by every run; the event logs, staged some days at a time, are listed file by file.
    """
    if kind != "songs" or not isinstance(source, Surveying):
        return Listed(source.files(), 0, read_manifest(warehouse, kind))
    dialect = warehouse.dialect
    rows = warehouse.query(dialect.folders_sql(), [kind])
    recorded = {folder: Folder(files, modified) for folder, files, modified in rows}
    if source.trust_folder_times:
        survey, known = source.survey(recorded), None
    else:
        entries: list[Stamp] = warehouse.query(dialect.manifest_files_sql(), [kind])
        survey = source.survey(recorded, names_by_folder(uri for uri, _, _ in entries))
        known = {entry for entry in entries if not unsettled(entry[2])}
    if survey.looked:
        warehouse.execute(dialect.delete_kind_sql(LOAD_FOLDERS), [kind])
        found = survey.folders.items()
        warehouse.load_rows(LOAD_FOLDERS, ((path, kind, *folder) for path, folder in found))
    if known is not None:
        return Listed(survey.files, 0, known)
    uris = [file.uri for file in survey.files]
    if not survey.trusted or len(uris) > SOURCES_PER_STATEMENT:
        return Listed(survey.files, survey.trusted, read_manifest(warehouse, kind))
    stamps = set(warehouse.query(dialect.manifest_of_sql(), [kind, uris]))
    return Listed(survey.files, survey.trusted, stamps)


class Changes(NamedTuple):
    """The files a run (re)loads, and of them those whose earlier rows they replace."""

    pending: list[SourceFile]
    replaced: list[str]


def changed_files(
    warehouse: Warehouse, source: Source, files: list[SourceFile], known: set[tuple[str, int, str]]
) -> Changes:
    """The files to (re)load: new ones, and known ones whose bytes changed.

    A file whose stamp is in ``known`` is not read. Of the others, those the manifest holds are
    read and their checksum compared: a file whose bytes did not change (a ``touch``) only gets
    its manifest entry refreshed.
    """
    candidates = [file for file in files if file not in known]
    digests = _checksums(warehouse, [file.uri for file in candidates])
    unchanged = set()
    for file, data in source.contents(file for file in candidates if file.uri in digests):
        if checksum(data) == digests[file.uri]:
            unchanged.add(file.uri)
            warehouse.execute(
                warehouse.dialect.manifest_refresh_sql(), [file.size, file.version, file.uri]
            )
    pending = [file for file in candidates if file.uri not in unchanged]
    return Changes(pending, [file.uri for file in pending if file.uri in digests])


def manifest_entry(
    out: Outputs, file: SourceFile, digest: str, totals: tuple[int, int]
) -> tuple[object, ...]:
    """The ``load_manifest`` row of ``file``: its checksum, and records read and rejected."""
    return (file.uri, out.report.kind, file.size, file.version, digest, *totals, out.now)


def _checksums(warehouse: Warehouse, uris: list[str]) -> dict[str, str]:
    """The checksum the manifest holds of each of ``uris`` it knows, asked of
    :data:`~.model.SOURCES_PER_STATEMENT` at a time (a first load lists every file). An empty
    manifest is not asked: binding a first load's 100,000 names cost 0.3 s for nothing."""
    digests: dict[str, str] = {}
    if not uris or not warehouse.count(LOAD_MANIFEST):
        return digests
    sql = warehouse.dialect.manifest_checksums_sql()
    for start in range(0, len(uris), SOURCES_PER_STATEMENT):
        digests.update(warehouse.query(sql, [uris[start : start + SOURCES_PER_STATEMENT]]))
    return digests
