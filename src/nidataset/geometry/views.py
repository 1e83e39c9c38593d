"""Views: which stored axis a view slices, and how to lay the slices out in memory.

Everything here is pure numpy. The one table :data:`VIEW_AXIS` decides the geometry; slice counts,
in-plane shapes and the copy order are derived from it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: The stored voxel axis each view slices along (SPEC: axial Z, coronal Y, sagittal X).
VIEW_AXIS: dict[str, int] = {"axial": 2, "coronal": 1, "sagittal": 0}


def plane_axes(view: str) -> tuple[int, int]:
    """Stored axes that become the (rows, cols) of a slice, in stored order.

    >>> plane_axes("coronal")
    (0, 2)
    """
    axis = VIEW_AXIS[view]
    rows, cols = (a for a in range(3) if a != axis)
    return rows, cols


def slice_count(shape: tuple[int, ...], view: str) -> int:
    """Number of slices a volume of ``shape`` gives in ``view``."""
    return int(shape[VIEW_AXIS[view]])


def slice_shape(shape: tuple[int, ...], view: str) -> tuple[int, int]:
    """(rows, cols) of one slice of a volume of ``shape`` in ``view``.

    >>> slice_shape((4, 5, 6), "axial")
    (4, 5)
    """
    rows, cols = plane_axes(view)
    return int(shape[rows]), int(shape[cols])


def take_slice(volume: np.ndarray, view: str, index: int) -> np.ndarray:
    """The 2D slice ``index`` of a 3D array, exactly as the SPEC table defines it (no copy)."""
    key: list[int | slice] = [slice(None)] * 3
    key[VIEW_AXIS[view]] = index
    return volume[tuple(key)]


def slice_stack(
    volume: np.ndarray, view: str, dtype: np.dtype | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """Copy a 3D array so that its slices in ``view`` are C-contiguous: result[i] is slice i.

    ``dtype`` converts during the same copy (byte order, int8 to int16, ...); ``out``, if given, is
    the C-contiguous array to fill (the result's shape and dtype). See :func:`copy_slices`.

    >>> vol = np.asfortranarray(np.arange(24, dtype=np.int16).reshape(2, 3, 4))
    >>> np.array_equal(slice_stack(vol, "coronal")[1], vol[:, 1, :])
    True
    """
    return copy_slices(np.moveaxis(volume, VIEW_AXIS[view], 0), dtype, out)


def copy_slices(
    slices: np.ndarray, dtype: np.dtype | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """A C-contiguous copy of ``slices``, a strided (slice, row, col) view of a volume.

    NIfTI stores voxels with X varying fastest (Fortran order), so most views need a transposed
    copy, done by :func:`copy_block`: 1.5-2 GB/s for every view, against 0.25 GB/s for a plain
    ``ascontiguousarray`` of the sagittal layout.

    >>> vol = np.asfortranarray(np.arange(24, dtype=np.int16).reshape(2, 3, 4))
    >>> copy_slices(vol[::-1].transpose(2, 1, 0))[3].tolist()
    [[15, 3], [19, 7], [23, 11]]
    """
    if out is None:
        out = np.empty(slices.shape, dtype=dtype or slices.dtype)
    copy_block(out, slices)
    return out


def copy_block(out: np.ndarray, block: np.ndarray) -> None:
    """``out[...] = block`` (3D, any strides, casting as needed), one plane at a time.

    The planes are taken along an axis that is neither the one contiguous in ``block`` nor the one
    contiguous in ``out`` (the outermost in ``block``, when two qualify): each plane's reads and
    writes then stay in cache, where one numpy copy of the whole block walks memory with a stride
    of a plane for every element of one of them.

    >>> out = np.zeros((2, 3, 4), np.int16)
    >>> copy_block(out, np.asfortranarray(np.arange(24).reshape(2, 3, 4)))
    >>> out[1, 2].tolist()
    [20, 21, 22, 23]
    """
    read, written = (int(np.argmin([abs(s) for s in a.strides])) for a in (block, out))
    candidates = [a for a in range(3) if a not in (read, written)] or [a for a in range(3) if a != read]
    position = max(candidates, key=lambda a: abs(block.strides[a]))
    key: list[slice] = [slice(None)] * 3
    for start in range(out.shape[position]):
        key[position] = slice(start, start + 1)
        np.copyto(out[tuple(key)], block[tuple(key)], casting="unsafe")


def stored_view(stack: np.ndarray, slices_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The view of ``stack`` in stored order that ``slices_of`` maps back onto ``stack``.

    ``slices_of`` turns a stored (X, Y, Z) volume into its (slice, row, col) view by transposes and
    flips only (:meth:`~nidataset.geometry.frame.SliceFrame.slices`); ``stack`` is such a view's
    C-contiguous copy. Writing a stored block (a slab of Z planes) into the result lays it out in
    ``stack`` where ``slices_of`` of the whole volume puts it, with no whole volume in memory.

    >>> stack = np.zeros((3, 2, 4), np.int16)  # coronal slices of a (2, 3, 4) volume
    >>> stored_view(stack, lambda v: v.transpose(1, 0, 2))[:, :, 1:3] = 7
    >>> stack[0].tolist()
    [[0, 7, 7, 0], [0, 7, 7, 0]]
    """
    probe = np.empty((2, 3, 5), dtype=np.uint8, order="F")  # sizes and strides tell each axis apart
    seen = slices_of(probe)
    stored = [probe.strides.index(abs(stride)) for stride in seen.strides]
    flips = tuple(slice(None, None, -1) if stride < 0 else slice(None) for stride in seen.strides)
    view = stack[flips].transpose(np.argsort(stored))
    back = slices_of(view)
    moved = [a != b for a, b, n in zip(back.strides, stack.strides, stack.shape, strict=True) if n > 1]
    if any(moved) or back.ctypes.data != stack.ctypes.data:  # pragma: no cover - a new kind of view
        raise RuntimeError("the slices are not a transposed and flipped view of the volume")
    return view
