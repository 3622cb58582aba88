"""A code location with one job that naps: a run that is reliably still running when killed.

Its op writes its process id to ``$SPARKIFY_TEST_PID_FILE`` and sleeps ``$SPARKIFY_TEST_NAP``
seconds (default 300), in the run's own process, as the product's in-process runs do, and in the
``warehouse`` pool, as they do: one run at a time holds it.
"""

import os
import time
from pathlib import Path

from dagster import Definitions, in_process_executor, job, op


@op(pool="warehouse")
def nap() -> None:
    Path(os.environ["SPARKIFY_TEST_PID_FILE"]).write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("SPARKIFY_TEST_NAP", "300")))


@job(executor_def=in_process_executor)
def napping() -> None:
    nap()


defs = Definitions(jobs=[napping])
