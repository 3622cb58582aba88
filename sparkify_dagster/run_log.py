"""What a step tells its run's event log while it works, beside its metadata at the end.

:func:`run_progress` says a staging step's progress through ``context.log`` at INFO: a line when
each source starts, one every :data:`~sparkify_dagster.core.progress.INTERVAL` seconds (files,
records and rejects, bytes and rate), and its totals at the end. The library's own warnings
(such as reading S3 unsigned for lack of credentials) reach the same event log through Dagster's
managed Python loggers: the instance's ``dagster.yaml`` names the ``sparkify_dagster`` logger
under ``python_logs`` (:data:`PYTHON_LOGS`). Progress goes through ``context.log`` instead, so
that it reaches the run's log on any instance, and at INFO whatever the loggers' levels.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import AssetExecutionContext

from sparkify_dagster.core.progress import Ticker, ticking

# The instance settings that carry the library's log records into each run's event log.
PYTHON_LOGS = {"managed_python_loggers": ["sparkify_dagster"]}


@contextmanager
def run_progress(context: AssetExecutionContext | None = None) -> Iterator[Ticker]:
    """Progress of the staging inside the block, said to the step's log (``context``, else the
    step running now); staging called without a reporter reports to it."""
    log = (context or AssetExecutionContext.get()).log
    with ticking(log.info) as ticker:
        yield ticker
