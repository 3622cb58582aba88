"""Progress of long work as a few log lines: where a stage starts, every few seconds, where it ends.

Staging tells a :class:`Reporter` what it does: :meth:`~Reporter.start` a stage, then
:meth:`~Reporter.advance` per file or batch read. A :class:`Ticker` turns that into lines for a
log (a Dagster step's ``context.log``, or stderr) at most every :data:`INTERVAL` seconds, so a
short stage says only where it starts and ends::

    staging songs: starting, 15,000 files
    staging songs: 4,210/15,000 files, 4,210 records (0 rejected), 1.1 MB at 224.5 kB/s, 5 s
    staging songs: done, 15,000 files, 15,000 records (2 rejected), 3.9 MB at 262.1 kB/s, 15 s
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from rich import filesize

INTERVAL = 5.0  # seconds between two progress lines of one stage, at least


class Reporter(Protocol):
    """What the pipeline tells about its progress; see :class:`Ticker`."""

    def start(self, description: str, total: int | None, unit: str = "files") -> None: ...

    def advance(
        self, files: int = 0, records: int = 0, rejected: int = 0, nbytes: int = 0
    ) -> None: ...


class Silent:
    """A reporter that says nothing: the default for library calls."""

    def start(self, description: str, total: int | None, unit: str = "files") -> None:
        pass

    def advance(self, files: int = 0, records: int = 0, rejected: int = 0, nbytes: int = 0) -> None:
        pass


class Ticker:
    """Says a line to ``say`` when a stage starts, at most every ``interval`` seconds while it
    advances (:data:`INTERVAL` unless given; 0 says one per advance), and when it ends (the next
    :meth:`start`, or :meth:`finish`). Safe to advance from a worker thread."""

    def __init__(
        self,
        say: Callable[[str], object],
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.say = say
        self.interval = INTERVAL if interval is None else interval
        self.clock = clock
        self.lock = threading.Lock()
        self.description: str | None = None
        self.total: int | None = None
        self.unit = "files"
        self.files = self.records = self.rejected = self.nbytes = 0
        self.started = self.said = 0.0

    def start(self, description: str, total: int | None, unit: str = "files") -> None:
        self.finish()
        with self.lock:
            self.description, self.total, self.unit = description, total, unit
            self.files = self.records = self.rejected = self.nbytes = 0
            self.started = self.said = self.clock()
        self.say(f"{description}: starting" + ("" if total is None else f", {_count(total, unit)}"))

    def advance(self, files: int = 0, records: int = 0, rejected: int = 0, nbytes: int = 0) -> None:
        with self.lock:
            if self.description is None:
                return
            self.files += files
            self.records += records
            self.rejected += rejected
            self.nbytes += nbytes
            now = self.clock()
            if now - self.said < self.interval:
                return
            self.said = now
            line = self.line(now)
        self.say(line)

    def finish(self, *, failed: bool = False) -> None:
        """End the stage under way, if any, with its totals ("stopped" when ``failed``)."""
        with self.lock:
            if self.description is None:
                return
            line = self.line(self.clock(), "stopped" if failed else "done")
            self.description = None
        self.say(line)

    def line(self, now: float, end: str | None = None) -> str:
        """The stage's counts so far: files, records and rejects, bytes and rate, seconds."""
        seconds = now - self.started
        if end or self.total is None:
            parts = [_count(self.files, self.unit)]
        else:
            parts = [f"{self.files:,}/{_count(self.total, self.unit)}"]
        if self.records or self.rejected:
            parts.append(f"{_count(self.records, 'records')} ({self.rejected:,} rejected)")
        if self.nbytes:
            rate = filesize.decimal(int(self.nbytes / max(seconds, 1e-3)))
            parts.append(f"{filesize.decimal(self.nbytes)} at {rate}/s")
        parts.append(f"{seconds:,.0f} s")
        return f"{self.description}: {end + ', ' if end else ''}{', '.join(parts)}"


def _count(number: int, unit: str) -> str:
    """``1 file``, ``2 files``: ``number`` and its ``unit`` (a plural)."""
    return f"{number:,} {unit if number != 1 else unit.removesuffix('s')}"


@contextmanager
def ticking(say: Callable[[str], object], interval: float | None = None) -> Iterator[Ticker]:
    """A :class:`Ticker` saying its lines to ``say``, active inside the block (see
    :func:`current`); the stage under way at the end of the block says its totals."""
    ticker = Ticker(say, interval)
    with activate(ticker):
        try:
            yield ticker
        except BaseException:
            ticker.finish(failed=True)
            raise
        ticker.finish()


def to_stderr(line: str) -> None:
    """Print a progress line on stderr: what ``etl(quiet=False)`` shows."""
    print(line, file=sys.stderr, flush=True)


_active: ContextVar[Reporter | None] = ContextVar("sparkify_reporter", default=None)


@contextmanager
def activate(report: Reporter) -> Iterator[Reporter]:
    """Make ``report`` the one staging reports to inside the block when it is given none."""
    token = _active.set(report)
    try:
        yield report
    finally:
        _active.reset(token)


def current() -> Reporter:
    """The reporter active in this context (:func:`activate`), else one that says nothing."""
    return _active.get() or Silent()
