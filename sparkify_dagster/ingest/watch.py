"""Look for new and changed input files cheaply, remembering what was seen in a small cursor.

The sensors (:mod:`sparkify_dagster.sensors`) call :func:`look_for_events` and
:func:`look_for_songs` on every tick; each lists only where new files can be, compares each file
with what the cursor remembers, and hands back the files that are new or changed together with
the cursor to keep. Both work the same on ``s3://`` prefixes and local folders.

**Event logs** are few (one a day: ten years are 3,650 keys) and sort by day, so a look lists the
newest logs it knows and what follows them (one request of a few keys on S3) and reports every
file whose stamp (size and ETag, or size and mtime) differs from the cursor's: a new day, or one
of the last days rewritten. A late day of any age, or an older log rewritten in place, sorts
among the history: a full listing finds it, begun ``full_listing_minutes`` after the previous
one began and made a page (1,000 keys, one request) per look, so that no look costs more than
two requests whatever the history. The cursor keeps a short digest of each log's stamp,
compressed: a few kilobytes for ten years.

**Song files** have no order to exploit: a look lists the whole location, ``max_keys`` keys per
look at most, resuming where the previous look stopped, so a pass over a large catalogue spans
several looks of bounded cost. A file is a candidate when it was written after the previous pass
began (less ``margin`` seconds for uploads in flight), and new or changed when the cursor holds no
equal stamp for it; the cursor keeps only the stamps of recently written files.

>>> look = look_for_events("s3://my-bucket/log_data", cursor=None)  # doctest: +SKIP
>>> [file.key for file in look.found], look.cursor  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from sparkify_dagster.core.errors import SourceError
from sparkify_dagster.core.settings import SENSOR_FULL_LISTING_MINUTES, environ
from sparkify_dagster.ingest.days import log_day
from sparkify_dagster.ingest.files import ListedFile, Listing, Source
from sparkify_dagster.ingest.sources import open_source

MAX_KEYS = 20_000  # song keys listed per look at most
MARGIN = 300.0  # seconds an upload may take between its LastModified time and its listing
VERSION = 2  # of the cursor's layout (``swept`` added since: older cursors read as never swept)
PAGE = 1_000  # event keys a full listing lists per look: one S3 request
NEWEST = 7  # the newest logs known, listed again on every look: the days still being written
COMPRESS_OVER = 800  # characters of a cursor kept as plain JSON


@dataclass
class Cursor:
    """What a sensor remembers between looks, kept as compact JSON (:meth:`dump`).

    ``after``: keys at or before it are history, never listed again (event logs).
    ``resume``: the pass under way continues after this key (song files).
    ``since``: only files written later are candidates; ``started``: when this pass began.
    ``swept``: when the last complete pass over the event logs began (a full listing).
    ``seen``: the stamp and write time (whole seconds) of each file the cursor vouches for.
    """

    location: str
    after: str = ""
    resume: str = ""
    since: float | None = None
    started: float | None = None
    swept: float | None = None
    seen: dict[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None, location: str) -> Cursor:
        """The cursor in ``text``; a fresh one if there is none, it is unreadable, or it is for
        another location (a changed setting starts over: the manifest keeps reloads away)."""
        if not text:
            return cls(location)
        try:
            raw = zlib.decompress(base64.b64decode(text[2:])) if text[:2] == "z:" else text
            data = orjson.loads(raw)
            if data.get("v") != VERSION or data.get("at") != location:
                return cls(location)
            seen = {key: (str(stamp), int(when)) for key, (stamp, when) in data["seen"].items()}
            return cls(
                location,
                after=str(data.get("after", "")),
                resume=str(data.get("resume", "")),
                since=data.get("since"),
                started=data.get("started"),
                swept=data.get("swept"),
                seen=seen,
            )
        except (
            orjson.JSONDecodeError,
            AttributeError,
            KeyError,
            TypeError,
            ValueError,
            zlib.error,
        ):
            return cls(location)

    def dump(self) -> str:
        """The cursor as JSON, compressed (``z:`` and base64) when it is longer than
        :data:`COMPRESS_OVER` characters: a decade of logs' keys repeat most of their text."""
        data: dict[str, Any] = {"v": VERSION, "at": self.location}
        for name in ("after", "resume", "since", "started", "swept"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        data["seen"] = {key: list(value) for key, value in sorted(self.seen.items())}
        text = orjson.dumps(data)
        if len(text) <= COMPRESS_OVER:
            return text.decode()
        return "z:" + base64.b64encode(zlib.compress(text, 9)).decode()


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
    full_listing_minutes: float = SENSOR_FULL_LISTING_MINUTES.default,
    page: int = PAGE,
) -> Look:
    """The event logs in ``location`` that are new or changed since ``cursor``, of any day.

    Each look lists the newest :data:`NEWEST` logs known and every key after them. When the last
    full listing began ``full_listing_minutes`` ago or more, a full listing is under way: each
    look lists its next ``page`` keys too, until it reaches the end. A cursor that knows no log
    lists everything at once (the first look asks for every day).
    """
    state = Cursor.load(cursor, location)
    now = time.time()
    sweeping = state.started is not None
    due = state.swept is None or now - state.swept >= full_listing_minutes * 60
    resume, started, swept = state.resume, state.started, state.swept
    parts: list[tuple[str, Listing]] = []  # (listed after, listing)
    if not state.seen and not sweeping:
        parts.append(("", _list(location, "", None, no_sign_request)))
        swept = now if parts[0][1].files else swept
    else:
        if sweeping or due:
            began = started if sweeping else now
            sweep = _list(location, resume if sweeping else "", page, no_sign_request)
            parts.append((resume if sweeping else "", sweep))
            if sweep.resume_after is None:  # the full listing is complete
                resume, started, swept = "", None, began
            else:
                resume, started = sweep.resume_after, began
        newest = _newest(state.seen)
        if not parts or parts[0][1].resume_after is not None:
            after = max(newest, parts[0][1].resume_after or "") if parts else newest
            parts.append((after, _list(location, after, None, no_sign_request)))

    listed = {file.key: file for _, listing in parts for file in listing.files}
    files = [listed[key] for key in sorted(listed)]
    found = [file for file in files if _stamp(state, file) != _digest(file)]
    scope = "; ".join(_scope(listing, after) for after, listing in parts)
    requests = sum(listing.requests for _, listing in parts)
    if requests:
        scope += f" ({requests} list request{'s' * (requests != 1)})"
    if not found and (resume, started, swept) == (state.resume, state.started, state.swept):
        return Look(location, "events", [], len(files), scope, cursor, cursor)
    gone = {
        key
        for after, listing in parts
        for key in state.seen
        if key > after and (listing.resume_after is None or key <= listing.resume_after)
    } - listed.keys()
    seen = {key: value for key, value in state.seen.items() if key not in gone}
    seen.update((file.key, (_digest(file), 0)) for file in files)
    kept = Cursor(location, resume=resume, started=started, swept=swept, seen=seen).dump()
    return Look(location, "events", found, len(files), scope, kept, cursor)


def _newest(seen: dict[str, tuple[str, int]]) -> str:
    """The key after which a look lists: before the :data:`NEWEST` newest logs known that name
    a day (keys that name none may sort anywhere), or the start when fewer are known."""
    days = sorted(key for key in seen if log_day(key)) or sorted(seen)
    return days[-NEWEST - 1] if len(days) > NEWEST else ""


def _digest(file: ListedFile) -> str:
    """A log's stamp, as the cursor keeps it: eight hex digits of its digest."""
    return hashlib.blake2b(file.stamp.encode(), digest_size=4).hexdigest()


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


def _scope(listing: Listing, after: str) -> str:
    files = f"{len(listing.files):,} file{'s' * (len(listing.files) != 1)}"
    where = f"after {after}" if after else "from the start"
    more = f", up to {listing.resume_after} (more follow)" if listing.resume_after else ""
    return f"{files} {where}{more}"


def _span(files: list[ListedFile]) -> str:
    if len(files) == 1:
        return files[0].key
    return f"{files[0].key} … {files[-1].key}"
