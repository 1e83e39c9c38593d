"""The per-file job: read one volume once, write its slices for every asked view.

:func:`extract_volume` is a top-level function of a path and a frozen
:class:`~nidataset.options.SliceOptions`, returning a small :class:`~nidataset.results.Outcome`: it
pickles to any executor. Every pixel goes through the view's :class:`~nidataset.geometry.frame.SliceFrame`;
a problem of the volume rolls back what it wrote (:mod:`nidataset.batch.failures`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace

import numpy as np

from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET, POOL
from ..batch.resume import Done, Records, run_with_records
from ..geometry.frame import SliceFrame
from ..geometry.views import copy_block, stored_view
from ..io.atomic import make_folder
from ..io.images import image_parts
from ..io.placement import is_vacant
from ..io.read_ahead import read_ahead
from ..io.readers import Header, VolumeSource, open_volume
from ..io.shards import TarShard, shard_filename
from ..io.sinks import LinkedFiles, Sink, StagedFolder
from ..naming import index_width, output_folder, own_folders, prefix_of, slice_filename
from ..options import SliceOptions
from ..results import Outcome
from ..values.dtypes import ValuePlan, real_values
from ..values.pixels import Pixels, needs_voxels, pixels_for, stack_dtype, value_plan
from ..values.windows import Clipped, Window, Windows
from ..viewing.preview import PreviewPlanes, preview_frames
from .rows import manifest_rows, row_folder, sample_rows

__all__ = ["extract_volume", "extract_volume_files", "manifest_rows", "row_folder"]

#: Axial streaming reads this many bytes of voxels at a time: large reads, a few MB per worker.
SLAB_BYTES = 4 << 20
#: Axial streaming decompresses the next slab on a thread while this one is written (issue 23).
READ_AHEAD = True
#: Coronal streaming (slices across the middle stored axis) reads this many bytes of voxels at a
#: time: 64 planes of 512 x 512 int16, two whole cache lines of each slice's row per slab; laying
#: out a CT volume's slabs took 0.034 s at 64 planes, 0.069 s at 32, 0.106 s at 16 and 0.123 s at 8.
LAYOUT_SLAB_BYTES = 32 << 20
#: Coronal slabs are laid out as read for volumes of at most this many bytes: the first slab
#: touches the whole stack, so a file that declares more voxels than it holds (a decompression bomb)
#: costs up to this much memory; a larger volume is read whole first, as its data come. Sagittal
#: slices (across the stored axis that varies fastest) are always cut from the whole volume: laid out
#: slab by slab, each slice's row is written in pieces scattered a slice apart, which cost 8-12% more
#: CPU on the CT set than one pass over the whole volume (benchmarks/cpu_ab.py).
LAYOUT_LIMIT = 512 << 20


def extract_volume(path: str, options: SliceOptions) -> Outcome:
    """Write every slice of one volume; on a problem of the volume, remove them and say why."""
    return extract_volume_files(path, options)[0]


def extract_volume_files(path: str, options: SliceOptions) -> tuple[Outcome, list[str]]:
    """:func:`extract_volume`, and the paths it wrote in order (none when skipped or reused)."""
    prefix = prefix_of(os.path.basename(path))

    def work(written: list[str], done: Done) -> tuple[int, ...]:
        with open_volume(path) as reader:  # ``done.details``: the auto window, the value range
            return _write_views(reader, options, prefix, Placed(written, done.sizes), done.details)

    records = Records(options.output_path, options.views, prefix, options.output_key)
    result = run_with_records(
        path,
        work,
        records if options.keeps_records else None,
        lambda written: by_view(written, prefix, options.views),
        resume=options.resume,
        own_folders=own_folders(options.output_path, prefix, options.views, options.saving_mode),
    )
    outcome = result.outcome
    return (outcome if outcome.skipped else _with_details(outcome, result.details)), result.written


def by_view(written: list[str], prefix: str, views: tuple[str, ...]) -> list[list[str]]:
    """The files written for each view: their names start with ``<prefix>_<view>_``, or they are the
    view's shard (``<view>/<prefix>.tar``)."""
    return [[p for p in written if _of_view(p, prefix, view)] for view in views]


