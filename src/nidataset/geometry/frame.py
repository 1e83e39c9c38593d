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
from dataclasses import dataclass, replace

import numpy as np

from ..errors import VolumeError
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
from .resample import resample, resampled_size, steps_for
from .views import copy_slices


def frames_for(
    shape: tuple[int, int, int],
    affine: np.ndarray | None,
    views: Iterable[str],
    target_size: tuple[int, int] | None = None,
    orientation: str = "stored",
    spacing: str | float | None = None,
    method: str = "linear",
) -> list[SliceFrame]:
    """The frame of each view of one volume.

    The affine is needed for an orientation other than ``"stored"`` and for ``spacing`` (the voxel
    sizes are the lengths of its columns, the millimetres pix2world uses).

    >>> frames = frames_for((4, 5, 6), np.diag([-1, 1, 1, 1]), ["axial", "sagittal"], None, "radiological")
    >>> [frame.plane for frame in frames]
    [(5, 4), (6, 5)]
    """
    ornt = ornt_for(orientation, affine)
    frames = [SliceFrame(shape, view, target_size, orientation, ornt) for view in views]
    if spacing is None:
        return frames
    if affine is None:
        raise VolumeError(f"spacing={spacing!r} needs the voxel sizes, and this header's affine is unusable")
    sizes = np.sqrt((np.asarray(affine, dtype=np.float64)[:3, :3] ** 2).sum(axis=0))
    if not np.all(sizes > 0):  # a zero column: a voxel of no size has no pixels per millimetre
        raise VolumeError(
            f"spacing={spacing!r}: the affine {affine[:3].tolist()} has a voxel size of 0 along a stored axis"
        )
    return [
        replace(frame, steps=steps_for(frame.spacings(sizes), spacing), method=method) for frame in frames
    ]


@dataclass(frozen=True)
class SliceFrame:
    """The pixels of one view of a stored volume of ``shape``, padded to ``target_size`` if given.

    ``orientation`` names the convention (a key of :data:`~nidataset.geometry.orientation.LAYOUTS`)
    and ``ornt`` the stored axes behind the sliced array (the identity for ``"stored"``). ``steps``
    are the input pixels per output pixel along rows and columns when slices are resampled to square
    pixels (:mod:`~nidataset.geometry.resample`), with ``method`` ``"linear"`` or ``"nearest"``.
    """

    shape: tuple[int, int, int]
    view: str
    target_size: tuple[int, int] | None = None
    orientation: str = "stored"
    ornt: Ornt = IDENTITY
    steps: tuple[float, float] = (1.0, 1.0)
    method: str = "linear"

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
    def source_plane(self) -> tuple[int, int]:
        """(rows, cols) of a slice as the voxels give it, before resampling and padding."""
        sliced, (_, (rows, _), (cols, _)) = self._sliced_shape, self._layout
        return sliced[rows], sliced[cols]

    @property
    def plane(self) -> tuple[int, int]:
        """(rows, cols) of a slice before padding (after resampling)."""
        (rows, cols), (row_step, col_step) = self.source_plane, self.steps
        return resampled_size(rows, row_step), resampled_size(cols, col_step)

    @property
    def stack_shape(self) -> tuple[int, int, int]:
        """(slices, rows, cols) of :meth:`stack` for the whole volume: voxels, before resampling."""
        return (self.count, *self.source_plane)

    @property
    def resampled(self) -> bool:
        return self.steps != (1.0, 1.0)

    @property
    def interpolation(self) -> str:
        """As the manifest records it: ``none`` when each pixel is one voxel, else the method."""
        return self.method if self.resampled else "none"

    def spacings(self, sizes: Iterable[float]) -> tuple[float, float]:
        """The (row, col) pixel spacings of a slice before resampling, from the stored voxel sizes."""
        stored = [axis for axis, _ in self.ornt]
        sizes = list(sizes)
        _, (rows, _), (cols, _) = self._layout
        return float(sizes[stored.index(rows)]), float(sizes[stored.index(cols)])

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
        """The 3x3 matrix of slice ``index``: stored voxel ``[i, j, k] = M @ [row, col, 1]``.

        Integers, unless the slices are resampled: pixel centres then fall between voxel centres.
        """
        return self._stored @ self._sliced_from_pixel(index)

    def _sliced_from_pixel(self, index: int) -> np.ndarray:
        """4x3: ``[a, b, c, 1] = M @ [row, col, 1]`` on the sliced array's axes."""
        (top, left), (rows, cols) = self.offsets, self.source_plane
        (row_step, col_step), dtype = self.steps, np.float64 if self.resampled else np.int64
        slice_axis, (row_axis, row_flip), (col_axis, col_flip) = self._layout
        matrix = np.zeros((4, 3), dtype=dtype)
        matrix[slice_axis] = (0, 0, index)
        if row_flip:
            matrix[row_axis] = (-row_step, 0, rows - 1 + top * row_step)
        else:
            matrix[row_axis] = (row_step, 0, -top * row_step)
        if col_flip:
            matrix[col_axis] = (0, -col_step, cols - 1 + left * col_step)
        else:
            matrix[col_axis] = (0, col_step, -left * col_step)
        matrix[3] = (0, 0, 1)
        return matrix

    @property
    def _stored(self) -> np.ndarray:
        return stored_from_oriented(self.shape, self.ornt)

    def to_voxel(self, index: int, row: int, col: int) -> tuple[int, int, int]:
        """The stored voxel that pixel (row, col) of slice ``index`` shows (outside the volume: padding).

        For frames that are not resampled; :meth:`pix2vox` serves them all.
        """
        i, j, k = (int(v) for v in self.pix2vox(index) @ (row, col, 1))
        return i, j, k

    def to_pixel(self, voxel: Iterable[int]) -> tuple[int, int, int]:
        """(slice index, row, col) of the pixel that shows a stored voxel (frames not resampled)."""
        sliced = [0, 0, 0]
        for value, size, (axis, sign) in zip(voxel, self.shape, self.ornt, strict=True):
            sliced[axis] = int(value) if sign > 0 else size - 1 - int(value)
        (top, left), (rows, cols) = self.offsets, self.source_plane
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

    def resample(self, image: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
        """One slice at the frame's pixel size (unchanged when not resampled), in ``dtype``."""
        return resample(image, self.steps, self.method, np.dtype(dtype or image.dtype))

    def pad(self, image: np.ndarray, value: float) -> np.ndarray:
        """A slice as written: on a ``target_size`` canvas of ``value``, or unchanged without one."""
        return image if self.target_size is None else pad_slice(image, self.target_size, value)

    def misfit(self) -> str | None:
        """A description of the slices when they are larger than the target, else None."""
        if self.fits:
            return None
        return f"{self.view} slices of {self.plane[0]}x{self.plane[1]}"
