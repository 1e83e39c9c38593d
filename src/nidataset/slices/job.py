"""The per-file job: read one volume once, write its slices for every asked view.

:func:`extract_volume` is a top-level function of a path and a frozen
:class:`~nidataset.options.SliceOptions`, returning a small :class:`~nidataset.results.Outcome`: it
pickles to any executor. Every pixel goes through the view's :class:`~nidataset.geometry.frame.SliceFrame`;
a problem of the volume rolls back what it wrote (:mod:`nidataset.batch.failures`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET, POOL
from ..batch.resume import Done, Records, run_with_records
from ..geometry.frame import SliceFrame
from ..io.atomic import make_folder
from ..io.images import image_parts
from ..io.placement import is_vacant
from ..io.read_ahead import read_ahead
from ..io.readers import Header, VolumeSource, open_volume, read_header
from ..io.shards import TarShard, shard_filename
from ..io.sinks import LinkedFiles, Sink, StagedFolder
from ..manifest import COLUMNS, volume_rows
from ..naming import index_width, output_folder, own_folders, prefix_of, relative_folder, slice_filename
from ..options import SliceOptions
from ..results import Outcome
from ..values.dtypes import ValuePlan, real_values
from ..values.pixels import Pixels, needs_voxels, pixels_for, recorded_values, stack_dtype, value_plan
from ..values.windows import Clipped, Window, Windows
from ..viewing.preview import PreviewPlanes, preview_frames

#: Axial streaming reads this many bytes of voxels at a time: large reads, a few MB per worker.
SLAB_BYTES = 4 << 20
#: Axial streaming decompresses the next slab on a thread while this one is written (issue 23).
READ_AHEAD = True


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
    if len(frames) == 1 and frames[0].axis == 2 and not needs_voxels(options) and streams:
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
        folders=[row_folder(prefix, frame.view, options) for frame in frames],
        indices=[range(frame.count) for frame in frames],
        extension=options.extension,
        dtype=dtype,
        value_map=value_map,
        codes=header.codes,
    )


def row_folder(prefix: str, view: str, options: SliceOptions) -> str:
    """What a manifest's ``path`` puts before a slice's name: its folder relative to the output root,
    or its shard's path there, a shard's member being addressed as a file in a folder named after it
    (``axial/case_001.tar/case_001_axial_000.tif``)."""
    folder = relative_folder(prefix, view, options.saving_mode)
    return f"{folder}/{shard_filename(prefix)}" if options.sharded else folder


def _stream(
    reader: VolumeSource,
    out: ViewWriter,
    learnt: dict[str, object],
    planes: PreviewPlanes | None,
    clipped: Clipped | None = None,
) -> int:
    """Slices across the last stored axis are contiguous in the file: read a slab at a time, so
    memory stays a few MB (the axial view of most volumes).

    A slab is held about four times (the read, the decompressor's buffer, the slice-major copy, the
    image being written), and twice more as read while reading ahead (the one handed over, the one
    being read): that is reserved, so that one huge slice cannot overcommit with others."""
    x, y, z = reader.header.shape
    plane_bytes = x * y * reader.header.dtype.itemsize
    per_slab = max(1, min(z, SLAB_BYTES // plane_bytes))
    itemsize = max(reader.header.dtype.itemsize, out.pixels.stack_dtype.itemsize, 4)
    kept = 0 if planes is None else planes.nbytes(reader.header.dtype.itemsize)
    ahead = READ_AHEAD and per_slab < z  # one slab: nothing to overlap
    extra = 2 * per_slab * plane_bytes if ahead else 0
    with BUDGET.reserve(4 * per_slab * x * y * itemsize + kept + extra, f"shape {reader.header.shape}"):
        if not ahead:
            return _stream_slabs(reader.slabs(per_slab), out, learnt, planes, clipped)
        with read_ahead(reader.slabs(per_slab)) as slabs:
            return _stream_slabs(slabs, out, learnt, planes, clipped)


def _stream_slabs(
    slabs: Iterator[np.ndarray],
    out: ViewWriter,
    learnt: dict[str, object],
    planes: PreviewPlanes | None,
    clipped: Clipped | None,
) -> int:
    frame, pixels = out.frame, out.pixels
    done = 0
    for slab in slabs:
        pixels.check(slab)
        if clipped is not None:
            clipped.take(slab)
        if planes is not None:
            planes.take(slab, done)
        if out.options.measure_range:
            learnt["value_range"] = value_range(slab, pixels.plan, learnt.get("value_range"))  # type: ignore[arg-type]
        done += slab.shape[2]
        first = frame.slice_index(done - 1 if frame.reversed else done - slab.shape[2])
        out.write(frame.stack(slab, pixels.stack_dtype), first)
    return frame.count


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
    rows = _sample_rows(header, source, frame, pixels, options, prefix) if options.sharded else None
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


def _sample_rows(
    header: Header, source: str, frame: SliceFrame, pixels: Pixels, options: SliceOptions, prefix: str
) -> list[dict[str, object]]:
    """Each slice's manifest row, as :func:`manifest_rows` writes it, for the shard's samples."""
    dtype, value_map = recorded_values(header, options, pixels.value_map)
    (rows,) = volume_rows(
        [frame],
        header.affine,
        source=source,
        folders=[row_folder(prefix, frame.view, options)],
        indices=[range(frame.count)],
        extension=options.extension,
        dtype=dtype,
        value_map=value_map,
        codes=header.codes,
    )
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
