"""The per-slice manifest: one row per image (or annotation CSV) file, tracing every pixel back.

``<output>/<view>_manifest.csv`` (SPEC Part 2): where the file is, which input and slice it shows, its
size and padding, the stored volume's shape and affine, and two 3x3 matrices per slice: ``pix2vox``
(stored voxel ``[i, j, k] = pix2vox @ [row, col, 1]``) and ``pix2world`` (scanner millimetres, the
affine applied to it). Everything in a row follows from the header and the options, so a manifest is
written after the run from the headers, in the order of the statistics file, and is as complete
after ``resume`` as after a fresh run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .geometry.frame import SliceFrame

COLUMNS: tuple[str, ...] = (
    "path",
    "source",
    "view",
    "orientation",
    "slice_index",
    "source_axis",
    "source_index",
    "rows",
    "cols",
    "pad_top",
    "pad_left",
    "shape_i",
    "shape_j",
    "shape_k",
    *(f"affine_{r}{c}" for r in range(3) for c in range(4)),
    *(f"pix2vox_{r}{c}" for r in range(3) for c in range(3)),
    *(f"pix2world_{r}{c}" for r in range(3) for c in range(3)),
    "interpolation",
    "value_map",
    "dtype",
)


def pix2world(pix2vox: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Scanner millimetres ``[x, y, z] = M @ [row, col, 1]``: the first three rows of
    ``affine @ [[pix2vox], [0, 0, 1]]``.

    >>> pix2world(np.array([[1, 0, -2], [0, 0, 3], [0, 1, 0]]), np.diag([2.0, 3.0, 4.0, 1.0])).tolist()
    [[2.0, 0.0, -4.0], [0.0, 0.0, 9.0], [0.0, 4.0, 0.0]]
    """
    lifted = np.vstack([np.asarray(pix2vox, dtype=np.float64), [0.0, 0.0, 1.0]])
    return (np.asarray(affine, dtype=np.float64) @ lifted)[:3]


def frame_rows(
    frame: SliceFrame,
    affine: np.ndarray | None,
    *,
    source: str,
    paths: Sequence[str],
    indices: Iterable[int],
    dtype: str,
    value_map: str = "identity",
) -> list[list[object]]:
    """The manifest rows of the slices ``indices`` of one frame, written as ``paths`` (one per index).

    Without a usable affine (a damaged header), the affine and pix2world columns are left empty.
    """
    rows: list[list[object]] = []
    top, left = frame.offsets
    height, width = frame.image_shape
    flat_affine: list[object] = [] if affine is None else [_number(v) for v in np.asarray(affine)[:3].ravel()]
    for path, index in zip(paths, indices, strict=True):
        vox = frame.pix2vox(index)
        world: list[object] = [] if affine is None else [_number(v) for v in pix2world(vox, affine).ravel()]
        stored_index = frame.slice_index(index)  # the mapping is its own inverse
        rows.append(
            [
                path,
                source,
                frame.view,
                frame.orientation,
                index,
                frame.axis,
                stored_index,
                height,
                width,
                top,
                left,
                *frame.shape,
                *(flat_affine or [""] * 12),
                *(_number(v) for v in vox.ravel()),
                *(world or [""] * 9),
                frame.interpolation,
                value_map,
                dtype,
            ]
        )
    return rows


def volume_rows(
    frames: Sequence[SliceFrame],
    affine: np.ndarray | None,
    *,
    source: str,
    folders: Sequence[str],
    indices: Sequence[Iterable[int]],
    extension: str,
    dtype: str,
    value_map: str = "identity",
) -> list[list[list[object]]]:
    """The rows of one input's files, per view: ``<folder>/<prefix>_<view>_<index>.<extension>``
    for the slice ``indices`` of each view's frame (``folders`` relative to the output root)."""
    from .naming import index_width, prefix_of, slice_filename

    prefix = prefix_of(source)
    tables = []
    for frame, folder, chosen in zip(frames, folders, indices, strict=True):
        width = index_width(frame.count)
        chosen = list(chosen)
        names = [slice_filename(prefix, frame.view, i, width, extension) for i in chosen]
        paths = [f"{folder}/{name}" if folder else name for name in names]
        rows = frame_rows(
            frame, affine, source=source, paths=paths, indices=chosen, dtype=dtype, value_map=value_map
        )
        tables.append(rows)
    return tables


def _number(value: object) -> int | float:
    """An integer when the value is whole and was integral, else the shortest float that round-trips."""
    if isinstance(value, np.integer):
        return int(value)
    number = float(value)  # type: ignore[arg-type]
    return 0.0 if number == 0 else number  # no "-0.0" in the table
