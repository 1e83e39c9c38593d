"""Label values: a mask's voxels read as integer labels (the value stage of masks).

Shared by annotations, previews' outlines and the training set; pure numpy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import VolumeError
from .dtypes import refuse_unsupported

#: Voxels converted at once when a mask is scaled or float: the temporaries stay under 5 MB.
_BLOCK = 1 << 18
#: What converting holds besides the labels: a float64 block, its floor and two flags.
CONVERSION_BYTES = _BLOCK * (8 + 8 + 1 + 1)


def integer_labels(volume: np.ndarray, slope: float | None = None, inter: float | None = None) -> np.ndarray:
    """The mask as integer labels, after the header scaling; values <= 0 are background.

    Boolean masks are label 1. Float (or scaled) values are accepted when every one is a whole
    number; a fractional or NaN value raises :class:`~nidataset.errors.VolumeError`, because rounding
    an interpolated mask would invent objects. Scaled and float masks are converted a block at a
    time into the smallest integer dtype that holds their values, so the labels take about the
    mask's own memory (a scaled uint8 mask peaked at 18x its size when converted whole to float64).

    >>> integer_labels(np.array([0.0, 2.0, -1.0])).tolist()
    [0, 2, -1]
    >>> integer_labels(np.array([0.0, 0.5]))
    Traceback (most recent call last):
    ...
    nidataset.errors.VolumeError: non-integer mask values (e.g. 0.5); annotations need integer labels
    """
    check_label_dtype(volume.dtype)
    if volume.dtype.kind == "b":
        return volume.view(np.uint8)
    scale = (np.float64(1 if slope is None else slope), np.float64(inter or 0))
    if volume.dtype.kind == "f" or scale != (1.0, 0.0):
        return _whole_numbers(volume, scale)
    return volume if volume.dtype.isnative else volume.astype(volume.dtype.newbyteorder("="))


def label_dtype(dtype: np.dtype, slope: float | None = None, inter: float | None = None) -> np.dtype:
    """The widest dtype :func:`integer_labels` can return for stored ``dtype`` and this scaling
    (from the header: what reading a mask will hold).

    >>> [label_dtype(np.dtype(t), s).name for t, s in [("uint8", None), ("uint8", 2.0), ("float32", None)]]
    ['uint8', 'int16', 'int64']
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.dtype(np.uint8)
    scale = (1.0 if slope is None else float(slope), float(inter or 0))
    if dtype.kind in "iu" and scale == (1.0, 0.0):
        return dtype.newbyteorder("=")
    if dtype.kind not in "iu" or not all(np.isfinite(scale)):
        return np.dtype(np.int64)
    ends = [np.iinfo(dtype).min * scale[0] + scale[1], np.iinfo(dtype).max * scale[0] + scale[1]]
    return _smallest(min(ends), max(ends))


def _smallest(low: float, high: float) -> np.dtype:
    """The smallest signed integer dtype (int64 at most) holding ``low`` .. ``high``."""
    for dtype in (np.int8, np.int16, np.int32):
        if np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def check_label_dtype(dtype: np.dtype) -> None:
    """Raise :class:`~nidataset.errors.VolumeError` for voxels that cannot hold labels (from the header).

    >>> check_label_dtype(np.dtype(np.complex64))
    Traceback (most recent call last):
    ...
    nidataset.errors.VolumeError: complex voxels (complex64); annotations need integer labels
    """
    refuse_unsupported(dtype, "annotations need integer labels")


def _blocks(volume: np.ndarray, scale: tuple[np.float64, np.float64]) -> Iterator[tuple[slice, np.ndarray]]:
    """The real values of the mask in memory order, a block of float64 at a time."""
    flat = volume.reshape(-1, order="A")  # a view of a C- or Fortran-contiguous volume
    for start in range(0, flat.size, _BLOCK):
        where = slice(start, min(start + _BLOCK, flat.size))
        block = flat[where].astype(np.float64)
        if scale != (1.0, 0.0):
            block *= scale[0]
            block += scale[1]
        yield where, block


def _example(value: float) -> str:
    """A non-integer value, short (a float32 slope of 0.3 gives 0.3) yet never shown as an integer
    (``:g`` showed 1000000.5 as 1e+06).

    >>> _example(0.30000001192092896), _example(1000000.5), _example(float("nan"))
    ('0.3', '1000000.5', 'nan')
    """
    short = f"{value:.7g}"
    return repr(value) if np.isfinite(value) and float(short).is_integer() else short


def _whole_numbers(volume: np.ndarray, scale: tuple[np.float64, np.float64]) -> np.ndarray:
    low, high = np.inf, -np.inf
    for _, block in _blocks(volume, scale):  # first pass: every value whole, and their range
        fractional = ~np.isfinite(block) | (block != np.floor(block))
        if fractional.any():
            shown = _example(float(block[int(np.argmax(fractional))]))
            raise VolumeError(f"non-integer mask values (e.g. {shown}); annotations need integer labels")
        if block.size:
            low, high = min(low, float(block.min())), max(high, float(block.max()))
    if volume.size and (high >= 2.0**63 or low < -(2.0**63)):
        raise VolumeError("mask values beyond the 64-bit integer range; annotations need integer labels")
    dtype = _smallest(low, high) if volume.size else np.dtype(np.int8)
    labels = np.empty(volume.shape, dtype=dtype, order="F" if volume.flags.f_contiguous else "C")
    flat = labels.reshape(-1, order="A")
    for where, block in _blocks(volume, scale):  # second pass: the labels, in the same memory order
        flat[where] = block
    return labels
