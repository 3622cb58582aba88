"""Progress for long work: a live bar on a terminal, nothing otherwise (or with ``quiet``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, runtime_checkable

from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class Reporter(Protocol):
    """What the pipeline tells about its progress; see :func:`reporter`."""

    def start(self, description: str, total: int | None) -> None: ...

    def advance(self, files: int = 0, records: int = 0) -> None: ...


@runtime_checkable
class TransferReporter(Protocol):
    """What a remote source (S3) tells on top of :class:`Reporter`: bytes fetched and notes."""

    def fetched(self, objects: int, nbytes: int) -> None: ...

    def note(self, text: str) -> None: ...

    def summary(self, text: str) -> None: ...


class Silent:
    """A reporter that says nothing: the default for library calls and with ``quiet``."""

    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, files: int = 0, records: int = 0) -> None:
        pass

    def fetched(self, objects: int, nbytes: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def summary(self, text: str) -> None:
        pass


class Summary(Silent):
    """No live bar (not a terminal), but notes and one summary line per remote source."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def note(self, text: str) -> None:
        self.console.print(f"Note: {text}", highlight=False, soft_wrap=True)

    def summary(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)


class Bar:
    """A rich progress bar: files done of total, records, elapsed seconds."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.records = 0

    def start(self, description: str, total: int | None) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        self.records = 0
        self.nbytes, self.started = 0, time.monotonic()
        self.task = self.progress.add_task(description, total=total, records=0, transfer="")

    def advance(self, files: int = 0, records: int = 0) -> None:
        if self.task is None:
            return
        self.records += records
        self.progress.update(self.task, advance=files, records=self.records)

    def fetched(self, objects: int, nbytes: int) -> None:
        if self.task is None:
            return
        self.nbytes += nbytes
        rate = self.nbytes / max(time.monotonic() - self.started, 1e-3)
        size, speed = filesize.decimal(self.nbytes, precision=0), filesize.decimal(int(rate))
        transfer = f"{size} {speed}/s"
        self.progress.update(self.task, transfer=transfer)

    def note(self, text: str) -> None:
        self.progress.console.print(f"Note: {text}", highlight=False)

    def summary(self, text: str) -> None:
        pass  # the bar already shows objects, bytes and rate


_active: ContextVar[Reporter | None] = ContextVar("sparkify_reporter", default=None)


def active() -> Reporter:
    """The reporter of the innermost :func:`reporter` block (sources report through it)."""
    return _active.get() or Silent()


def transfers() -> TransferReporter:
    """:func:`active` when it reports transfers, else a silent stand-in."""
    current = active()
    return current if isinstance(current, TransferReporter) else Silent()


@contextmanager
def reporter(*, quiet: bool = False, console: Console | None = None) -> Iterator[Reporter]:
    """A bar when writing to a terminal and not ``quiet``; one-line summaries on other
    outputs (only remote sources write them); silence with ``quiet``."""
    console = console or Console(file=sys.stderr)
    if quiet or not console.is_terminal:
        chosen: Reporter = Silent() if quiet else Summary(console)
        token = _active.set(chosen)
        try:
            yield chosen
        finally:
            _active.reset(token)
        return
    progress = Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files  {task.fields[records]:>10,} records"),
        TextColumn("{task.fields[transfer]}"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        bar = Bar(progress)
        token = _active.set(bar)
        try:
            yield bar
        finally:
            _active.reset(token)
