"""The per-file job: read one volume once, write its slices for every asked view.

:func:`extract_volume` is a top-level function of a path and a frozen
:class:`~nidataset.options.SliceOptions`, returning a small :class:`~nidataset.results.Outcome`: it
pickles to any executor. Every pixel goes through the view's :class:`~nidataset.geometry.frame.SliceFrame`;
a problem of the volume rolls back what it wrote (:mod:`nidataset.batch.failures`).
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from ..batch.failures import attempt
from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET, POOL
from ..batch.records import begin, completed, forget, identity_of, remember
from ..dtypes import ValuePlan, real_values
from ..errors import VolumeError
from ..geometry.frame import SliceFrame
from ..io.atomic import make_folder, remove_files
from ..io.images import write_image
from ..io.volumes import VolumeReader, read_header
from ..manifest import volume_rows
from ..naming import index_width, output_folder, own_folders, prefix_of, relative_folder, slice_filename
from ..options import SliceOptions
from ..results import Outcome
from .pixels import Pixels, pixels_for, recorded_values, stack_dtype, value_plan

#: Axial streaming reads this many bytes of voxels at a time: large reads, a few MB per worker.
SLAB_BYTES = 4 << 20


def extract_volume(path: str, options: SliceOptions) -> Outcome:
    """Write every slice of one volume; on a problem of the volume, remove them and say why."""
    return extract_volume_files(path, options)[0]


def extract_volume_files(path: str, options: SliceOptions) -> tuple[Outcome, list[str]]:
    """:func:`extract_volume`, and the paths it wrote in order (none when skipped or reused)."""
    name = os.path.basename(path)
    prefix = prefix_of(name)
    identity = identity_of(path)  # before reading: a file replaced meanwhile is caught after
    records = options.keeps_records
    if options.resume and records:
        done = completed(identity, options.output_path, options.views, prefix, options.output_key)
        if done is not None:
            return _with_details(Outcome(name, done[0], reused=True), done[1]), []
    learnt: dict[str, object] = {}  # from the voxels: the auto window, the value range

    def work(written: list[str]) -> tuple[int, ...]:
        if records:
            remove_files(begin(options.output_path, options.views, prefix))  # the earlier run's outputs
        with VolumeReader(path) as reader:
            counts = _write_views(reader, options, prefix, written, learnt)
        unchanged(path, identity)
        if records:
            assert identity is not None  # unchanged() refused a file it could not stat
            files = by_view(written, prefix, options.views)
            key = options.output_key
            remember(identity, options.output_path, options.views, prefix, key, files, counts, learnt)
        return counts

    folders = own_folders(options.output_path, prefix, options.views, options.saving_mode)
    outcome, written = attempt(path, work, own_folders=folders)
    if outcome.skipped and records:
        forget(options.output_path, options.views, prefix)  # its outputs are gone: nothing to trust
    return (outcome if outcome.skipped else _with_details(outcome, learnt)), written


def unchanged(path: str, identity: tuple[int, int, int] | None) -> None:
    """Raise VolumeError if ``path`` is not the file it was when its reading began."""
    if identity is None or identity_of(path) != identity:
        raise VolumeError("the file changed while it was read (size, time or inode); run again")


def by_view(written: list[str], prefix: str, views: tuple[str, ...]) -> list[list[str]]:
    """The files written for each view: their names start with ``<prefix>_<view>_``."""
    return [[p for p in written if os.path.basename(p).startswith(f"{prefix}_{view}_")] for view in views]


def _with_details(outcome: Outcome, details: dict[str, object]) -> Outcome:
    value_map, value_range = details.get("value_map"), details.get("value_range")
    return replace(
        outcome,
        value_map=None if value_map is None else str(value_map),
        value_range=None if value_range is None else (float(value_range[0]), float(value_range[1])),  # type: ignore[index]
    )


def _write_views(
    reader: VolumeReader,
    options: SliceOptions,
    prefix: str,
    written: list[str],
    learnt: dict[str, object],
) -> tuple[int, ...]:
    header = reader.header
    frames = fitting_frames(header, options)
    plan = value_plan(header, options)
    whole = options.window == "auto" or options.save_preview  # both need every voxel first
    if len(frames) == 1 and frames[0].axis == 2 and not whole:
        pixels = pixels_for(plan, options)
        return (_stream(reader, frames[0], pixels, options, prefix, written, learnt),)
    # The volume as read, plus one view's slice-major copy at a time, in buffers the pool reuses.
    copy_dtype = stack_dtype(plan, options.window is not None)
    stack_bytes = header.nbytes // header.dtype.itemsize * copy_dtype.itemsize
    with (
        BUDGET.reserve(header.nbytes + stack_bytes, f"shape {header.shape}"),
        POOL.lend(header.nbytes) as raw,
        POOL.lend(stack_bytes) as spare,
    ):
        volume = reader.volume(into=raw)
        pixels = pixels_for(plan, options, volume)
        if options.window == "auto":
            learnt["value_map"] = pixels.value_map
        if options.measure_range:
            learnt["value_range"] = value_range(volume, plan)
        pixels.check(volume)
        if options.save_preview:
            from ..viewing.job import write_previews

            write_previews(
                volume,
                header,
                options.output_path,
                prefix,
                options.views,
                orientation=options.orientation,
                window=pixels.window or options.window,
                written=written,
            )
        counts = []
        for frame in frames:
            out = spare.view(copy_dtype).reshape(frame.stack_shape)
            stack = frame.stack(volume, copy_dtype, out=out)
            counts.append(_write_slices(stack, 0, frame, pixels, options, prefix, written))
    return tuple(counts)


def manifest_rows(path: str, outcome: Outcome, options: SliceOptions) -> list[list[list[object]]]:
    """The manifest rows of one volume done, per view: all from its header, no voxel is read."""
    header = read_header(path)
    dtype, value_map = recorded_values(header, options, outcome.value_map)
    frames = fitting_frames(header, options)
    prefix = prefix_of(outcome.name)
    return volume_rows(
        frames,
        header.affine,
        source=outcome.name,
        folders=[relative_folder(prefix, frame.view, options.saving_mode) for frame in frames],
        indices=[range(frame.count) for frame in frames],
        extension=options.extension,
        dtype=dtype,
        value_map=value_map,
    )


def _stream(
    reader: VolumeReader,
    frame: SliceFrame,
    pixels: Pixels,
    options: SliceOptions,
    prefix: str,
    written: list[str],
    learnt: dict[str, object],
) -> int:
    """Slices across the last stored axis are contiguous in the file: read a slab at a time, so
    memory stays a few MB (the axial view of most volumes).

    A slab is held about four times (the read, the decompressor's buffer, the slice-major copy, the
    image being written): that is reserved, so that one huge slice cannot overcommit with others."""
    x, y, z = reader.header.shape
    plane_bytes = x * y * reader.header.dtype.itemsize
    per_slab = max(1, min(z, SLAB_BYTES // plane_bytes))
    held = 4 * per_slab * x * y * max(reader.header.dtype.itemsize, pixels.stack_dtype.itemsize, 4)
    with BUDGET.reserve(held, f"shape {reader.header.shape}"):
        return _stream_slabs(reader, frame, pixels, options, prefix, written, learnt, per_slab)


def _stream_slabs(
    reader: VolumeReader,
    frame: SliceFrame,
    pixels: Pixels,
    options: SliceOptions,
    prefix: str,
    written: list[str],
    learnt: dict[str, object],
    per_slab: int,
) -> int:
    done = 0
    for slab in reader.slabs(per_slab):
        pixels.check(slab)
        if options.measure_range:
            learnt["value_range"] = value_range(slab, pixels.plan, learnt.get("value_range"))  # type: ignore[arg-type]
        done += slab.shape[2]
        first = frame.slice_index(done - 1 if frame.reversed else done - slab.shape[2])
        stack = frame.stack(slab, pixels.stack_dtype)
        _write_slices(stack, first, frame, pixels, options, prefix, written)
    return frame.count


def value_range(block: np.ndarray, plan: ValuePlan, sofar: list[float] | None = None) -> list[float] | None:
    """[smallest, largest] finite real value of ``block`` and what ``sofar`` held (None if none)."""
    finite = block[np.isfinite(block)] if block.dtype.kind == "f" else block
    if finite.size:
        ends = real_values(np.array([finite.min(), finite.max()]), plan).tolist()
        ends = sorted(ends)  # a negative slope swaps them
        sofar = ends if sofar is None else [min(sofar[0], ends[0]), max(sofar[1], ends[1])]
    return sofar


def _write_slices(
    stack: np.ndarray,
    start: int,
    frame: SliceFrame,
    pixels: Pixels,
    options: SliceOptions,
    prefix: str,
    written: list[str],
) -> int:
    """Write ``stack[n]`` as slice ``start + n`` of the frame; return how many were written."""
    folder = output_folder(options.output_path, prefix, frame.view, options.saving_mode)
    make_folder(folder)
    width = index_width(frame.count)
    for offset, stored in enumerate(stack):
        name = slice_filename(prefix, frame.view, start + offset, width, options.extension)
        path = os.path.join(folder, name)
        write_image(path, pixels.image(stored, frame), options.image_format, options.compression)
        written.append(path)
    return len(stack)
