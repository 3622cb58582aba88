"""Library errors as Dagster failures: the message a user reads first, without a traceback.

A :class:`~sparkify_dagster.core.errors.SparkifyError` already names the bad thing and the fix, so a
step that raises one fails with that message as a :class:`dagster.Failure`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import Failure

from sparkify_dagster.core.errors import SparkifyError
from sparkify_dagster.metadata import rejects_table
from sparkify_dagster.warehouse.staging import TooManyRejects


@contextmanager
def reported() -> Iterator[None]:
    """Turn a :class:`SparkifyError` raised in the block into a :class:`dagster.Failure`; too
    many rejects also list the first of them as a table."""
    try:
        yield
    except SparkifyError as exc:
        metadata: dict[str, Any] = {}
        if isinstance(exc, TooManyRejects):
            metadata = {"records_rejected": len(exc.rejects), "rejects": rejects_table(exc.rejects)}
        raise Failure(description=str(exc), metadata=metadata) from None
