"""Merge many small source files into a few gzipped JSON-lines objects on S3, with a manifest.

Redshift's COPY pays a fixed cost per S3 object: ~15,000 song files of a few hundred bytes each
load far slower than the same records in a handful of files. :func:`compact` reads every wanted
file below a location (``s3://…`` or a local folder), writes one record per line into ``parts``
gzipped objects (a multiple of the cluster's slice count, so every slice loads one share), and
a COPY manifest listing them::

    <staging>/<table>/part-00000.json.gz … part-0000N.json.gz
    <staging>/<table>/manifest.json

Every record is rewritten as one compact JSON line (values unchanged; pretty-printed song files
too) with two more fields, ``source_file`` and ``source_line``: COPY loads them into the lineage
columns, so a compacted load keeps the same lineage, and the same tie-breaks, as a local one.
A record that is not valid JSON is named in a
:class:`~sparkify_dagster.core.errors.RecordError` before
anything reaches the warehouse.
"""

from __future__ import annotations

import gzip
import math
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from sparkify_dagster.core.errors import ConfigError, RecordError
from sparkify_dagster.ingest import s3_objects
from sparkify_dagster.ingest.files import SourceFile, decompress, is_wanted
from sparkify_dagster.ingest.parse import event_lines
from sparkify_dagster.ingest.sources import open_source

PART_TARGET_BYTES = 512 * 1024 * 1024  # raw bytes per part before another round of slices
READ_THREADS = 16
READ_WINDOW = 256


@dataclass(frozen=True)
class Compacted:
    """What :func:`compact` read and wrote."""

    table: str
    manifest: str  # s3:// URI of the COPY manifest
    objects_before: int
    bytes_before: int
    objects_after: int  # data objects written (the manifest not counted)
    bytes_after: int


def manifest_uri(staging: str, table: str) -> str:
    return s3_objects.join_uri(staging, table, "manifest.json")


def part_count(files: int, total_bytes: int, slices: int) -> int:
    """How many parts: a multiple of ``slices`` (one round per ~512 MB), never more than files.

    >>> part_count(14896, 3_900_000, 4), part_count(3, 900, 4), part_count(10**5, 3 * 2**30, 4)
    (4, 3, 8)
    """
    if slices < 1:
        raise ConfigError(f"SPARKIFY_SLICES is {slices}: give the cluster's slice count, 1 or more")
    rounds = max(1, math.ceil(total_bytes / (slices * PART_TARGET_BYTES)))
    return max(1, min(files, slices * rounds))


def split_by_size(files: list[SourceFile], parts: int) -> list[list[SourceFile]]:
    """``files`` in at most ``parts`` consecutive, non-empty groups of about equal bytes."""
    share = sum(file.size for file in files) / parts
    groups: list[list[SourceFile]] = [[]]
    seen = 0
    for index, file in enumerate(files):
        groups_left = parts - len(groups)
        files_left = len(files) - index
        full = seen >= share * len(groups) or files_left <= groups_left
        if groups[-1] and groups_left > 0 and full:
            groups.append([])
        groups[-1].append(file)
        seen += file.size
    return groups


def _with_lineage(record: bytes, file: SourceFile, line: int | None) -> bytes:
    """``record`` as one compact JSON line carrying where it came from, for COPY to load into
    the lineage columns (``source_file``, ``source_line``)."""
    value = orjson.loads(record)
    if type(value) is dict:
        value["source_file"] = file.uri
        value["source_line"] = line
    return orjson.dumps(value)


def song_lines(file: SourceFile, data: bytes) -> Iterator[bytes]:
    """One compact JSON line per song record of a song file (one object, or JSON lines)."""
    data = decompress(file, data).removeprefix(b"\xef\xbb\xbf")
    if not data.strip():
        return
    try:
        yield _with_lineage(data, file, None)
        return
    except orjson.JSONDecodeError as whole_file:
        lines = list(event_lines(data))
        if len(lines) < 2:
            raise RecordError(file.uri, None, f"invalid JSON: {whole_file}") from None
    for number, line in lines:
        try:
            yield _with_lineage(line, file, number)
        except orjson.JSONDecodeError as exc:
            raise RecordError(file.uri, number, f"invalid JSON: {exc}") from None


