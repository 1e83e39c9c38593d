"""The dataset flow every dataset function shares: list the inputs, check them, run the job, report."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..errors import VolumeError
from ..geometry.frame import SliceFrame, frames_for
from ..io.atomic import make_folder
from ..io.tables import write_counts_csv, write_failures_csv
from ..io.volumes import Header, list_volumes, read_header
from ..naming import failures_filename, is_input_name, stats_filename
from ..progress import as_progress
from ..results import Outcome, RunResult
from ..text import first_few
from .lock import take_lock
from .memory import POOL
from .runner import run_files
from .settings import RunOptions


class DatasetOptions(Protocol):
    """What the flow needs to know of a job's (already validated, frozen) options."""

    @property
    def output_path(self) -> str: ...

    @property
    def views(self) -> tuple[str, ...]: ...

    @property
    def target_size(self) -> tuple[int, int] | None: ...

    @property
    def orientation(self) -> str: ...

    @property
    def spacing(self) -> str | float | None: ...

    @property
    def interpolation(self) -> str: ...


#: One more output of a run, written once every file is done (the manifests, the report): the
#: façades plug them in as ``output(result, nii_folder, options, seconds)``.
RunOutput = Callable[[RunResult, str, Any, float], None]
#: A contract error a header alone shows, as ``(problem, the way out)``, else None: checked for every
#: input before anything is written (``refuse(header, options)``).
Refuse = Callable[[Header, Any], tuple[str, str] | None]


def run_dataset(
    job: Callable[[str, Any], Outcome],
    options: DatasetOptions,
    nii_folder: str,
    run: RunOptions,
    *,
    what: str,
    outputs: Sequence[RunOutput] = (),
    refuse: Refuse | None = None,
    unrun: Sequence[Outcome] = (),
) -> RunResult:
    """Run ``job(path, options)`` over the dataset; write statistics, failures and ``outputs``; summarise.

    ``unrun`` are outcomes of inputs the job never saw (a mask without its image), listed with the
    rest. ``nii_folder`` may also be one volume file: a dataset of one (see :func:`list_inputs`), whose
    ``outputs`` are given the file's folder. Raises before anything is written when the folder holds no
    input, two inputs share a prefix, a slice is larger than the target size, or ``refuse`` refuses a
    header.
    """
    started = time.monotonic()
    folder, paths = list_inputs(nii_folder)
    check_all_fit(paths, options)
    if refuse is not None:
        check_all_headers(paths, options, refuse)
    lock = take_lock(options.output_path)  # one run per output folder: ValueError if another holds it
    try:
        make_folder(options.output_path)
        display = as_progress(run.progress)
        try:
            outcomes = run_files(
                job, paths, options, workers=run.workers, executor=run.executor, progress=display, what=what
            )
        finally:
            POOL.clear()  # the buffers reused between volumes are not kept after the run
        result = RunResult(options.views, (*outcomes, *unrun), what=what)
        if run.save_stats:
            write_statistics(result, options.output_path)
        if run.save_failures:
            skipped = [(o.name, o.reason or "") for o in result.skipped]
            write_failures_csv(os.path.join(options.output_path, failures_filename(what)), skipped)
        for output in outputs:
            output(result, folder, options, time.monotonic() - started)
        display.finish(result.summary())
    finally:
        lock.release()
    return result


def list_inputs(nii_folder: str) -> tuple[str, list[str]]:
    """The folder of a dataset and its inputs: the volumes of a folder, or one volume file given
    alone, a dataset of one whose outputs are those its folder's run writes for it.

    Raises FileNotFoundError for a file that is not a volume, and as :func:`list_volumes` does.
    """
    if not os.path.isfile(nii_folder):
        return nii_folder, list_volumes(nii_folder)
    if not is_input_name(os.path.basename(nii_folder)):
        raise FileNotFoundError(
            f"nii_folder {nii_folder!r} is a file, not a .nii.gz or .nii volume: give its folder"
        )
    return os.path.dirname(nii_folder) or os.curdir, [nii_folder]


def write_statistics(result: RunResult, output_path: str) -> None:
    """``<view>_<what>_stats.csv`` for each view: the files done, in sorted order, and the total."""
    for column, view in enumerate(result.views):
        counts = [(o.name, o.counts[column]) for o in result.done]
        path = os.path.join(output_path, stats_filename(view, result.what))
        write_counts_csv(path, counts, result.what.upper())


def check_all_fit(paths: list[str], options: DatasetOptions) -> None:
    """Read every header and refuse a target_size smaller than some slice, before writing anything.

    A file whose header cannot be read (or whose affine cannot orient it) is left for the run,
    which skips it with its reason.
    """
    if options.target_size is None:
        return
    too_large = []
    for path in paths:
        try:
            problems = misfits(read_header(path), options)
        except VolumeError:
            continue
        if problems:
            too_large.append(f"{os.path.basename(path)} ({', '.join(problems)})")
    if too_large:
        shown = first_few(too_large, separator="; ")
        raise ValueError(
            f"target_size {options.target_size} is smaller than the slices of {shown}; nothing was written"
        )


def check_all_headers(paths: list[str], options: Any, refuse: Refuse) -> None:
    """Raise ValueError naming the inputs ``refuse`` refuses, before anything is written."""
    refused: list[str] = []
    way_out = ""
    for path in paths:
        try:
            found = refuse(read_header(path), options)
        except VolumeError:
            continue
        if found is not None:
            problem, way_out = found
            refused.append(f"{os.path.basename(path)} ({problem})")
    if refused:
        shown = first_few(refused, separator="; ")
        raise ValueError(f"{way_out}; nothing was written, for {shown}")  # the way out first


def frames_of(header: Header, options: DatasetOptions) -> list[SliceFrame]:
    """The frame of each view of this volume, as the options shape it."""
    return frames_for(
        header.shape,
        header.affine,
        options.views,
        options.target_size,
        options.orientation,
        options.spacing,
        options.interpolation,
    )


def misfits(header: Header, options: DatasetOptions) -> list[str]:
    """Descriptions of the views in which this volume's slices are larger than the target size."""
    return [problem for problem in (frame.misfit() for frame in frames_of(header, options)) if problem]


def fitting_frames(header: Header, options: DatasetOptions) -> list[SliceFrame]:
    """The frame of each view of this volume; VolumeError if a slice is larger than the target size."""
    frames = frames_of(header, options)
    problems = [problem for problem in (frame.misfit() for frame in frames) if problem]
    if problems:
        assert options.target_size is not None
        height, width = options.target_size
        raise VolumeError(f"{', '.join(problems)} do not fit target_size {height}x{width}")
    return frames
