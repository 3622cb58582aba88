"""Overlap producing and consuming a stream: the next item is made in a thread meanwhile."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """``items``, produced one step ahead in a thread, so that producing overlaps consuming.

    The next item is produced only once the consumer has taken the last one, so two items at
    most are alive: the one being consumed and the next (a batch can be one 160 MB log file).
    The producer's exceptions are raised in the consumer; a consumer that stops early stops the
    producer at its next item.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    taken = threading.Semaphore(0)
    stop = threading.Event()

    def offer(item: object) -> bool:
        """Hand ``item`` over unless the consumer has stopped; whether it was handed over."""
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def was_taken() -> bool:
        """Wait for the consumer to take the item offered; False once it has stopped."""
        while not stop.is_set():
            if taken.acquire(timeout=0.1):
                return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not (offer(item) and was_taken()):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's own clean-up (an S3 source's fetch pool) runs now

    # The producer runs in this context (the active progress reporter is a context variable).
    context = contextvars.copy_context()
    worker = threading.Thread(
        target=context.run, args=(produce,), name="sparkify-read-ahead", daemon=True
    )
    worker.start()
    try:
        while True:
            item = handoff.get()
            taken.release()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exception
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


@dataclass(frozen=True)
class _Failure:
    exception: BaseException