def _of_view(path: str, prefix: str, view: str) -> bool:
    folder, name = os.path.split(path)
    return name.startswith(f"{prefix}_{view}_") or (
        name == shard_filename(prefix) and os.path.basename(folder) == view
    )


@dataclass
class Placed:
    """What one volume put in place: every path (for a rollback) and the sizes of its slice files and
    shards (for its records)."""

    paths: list[str]
    sizes: dict[str, int]


def _with_details(outcome: Outcome, details: dict[str, object]) -> Outcome:
    value_map, value_range = details.get("value_map"), details.get("value_range")
    note = details.get("note")
    return replace(
        outcome,
        note=outcome.note if note is None else str(note),
        value_map=None if value_map is None else str(value_map),
        value_range=None if value_range is None else (float(value_range[0]), float(value_range[1])),  # type: ignore[index]
    )


def _write_views(
    reader: VolumeSource,
    options: SliceOptions,
    prefix: str,
    placed: Placed,
    learnt: dict[str, object],
) -> tuple[int, ...]:
    header = reader.header
    frames = fitting_frames(header, options)
    plan = value_plan(header, options)
    planes = _preview_planes(header, options)
    source = os.path.basename(reader.path)
    streams = planes is None or planes.streamable  # previews along the stored axial axis keep up
    streams = streams and (frames[0].axis == 2 or (frames[0].axis == 1 and header.nbytes <= LAYOUT_LIMIT))
    if len(frames) == 1 and not needs_voxels(options) and streams:
        pixels = pixels_for(plan, options)
        clipped = _clipped(pixels, plan, options)
        with _writing(header, source, frames[0], pixels, options, prefix, placed) as out:
            count = _stream(reader, out, learnt, planes, clipped)
        _note_clipped(clipped, source, options, learnt)
        if planes is not None:
            _write_previews(planes, header, options, prefix, pixels.window, placed)
        return (count,)
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
        clipped = _clipped(pixels, plan, options)
        if clipped is not None:
            clipped.take(volume)
            _note_clipped(clipped, source, options, learnt)
        if planes is not None:
            planes.take(volume)
            _write_previews(planes, header, options, prefix, pixels.window, placed)
        counts = []
        for frame in frames:
            buffer = spare.view(copy_dtype).reshape(frame.stack_shape)
            stack = frame.stack(volume, copy_dtype, out=buffer)
            with _writing(header, source, frame, pixels, options, prefix, placed) as out:
                counts.append(out.write(stack, 0))
    return tuple(counts)


def _clipped(pixels: Pixels, plan: ValuePlan, options: SliceOptions) -> Clipped | None:
    """A counter of the voxels a fixed window clips (an auto window fits each volume: none)."""
    if not isinstance(pixels.window, Window) or options.window == "auto":  # none, or three channels
        return None
    return Clipped(pixels.window, plan.slope, plan.inter)


def _note_clipped(
    clipped: Clipped | None, source: str, options: SliceOptions, learnt: dict[str, object]
) -> None:
    note = None if clipped is None or options.window is None else clipped.note(source, options.window)
    if note is not None:
        learnt["note"] = note  # kept in the records: a resumed run says it again


def _preview_planes(header: Header, options: SliceOptions) -> PreviewPlanes | None:
    if not options.save_preview:
        return None
    frames = preview_frames(header.shape, header.affine, options.views, options.orientation)
    return PreviewPlanes(header.shape, frames)


def _write_previews(
    planes: PreviewPlanes,
    header: Header,
    options: SliceOptions,
    prefix: str,
    window: Window | Windows | None,
    placed: Placed,
) -> None:
    """The previews in the slices' window when they have one (the first of several), else in the
    asked one (or "auto")."""
    from ..viewing.job import write_planes

    shown = (window.channels[0] if isinstance(window, Windows) else window) or options.window
    write_planes(planes, header, options.output_path, prefix, window=shown, written=placed.paths)


