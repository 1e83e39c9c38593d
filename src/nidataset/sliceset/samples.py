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
) -> tuple[np.ndarray, np.ndarray | None]:
    """(image, mask) of slice ``index`` of the ``view``-th frame: H x W, or C x H x W with channels."""
    volume, labels = arrays
    frame = record.frames[view]
    writer = _SliceWriter(options, None, prefix_of(record.name), frame, record.pixels, [])
    image = writer._image(frame.slices(volume), index)
    if image.ndim == 3:
        image = np.ascontiguousarray(np.moveaxis(image, -1, 0))  # channels first, as PyTorch wants
    elif np.may_share_memory(image, volume):
        image = image.copy()  # never a view of the cached volume: a caller may write into it
    if labels is None:
        return image, None
    return image, mask_pixels(writer._mask(writer.nearest.slices(labels)[index]))


def mask_pixels(plane: np.ndarray) -> np.ndarray:
    """A mask slice as the mask image holds it: labels >= 0, uint8, or uint16 above 255 (as
    ``_SliceWriter._put_mask`` writes it)."""
    values = np.maximum(plane, 0)
    return values.astype(np.uint8 if values.size == 0 or int(values.max()) <= 255 else np.uint16)
