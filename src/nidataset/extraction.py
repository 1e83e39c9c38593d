"""The per-file job: read one volume once, write its slices for every asked view.

:func:`extract_volume` is a top-level function of a path and a frozen :class:`SliceJob`, returning a
small :class:`~nidataset.results.Outcome`: it pickles to any executor. A problem of the volume rolls
back the slices it already wrote and becomes a skip; a problem of the output location propagates.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .dtypes import ValuePlan, check_values, output_slice, plan_values
from .errors import VolumeError
from .manifest import completed, fingerprint, forget, remember
from .memory import BUDGET, POOL
from .naming import index_width, output_folder, prefix_of, slice_filename
from .padding import pad_slice
from .results import Outcome
from .views import slice_count, slice_shape, slice_stack
from .volumes import Header, VolumeReader, read_header
from .writers import make_folder, remove_files, write_tiff

#: Axial streaming reads this many bytes of voxels at a time: large reads, a few MB per worker.
SLAB_BYTES = 4 << 20


@dataclass(frozen=True)
class SliceJob:
    """Options of one extraction, validated by the façade before any file is written."""

    output_path: str
    views: tuple[str, ...] = ("axial",)
    saving_mode: str = "case"  # "case", "view", or "flat" (extract_slices: straight into output_path)
    target_size: tuple[int, int] | None = None
    pad_value: float = 0.0
    dtype: str = "auto"
    resume: bool = False  # skip volumes whose completion records match (see manifest.py)
    stream_axial: bool = True  # False reads axial slices from the whole volume (tests compare both)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.saving_mode, self.target_size, self.pad_value, self.dtype)

    @property
    def keeps_records(self) -> bool:
        """Dataset runs record completed volumes; ``extract_slices`` writes only slices."""
        return self.saving_mode != "flat"


def extract_volume(path: str, job: SliceJob) -> Outcome:
    """Write every slice of one volume; on a problem of the volume, remove them and say why."""
    name = os.path.basename(path)
    prefix = prefix_of(name)
    if job.resume:
        done = completed(path, job.output_path, job.views, prefix, job.fingerprint, job.saving_mode)
        if done is not None:
            return Outcome(name, done, reused=True)
    written: list[str] = []
    try:
        if job.keeps_records:
            forget(job.output_path, job.views, prefix)
        with VolumeReader(path) as reader:
            counts = _write_views(reader, job, prefix, written)
        if job.keeps_records:
            remember(path, job.output_path, job.views, prefix, job.fingerprint, counts)
    except VolumeError as error:
        _roll_back(written, job, prefix)
        return Outcome(name, reason=str(error))
    except MemoryError:
        _roll_back(written, job, prefix)
        return Outcome(name, reason="not enough memory to hold the volume")
    except BaseException:
        _roll_back(written, job, prefix)
        raise
    return Outcome(name, counts)


def _roll_back(written: list[str], job: SliceJob, prefix: str) -> None:
    """Remove a failed volume's slices, and the folders it added if they are left empty."""
    remove_files(written)
    if job.saving_mode == "flat":
        return  # extract_slices writes into the caller's folder: not ours to remove
    for view in job.views:
        folder = output_folder(job.output_path, prefix, view, job.saving_mode)
        added = [folder, os.path.dirname(folder)] if job.saving_mode == "case" else [folder]
        for one in added:
            with contextlib.suppress(OSError):  # not empty (other volumes' slices) or already gone
                os.rmdir(one)


def misfits(header: Header, views: Iterable[str], target: tuple[int, int] | None) -> list[str]:
    """Descriptions of the views in which this volume's slices are larger than ``target``."""
    if target is None:
        return []
    shapes = {view: slice_shape(header.shape, view) for view in views}
    return [f"{view} slices of {h}x{w}" for view, (h, w) in shapes.items() if h > target[0] or w > target[1]]


def check_fits(header: Header, views: Iterable[str], target: tuple[int, int] | None) -> None:
    """Raise VolumeError if a slice of this volume is larger than ``target`` in some view."""
    problems = misfits(header, views, target)
    if problems:
        assert target is not None
        raise VolumeError(f"{', '.join(problems)} do not fit target_size {target[0]}x{target[1]}")


def check_all_fit(paths: list[str], views: tuple[str, ...], target: tuple[int, int] | None) -> None:
    """Read every header and refuse a target_size smaller than some slice, before writing anything.

    A file whose header cannot be read is left for the run, which skips it with its reason.
    """
    if target is None:
        return
    too_large = []
    for path in paths:
        try:
            problems = misfits(read_header(path), views, target)
        except VolumeError:
            continue
        if problems:
            too_large.append(f"{os.path.basename(path)} ({', '.join(problems)})")
    if too_large:
        shown = "; ".join(too_large[:5]) + (f"; and {len(too_large) - 5} more" if len(too_large) > 5 else "")
        raise ValueError(f"target_size {target} is smaller than the slices of {shown}; nothing was written")


def _write_views(reader: VolumeReader, job: SliceJob, prefix: str, written: list[str]) -> tuple[int, ...]:
    header = reader.header
    check_fits(header, job.views, job.target_size)
    pad = job.pad_value if job.target_size is not None else None
    plan = plan_values(header.dtype, header.slope, header.inter, pad, job.dtype)
    if job.views == ("axial",) and job.stream_axial:
        return (_stream_axial(reader, plan, job, prefix, written),)
    # The volume as read, plus one view's slice-major copy at a time, in buffers the pool reuses.
    stack_bytes = header.nbytes // header.dtype.itemsize * plan.stack_dtype.itemsize
    with (
        BUDGET.reserve(header.nbytes + stack_bytes, f"shape {header.shape}"),
        POOL.lend(header.nbytes) as raw,
        POOL.lend(stack_bytes) as spare,
    ):
        volume = reader.volume(into=raw)
        check_values(volume, plan)
        counts = []
        for view in job.views:
            shape = (slice_count(header.shape, view), *slice_shape(header.shape, view))
            stack = slice_stack(
                volume, view, plan.stack_dtype, out=spare.view(plan.stack_dtype).reshape(shape)
            )
            counts.append(_write_slices(stack, 0, shape[0], view, plan, job, prefix, written))
    return tuple(counts)


def _stream_axial(
    reader: VolumeReader, plan: ValuePlan, job: SliceJob, prefix: str, written: list[str]
) -> int:
    """Axial slices are contiguous in the file: read a slab at a time, memory stays a few MB."""
    x, y, z = reader.header.shape
    per_slab = max(1, SLAB_BYTES // (x * y * reader.header.dtype.itemsize))
    start = 0
    for slab in reader.slabs(per_slab):
        check_values(slab, plan)
        start += _write_slices(
            slice_stack(slab, "axial", plan.stack_dtype), start, z, "axial", plan, job, prefix, written
        )
    return z


def _write_slices(
    stack: np.ndarray,
    start: int,
    total: int,
    view: str,
    plan: ValuePlan,
    job: SliceJob,
    prefix: str,
    written: list[str],
) -> int:
    """Write ``stack[k]`` as slice ``start + k`` of ``total``; return how many were written."""
    folder = output_folder(job.output_path, prefix, view, job.saving_mode)
    make_folder(folder)
    width = index_width(total)
    for offset, stored in enumerate(stack):
        image = output_slice(stored, plan)
        if job.target_size is not None:
            image = pad_slice(image, job.target_size, job.pad_value)
        path = os.path.join(folder, slice_filename(prefix, view, start + offset, width))
        write_tiff(path, image)
        written.append(path)
    return len(stack)
