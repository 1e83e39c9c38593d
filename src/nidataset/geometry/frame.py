"""The slice frame: one object that maps every output pixel to the stored voxel it shows, and back.

A frame is fixed by the stored volume's shape, the view and the padding target. Images
(:meth:`SliceFrame.stack`, :meth:`SliceFrame.pad`), annotation coordinates (:attr:`SliceFrame.offsets`)
and the per-slice matrix :meth:`SliceFrame.pix2vox` all come from it, so an option that changes the
geometry changes this one place.

>>> frame = SliceFrame((4, 5, 6), "coronal", target_size=(8, 8))
>>> frame.count, frame.plane, frame.offsets
(5, (4, 6), (2, 1))
>>> frame.pix2vox(3)
array([[ 1,  0, -2],
       [ 0,  0,  3],
       [ 0,  1, -1]])
>>> frame.to_voxel(3, row=2, col=1), frame.to_pixel((0, 3, 0))
((0, 3, 0), (3, 2, 1))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .padding import pad_offsets, pad_slice
from .views import VIEW_AXIS, plane_axes, slice_count, slice_shape, slice_stack, take_slice


@dataclass(frozen=True)
class SliceFrame:
    """The pixels of one view of a stored volume of ``shape``, padded to ``target_size`` if given."""

    shape: tuple[int, int, int]
    view: str
    target_size: tuple[int, int] | None = None

    @property
    def axis(self) -> int:
        """The stored axis held constant in a slice."""
        return VIEW_AXIS[self.view]

    @property
    def count(self) -> int:
        """Number of slices."""
        return slice_count(self.shape, self.view)

    @property
    def plane(self) -> tuple[int, int]:
        """(rows, cols) of a slice before padding."""
        return slice_shape(self.shape, self.view)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(rows, cols) of the written image."""
        return self.plane if self.target_size is None else self.target_size

    @property
    def fits(self) -> bool:
        """Whether a slice fits the target size (always, without one)."""
        return all(n <= t for n, t in zip(self.plane, self.image_shape, strict=True))

    @property
    def offsets(self) -> tuple[int, int]:
        """(top, left) padding: the image pixel where the slice's first pixel lands."""
        return (0, 0) if self.target_size is None else pad_offsets(self.plane, self.target_size)

    def pix2vox(self, index: int) -> np.ndarray:
        """The 3x3 integer matrix of slice ``index``: stored voxel ``[i, j, k] = M @ [row, col, 1]``."""
        (top, left), (rows, cols) = self.offsets, plane_axes(self.view)
        matrix = np.zeros((3, 3), dtype=np.int64)
        matrix[rows] = (1, 0, -top)
        matrix[cols] = (0, 1, -left)
        matrix[self.axis] = (0, 0, index)
        return matrix

    def to_voxel(self, index: int, row: int, col: int) -> tuple[int, int, int]:
        """The stored voxel that pixel (row, col) of slice ``index`` shows (outside the volume: padding)."""
        i, j, k = (int(v) for v in self.pix2vox(index) @ (row, col, 1))
        return i, j, k

    def to_pixel(self, voxel: Iterable[int]) -> tuple[int, int, int]:
        """(slice index, row, col) of the pixel that shows a stored voxel."""
        voxel = tuple(int(v) for v in voxel)
        (top, left), (rows, cols) = self.offsets, plane_axes(self.view)
        return voxel[self.axis], voxel[rows] + top, voxel[cols] + left

    def stack(
        self, volume: np.ndarray, dtype: np.dtype | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """The slices of ``volume`` (a whole volume, or a slab of consecutive slices) as result[i].

        One cache-friendly copy (:func:`~nidataset.geometry.views.slice_stack`), before padding.
        """
        return slice_stack(volume, self.view, dtype, out)

    def planes(self, volume: np.ndarray, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Slices ``start`` to ``stop`` of a whole volume as 2D arrays, before padding.

        Read in place, except when the view slices across the array's fastest axis (the sagittal
        view of a NIfTI volume): each slice would then touch a cache line per voxel, so the slices
        are first laid out by :meth:`stack`, one cache-friendly copy.
        """
        stop = self.count if stop is None else stop
        if int(np.argmin(volume.strides)) != self.axis:
            yield from (take_slice(volume, self.view, index) for index in range(start, stop))
            return
        key = [slice(None)] * 3
        key[self.axis] = slice(start, stop)
        yield from self.stack(volume[tuple(key)])

    def pad(self, image: np.ndarray, value: float) -> np.ndarray:
        """A slice as written: on a ``target_size`` canvas of ``value``, or unchanged without one."""
        return image if self.target_size is None else pad_slice(image, self.target_size, value)

    def misfit(self) -> str | None:
        """A description of the slices when they are larger than the target, else None."""
        if self.fits:
            return None
        return f"{self.view} slices of {self.plane[0]}x{self.plane[1]}"
