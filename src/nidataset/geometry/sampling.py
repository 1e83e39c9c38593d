"""From a slice image back to the stored voxels of its plane: pure numpy, driven by ``pix2vox`` alone.

A manifest row's ``pix2vox`` maps pixel centres to stored voxels. Going back, every voxel of the
slice's plane is mapped to its fractional pixel by the inverse of the matrix's in-plane 2x2 part, and
the image is sampled there:

- one pixel per voxel (an integral matrix of determinant +-1, every non-resampled slice): the pixel
  that shows the voxel, exactly;
- resampled slices (any other invertible matrix): among the four pixels around the position, those
  that show the volume (their centre maps inside it; never padding), nearest for integer images,
  bilinear weights renormalised over them for float images. A voxel with no such pixel around it is
  not covered.

>>> pix2vox = np.array([[0.5, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.5, 0.0]])  # pixels of half a voxel
>>> image = np.arange(25.0).reshape(5, 5)
>>> values, covered = sample_plane(image, pix2vox, 1, (3, 3))
>>> values.tolist(), bool(covered.all())
([[0.0, 2.0, 4.0], [10.0, 12.0, 14.0], [20.0, 22.0, 24.0]], True)
"""

from __future__ import annotations

import numpy as np

#: Positions this close (in pixels or voxels) to a whole number are taken as that number: manifest
#: matrices are exact to float64 rounding, and a pixel centre must give its own value exactly.
EPS = 1e-6


def in_plane_axes(axis: int) -> tuple[int, int]:
    """The two stored axes of a slice across ``axis``, in stored order."""
    a, b = (d for d in range(3) if d != axis)
    return a, b


def is_one_to_one(pix2vox: np.ndarray, axis: int) -> bool:
    """Whether the matrix shows one voxel per pixel: integral, with an in-plane determinant of +-1."""
    block = pix2vox[list(in_plane_axes(axis))]
    return bool(np.all(block == np.round(block)) and round(abs(np.linalg.det(block[:, :2]))) == 1)


#: Voxels of the plane resampled at once: the fractional positions, the four neighbours, their
#: weights and values take about 150 bytes per voxel, so a block holds some 20 MB whatever the plane.
BLOCK_VOXELS = 1 << 17


