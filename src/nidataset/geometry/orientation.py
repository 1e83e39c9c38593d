"""Anatomical orientation: how each view lays out its pixels, and which stored axis lies behind each.

Pure numpy and nibabel's orientation maths. A convention names the array it slices: ``"stored"`` the
stored voxel array as it is (SPEC Part 1), ``"radiological"`` and ``"neurological"`` the volume
brought to the closest RAS+ layout by axis permutations and flips only (never resampled). An
orientation ``ornt`` says, for each stored axis, which axis of the sliced array it becomes and
whether it is reversed, in :func:`nibabel.orientations.io_orientation`'s form.
"""

from __future__ import annotations

import numpy as np

from ..errors import VolumeError

#: One entry per stored axis: (axis of the sliced array, 1 or -1 when reversed).
Ornt = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
#: (slice axis, (row axis, reversed), (column axis, reversed)), on the axes of the sliced array.
Layout = tuple[int, tuple[int, bool], tuple[int, bool]]

IDENTITY: Ornt = ((0, 1), (1, 1), (2, 1))

#: The one table of views. "stored" is SPEC Part 1 (rows and columns in stored order); the other two
#: are SPEC Part 2's, on the RAS+ array d: radiological axial is d[::-1, ::-1, k].T, so its rows
#: run along Y reversed (anterior at the top) and its columns along X reversed (patient right at the
#: image's left); neurological keeps X as it is (patient left at the image's left).
LAYOUTS: dict[str, dict[str, Layout]] = {
    "stored": {
        "axial": (2, (0, False), (1, False)),
        "coronal": (1, (0, False), (2, False)),
        "sagittal": (0, (1, False), (2, False)),
    },
    "radiological": {
        "axial": (2, (1, True), (0, True)),
        "coronal": (1, (2, True), (0, True)),
        "sagittal": (0, (2, True), (1, True)),
    },
    "neurological": {
        "axial": (2, (1, True), (0, False)),
        "coronal": (1, (2, True), (0, False)),
        "sagittal": (0, (2, True), (1, True)),
    },
}


def ornt_for(orientation: str, affine: np.ndarray | None) -> Ornt:
    """The stored axes behind the sliced array's: the identity for "stored", else toward RAS+.

    >>> ornt_for("radiological", np.diag([-0.8, -0.8, 2.5, 1.0]))  # stored LPS, as DICOM converters write
    ((0, -1), (1, -1), (2, 1))
    """
    if orientation == "stored":
        return IDENTITY
    from nibabel.orientations import io_orientation

    if affine is None:
        raise VolumeError(f"orientation={orientation!r} needs the affine, and this header's is unusable")
    ornt = io_orientation(affine)
    if np.isnan(ornt).any():
        raise VolumeError(f"orientation={orientation!r}: the affine {affine[:3].tolist()} has no orientation")
    return tuple((int(axis), int(sign)) for axis, sign in ornt)  # type: ignore[return-value]


def oriented_shape(shape: tuple[int, int, int], ornt: Ornt) -> tuple[int, int, int]:
    """The shape of the sliced array.

    >>> oriented_shape((4, 5, 6), ((1, 1), (2, -1), (0, 1)))
    (6, 4, 5)
    """
    result = [0, 0, 0]
    for size, (axis, _) in zip(shape, ornt, strict=True):
        result[axis] = int(size)
    return result[0], result[1], result[2]


def oriented_view(volume: np.ndarray, ornt: Ornt) -> np.ndarray:
    """The sliced array, as a strided view of ``volume`` (no copy).

    >>> volume = np.arange(6).reshape(1, 2, 3)
    >>> oriented_view(volume, ((0, 1), (2, -1), (1, 1))).tolist()
    [[[3, 0], [4, 1], [5, 2]]]
    """
    if ornt == IDENTITY:
        return volume
    flips = tuple(slice(None, None, -1) if sign < 0 else slice(None) for _, sign in ornt)
    stored_axes = [0, 0, 0]
    for stored, (axis, _) in enumerate(ornt):
        stored_axes[axis] = stored
    return volume[flips].transpose(stored_axes)


def stored_from_oriented(shape: tuple[int, int, int], ornt: Ornt) -> np.ndarray:
    """The 3x4 integer matrix of stored voxel ``[i, j, k] = M @ [a, b, c, 1]`` from sliced-array indices."""
    matrix = np.zeros((3, 4), dtype=np.int64)
    for stored, (axis, sign) in enumerate(ornt):
        matrix[stored, axis] = sign
        matrix[stored, 3] = 0 if sign > 0 else shape[stored] - 1
    return matrix
