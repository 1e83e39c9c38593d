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
    chosen = list(indices)
    top, left = frame.offsets
    height, width = frame.image_shape
    head: list[object] = [frame.view, frame.orientation]
    size: list[object] = [height, width, top, left, *frame.shape]
    tail: list[object] = [frame.interpolation, value_map, dtype]
    # pix2vox moves with the slice index only in its translation: every row's matrix at once, and
    # every pix2world in one product (4,000 rows took 0.1 s one by one, 4% of a coronal run).
    first, step = frame.pix2vox(0), frame.pix2vox(1) - frame.pix2vox(0)
    stack = first[None] + np.asarray(chosen, dtype=first.dtype).reshape(-1, 1, 1) * step[None]
    voxels = _rows(stack)
    flat_affine: list[object]
    worlds: list[list[object]]
    if affine is None:
        flat_affine, worlds = [""] * 12, [[""] * 9] * len(chosen)
    else:
        affine = np.asarray(affine, dtype=np.float64)
        flat_affine = _rows(affine[None, :3])[0]
        lifted = np.concatenate(
            [stack.astype(np.float64), np.tile([0.0, 0.0, 1.0], (len(chosen), 1, 1))], axis=1
        )
        worlds = _rows((affine @ lifted)[:, :3])
    return [
        [
            path,
            source,
            *head,
            index,
            frame.axis,
            frame.slice_index(index),
            *size,
            *flat_affine,
            *vox,
            *world,
            *tail,
        ]
        for path, index, vox, world in zip(paths, chosen, voxels, worlds, strict=True)
    ]


def _rows(matrices: np.ndarray) -> list[list[object]]:
    """Each matrix of a stack as a flat row of Python numbers: integers stay integers, -0.0 is 0.0."""
    flat = matrices.reshape(len(matrices), int(np.prod(matrices.shape[1:])))  # -1 fails for no rows
    return (flat if flat.dtype.kind in "iu" else flat + 0.0).tolist()  # type: ignore[no-any-return]


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
