"""Training label formats (SPEC Part 2): YOLO lines and COCO annotations of one slice's objects.

Pure numpy. From inclusive pixel indices rows r0..r1 and cols c0..c1 of an object in an H x W image:
COCO ``bbox = [c0, r0, c1 - c0 + 1, r1 - r0 + 1]`` (pixel edges), ``area`` the object's pixel count,
``segmentation`` its run-length encoding (uncompressed RLE, column-major, as pycocotools reads it);
YOLO ``class (c0 + c1 + 1) / (2W) (r0 + r1 + 1) / (2H) (c1 - c0 + 1) / W (r1 - r0 + 1) / H`` with
6 decimals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SliceObject:
    """One object on one slice image: its label value, inclusive extent, and pixels.

    ``mask`` is the object's pixels inside its extent when ``shape`` (the image's) is given, else
    over the whole image: a slice of a million objects then holds each one's box, not a million
    images. ``counts`` are its COCO run lengths over the image (:func:`run_counts`) when they are known.
    """

    label: int
    rows: tuple[int, int]
    cols: tuple[int, int]
    mask: np.ndarray  # bool: the extent's shape with ``shape``, else the image's
    shape: tuple[int, int] | None = None
    counts: list[int] | None = field(default=None, repr=False, compare=False)

    @property
    def area(self) -> int:
        return int(np.count_nonzero(self.mask))


#: :func:`c_order` copies a transposed plane in strips of columns of about this many bytes: each
#: strip's source stays in cache, where numpy's own copy reads across the whole plane for every row
#: (measured 2026-12-06: 0.07 against 0.27 ms for a 512 x 512 uint8 or int16 plane).
_STRIP_BYTES = 32768


def c_order(plane: np.ndarray) -> np.ndarray:
    """A 2D array as a C-contiguous array: itself when it is one, else a copy.

    A plane stored column by column (a label plane of an axial slice, read in place from a NIfTI
    volume) is copied a strip of columns at a time, 4x faster than ``np.ascontiguousarray``.

    >>> plane = np.asfortranarray(np.arange(6).reshape(2, 3))
    >>> copy = c_order(plane)
    >>> copy.flags.c_contiguous, copy.tolist()
    (True, [[0, 1, 2], [3, 4, 5]])
    """
    if plane.flags.c_contiguous:
        return plane
    if plane.ndim != 2 or abs(plane.strides[0]) >= abs(plane.strides[1]):
        return np.ascontiguousarray(plane)  # rows already lie along memory: numpy's copy is fine
    out = np.empty(plane.shape, dtype=plane.dtype)
    width = max(1, _STRIP_BYTES // max(1, plane.shape[0] * plane.itemsize))
    for start in range(0, plane.shape[1], width):
        out[:, start : start + width] = plane[:, start : start + width]
    return out


def value_runs(labels: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(value, starts, stops)`` of the runs of each label value (> 0) of a plane, in value order:
    positions in column-major order (COCO's), from one pass over the plane, which is cut where its
    value changes.

    >>> [(v, a.tolist(), b.tolist()) for v, a, b in value_runs(np.array([[1, 0], [2, 1]], np.uint8))]
    [(1, [0, 3], [1, 4]), (2, [1], [2])]
    """
    flat = c_order(labels.T).ravel()  # no copy of a plane read in place from a NIfTI mask
    if flat.size == 0:
        return
    starts = np.concatenate(([0], np.flatnonzero(flat[1:] != flat[:-1]) + 1))
    stops = np.append(starts[1:], flat.size)
    values = flat[starts]
    for value in np.unique(values[values > 0]).tolist():
        chosen = values == value
        yield int(value), starts[chosen], stops[chosen]


def run_counts(starts: np.ndarray, stops: np.ndarray, size: int) -> list[int]:
    """COCO's ``counts`` (runs of 0 then 1, alternately) of the runs ``starts``..``stops`` of an
    image of ``size`` pixels.

    >>> run_counts(np.array([0, 3]), np.array([1, 4]), 4), run_counts(np.array([1]), np.array([2]), 4)
    ([0, 1, 2, 1], [1, 1, 2])
    """
    counts = np.empty(2 * starts.size + 1, dtype=np.int64)
    counts[0:-1:2] = starts - np.concatenate(([0], stops[:-1]))
    counts[1::2], counts[-1] = stops - starts, size - stops[-1]
    listed = counts.tolist()
    return listed if listed[-1] else listed[:-1]


def run_extent(starts: np.ndarray, stops: np.ndarray, height: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The inclusive (rows, cols) extent of the column-major runs ``starts``..``stops`` in an image of
    ``height`` rows: a run that goes on into the next column holds its last row and the next one's
    first.

    >>> run_extent(np.array([3, 9]), np.array([5, 10]), 4)
    ((0, 3), (0, 2))
    """
    first, last = starts // height, (stops - 1) // height
    within = first == last
    top = int(np.where(within, starts % height, 0).min())
    bottom = int(np.where(within, (stops - 1) % height, height - 1).max())
    return (top, bottom), (int(first[0]), int(last[-1]))


def slice_objects(ids: np.ndarray, labels: dict[int, int]) -> list[SliceObject]:
    """The objects of one slice image of object ids (0 outside objects), in id order.

    >>> ids = np.array([[0, 2, 2], [1, 0, 2]], dtype=np.uint8)
    >>> [(o.label, o.rows, o.cols, o.area) for o in slice_objects(ids, {1: 5, 2: 7})]
    [(5, (1, 1), (0, 0), 1), (7, (0, 1), (1, 2), 3)]
    """
    from .objects import plane_boxes

    found = []
    shape = (int(ids.shape[0]), int(ids.shape[1]))
    for object_id, r0, r1, c0, c1 in plane_boxes(ids):
        pixels = ids[r0 : r1 + 1, c0 : c1 + 1] == object_id
        found.append(SliceObject(labels[object_id], (r0, r1), (c0, c1), pixels, shape))
    return found


def yolo_line(item: SliceObject, class_id: int, shape: tuple[int, int]) -> str:
    """One YOLO label line.

    >>> yolo_line(SliceObject(1, (1, 1), (0, 0), np.zeros((2, 3), bool)), 0, (2, 3))
    '0 0.166667 0.750000 0.333333 0.500000'
    """
    (r0, r1), (c0, c1), (height, width) = item.rows, item.cols, shape
    values = (
        (c0 + c1 + 1) / (2 * width),
        (r0 + r1 + 1) / (2 * height),
        (c1 - c0 + 1) / width,
        (r1 - r0 + 1) / height,
    )
    return f"{class_id} " + " ".join(f"{v:.6f}" for v in values)


def boxed_counts(item: SliceObject) -> list[int]:
    """COCO's ``counts`` over the whole image (column-major runs of 0 then 1) of an object that holds
    its pixels inside its extent only (``shape`` given): no image-sized mask is made, so a slice of
    many small objects costs their pixels, not an image each.

    >>> boxed_counts(SliceObject(1, (1, 1), (0, 1), np.array([[True, True]]), (2, 3)))
    [1, 1, 1, 1, 2]
    """
    assert item.shape is not None
    height, width = item.shape
    cols, rows = np.nonzero(item.mask.T)  # column-major order, as COCO counts
    where = (cols.astype(np.int64) + item.cols[0]) * height + rows + item.rows[0]
    breaks = np.flatnonzero(np.diff(where) != 1) + 1
    starts = where[np.concatenate(([0], breaks))]
    stops = where[np.concatenate((breaks - 1, [where.size - 1]))] + 1
    return run_counts(starts, stops, height * width)
