"""In-plane resampling to square pixels (SPEC Part 2, Spacing): sizes, grids and the 2D resampler.

Pure numpy. An axis of ``n`` pixels of spacing ``s`` resampled to ``s'`` gets
``round((n - 1) * s / s') + 1`` pixels; output pixel ``m``'s centre lies at input coordinate
``m * s' / s`` (pixel 0 on pixel 0). Where rounding puts the last centre up to half a pixel past the
last input pixel, the edge value is used: nothing is extrapolated. Linear interpolation is separable
(rows, then columns, in float64); nearest neighbour takes the closest input pixel.
"""

from __future__ import annotations

import math

import numpy as np

METHODS = ("linear", "nearest")


def resampled_size(count: int, step: float) -> int:
    """Pixels along an axis of ``count`` pixels when each output pixel spans ``step`` input pixels.

    >>> resampled_size(160, 0.7 / 2.5), resampled_size(512, 1.0), resampled_size(4, 0.8)
    (569, 512, 5)
    """
    return math.floor((count - 1) / step + 0.5) + 1


def steps_for(spacings: tuple[float, float], spacing: str | float | None) -> tuple[float, float]:
    """Input pixels per output pixel along rows and columns, for ``spacing`` of the options.

    >>> [round(step, 4) for step in steps_for((0.7, 2.5), "isotropic") + steps_for((0.7, 2.5), 1.0)]
    [1.0, 0.28, 1.4286, 0.4]
    """
    if spacing is None:
        return 1.0, 1.0
    target = min(spacings) if spacing == "isotropic" else float(spacing)
    return target / spacings[0], target / spacings[1]


def _axis_plan(count: int, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower index, upper index, weight of the upper) of every output pixel along one axis."""
    coordinates = np.minimum(np.arange(resampled_size(count, step)) * step, count - 1)
    lower = np.floor(coordinates).astype(np.intp)
    upper = np.minimum(lower + 1, count - 1)
    return lower, upper, coordinates - lower


def _nearest(count: int, step: float) -> np.ndarray:
    coordinates = np.arange(resampled_size(count, step)) * step
    return np.minimum(np.floor(coordinates + 0.5).astype(np.intp), count - 1)


def resample(image: np.ndarray, steps: tuple[float, float], method: str, dtype: np.dtype) -> np.ndarray:
    """A 2D image resampled by ``steps`` (input pixels per output pixel, rows and columns).

    ``"linear"`` results are rounded to the nearest integer for an integer ``dtype``; ``"nearest"``
    copies input values. The result has ``dtype``.

    >>> image = np.array([[0, 10], [20, 30]], dtype=np.int16)
    >>> resample(image, (0.5, 1.0), "linear", np.dtype(np.int16)).tolist()
    [[0, 10], [10, 20], [20, 30]]
    >>> resample(image, (1.0, 0.5), "nearest", np.dtype(np.int16)).tolist()
    [[0, 10, 10], [20, 30, 30]]
    """
    if steps == (1.0, 1.0):
        return image.astype(dtype, copy=False)
    if method == "nearest":
        rows, cols = _nearest(image.shape[0], steps[0]), _nearest(image.shape[1], steps[1])
        return image[np.ix_(rows, cols)].astype(dtype, copy=False)
    result = image.astype(np.float64, copy=False)
    for axis, step in enumerate(steps):
        if step == 1.0:
            continue
        lower, upper, weight = _axis_plan(result.shape[axis], step)
        shape = [1, 1]
        shape[axis] = weight.size
        weight = weight.reshape(shape)
        low, high = np.take(result, lower, axis=axis), np.take(result, upper, axis=axis)
        result = low * (1.0 - weight) + high * weight
    if dtype.kind in "iub":
        result = np.rint(result)
    return result.astype(dtype)
