"""What staging reports: each source's counts, the rejected records, and its errors."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from sparkify_dagster.core.errors import SparkifyError
from sparkify_dagster.core.progress import Reporter


@dataclass(frozen=True)
class Reject:
    """One record that could not be loaded."""

    source_file: str
    line: int | None
    kind: str
    reason: str
    raw_text: str

    def __str__(self) -> str:
        where = self.source_file if self.line is None else f"{self.source_file}:{self.line}"
        return f"{where}: {self.reason}"


class TooManyRejects(SparkifyError):
    """More records were rejected than ``max_errors`` allows; the run was rolled back."""

    def __init__(self, rejects: list[Reject], max_errors: int) -> None:
        self.rejects = rejects
        self.max_errors = max_errors
        self.rejects_file: str | None = None  # where all of them were written, once they are
        super().__init__(rejects, max_errors)

    SHOWN: ClassVar[int] = 5  # rejects named in the message

    def __str__(self) -> str:
        message = (
            f"{len(self.rejects):,} records rejected, more than max_errors {self.max_errors} "
            "allows; nothing was loaded"
        )
        if self.rejects_file:
            message += f"; all of them are in {self.rejects_file}"
        shown = "".join(f"\n  {reject}" for reject in self.rejects[: self.SHOWN])
        more = len(self.rejects) - self.SHOWN
        return message + shown + (f"\n  … and {more:,} more" if more > 0 else "")


class ReconciliationError(SparkifyError):
    """Records read did not equal records staged plus records rejected (a bug, never data)."""


@dataclass
class SourceReport:
    """What one run did with one source: files seen and read, records read, staged, rejected."""

    kind: str  # "songs" or "events"
    location: str
    files: int = 0
    files_loaded: int = 0
    records: int = 0
    staged: int = 0
    rejected: int = 0
    unknown_fields: Counter[str] = field(default_factory=Counter)
    bytes_loaded: int = 0  # stored bytes of the files read
    copied: bool = False  # the engine copied the whole location itself (Redshift)
    seconds: float = field(default=0.0, compare=False)

    @property
    def files_unchanged(self) -> int:
        return self.files - self.files_loaded


@dataclass
class StageReport:
    sources: list[SourceReport]
    rejects: list[Reject]

    @property
    def changed(self) -> bool:
        """True when this run changed staging (so the star must be rebuilt)."""
        return any(report.files_loaded or report.copied for report in self.sources)


@dataclass
class Outputs:
    """Where staging one source's files reports: its counts, the run's rejects and manifest
    entries, and progress."""

    report: SourceReport
    rejects: list[Reject]
    manifest: list[tuple[object, ...]]
    reporter: Reporter
    now: datetime  # when the run started: the manifest's loaded_at
