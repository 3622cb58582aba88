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
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


class Reporter(Protocol):
    """What the pipeline tells about its progress; see :func:`reporter`."""

    def start(self, description: str, total: int | None, unit: str = "files") -> None: ...

    def advance(self, files: int = 0, records: int = 0) -> None: ...


class Silent:
    """A reporter that says nothing: the default for library calls and non-terminals."""

    def start(self, description: str, total: int | None, unit: str = "files") -> None:
        pass

    def advance(self, files: int = 0, records: int = 0) -> None:
        pass


class Bar:
    """A rich progress bar: files done of total, records, elapsed seconds."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.records = 0
        self.unit = "files"

    def start(self, description: str, total: int | None, unit: str = "files") -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        self.records = 0
        self.unit = unit
        self.task = self.progress.add_task(description, total=total, unit=unit, records="")

    def advance(self, files: int = 0, records: int = 0) -> None:
        if self.task is None:
            return
        self.records += records
        shown = f"{self.records:,} records" if self.records else ""
        self.progress.update(self.task, advance=files, records=shown)


@contextmanager
def reporter(*, quiet: bool = False, console: Console | None = None) -> Iterator[Reporter]:
    """A bar when writing to a terminal and not ``quiet``; silence otherwise, except the notes
    and one-line summaries of remote sources (:class:`Summary`) when not ``quiet``."""
    console = console or Console(file=sys.stderr)
    if quiet or not console.is_terminal:
        with activate(Silent() if quiet else Summary(console)) as chosen:
            yield chosen
        return
    progress = Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.completed:>7,.0f}/{task.total:,.0f} {task.fields[unit]:<6}"),
        TextColumn("{task.fields[records]:>18}"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress, activate(TransferBar(progress)) as bar:
        yield bar


# -- transfers: what remote sources (S3) report on top of files and records ---------------------


@runtime_checkable
class TransferReporter(Protocol):
    """Bytes fetched, notes and a closing summary line, as told by a remote source."""

    def fetched(self, objects: int, nbytes: int) -> None: ...

    def note(self, text: str) -> None: ...

    def summary(self, text: str) -> None: ...


class SilentTransfers:
    """Says nothing about transfers: what :func:`transfers` gives outside a reporting block."""

    def fetched(self, objects: int, nbytes: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def summary(self, text: str) -> None:
        pass


class Summary(Silent, SilentTransfers):
    """Not a terminal: no live bar, but notes and one summary line per remote source."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def note(self, text: str) -> None:
        self.console.print(f"Note: {text}", highlight=False, soft_wrap=True)

    def summary(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)


class TransferBar(Bar, SilentTransfers):
    """The bar, plus bytes fetched and their rate for remote sources (one extra column)."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(progress)
        columns = progress.columns
        progress.columns = (*columns[:-1], TransferColumn(), *columns[-1:])
        self.counted: TaskID | None = None
        self.nbytes, self.started = 0, time.monotonic()

    def fetched(self, objects: int, nbytes: int) -> None:
        if self.task is None:
            return
        if self.counted != self.task:
            self.counted, self.nbytes, self.started = self.task, 0, time.monotonic()
        self.nbytes += nbytes
        rate = self.nbytes / max(time.monotonic() - self.started, 1e-3)
        size, speed = filesize.decimal(self.nbytes, precision=0), filesize.decimal(int(rate))
        self.progress.update(self.task, transfer=f"{size} {speed}/s")

    def note(self, text: str) -> None:
        self.progress.console.print(f"Note: {text}", highlight=False)


class TransferColumn(ProgressColumn):
    """Bytes and rate of a task fed by :meth:`TransferBar.fetched`; empty for local files."""

    def render(self, task: Task) -> Text:
        return Text(str(task.fields.get("transfer", "")))


_active: ContextVar[Reporter | None] = ContextVar("sparkify_reporter", default=None)


@contextmanager
def activate(report: Reporter) -> Iterator[Reporter]:
    """Make ``report`` the one sources report to inside the block (:func:`reporter` does)."""
    token = _active.set(report)
    try:
        yield report
    finally:
        _active.reset(token)


def transfers() -> TransferReporter:
    """The active reporter when it reports transfers, else one that says nothing."""
    current = _active.get()
    return current if isinstance(current, TransferReporter) else SilentTransfers()