def event_lines_of(file: SourceFile, data: bytes) -> Iterator[bytes]:
    """Each event line with its lineage; a line that is not JSON is named, with its number."""
    for number, line in event_lines(decompress(file, data)):
        try:
            yield _with_lineage(line, file, number)
        except orjson.JSONDecodeError as exc:
            raise RecordError(file.uri, number, f"invalid JSON: {exc}") from None


def _files(location: str, s3: Any) -> list[SourceFile]:
    if not location.startswith("s3://"):
        return open_source(location).files()
    bucket, prefix = s3_objects.split_uri(location)
    files = []
    for item in s3_objects.list_objects(s3, location):
        relative = item["Key"][len(prefix) :].lstrip("/")
        if is_wanted(relative.split("/")):
            uri = f"s3://{bucket}/{item['Key']}"
            files.append(SourceFile(uri, int(item["Size"]), str(item.get("ETag", ""))))
    if not files:
        raise ConfigError(f"{location} holds no *.json or *.json.gz objects")
    return files


def _contents(files: list[SourceFile], s3: Any) -> Iterator[tuple[SourceFile, bytes]]:
    """Each file with its raw bytes, in order; S3 objects fetched ``READ_THREADS`` at a time,
    a window of ``READ_WINDOW`` files held in memory at most."""
    if not files[0].uri.startswith("s3://"):
        yield from ((file, _read_local(file)) for file in files)
        return

    def fetch(file: SourceFile) -> tuple[SourceFile, bytes]:
        return file, s3_objects.get(s3, file.uri)

    with ThreadPoolExecutor(READ_THREADS) as pool:
        for start in range(0, len(files), READ_WINDOW):
            yield from pool.map(fetch, files[start : start + READ_WINDOW])


def _read_local(file: SourceFile) -> bytes:
    with open(file.uri, "rb") as handle:
        return handle.read()


def compact(
    location: str,
    staging: str,
    table: str,
    *,
    kind: str,
    slices: int = 4,
    s3: Any = None,
    files: list[SourceFile] | None = None,
) -> Compacted:
    """Rewrite the files below ``location`` (or only ``files`` of it) as gzipped JSON lines
    under ``staging``/``table``.

    ``kind`` is ``"songs"`` (one object per file, maybe pretty-printed) or ``"events"`` (JSON
    lines). Returns the manifest's URI and the object counts and bytes before and after.
    """
    if kind not in {"songs", "events"}:
        raise ValueError(kind)
    s3 = s3 or s3_objects.client()
    files = _files(location, s3) if files is None else files
    before = sum(file.size for file in files)
    lines = song_lines if kind == "songs" else event_lines_of
    entries = []
    after = 0
    groups = split_by_size(files, part_count(len(files), before, slices))
    for number, group in enumerate(groups):
        uri = s3_objects.join_uri(staging, table, f"part-{number:05d}.json.gz")
        with tempfile.TemporaryFile() as buffer:
            with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped:
                for file, data in _contents(group, s3):
                    for line in lines(file, data):
                        zipped.write(line + b"\n")
            size = buffer.tell()
            buffer.seek(0)
            s3_objects.put(s3, uri, buffer, content_type="application/gzip")
        after += size
        entries.append({"url": uri, "mandatory": True, "meta": {"content_length": size}})
    manifest = manifest_uri(staging, table)
    s3_objects.put(s3, manifest, orjson.dumps({"entries": entries}, option=orjson.OPT_INDENT_2))
    return Compacted(table, manifest, len(files), before, len(entries), after)
