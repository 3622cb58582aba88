"""Look for new and changed input files cheaply, remembering what was seen in a small cursor.

The sensors (:mod:`sparkify_dagster.sensors`) call :func:`look_for_events` and
:func:`look_for_songs` on every tick; each lists only where new files can be, compares each file
with what the cursor remembers, and hands back the files that are new or changed together with
the cursor to keep. Both work the same on ``s3://`` prefixes and local folders.

**Event logs** carry their day in their key (``log_data/2018/11/2018-11-28-events.json``), and
keys sort by day. The cursor remembers a boundary key a few days (``lookback_days``) before the
newest day seen, and the stamp (size and ETag, or size and mtime) of every file after it. A look
lists only the keys after the boundary, one request on S3 however long the history, and reports
every file whose stamp differs: a new day, a late file for a day before the newest, a file
rewritten in place. A late file more than ``lookback_days`` before the newest day is not looked
for (the next staging run still loads it: the manifest compares every file).

**Song files** have no order to exploit: a look lists the whole location, ``max_keys`` keys per
look at most, resuming where the previous look stopped, so a pass over a large catalogue spans
several looks of bounded cost. A file is a candidate when it was written after the previous pass
began (less ``margin`` seconds for uploads in flight), and new or changed when the cursor holds no
equal stamp for it; the cursor keeps only the stamps of recently written files.

>>> look = look_for_events("s3://my-bucket/log_data", cursor=None)  # doctest: +SKIP
>>> [file.key for file in look.found], look.cursor  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from sparkify_dagster.core.errors import SourceError
from sparkify_dagster.core.settings import environ
from sparkify_dagster.ingest.files import ListedFile, Listing, Source
from sparkify_dagster.ingest.sources import open_source

LOOKBACK_DAYS = 7  # days before the newest event log that are listed again for late files
MAX_KEYS = 20_000  # song keys listed per look at most
MARGIN = 300.0  # seconds an upload may take between its LastModified time and its listing
VERSION = 1  # of the cursor's layout

_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


@dataclass
class Cursor:
    """What a sensor remembers between looks, kept as compact JSON (:meth:`dump`).

    ``after``: keys at or before it are history, never listed again (event logs).
    ``resume``: the pass under way continues after this key (song files).
    ``since``: only files written later are candidates; ``started``: when this pass began.
    ``seen``: the stamp and write time (whole seconds) of each file the cursor vouches for.
    """

    location: str
    after: str = ""
    resume: str = ""
    since: float | None = None
    started: float | None = None
    seen: dict[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None, location: str) -> Cursor:
        """The cursor in ``text``; a fresh one if there is none, it is unreadable, or it is for
        another location (a changed setting starts over: the manifest keeps reloads away)."""
        if not text:
            return cls(location)
        try:
            data = orjson.loads(text)
            if data.get("v") != VERSION or data.get("at") != location:
                return cls(location)
            seen = {key: (str(stamp), int(when)) for key, (stamp, when) in data["seen"].items()}
            return cls(
                location,
                after=str(data.get("after", "")),
                resume=str(data.get("resume", "")),
                since=data.get("since"),
                started=data.get("started"),
                seen=seen,
            )
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            return cls(location)

    def dump(self) -> str:
        data: dict[str, Any] = {"v": VERSION, "at": self.location}
        for name in ("after", "resume", "since", "started"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        data["seen"] = {key: list(value) for key, value in sorted(self.seen.items())}
        return orjson.dumps(data).decode()


@dataclass(frozen=True)
class Look:
    """What one look at a location found: the new or changed files, and the cursor to keep.

    ``cursor`` equals the cursor given when the look changed nothing worth remembering; a look
    that found files gives the cursor to store once their run is requested.
    """

    location: str
    kind: str
    found: list[ListedFile]
    listed: int
    scope: str  # what was listed, in words
    cursor: str | None
    previous: str | None

    @property
    def run_key(self) -> str:
        """The same for the same files with the same stamps from the same cursor, so a repeated
        look (a retried tick, a restarted daemon) asks for the same run, which Dagster runs once.
        """
        digest = hashlib.blake2b(digest_size=12)
        digest.update(orjson.dumps([self.location, self.previous or ""]))
        for file in self.found:
            digest.update(orjson.dumps([file.key, file.stamp]))
        return f"{self.kind}-{len(self.found)}-{digest.hexdigest()}"

    def __str__(self) -> str:
        if not self.found:
            return f"nothing new or changed in {self.location}: listed {self.scope}"
        files = "file" if len(self.found) == 1 else "files"
        return (
            f"{len(self.found):,} new or changed {files} in {self.location} "
            f"({_span(self.found)}); listed {self.scope}"
        )


def look_for_events(
    location: str,
    cursor: str | None = None,
    *,
    no_sign_request: bool = False,
    lookback_days: int = LOOKBACK_DAYS,
) -> Look:
    """The event logs in ``location`` that are new or changed since ``cursor``.

    Lists only keys after the cursor's boundary (every key on the first look); files whose key
    names no day are listed on every look.
    """
    state = Cursor.load(cursor, location)
    listing = _list(location, state.after, None, no_sign_request)
    found = [file for file in listing.files if _stamp(state, file) != file.stamp]
    scope = _scope(listing, state.after)
    if not found:
        return Look(location, "events", [], len(listing.files), scope, cursor, cursor)
    today = datetime.fromtimestamp(listing.clock, UTC).date()
    after = _boundary(state.after, listing.files, today, lookback_days)
    seen = {file.key: _seen(file) for file in listing.files if file.key > after}
    kept = Cursor(location, after=after, seen=seen).dump()
    return Look(location, "events", found, len(listing.files), scope, kept, cursor)


def look_for_songs(
    location: str,
    cursor: str | None = None,
    *,
    no_sign_request: bool = False,
    max_keys: int = MAX_KEYS,
    margin: float = MARGIN,
) -> Look:
    """The song files in ``location`` that are new or changed since ``cursor``, among the next
    ``max_keys`` keys of the pass under way.

    The cursor moves on without a run request only to carry a pass across looks.
    """
    if max_keys < 1:
        raise SourceError(f"max_keys is {max_keys}: list at least one key per look")
    state = Cursor.load(cursor, location)
    listing = _list(location, state.resume, max_keys, no_sign_request)
    since = state.since
    found = [
        file
        for file in listing.files
        if (since is None or file.modified > since) and _stamp(state, file) != file.stamp
    ]
    scope = _scope(listing, state.resume)
    moved = listing.resume_after is not None or bool(state.resume)
    if not found and not moved:
        return Look(location, "songs", [], len(listing.files), scope, cursor, cursor)

    started = state.started if state.resume and state.started else listing.clock - 1.0
    seen = dict(state.seen)
    seen.update((file.key, _seen(file)) for file in found)
    # A file written before this pass began (less the margin) is never a candidate again.
    oldest = started - margin
    seen = {key: value for key, value in seen.items() if value[1] > oldest}
    if listing.resume_after is None:  # the pass is complete: the next one starts afresh
        kept = Cursor(location, since=oldest, seen=seen)
    else:
        kept = Cursor(
            location, resume=listing.resume_after, since=since, started=started, seen=seen
        )
    return Look(location, "songs", found, len(listing.files), scope, kept.dump(), cursor)


def day_of(key: str) -> date | None:
    """The day a key names (its last ``YYYY-MM-DD``), if any."""
    days = _DAY.findall(key)
    if not days:
        return None
    year, month, day = (int(part) for part in days[-1])
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _list(location: str, after: str, max_keys: int | None, no_sign_request: bool) -> Listing:
    aws = tuple(sorted((name, value) for name, value in environ().items() if name[:4] == "AWS_"))
    return _source(location, no_sign_request, aws).list_after(after, max_keys=max_keys)


@functools.lru_cache(maxsize=16)
def _source(location: str, no_sign_request: bool, aws: tuple[tuple[str, str], ...]) -> Source:
    """One source per location and AWS settings, kept from look to look: making an S3 client
    costs more than listing the last days of logs."""
    return open_source(location, no_sign_request=no_sign_request)


def _stamp(state: Cursor, file: ListedFile) -> str | None:
    known = state.seen.get(file.key)
    return known[0] if known else None


def _seen(file: ListedFile) -> tuple[str, int]:
    return file.stamp, math.ceil(file.modified)


def _boundary(after: str, files: Iterable[ListedFile], today: date, lookback_days: int) -> str:
    """The new history boundary: the last key before which every key names a day more than
    ``lookback_days`` before the newest day (a day after tomorrow counts as tomorrow, so one
    mistyped year cannot push the boundary past the days still to come)."""
    ordered = sorted(files, key=lambda file: file.key)
    days = [day_of(file.key) for file in ordered]
    known = [day for day in days if day is not None]
    if not known:
        return after
    newest = min(max(known), today + timedelta(days=1))
    start = newest - timedelta(days=lookback_days)
    boundary = after
    for file, day in zip(ordered, days, strict=True):
        if day is None or day >= start:
            break
        boundary = file.key
    return boundary


def _scope(listing: Listing, after: str) -> str:
    files = f"{len(listing.files):,} file{'s' * (len(listing.files) != 1)}"
    where = f"after {after}" if after else "from the start"
    more = f", up to {listing.resume_after} (more follow)" if listing.resume_after else ""
    return f"{files} {where}{more}"


def _span(files: list[ListedFile]) -> str:
    if len(files) == 1:
        return files[0].key
    return f"{files[0].key} … {files[-1].key}"
