"""Map one per-file job over many files: in-process, on a thread pool, or on any Executor.

Threads are the default: the work that matters (gzip decompression, array copies, file writes) releases
the GIL, and threads need no ``if __name__ == "__main__":`` guard under any multiprocessing start
method. Results come back in input order whatever order the files finish in, and the progress display
(:mod:`nidataset.progress`) is driven from the calling thread only, never from a worker.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ThreadPoolExecutor, as_completed
from typing import TypeVar

from ..errors import OutputError
from ..progress import Progress, as_progress
from ..results import Outcome
from .failures import crashed, guarded
from .isolation import rerun_isolated

log = logging.getLogger(__name__)

Options = TypeVar("Options")
Job = Callable[[str, Options], Outcome]


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def run_files(
    job: Job[Options],
    paths: Sequence[str],
    options: Options,
    *,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool | Progress = True,
    what: str = "slices",
) -> list[Outcome]:
    """Run ``job(path, options)`` for every path and return the outcomes in ``paths`` order.

    An unexpected exception in one job becomes that file's skip reason; an :class:`OutputError`
    (the output location failed) or an interruption stops the run and is raised. Each skip, and each
    note of a file done (:attr:`Outcome.note`), is logged (logger ``nidataset``, level WARNING) from
    the calling thread. ``what`` names the outputs counted in the progress display.
    """
    outcomes: list[Outcome | None] = [None] * len(paths)
    display = as_progress(progress)
    display.start(len(paths), what)
    try:
        for index, outcome in _outcomes(job, paths, options, workers, executor):
            outcomes[index] = outcome
            if outcome.skipped:
                log.warning("skipped %s: %s", outcome.name, outcome.reason)
            elif outcome.note:
                log.warning("%s", outcome.note)
            display.advance(outcome)
    finally:
        display.close()
    return [o for o in outcomes if o is not None]


def _outcomes(
    job: Job[Options], paths: Sequence[str], options: Options, workers: int | None, executor: Executor | None
) -> Iterator[tuple[int, Outcome]]:
    if executor is None and (len(paths) == 1 or (workers or default_workers()) == 1):
        for index, path in enumerate(paths):
            yield index, guarded(job, path, options)
        return
    if executor is not None:
        yield from _pool_outcomes(job, paths, options, executor)
        return
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        yield from _pool_outcomes(job, paths, options, pool)


def _pool_outcomes(
    job: Job[Options], paths: Sequence[str], options: Options, pool: Executor
) -> Iterator[tuple[int, Outcome]]:
    """Outcomes as the pool finishes them; files whose worker process died are re-run in isolation."""
    futures: dict[Future[Outcome], int] = {}
    orphans: list[tuple[int, str]] = []
    try:
        for index, path in enumerate(paths):
            try:
                futures[pool.submit(job, path, options)] = index
            except BrokenExecutor:
                orphans.append((index, path))
        for future in as_completed(futures):
            index = futures[future]
            outcome = _result(future, paths[index])
            if outcome is None:
                orphans.append((index, paths[index]))
            else:
                yield index, outcome
    finally:
        for future in futures:
            future.cancel()
    yield from rerun_isolated(job, sorted(orphans), options)


def _result(future: Future[Outcome], path: str) -> Outcome | None:
    """The future's outcome, or None when its worker process died and the file must be re-run."""
    try:
        return future.result()
    except (OutputError, KeyboardInterrupt, SystemExit):
        raise
    except BrokenExecutor:
        return None
    except Exception as error:
        if type(error).__name__ == "KilledWorker":  # dask already retried it on other workers
            return Outcome(os.path.basename(path), reason="worker process died (dask KilledWorker)")
        return crashed(path, error)
