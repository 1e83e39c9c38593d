"""The per-file job: read one volume once, write its slices for every asked view.

:func:`extract_volume` is a top-level function of a path and a frozen
:class:`~nidataset.options.SliceOptions`, returning a small :class:`~nidataset.results.Outcome`: it
pickles to any executor. Every pixel goes through the view's :class:`~nidataset.geometry.frame.SliceFrame`;
a problem of the volume rolls back what it wrote (:mod:`nidataset.batch.failures`).
"""

from __future__ import annotations

import os

import numpy as np

from ..batch.failures import attempt
from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET, POOL
from ..batch.records import completed, forget, remember
from ..dtypes import ValuePlan, check_values, output_slice, plan_values
from ..geometry.frame import SliceFrame
from ..io.atomic import make_folder
from ..io.images import write_tiff
from ..io.volumes import Header, VolumeReader, read_header
from ..manifest import frame_rows
from ..naming import index_width, output_folder, own_folders, prefix_of, relative_folder, slice_filename
from ..options import SliceOptions
from ..results import Outcome

#: Axial streaming reads this many bytes of voxels at a time: large reads, a few MB per worker.
SLAB_BYTES = 4 << 20


def extract_volume(path: str, options: SliceOptions) -> Outcome:
    """Write every slice of one volume; on a problem of the volume, remove them and say why."""
    return extract_volume_files(path, options)[0]


def extract_volume_files(path: str, options: SliceOptions) -> tuple[Outcome, list[str]]:
    """:func:`extract_volume`, and the paths it wrote in order (none when skipped or reused)."""
    name = os.path.basename(path)
    prefix = prefix_of(name)
    if options.resume:
        key = options.output_key
        done = completed(path, options.output_path, options.views, prefix, key, options.saving_mode)
        if done is not None:
            return Outcome(name, done, reused=True), []

    def work(written: list[str]) -> tuple[int, ...]:
        if options.keeps_records:
            forget(options.output_path, options.views, prefix)
        with VolumeReader(path) as reader:
            counts = _write_views(reader, options, prefix, written)
        if options.keeps_records:
            remember(path, options.output_path, options.views, prefix, options.output_key, counts)
        return counts

    folders = own_folders(options.output_path, prefix, options.views, options.saving_mode)
    return attempt(path, work, own_folders=folders)


def _write_views(
    reader: VolumeReader, options: SliceOptions, prefix: str, written: list[str]
) -> tuple[int, ...]:
    header = reader.header
    frames = fitting_frames(header, options)
    plan = _value_plan(header, options)
    if len(frames) == 1 and frames[0].axis == 2:
        return (_stream(reader, frames[0], plan, options, prefix, written),)
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
        for frame in frames:
            out = spare.view(plan.stack_dtype).reshape(frame.stack_shape)
            stack = frame.stack(volume, plan.stack_dtype, out=out)
            counts.append(_write_slices(stack, 0, frame, plan, options, prefix, written))
    return tuple(counts)


def _value_plan(header: Header, options: SliceOptions) -> ValuePlan:
    pad = options.pad_value if options.target_size is not None else None
    return plan_values(header.dtype, header.slope, header.inter, pad, options.dtype)


def manifest_rows(path: str, outcome: Outcome, options: SliceOptions) -> list[list[list[object]]]:
    """The manifest rows of one volume done, per view: all from its header, no voxel is read."""
    header = read_header(path)
    dtype = _value_plan(header, options).output.name
    prefix = prefix_of(outcome.name)
    tables = []
    for frame in fitting_frames(header, options):
        folder, width = relative_folder(prefix, frame.view, options.saving_mode), index_width(frame.count)
        indices = range(frame.count)
        paths = [f"{folder}/{slice_filename(prefix, frame.view, i, width)}" for i in indices]
        rows = frame_rows(
            frame, header.affine, source=outcome.name, paths=paths, indices=indices, dtype=dtype
        )
        tables.append(rows)
    return tables


def _stream(
    reader: VolumeReader,
    frame: SliceFrame,
    plan: ValuePlan,
    options: SliceOptions,
    prefix: str,
    written: list[str],
) -> int:
    """Slices across the last stored axis are contiguous in the file: read a slab at a time, so
    memory stays a few MB (the axial view of most volumes)."""
    x, y, _ = reader.header.shape
    per_slab = max(1, SLAB_BYTES // (x * y * reader.header.dtype.itemsize))
    done = 0
    for slab in reader.slabs(per_slab):
        check_values(slab, plan)
        done += slab.shape[2]
        first = frame.slice_index(done - 1 if frame.reversed else done - slab.shape[2])
        _write_slices(frame.stack(slab, plan.stack_dtype), first, frame, plan, options, prefix, written)
    return frame.count


def _write_slices(
    stack: np.ndarray,
    start: int,
    frame: SliceFrame,
    plan: ValuePlan,
    options: SliceOptions,
    prefix: str,
    written: list[str],
) -> int:
    """Write ``stack[n]`` as slice ``start + n`` of the frame; return how many were written."""
    folder = output_folder(options.output_path, prefix, frame.view, options.saving_mode)
    make_folder(folder)
    width = index_width(frame.count)
    for offset, stored in enumerate(stack):
        image = frame.pad(frame.resample(output_slice(stored, plan)), options.pad_value)
        path = os.path.join(folder, slice_filename(prefix, frame.view, start + offset, width))
        write_tiff(path, image)
        written.append(path)
    return len(stack)
