"""Progress for long work: a live bar on a terminal, nothing otherwise (or with ``quiet``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


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
    """A bar when writing to a terminal and not ``quiet``; silence otherwise."""
    console = console or Console(file=sys.stderr)
    if quiet or not console.is_terminal:
        yield Silent()
        return
    progress = Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.completed:>7,.0f}/{task.total:,.0f} {task.fields[unit]:<6}"),
        TextColumn("{task.fields[records]:>18}"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        yield Bar(progress)
