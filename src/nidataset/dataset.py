"""The dataset flow both façades share: list the inputs, check them, run the per-file job, report."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol

from .extraction import check_all_fit
from .memory import POOL
from .naming import failures_filename, stats_filename
from .options import check_workers
from .progress import Progress, as_progress
from .results import Outcome, RunResult
from .runner import run_files
from .volumes import list_volumes
from .writers import make_folder, write_counts_csv, write_failures_csv


class DatasetJob(Protocol):
    """What the flow needs to know of a job's (already validated, frozen) options."""

    @property
    def output_path(self) -> str: ...

    @property
    def views(self) -> tuple[str, ...]: ...

    @property
    def target_size(self) -> tuple[int, int] | None: ...


def run_dataset(
    job_function: Callable[[str, Any], Outcome],
    job: DatasetJob,
    nii_folder: str,
    *,
    what: str,
    workers: int | None,
    executor: Executor | None,
    progress: bool | Progress,
    save_stats: bool,
    save_failures: bool,
) -> RunResult:
    """Run ``job_function(path, job)`` over the dataset; write statistics and failures; summarise.

    Raises before anything is written when ``workers`` or ``executor`` is wrong, the folder holds no
    input, two inputs share a prefix, or a slice is larger than the target size.
    """
    workers = check_workers(workers, executor)
    paths = list_volumes(nii_folder)
    check_all_fit(paths, job.views, job.target_size)
    make_folder(job.output_path)
    display = as_progress(progress)
    try:
        outcomes = run_files(
            job_function, paths, job, workers=workers, executor=executor, progress=display, what=what
        )
    finally:
        POOL.clear()  # the buffers reused between volumes are not kept after the run
    result = RunResult(job.views, tuple(outcomes), what=what)
    if save_stats:
        write_statistics(result, job.output_path)
    if save_failures:
        skipped = [(o.name, o.reason or "") for o in result.skipped]
        write_failures_csv(os.path.join(job.output_path, failures_filename(what)), skipped)
    display.finish(result.summary())
    return result


def write_statistics(result: RunResult, output_path: str) -> None:
    """``<view>_<what>_stats.csv`` for each view: the files done, in sorted order, and the total."""
    for column, view in enumerate(result.views):
        counts = [(o.name, o.counts[column]) for o in result.done]
        path = os.path.join(output_path, stats_filename(view, result.what))
        write_counts_csv(path, counts, result.what.upper())