def _stream(
    reader: VolumeSource,
    out: ViewWriter,
    learnt: dict[str, object],
    planes: PreviewPlanes | None,
    clipped: Clipped | None = None,
) -> int:
    """Read a slab of stored axial slices at a time (contiguous in the file), axially each one
    decompressed on a thread while the one before is written, and write the view's slices.

    Axial slices are written slab by slab, so memory stays a few MB: a slab is held about four times
    (the read, the decompressor's buffer, the slice-major copy, the image being written), and twice
    more as read while reading ahead (the one handed over, the one being read). Coronal slabs are
    laid out into the view's slice-major stack as they come (:func:`_laid_out`). That is reserved,
    so that one huge slice cannot overcommit with others."""
    header, frame = reader.header, out.frame
    x, y, z = header.shape
    plane_bytes = x * y * header.dtype.itemsize
    axial = frame.axis == 2
    per_slab = max(1, min(z, (SLAB_BYTES if axial else LAYOUT_SLAB_BYTES) // plane_bytes))
    # Coronal slabs are not read ahead: laying one out is a third of its decompression, and the GIL
    # hand-offs of its plane copies cost more than the overlap gains (two workers on the CT set: the
    # copies' wall time went from 0.4 s to 1.4-2.3 s, one worker: no gain).
    ahead = READ_AHEAD and axial and per_slab < z  # one slab: nothing to overlap
    held = (2 if ahead else 0) * per_slab * plane_bytes
    if axial:
        itemsize = max(header.dtype.itemsize, out.pixels.stack_dtype.itemsize, 4)
        kept = 0 if planes is None else planes.nbytes(header.dtype.itemsize)
        held += 4 * per_slab * x * y * itemsize + kept
    else:  # the slab being laid out and the stack
        held += per_slab * plane_bytes + math.prod(frame.stack_shape) * out.pixels.stack_dtype.itemsize
    ring = 3 if ahead else 1  # the one used, the one handed over, the one being read (depth 1)
    with (
        BUDGET.reserve(held, f"shape {header.shape}"),
        POOL.lend(ring * per_slab * plane_bytes) as spare,
    ):
        buffers = np.split(spare, ring)
        slabs = reader.slabs(per_slab, buffers)
        with read_ahead(slabs, depth=1) if ahead else nullcontext(slabs) as items:
            if axial:
                return _stream_slabs(items, per_slab, out, learnt, planes, clipped)
            return _laid_out(items, out, learnt, clipped)


def _stream_slabs(
    slabs: Iterator[np.ndarray],
    per_slab: int,
    out: ViewWriter,
    learnt: dict[str, object],
    planes: PreviewPlanes | None,
    clipped: Clipped | None,
) -> int:
    """Write each slab's slices, laid out in one pooled buffer (the sinks write what they are given
    at once, so the next slab may reuse it)."""
    frame, dtype = out.frame, out.pixels.stack_dtype
    plane = math.prod(frame.source_plane)
    done = 0
    with POOL.lend(per_slab * plane * dtype.itemsize) as spare:
        for slab in slabs:
            _take(slab, done, out, learnt, planes, clipped)
            count = slab.shape[2]
            done += count
            first = frame.slice_index(done - 1 if frame.reversed else done - count)
            stack = spare[: count * plane * dtype.itemsize].view(dtype).reshape(count, *frame.source_plane)
            out.write(frame.stack(slab, dtype, out=stack), first)
    return frame.count


def _laid_out(
    slabs: Iterator[np.ndarray], out: ViewWriter, learnt: dict[str, object], clipped: Clipped | None
) -> int:
    """Lay each slab out into the view's slice-major stack, in a buffer the pool reuses, then write
    the stack: one volume-sized buffer and one slab instead of the volume and its copy, and each slab
    laid out while it is still in cache (issue 23)."""
    frame, dtype = out.frame, out.pixels.stack_dtype
    with POOL.lend(math.prod(frame.stack_shape) * dtype.itemsize) as spare:
        stack = spare.view(dtype).reshape(frame.stack_shape)
        target = stored_view(stack, frame.slices)
        done = 0
        for slab in slabs:
            _take(slab, done, out, learnt, None, clipped)
            copy_block(target[:, :, done : done + slab.shape[2]], slab)
            done += slab.shape[2]
        return out.write(stack, 0)


def _take(
    slab: np.ndarray,
    start: int,
    out: ViewWriter,
    learnt: dict[str, object],
    planes: PreviewPlanes | None,
    clipped: Clipped | None,
) -> None:
    """What a slab of stored axial slices from ``start`` adds besides the slices: the values' check,
    the clipped voxels, the previews' planes, the value range."""
    out.pixels.check(slab)
    if clipped is not None:
        clipped.take(slab)
    if planes is not None:
        planes.take(slab, start)
    if out.options.measure_range:
        learnt["value_range"] = value_range(slab, out.pixels.plan, learnt.get("value_range"))  # type: ignore[arg-type]


def value_range(block: np.ndarray, plan: ValuePlan, sofar: list[float] | None = None) -> list[float] | None:
    """[smallest, largest] finite real value of ``block`` and what ``sofar`` held (None if none)."""
    finite = block[np.isfinite(block)] if block.dtype.kind == "f" else block
    if finite.size:
        ends = real_values(np.array([finite.min(), finite.max()]), plan).tolist()
        ends = sorted(ends)  # a negative slope swaps them
        sofar = ends if sofar is None else [min(sofar[0], ends[0]), max(sofar[1], ends[1])]
    return sofar


@dataclass
class ViewWriter:
    """Writes the slices of one view of one volume into its sink, opened at the first slice (nothing
    is created while the volume is still being read); ``rows`` are the slices' manifest rows (by slice
    index) when the sink keeps them beside the images (a shard)."""

    frame: SliceFrame
    pixels: Pixels
    options: SliceOptions
    prefix: str
    rows: list[dict[str, object]] | None
    sink: Sink | None = None

    def write(self, stack: np.ndarray, start: int) -> int:
        """Write ``stack[n]`` as slice ``start + n`` of the frame; return how many were written."""
        frame, options = self.frame, self.options
        if self.sink is None:
            self.sink = _sink(options, self.prefix, frame.view)
        width = index_width(frame.count)
        for offset, stored in enumerate(stack):
            index = start + offset
            name = slice_filename(self.prefix, frame.view, index, width, options.extension)
            parts = image_parts(self.pixels.image(stored, frame), options.image_format, options.compression)
            self.sink.add(name, parts, None if self.rows is None else self.rows[index])
        return len(stack)


@contextmanager
def _writing(
    header: Header,
    source: str,
    frame: SliceFrame,
    pixels: Pixels,
    options: SliceOptions,
    prefix: str,
    placed: Placed,
) -> Iterator[ViewWriter]:
    """A writer of one view's slices, put in place whole when the block ends (dropped on an error)."""
    rows = sample_rows(header, source, frame, pixels, options, prefix) if options.sharded else None
    writer = ViewWriter(frame, pixels, options, prefix, rows)
    try:
        yield writer
    except BaseException:
        if writer.sink is not None:
            writer.sink.discard()
        raise
    if writer.sink is not None:
        writer.sink.commit()
        placed.paths.extend(path for path, _ in writer.sink.placed)
        placed.sizes.update(writer.sink.placed)


def _sink(options: SliceOptions, prefix: str, view: str) -> Sink:
    """A shard; a staging folder for a case folder that is new or empty; else files placed one by one
    (view mode's shared folders, the caller's folder of ``extract_slices``, a folder holding files)."""
    folder = output_folder(options.output_path, prefix, view, options.saving_mode)
    if options.sharded:
        make_folder(folder)
        return TarShard(os.path.join(folder, shard_filename(prefix)))
    if options.saving_mode == "case" and is_vacant(folder):
        make_folder(os.path.dirname(folder))
        return StagedFolder(folder)
    make_folder(folder)
    return LinkedFiles(folder)
