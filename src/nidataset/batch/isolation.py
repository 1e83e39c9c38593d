"""Re-run files whose worker process died, in a child interpreter, so that a fatal file fails alone.

When a process pool loses a worker (killed, out of memory), every file in flight fails with
``BrokenProcessPool`` and nobody knows which one was fatal. The runner hands those files here: a child
interpreter (``subprocess``, not ``multiprocessing``, so the user's ``__main__`` is never re-imported)
runs them one after another and streams back each outcome as it finishes. If the child dies, the file
it was working on is the culprit: it alone is reported as failed, and a new child takes the rest.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any

from ..results import Outcome
from .failures import guarded

_CHILD = (
    "import sys, pickle; sys.path[:0] = pickle.load(sys.stdin.buffer); "
    "import nidataset.batch.isolation as isolation; isolation.serve()"
)


def rerun_isolated(
    job: Callable[[str, Any], Outcome], items: list[tuple[int, str]], options: object
) -> Iterator[tuple[int, Outcome]]:
    """Yield ``(index, outcome)`` for every ``(index, path)`` item, however many children die."""
    pending = list(items)
    while pending:
        finished: set[int] = set()
        status = yield from _child_run(job, pending, options, finished)
        pending = [item for item in pending if item[0] not in finished]
        if pending:
            index, path = pending.pop(0)
            yield index, Outcome(os.path.basename(path), reason=f"worker process died ({status})")


def _child_run(
    job: Callable[[str, Any], Outcome], items: list[tuple[int, str]], options: object, finished: set[int]
) -> Generator[tuple[int, Outcome], None, str]:
    """Run ``items`` in one child; yield what it finishes; return how it ended."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdin is not None and child.stdout is not None
    with child.stdin:
        pickle.dump(sys.path, child.stdin)
        pickle.dump((job, options, items), child.stdin)
    with child.stdout:
        while True:
            try:
                index, outcome = pickle.load(child.stdout)
            except (EOFError, pickle.UnpicklingError):
                break
            finished.add(index)
            yield index, outcome
    code = child.wait()
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def serve() -> None:
    """The child's side: run each file and send its outcome at once."""
    job, options, items = pickle.load(sys.stdin.buffer)
    for index, path in items:
        pickle.dump((index, guarded(job, path, options)), sys.stdout.buffer)
        sys.stdout.buffer.flush()
