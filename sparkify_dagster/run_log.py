"""What a step tells its run's event log while it works, beside its metadata at the end.

:func:`run_progress` says a staging step's progress through ``context.log`` at INFO: a line when
each source starts, one every :data:`~sparkify_dagster.core.progress.INTERVAL` seconds (files,
records and rejects, bytes and rate), and its totals at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import AssetExecutionContext

from sparkify_dagster.core.progress import Ticker, ticking


@contextmanager
def run_progress(context: AssetExecutionContext | None = None) -> Iterator[Ticker]:
    """Progress of the staging inside the block, said to the step's log (``context``, else the
    step running now); staging called without a reporter reports to it."""
    log = (context or AssetExecutionContext.get()).log
    with ticking(log.info) as ticker:
        yield ticker
