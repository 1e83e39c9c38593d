"""One sample's arrays, through the builder's own per-slice pipeline.

The image of a slice is what :class:`nidataset.training.writer.SliceWriter` hands to the image writer
(the frame's slice, the value stage, resampling, padding, context channels) and its mask what it hands
to the mask writer, so a sample equals the decoded files of ``build_dataset`` by construction.
"""

from __future__ import annotations

import numpy as np

from ..errors import VolumeError
from ..geometry.frame import SliceFrame
from ..io.readers import open_volume
from ..naming import prefix_of
from ..training.job import read_labels
from ..training.options import BuildOptions
from ..training.writer import SliceWriter
from ..values.windows import Windows
from .scan import Scanned, mask_labels
from .slabs import SlabReader

#: A view's slices in slice order (a whole volume's stack, or a slab's) and its mask's, or None.
Stacks = tuple[np.ndarray, np.ndarray | None]


def writer_for(record: Scanned, view: int, options: BuildOptions) -> SliceWriter:
    """The builder's writer of the pair's ``view``-th frame, used for its per-slice pipeline only."""
    return SliceWriter(options, None, prefix_of(record.name), record.frames[view], record.pixels, [])


def load(record: Scanned, writer: SliceWriter) -> Stacks:
    """The view's slices of the whole volume and of its labels, in slice order (:func:`slices`)."""
    with open_volume(record.path) as reader:
        if (reader.header.shape, reader.header.dtype) != (record.header.shape, record.header.dtype):
            raise VolumeError(f"{record.name} changed since the dataset read it: make the dataset again")
        volume = reader.volume()
    labels = None if record.mask_path is None else mask_labels(read_labels(record.mask_path)[1])
    return restack(writer, (volume, labels))


def restack(writer: SliceWriter, decoded: Stacks) -> Stacks:
    """The arrays the cache keeps for the view of the decoded (volume, labels): themselves, or the
    slice-major copies of :func:`restacked` views."""
    volume, labels = decoded
    if not restacked(writer.frame):
        return volume, labels
    label_stack = None if labels is None else writer.nearest.stack(labels)
    return writer.frame.stack(volume), label_stack


def restacked(frame: SliceFrame) -> bool:
    """Whether the cache keeps the view as a slice-major copy rather than the volume as read.

    A slice across the fastest stored axis (the stored sagittal view) touches a cache line per
    voxel, so those views are copied once, cache-friendly, as the slice job does; a slice of any other
    view is copied when it is used (a random epoch in two workers uses half of each volume's slices
    in each: 0.5 ms a slice against 2.5 ms for the share of a whole copy, on 512 x 512 CT).
    """
    return frame.axis == 0  # the volume is read in Fortran order: axis 0 is the contiguous one


def sample(writer: SliceWriter, stacks: Stacks, index: int, first: int = 0) -> Stacks:
    """(image, mask) of slice ``index``: H x W, or C x H x W with channels; ``stacks`` hold the
    frame's slices from slice ``first`` on."""
    stack, labels = stacks
    if _pointwise(writer):
        context, count = writer.options.context, writer.frame.count
        if context == 0:
            image = _plane_image(writer, stack[index - first])
        else:  # the slices around as channels, first, as PyTorch wants them
            around = range(index - context, index + context + 1)
            image = np.stack([_plane_image(writer, stack[min(max(j, 0), count - 1) - first]) for j in around])
        return image, None if labels is None else mask_pixels(writer._mask(labels[index - first]))
    image = writer._image(_From(stack, first), index)  # type: ignore[arg-type]
    if image.ndim == 3:
        image = np.ascontiguousarray(np.moveaxis(image, -1, 0))  # channels first, as PyTorch wants
    elif np.may_share_memory(image, stack):
        image = image.copy()  # never a view of the cached volume: a caller may write into it
    if labels is None:
        return image, None
    return image, mask_pixels(writer._mask(labels[index - first]))


def _pointwise(writer: SliceWriter) -> bool:
    """Whether the writer's image of a plane is a value per pixel (no resampling, no padding), so that
    it can be computed in the plane's memory order and laid out after (:func:`_plane_image`); not
    for several windows, which make a pixel three channels."""
    frame, window = writer.frame, writer.pixels.window
    return not frame.resampled and frame.target_size is None and not isinstance(window, Windows)


def _plane_image(writer: SliceWriter, plane: np.ndarray) -> np.ndarray:
    """``writer.pixels.image`` of a plane, computed on the plane as it lies in memory (the lookup
    table read in order, not through a transposed copy of the stored values), then copied out
    C-contiguous in column blocks that stay in cache: a value per pixel, so the same pixels
    (0.3 ms against 0.55 ms a 512 x 512 CT slice)."""
    flips = tuple(slice(None, None, -1 if step < 0 else 1) for step in plane.strides)
    upright = plane[flips]
    transposed = upright.strides[0] < upright.strides[1]
    computed = writer.pixels.image(upright.T if transposed else upright, writer.frame)
    laid = (computed.T if transposed else computed)[flips]
    out = np.empty(laid.shape, laid.dtype)
    if not transposed:
        out[...] = laid
        return out
    for start in range(0, laid.shape[1], _BLOCK):
        out[:, start : start + _BLOCK] = laid[:, start : start + _BLOCK]
    return out


#: Columns copied at a time out of a transposed plane (64 columns of a 512-row plane: 32 KB of bytes).
_BLOCK = 64


def slices(writer: SliceWriter, stacks: Stacks) -> Stacks:
    """The cached arrays of :func:`load` as (slice, row, col) arrays in slice order (views)."""
    image, labels = stacks
    if restacked(writer.frame):
        return image, labels
    return writer.frame.slices(image), None if labels is None else writer.nearest.slices(labels)


def slab_sample(
    writer: SliceWriter, index: int, readers: tuple[SlabReader, SlabReader | None], context: int
) -> Stacks:
    """:func:`sample` from the few stored slices it needs (a frame across the last stored axis)."""
    frame = writer.frame
    around = np.clip([index - context, index + context], 0, frame.count - 1)
    stored = sorted(frame.slice_index(int(j)) for j in around)
    first = frame.slice_index(stored[1] if frame.reversed else stored[0])
    count = stored[1] - stored[0] + 1
    image_reader, mask_reader = readers
    stack = frame.slices(image_reader.slab(stored[0], count))
    labels = None if mask_reader is None else writer.nearest.slices(mask_reader.labels(stored[0], count))
    return sample(writer, (stack, labels), index, first)


def open_slabs(record: Scanned) -> tuple[SlabReader, SlabReader | None]:
    """Slab readers of the pair's image and mask (their gzip seek points built now: one pass each)."""
    return SlabReader(record.path), None if record.mask_path is None else SlabReader(record.mask_path)


def mask_pixels(plane: np.ndarray) -> np.ndarray:
    """A mask slice as the mask image holds it (as ``training.labelfiles.write_mask`` writes it):
    labels >= 0, uint8, or uint16 above 255."""
    values = plane if plane.dtype.kind in "ub" else np.maximum(plane, 0)
    small = values.dtype == np.uint8 or values.dtype == np.bool_ or values.size == 0
    dtype = np.uint8 if small or int(values.max()) <= 255 else np.uint16
    return values.astype(dtype)  # a copy even when of that dtype: never a view of the cache


class _From:
    """Slices ``first, first + 1, ...`` of a frame, addressed by their slice indices."""

    def __init__(self, stack: np.ndarray, first: int) -> None:
        self.stack, self.first = stack, first

    def __getitem__(self, index: int) -> np.ndarray:
        return self.stack[index - self.first]  # type: ignore[no-any-return]
