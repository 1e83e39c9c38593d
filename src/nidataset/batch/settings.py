"""How a dataset run is carried out and reported: its record and its checks (workers, executor,
progress, the flags of the run's outputs). Re-exported by :mod:`nidataset.options`."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..checks import check_flag, is_positive_int
from .runner import FILES_PER_WORKER, MOST_WORKERS, max_workers, open_file_limit

if TYPE_CHECKING:
    from ..progress import Progress


@dataclass(frozen=True)
class RunOptions:
    """How a dataset run is carried out and reported; never sent to a worker."""

    workers: int | None = None
    executor: Executor | None = None
    progress: bool | Progress = True
    save_stats: bool = False
    save_failures: bool = False
    save_manifest: bool = False
    save_report: bool = False


def run_options(
    workers: object,
    executor: object,
    progress: object,
    *,
    save_stats: object,
    save_failures: object,
    save_manifest: object = False,
    save_report: object = False,
) -> RunOptions:
    """Check how a dataset run is carried out: worker count, executor, and the flags."""
    from ..progress import Progress

    if workers is not None and not is_positive_int(workers):
        raise ValueError(f"workers must be None (all cores) or a positive integer; got {workers!r}")
    if workers is not None:
        _check_worker_limit(int(workers))  # type: ignore[call-overload]
    if executor is not None and not (isinstance(executor, Executor) or hasattr(executor, "submit")):
        raise ValueError(f"executor must be a concurrent.futures.Executor; got {type(executor).__name__}")
    if not isinstance(progress, bool | Progress):
        raise ValueError(f"progress must be True, False or a nidataset.progress.Progress; got {progress!r}")
    return RunOptions(
        workers=None if workers is None else int(workers),  # type: ignore[call-overload]
        executor=executor,  # type: ignore[arg-type]
        progress=progress,
        save_stats=check_flag("save_stats", save_stats),
        save_failures=check_flag("save_failures", save_failures),
        save_manifest=check_flag("save_manifest", save_manifest),
        save_report=check_flag("save_report", save_report),
    )


def _check_worker_limit(workers: int) -> None:
    """Refuse more workers than the open-file limit allows (each holds a few files), or than 1024."""
    most = max_workers()
    if workers <= most:
        return
    limit = open_file_limit()
    if most < MOST_WORKERS and limit is not None:
        raise ValueError(
            f"workers must be at most {most} with this process's open-file limit of {limit} (ulimit -n; "
            f"each worker holds up to {FILES_PER_WORKER} files open); got {workers}"
        )
    raise ValueError(f"workers must be at most {MOST_WORKERS}; got {workers}")
