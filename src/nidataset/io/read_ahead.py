"""Reading ahead: a volume's next slab is decompressed on a thread of its own while the slices of the
one before are laid out, encoded and written (issue 23).

isal's and zlib's decompressors, numpy's copies and the writes release the GIL, so one big volume
uses two cores instead of one. The items come in the order the reader gives them, and an error of
the reader is raised where the sequential loop would have raised it; when the consumer stops early
(an error, an interrupt), the thread is stopped and joined before the reader can be closed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
_WAKE_SECONDS = 0.05  # how often a blocked producer looks whether the consumer has gone


@contextmanager
def read_ahead(items: Iterator[T], depth: int = 1) -> Iterator[Iterator[T]]:
    """Iterate ``items`` on a thread, at most ``depth`` items ahead of the consumer (plus the one
    being read); leaving the block stops and joins the thread, then closes ``items``."""
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=_WAKE_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as error:  # handed to the consumer, raised there
            put((False, error))

    def consume() -> Iterator[T]:
        while True:
            more, item = handoff.get()
            if more:
                yield item  # type: ignore[misc]
            elif item is None:
                return
            else:
                raise item  # type: ignore[misc]

    thread = threading.Thread(target=produce, name="nidataset-read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
        close = getattr(items, "close", None)
        if close is not None:  # a generator left half-way runs its cleanup here, after the thread
            close()
