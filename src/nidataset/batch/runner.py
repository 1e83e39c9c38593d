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
from ..io.atomic import DESCRIPTOR_ERRORS
from ..naming import printable
from ..progress import Progress, as_progress
from ..results import Outcome
from .failures import crashed, guarded
from .isolation import rerun_isolated

log = logging.getLogger(__name__)

Options = TypeVar("Options")
Job = Callable[[str, Options], Outcome]


#: The most workers a run takes, whatever the machine.
MOST_WORKERS = 1024
#: Open files one worker may hold at once (its input, a temporary, a library's own), and those the
#: process holds besides its workers: what :func:`max_workers` divides the open-file limit by.
FILES_PER_WORKER, FILES_KEPT = 4, 32


def default_workers() -> int:
    """All the cores this process may use, as far as its open-file limit allows."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    return min(cores, max_workers())


def max_workers() -> int:
    """The most workers this process's open-file limit (``ulimit -n``) allows, at most 1024."""
    limit = open_file_limit()
    if limit is None:
        return MOST_WORKERS
    return max(1, min(MOST_WORKERS, (limit - FILES_KEPT) // FILES_PER_WORKER))


def open_file_limit() -> int | None:
    """The soft RLIMIT_NOFILE, or None when unlimited or unknown."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # pragma: no cover - Windows
        return None
    return None if soft == resource.RLIM_INFINITY else int(soft)


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
            if outcome.skipped:  # one line, whatever the name holds
                log.warning("skipped %s: %s", printable(outcome.name), printable(outcome.reason or ""))
            elif outcome.note:
                log.warning("%s", printable(outcome.note))
            display.advance(outcome)
    finally:
        display.close()
    return [o for o in outcomes if o is not None]


def _outcomes(
    job: Job[Options], paths: Sequence[str], options: Options, workers: int | None, executor: Executor | None
) -> Iterator[tuple[int, Outcome]]:
    if executor is None and (len(paths) == 1 or (workers or default_workers()) == 1):
        for index, path in enumerate(paths):
            try:
                yield index, guarded(job, path, options)
            except OutputError as error:
                if error.errno not in DESCRIPTOR_ERRORS:
                    raise
                yield index, guarded(job, path, options)  # once more; a second time stops the run
        return
    if executor is not None:
        yield from _pool_outcomes(job, paths, options, executor)
        return
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        yield from _pool_outcomes(job, paths, options, pool)


def _pool_outcomes(
    job: Job[Options], paths: Sequence[str], options: Options, pool: Executor
) -> Iterator[tuple[int, Outcome]]:
    """Outcomes as the pool finishes them; files whose worker process died are re-run in isolation.

    A file that ran out of file descriptors (EMFILE, ENFILE) is not that file's problem: it is run
    again, alone, once the pool has drained; running out again stops the run.
    """
    futures: dict[Future[Outcome], int] = {}
    orphans: list[tuple[int, str]] = []
    retries: list[int] = []
    try:
        for index, path in enumerate(paths):
            try:
                futures[pool.submit(job, path, options)] = index
            except BrokenExecutor:
                orphans.append((index, path))
        for future in as_completed(futures):
            index = futures[future]
            try:
                outcome = _result(future, paths[index])
            except OutputError as error:
                if error.errno not in DESCRIPTOR_ERRORS:
                    raise
                retries.append(index)
                continue
            if outcome is None:
                orphans.append((index, paths[index]))
            else:
                yield index, outcome
    finally:
        for future in futures:
            future.cancel()
    for index in retries:
        try:
            outcome = _result(pool.submit(job, paths[index], options), paths[index])
        except BrokenExecutor:
            outcome = None
        if outcome is None:
            orphans.append((index, paths[index]))
        else:
            yield index, outcome
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