def plane_positions(
    pix2vox: np.ndarray, axis: int, plane: tuple[int, int], rows: range | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The fractional (row, col) showing each voxel of the plane (its axes in stored order), or of
    the plane's ``rows`` only."""
    block = pix2vox[list(in_plane_axes(axis))]
    inverse = np.linalg.inv(block[:, :2])
    chosen = range(plane[0]) if rows is None else rows
    da = np.arange(chosen.start, chosen.stop, dtype=np.float64)[:, None] - block[0, 2]
    db = np.arange(plane[1], dtype=np.float64)[None, :] - block[1, 2]
    return _snap(inverse[0, 0] * da + inverse[0, 1] * db), _snap(inverse[1, 0] * da + inverse[1, 1] * db)


def _snap(values: np.ndarray) -> np.ndarray:
    nearest = np.rint(values)
    return np.where(np.abs(values - nearest) < EPS, nearest, values)


def sample_plane(
    image: np.ndarray, pix2vox: np.ndarray, axis: int, plane: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The values of the plane's voxels (the image's dtype) and which of them the image covers."""
    if is_one_to_one(pix2vox, axis):
        permuted = _permuted(image, pix2vox[list(in_plane_axes(axis))], plane)
        if permuted is not None:
            return permuted
        return _exact(image, *plane_positions(pix2vox, axis, plane))
    content = content_pixels(pix2vox, axis, plane, image.shape)
    values = np.empty(plane, dtype=image.dtype)
    covered = np.empty(plane, dtype=bool)
    step = max(1, BLOCK_VOXELS // max(1, plane[1]))
    for start in range(0, plane[0], step):  # in row blocks: the working memory stays small
        block = range(start, min(start + step, plane[0]))
        rows, cols = plane_positions(pix2vox, axis, plane, block)
        shape = (len(block), plane[1])
        part = _resampled(image, rows, cols, content, nearest=image.dtype.kind in "biu", shape=shape)
        values[start : block.stop], covered[start : block.stop] = part
    return values, covered


def _permuted(
    image: np.ndarray, block: np.ndarray, plane: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The exact case when each in-plane axis follows one image axis (transposes and flips, every
    layout the package writes): one gather of whole rows and columns. None for other matrices."""
    step = block[:, :2]
    if np.count_nonzero(step) != 2:  # with a determinant of +-1: +-1 on a diagonal; a shear has three
        return None
    transposed = step[0, 0] == 0
    # voxel a = s * pixel + t with s = +-1, so pixel = s * (a - t)
    a = (np.arange(plane[0]) - block[0, 2]) * step[0, 1 if transposed else 0]
    b = (np.arange(plane[1]) - block[1, 2]) * step[1, 0 if transposed else 1]
    rows, cols = (b, a) if transposed else (a, b)
    rows, cols = rows.astype(np.intp), cols.astype(np.intp)
    row_ok, col_ok = (rows >= 0) & (rows < image.shape[0]), (cols >= 0) & (cols < image.shape[1])
    values = image[np.ix_(np.clip(rows, 0, image.shape[0] - 1), np.clip(cols, 0, image.shape[1] - 1))]
    covered = np.outer(row_ok, col_ok)
    return (values.T, covered.T) if transposed else (values, covered)


def _exact(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, c = np.broadcast_arrays(rows.astype(np.intp), cols.astype(np.intp))
    covered = (r >= 0) & (r < image.shape[0]) & (c >= 0) & (c < image.shape[1])
    values = np.zeros(r.shape, dtype=image.dtype)
    values[covered] = image[r[covered], c[covered]]
    return values, covered


def content_pixels(
    pix2vox: np.ndarray, axis: int, plane: tuple[int, int], image_shape: tuple[int, ...]
) -> np.ndarray:
    """Which pixels show the volume: their centre maps inside it (padding pixels map outside).

    Computed in blocks of image rows, so the float64 positions never span the whole image.
    """
    cols = np.arange(image_shape[1], dtype=np.float64)[None, :]
    inside = np.ones((image_shape[0], image_shape[1]), dtype=bool)
    step = max(1, BLOCK_VOXELS // max(1, image_shape[1]))
    for start in range(0, image_shape[0], step):
        rows = np.arange(start, min(start + step, image_shape[0]), dtype=np.float64)[:, None]
        for size, d in zip(plane, in_plane_axes(axis), strict=True):
            voxel = pix2vox[d, 0] * rows + pix2vox[d, 1] * cols + pix2vox[d, 2]
            inside[start : start + step] &= (voxel >= -EPS) & (voxel <= size - 1 + EPS)
    return inside


def _resampled(
    image: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    content: np.ndarray,
    *,
    nearest: bool,
    shape: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Sample at fractional positions from the (up to) four content pixels around each."""
    rows, cols = np.broadcast_to(rows, shape), np.broadcast_to(cols, shape)
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    height, width = image.shape[:2]
    neighbours = []
    for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):
        r, c = r0.astype(np.intp) + dr, c0.astype(np.intp) + dc
        weight = (fr if dr else 1 - fr) * (fc if dc else 1 - fc)
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        r, c = np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)
        usable = inside & content[r, c]
        neighbours.append((np.where(usable, weight, -1.0), image[r, c]))
    weights = np.stack([w for w, _ in neighbours])
    values = np.stack([v for _, v in neighbours])
    covered = np.any(weights > 0, axis=0)
    if nearest:
        best = np.argmax(weights, axis=0)  # the closest usable pixel; ties to the first
        return np.take_along_axis(values, best[None], axis=0)[0], covered
    used = np.clip(weights, 0, None)
    total = used.sum(axis=0)
    blended = np.where(used > 0, values.astype(np.float64) * used, 0.0).sum(axis=0)
    result = np.divide(blended, total, out=np.zeros(shape), where=total > 0)
    return result.astype(image.dtype), covered
