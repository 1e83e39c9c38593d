"""The manifest rows of one volume's slices: for the run's manifest (:func:`manifest_rows`, from the
header alone) and for the samples of a shard (:func:`sample_rows`)."""

from __future__ import annotations

from ..batch.flow import fitting_frames
from ..geometry.frame import SliceFrame
from ..io.readers import Header, read_header
from ..io.shards import shard_filename
from ..manifest import COLUMNS, volume_rows
from ..naming import prefix_of, relative_folder
from ..options import SliceOptions
from ..results import Outcome
from ..values.pixels import Pixels, recorded_values


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


def sample_rows(
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
