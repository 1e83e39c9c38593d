"""One sample's arrays, through the builder's own per-slice pipeline.

The image of a slice is what :class:`nidataset.training.job._SliceWriter` hands to the image writer
(the frame's slice, the value stage, resampling, padding, context channels) and its mask what it hands
to the mask writer, so a sample equals the decoded files of ``build_dataset`` by construction.
"""

from __future__ import annotations

import numpy as np

from ..io.volumes import VolumeReader
from ..naming import prefix_of
from ..options import BuildOptions
from ..training.job import _read_labels, _SliceWriter
from .scan import Scanned
from .slabs import SlabReader


def load(record: Scanned) -> tuple[np.ndarray, np.ndarray | None]:
    """The pair's stored voxels and its labels (clipped at 0 and narrowed as the mask images are)."""
    with VolumeReader(record.path) as reader:
        volume = reader.volume()
    if record.mask_path is None:
        return volume, None
    labels = np.maximum(_read_labels(record.mask_path)[1], 0)  # mask images hold no negative label
    return volume, labels.astype(np.uint8 if labels.size == 0 or labels.max() <= 255 else np.uint16)


def sample(
    record: Scanned,
    view: int,
    index: int,
    arrays: tuple[np.ndarray, np.ndarray | None],
    options: BuildOptions,
    first: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(image, mask) of slice ``index`` of the ``view``-th frame: H x W, or C x H x W with channels.

    ``arrays`` are the stored volume and its labels, or a slab of them along the frame's axis whose
    slices in slice order start at slice ``first``."""
    volume, labels = arrays
    frame = record.frames[view]
    writer = _SliceWriter(options, None, prefix_of(record.name), frame, record.pixels, [])
    image = writer._image(_From(frame.slices(volume), first), index)  # type: ignore[arg-type]
    if image.ndim == 3:
        image = np.ascontiguousarray(np.moveaxis(image, -1, 0))  # channels first, as PyTorch wants
    elif np.may_share_memory(image, volume):
        image = image.copy()  # never a view of the cached volume: a caller may write into it
    if labels is None:
        return image, None
    return image, mask_pixels(writer._mask(writer.nearest.slices(labels)[index - first]))


def slab_sample(
    record: Scanned,
    view: int,
    index: int,
    readers: tuple[SlabReader, SlabReader | None],
    options: BuildOptions,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`sample` from the few stored slices it needs (a frame across the last stored axis)."""
    frame = record.frames[view]
    around = np.clip([index - options.context, index + options.context], 0, frame.count - 1)
    stored = sorted(frame.slice_index(int(j)) for j in around)
    first = frame.slice_index(stored[1] if frame.reversed else stored[0])
    count = stored[1] - stored[0] + 1
    image_reader, mask_reader = readers
    volume = image_reader.slab(stored[0], count)
    labels = None if mask_reader is None else mask_reader.labels(stored[0], count)
    return sample(record, view, index, (volume, labels), options, first)


def open_slabs(record: Scanned) -> tuple[SlabReader, SlabReader | None]:
    """Slab readers of the pair's image and mask (their gzip seek points built now: one pass each)."""
    return SlabReader(record.path), None if record.mask_path is None else SlabReader(record.mask_path)


class _From:
    """Slices ``first, first + 1, ...`` of a frame, addressed by their slice indices."""

    def __init__(self, stack: np.ndarray, first: int) -> None:
        self.stack, self.first = stack, first

    def __getitem__(self, index: int) -> np.ndarray:
        return self.stack[index - self.first]  # type: ignore[no-any-return]


def mask_pixels(plane: np.ndarray) -> np.ndarray:
    """A mask slice as the mask image holds it: labels >= 0, uint8, or uint16 above 255 (as
    ``_SliceWriter._put_mask`` writes it)."""
    values = np.maximum(plane, 0)
    return values.astype(np.uint8 if values.size == 0 or int(values.max()) <= 255 else np.uint16)
