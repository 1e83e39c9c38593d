"""Label values: a mask's voxels read as integer labels (the value stage of masks).

Shared by annotations, previews' outlines and the training set; pure numpy.
"""

from __future__ import annotations

import numpy as np

from ..errors import VolumeError
from .dtypes import refuse_unsupported


def integer_labels(volume: np.ndarray, slope: float | None = None, inter: float | None = None) -> np.ndarray:
    """The mask as integer labels, after the header scaling; values <= 0 are background.

    Boolean masks are label 1. Float (or scaled) values are accepted when every one is a whole
    number; a fractional or NaN value raises :class:`~nidataset.errors.VolumeError`, because rounding
    an interpolated mask would invent objects.

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
    if (slope is not None and slope != 1) or (inter is not None and inter != 0):
        volume = volume * np.float64(1 if slope is None else slope) + np.float64(inter or 0)
    if volume.dtype.kind == "f":
        return _whole_numbers(volume)
    return volume if volume.dtype.isnative else volume.astype(volume.dtype.newbyteorder("="))


def check_label_dtype(dtype: np.dtype) -> None:
    """Raise :class:`~nidataset.errors.VolumeError` for voxels that cannot hold labels (from the header).

    >>> check_label_dtype(np.dtype(np.complex64))
    Traceback (most recent call last):
    ...
    nidataset.errors.VolumeError: complex voxels (complex64); annotations need integer labels
    """
    refuse_unsupported(dtype, "annotations need integer labels")


def _whole_numbers(volume: np.ndarray) -> np.ndarray:
    fractional = ~np.isfinite(volume) | (volume != np.floor(volume))
    if fractional.any():
        example = volume[np.unravel_index(int(np.argmax(fractional)), volume.shape)]
        raise VolumeError(f"non-integer mask values (e.g. {example:g}); annotations need integer labels")
    if volume.size and (volume.max() >= 2.0**63 or volume.min() < -(2.0**63)):
        raise VolumeError("mask values beyond the 64-bit integer range; annotations need integer labels")
    return volume.astype(np.int64)
