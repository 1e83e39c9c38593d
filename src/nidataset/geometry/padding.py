"""Padding a slice to a target size: one rule, shared by images and annotations."""

from __future__ import annotations

import numpy as np


def pad_offsets(shape: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """(top, left) padding that centres a slice of ``shape`` in ``target``.

    The odd pixel, if any, goes to the bottom and the right.

    >>> pad_offsets((384, 383), (512, 512))
    (64, 64)
    """
    (h, w), (height, width) = shape, target
    if h > height or w > width:
        raise ValueError(f"slice of {h}x{w} does not fit target_size {height}x{width}")
    return (height - h) // 2, (width - w) // 2


def pad_slice(array: np.ndarray, target: tuple[int, int], value: float) -> np.ndarray:
    """Centre a 2D array (or rows x cols x channels) on a ``target``-sized canvas filled with
    ``value``, a number or one per channel (dtype kept).

    >>> pad_slice(np.ones((1, 2), dtype=np.uint8), (3, 3), 0)
    array([[0, 0, 0],
           [1, 1, 0],
           [0, 0, 0]], dtype=uint8)
    """
    top, left = pad_offsets(array.shape[:2], target)
    canvas = np.full((*target, *array.shape[2:]), value, dtype=array.dtype)  # channels: value per channel
    canvas[top : top + array.shape[0], left : left + array.shape[1]] = array
    return canvas
