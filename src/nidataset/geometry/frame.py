"""The slice frame: one object that maps every output pixel to the stored voxel it shows, and back.

A frame is fixed by the stored volume's shape, the view, the padding target and the orientation.
Images (:meth:`SliceFrame.stack`, :meth:`SliceFrame.pad`), annotation coordinates
(:meth:`SliceFrame.planes`, :attr:`SliceFrame.offsets`) and the per-slice matrix
:meth:`SliceFrame.pix2vox` all come from it, so an option that changes the geometry changes this one
place. The pixels are those of the sliced array (:mod:`~nidataset.geometry.orientation`), laid out by
the convention's table, then padded.

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

from .orientation import (
    IDENTITY,
    LAYOUTS,
    Ornt,
    oriented_shape,
    oriented_view,
    ornt_for,
    stored_from_oriented,
)
from .padding import pad_offsets, pad_slice
from .views import copy_slices


def frames_for(
    shape: tuple[int, int, int],
    affine: np.ndarray | None,
    views: Iterable[str],
    target_size: tuple[int, int] | None = None,
    orientation: str = "stored",
) -> list[SliceFrame]:
    """The frame of each view of one volume (its affine is needed unless ``orientation="stored"``).

    >>> frames = frames_for((4, 5, 6), np.diag([-1, 1, 1, 1]), ["axial", "sagittal"], None, "radiological")
    >>> [frame.plane for frame in frames]
    [(5, 4), (6, 5)]
    """
    ornt = ornt_for(orientation, affine)
    return [SliceFrame(shape, view, target_size, orientation, ornt) for view in views]


@dataclass(frozen=True)
class SliceFrame:
    """The pixels of one view of a stored volume of ``shape``, padded to ``target_size`` if given.

    ``orientation`` names the convention (a key of :data:`~nidataset.geometry.orientation.LAYOUTS`)
    and ``ornt`` the stored axes behind the sliced array (the identity for ``"stored"``).
    """

    shape: tuple[int, int, int]
    view: str
    target_size: tuple[int, int] | None = None
    orientation: str = "stored"
    ornt: Ornt = IDENTITY

    @property
    def _layout(self) -> tuple[int, tuple[int, bool], tuple[int, bool]]:
        return LAYOUTS[self.orientation][self.view]

    @property
    def _sliced_shape(self) -> tuple[int, int, int]:
        return oriented_shape(self.shape, self.ornt)

    @property
    def axis(self) -> int:
        """The stored axis held constant in a slice."""
        return [axis for axis, _ in self.ornt].index(self._layout[0])

    @property
    def reversed(self) -> bool:
        """Whether slice indices run against the stored axis's indices."""
        return self.ornt[self.axis][1] < 0

    @property
    def count(self) -> int:
        """Number of slices."""
        return int(self.shape[self.axis])

    @property
    def plane(self) -> tuple[int, int]:
        """(rows, cols) of a slice before padding."""
        sliced, (_, (rows, _), (cols, _)) = self._sliced_shape, self._layout
        return sliced[rows], sliced[cols]

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
        return self._stored @ self._sliced_from_pixel(index)

    def _sliced_from_pixel(self, index: int) -> np.ndarray:
        """4x3: ``[a, b, c, 1] = M @ [row, col, 1]`` on the sliced array's axes."""
        (top, left), (rows, cols) = self.offsets, self.plane
        slice_axis, (row_axis, row_flip), (col_axis, col_flip) = self._layout
        matrix = np.zeros((4, 3), dtype=np.int64)
        matrix[slice_axis] = (0, 0, index)
        matrix[row_axis] = (-1, 0, rows - 1 + top) if row_flip else (1, 0, -top)
        matrix[col_axis] = (0, -1, cols - 1 + left) if col_flip else (0, 1, -left)
        matrix[3] = (0, 0, 1)
        return matrix

    @property
    def _stored(self) -> np.ndarray:
        return stored_from_oriented(self.shape, self.ornt)

    def to_voxel(self, index: int, row: int, col: int) -> tuple[int, int, int]:
        """The stored voxel that pixel (row, col) of slice ``index`` shows (outside the volume: padding)."""
        i, j, k = (int(v) for v in self.pix2vox(index) @ (row, col, 1))
        return i, j, k

    def to_pixel(self, voxel: Iterable[int]) -> tuple[int, int, int]:
        """(slice index, row, col) of the pixel that shows a stored voxel."""
        sliced = [0, 0, 0]
        for value, size, (axis, sign) in zip(voxel, self.shape, self.ornt, strict=True):
            sliced[axis] = int(value) if sign > 0 else size - 1 - int(value)
        (top, left), (rows, cols) = self.offsets, self.plane
        slice_axis, (row_axis, row_flip), (col_axis, col_flip) = self._layout
        row = rows - 1 - sliced[row_axis] if row_flip else sliced[row_axis]
        col = cols - 1 - sliced[col_axis] if col_flip else sliced[col_axis]
        return sliced[slice_axis], row + top, col + left

    def slice_index(self, stored_index: int) -> int:
        """The index of the slice that holds stored index ``stored_index`` along :attr:`axis`."""
        return self.count - 1 - stored_index if self.reversed else stored_index

    def slices(self, volume: np.ndarray) -> np.ndarray:
        """A (slice, row, col) strided view of ``volume`` (the whole volume, or a slab of it along
        :attr:`axis`: its slices then come in slice order from :meth:`slice_index` of its far end
        when :attr:`reversed`), before padding. No copy."""
        slice_axis, (row_axis, row_flip), (col_axis, col_flip) = self._layout
        ordered = oriented_view(volume, self.ornt).transpose(slice_axis, row_axis, col_axis)
        return ordered[:, :: -1 if row_flip else 1, :: -1 if col_flip else 1]

    def stack(
        self, volume: np.ndarray, dtype: np.dtype | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """The slices of ``volume`` as a C-contiguous ``result[n]``: one cache-friendly copy
        (:func:`~nidataset.geometry.views.copy_slices`) of :meth:`slices`, before padding."""
        return copy_slices(self.slices(volume), dtype, out)

    def planes(self, volume: np.ndarray, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Slices ``start`` to ``stop`` of a whole volume as 2D arrays, before padding.

        Read in place, except when the view slices across the array's fastest axis (the sagittal
        view of a NIfTI volume): each slice would then touch a cache line per voxel, so the slices
        are first laid out by :func:`~nidataset.geometry.views.copy_slices`, one cache-friendly copy.
        """
        chosen = self.slices(volume)[start:stop]
        if int(np.argmin([abs(s) for s in volume.strides])) != self.axis:
            yield from chosen
            return
        yield from copy_slices(chosen)

    def pad(self, image: np.ndarray, value: float) -> np.ndarray:
        """A slice as written: on a ``target_size`` canvas of ``value``, or unchanged without one."""
        return image if self.target_size is None else pad_slice(image, self.target_size, value)

    def misfit(self) -> str | None:
        """A description of the slices when they are larger than the target, else None."""
        if self.fits:
            return None
        return f"{self.view} slices of {self.plane[0]}x{self.plane[1]}"
