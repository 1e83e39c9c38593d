"""Reading a manifest back (SPEC Part 2, "Manifest"): its rows, checked, and each source's plan.

A manifest is read once per process and kept while its file is unchanged (same modification time
and size), so that a worker handling many sources, or many threads, parse it once; the per-source
job receives only the manifest's path. What a row says is checked against the other rows of its
source when that source is reassembled: a contradiction skips that volume, not the run.
"""

from __future__ import annotations

import csv
import math
import os
import posixpath
import threading
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import VolumeError
from ..geometry.sampling import in_plane_axes, is_one_to_one
from ..naming import prefix_of
from ..text import first_few
from .table import SourceRows, Table, read_table

AFFINE = tuple(f"affine_{r}{c}" for r in range(3) for c in range(4))
PIX2VOX = tuple(f"pix2vox_{r}{c}" for r in range(3) for c in range(3))
PIX2WORLD = tuple(f"pix2world_{r}{c}" for r in range(3) for c in range(3))
SHAPE = ("shape_i", "shape_j", "shape_k")

#: The columns reassembly reads (a manifest may hold more).
REASSEMBLY_COLUMNS: tuple[str, ...] = (
    "path",
    "source",
    "view",
    "source_axis",
    "source_index",
    "rows",
    "cols",
    *SHAPE,
    *AFFINE,
    *PIX2VOX,
    "interpolation",
)
#: The columns boxes_to_volume reads.
BOX_COLUMNS: tuple[str, ...] = ("path", "source", "slice_index", *PIX2VOX, *PIX2WORLD)
INTERPOLATIONS = ("none", "linear", "nearest")
#: Optional columns (newer manifests): the source's space codes, written back into the volume.
CODES = ("qform_code", "sform_code")
#: What a volume gets without them: the affine as an aligned sform, as before they were recorded.
DEFAULT_CODES = (0, 2)

Row = Mapping[str, object]

_cache: dict[str, tuple[tuple[int, int], dict[str, SourceRows]]] = {}
_lock = threading.Lock()


def read_manifest(path: str, columns: Sequence[str]) -> list[dict[str, str]]:
    """The rows of a manifest CSV; FileNotFoundError or ValueError if it is missing or not one."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"manifest {path!r} does not exist or is not a file")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            fields = reader.fieldnames or []
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"manifest {path!r} is not a UTF-8 CSV file: {error}") from None
    check_columns(fields, columns, f"manifest {path!r}")
    if not rows:
        raise ValueError(f"manifest {path!r} lists no slice")
    return rows


def check_columns(fields: Iterable[str], columns: Sequence[str], what: str) -> None:
    """ValueError naming the SPEC columns ``what`` lacks."""
    missing = [c for c in columns if c not in set(fields)]
    if missing:
        shown = first_few(missing, 6)
        raise ValueError(
            f"{what} lacks the manifest columns {shown}: write it with save_manifest=True (SPEC Part 2)"
        )


def sources_of(path: str) -> dict[str, SourceRows]:
    """The manifest's rows grouped by source, in order of first appearance; cached while unchanged.

    The rows are held as columns (:mod:`~nidataset.reassembly.table`), not as a dict per row.
    Raises FileNotFoundError or ValueError (missing file or columns, no row, one manifest holding
    several views, a source that is not a file name, two sources with the same prefix).
    """
    try:
        status = os.stat(path)
        key = (status.st_mtime_ns, status.st_size)
    except OSError:
        key = (-1, -1)
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        grouped = _group(path, *_read_columns(path))
        if len(_cache) >= 8:  # a long-lived worker may see many manifests; keep the last few
            _cache.clear()
        _cache[path] = (key, grouped)
        return grouped


def _read_columns(path: str) -> tuple[Table, dict[str, array[int]]]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"manifest {path!r} does not exist or is not a file")
    try:
        table, groups = read_table(
            path,
            (*REASSEMBLY_COLUMNS, *CODES),
            lambda fields: check_columns(fields, REASSEMBLY_COLUMNS, f"manifest {path!r}"),
        )
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"manifest {path!r} is not a UTF-8 CSV file: {error}") from None
    if not len(table):
        raise ValueError(f"manifest {path!r} lists no slice")
    return table, groups


def _group(path: str, table: Table, groups: dict[str, array[int]]) -> dict[str, SourceRows]:
    views = sorted(set(table.views))
    if len(views) > 1:
        raise ValueError(f"manifest {path!r} mixes the views {views}: one manifest holds one view")
    prefixes: dict[str, str] = {}
    for source in groups:
        if not source or os.path.basename(source) != source or source in (".", ".."):
            raise ValueError(f"manifest {path!r}: source {source!r} is not a file name")
        other = prefixes.setdefault(prefix_of(source), source)
        if other != source:
            raise ValueError(
                f"manifest {path!r}: sources {other!r} and {source!r} would both be written as "
                f"{prefix_of(source)}.nii.gz"
            )
    return {source: SourceRows(table, rows) for source, rows in groups.items()}


@dataclass(frozen=True)
class SlicePlan:
    """One manifest row: which stored slice an image shows, and how its pixels map to voxels."""

    path: str
    stored_index: int
    rows: int
    cols: int
    pix2vox: np.ndarray


@dataclass(frozen=True)
class SourcePlan:
    """One source's rows, checked against each other: the volume to rebuild and its slices."""

    name: str
    view: str
    axis: int
    shape: tuple[int, int, int]
    affine: np.ndarray
    slices: tuple[SlicePlan, ...]
    #: ``(qform_code, sform_code)`` of the source's header.
    codes: tuple[int, int] = DEFAULT_CODES

    @property
    def plane(self) -> tuple[int, int]:
        """The shape of one stored slice: the volume without its slice axis."""
        a, b = in_plane_axes(self.axis)
        return self.shape[a], self.shape[b]


def source_plan(name: str, rows: Sequence[Row]) -> SourcePlan:
    """Check one source's rows against each other; VolumeError naming the first contradiction."""
    if prefix_of(name).startswith("."):  # ".nii.gz" itself, or a hidden name: never an input's
        raise VolumeError(
            f"source {name!r} would be written as the hidden file {prefix_of(name)}.nii.gz; "
            "a source is an input's file name"
        )
    first = rows[0]
    for row in rows[1:]:
        for column in ("view", "source_axis", *SHAPE, *AFFINE, *(c for c in CODES if c in first)):
            if _cell(row, column) != _cell(first, column):
                raise VolumeError(
                    f"manifest rows {first['path']} and {row['path']} disagree on {column} "
                    f"({first[column]!r} vs {row[column]!r})"
                )
    shape = tuple(integer(first, c, low=1) for c in SHAPE)
    if math.prod(shape) > np.iinfo(np.int64).max:  # Python integers: numpy's product would wrap
        raise VolumeError(f"too large: a volume of shape {shape} has more voxels than a 64-bit count holds")
    axis = integer(first, "source_axis", low=0, high=2)
    if any(first[c] in ("", None) for c in AFFINE):
        raise VolumeError("the manifest has no affine for this source (its header's was unusable)")
    affine = np.vstack([np.array([number(first, c) for c in AFFINE]).reshape(3, 4), [0.0, 0.0, 0.0, 1.0]])
    slices = [_slice_plan(row, axis, shape[axis]) for row in rows]
    held: dict[int, str] = {}
    paths: set[str] = set()
    for plan in slices:
        if plan.path in paths:
            raise VolumeError(f"the manifest lists {plan.path} twice")
        paths.add(plan.path)
        other = held.setdefault(plan.stored_index, plan.path)
        if other != plan.path:
            raise VolumeError(
                f"manifest rows {other} and {plan.path} both hold stored slice {plan.stored_index}"
            )
    codes = _codes(first) or DEFAULT_CODES
    return SourcePlan(name, str(first["view"]), axis, shape, affine, tuple(slices), codes)  # type: ignore[arg-type]


def _codes(row: Row) -> tuple[int, int] | None:
    """The row's space codes (NIfTI xform codes 0 to 5), None when the manifest has none."""
    if any(row.get(c) in ("", None) for c in CODES):
        return None
    qform, sform = (integer(row, c, low=0, high=5) for c in CODES)
    return qform, sform


def _slice_plan(row: Row, axis: int, count: int) -> SlicePlan:
    path = inside_path(str(row["path"]))
    index = integer(row, "source_index", low=0, high=count - 1)
    pix2vox = matrix(row, PIX2VOX)
    interpolation = str(row["interpolation"])
    if interpolation not in INTERPOLATIONS:
        raise VolumeError(
            f"manifest row {path}: interpolation {interpolation!r} is not one of {INTERPOLATIONS}"
        )
    if not np.array_equal(pix2vox[axis], [0.0, 0.0, float(index)]):
        raise VolumeError(f"manifest row {path}: pix2vox does not keep stored axis {axis} at {index}")
    block = pix2vox[list(in_plane_axes(axis)), :2]
    if abs(np.linalg.det(block)) < 1e-9:
        raise VolumeError(f"manifest row {path}: pix2vox maps the image onto a line, not its slice")
    if interpolation == "none" and not is_one_to_one(pix2vox, axis):
        raise VolumeError(f"manifest row {path}: interpolation 'none' needs one whole voxel per pixel")
    return SlicePlan(path, index, integer(row, "rows", low=1), integer(row, "cols", low=1), pix2vox)


def inside_path(path: str) -> str:
    """A manifest ``path`` cell, normalised, when it stays inside the slices folder; else VolumeError.

    The rule is lexical (``posixpath.normpath``, no symbolic link resolved): a path that is absolute
    (``/x``, ``C:x``, ``C:\\x``, ``\\\\server\\x``) or whose ``..`` components climb above the folder
    names an image outside it, which a manifest never does. Backslashes count as separators for this
    check, so a manifest written on Windows cannot climb out either.

    >>> inside_path("case/axial/./case_axial_002.tif"), inside_path("a/../b.tif")
    ('case/axial/case_axial_002.tif', 'b.tif')
    >>> inside_path("../secret/x.tif")
    Traceback (most recent call last):
    ...
    nidataset.errors.VolumeError: manifest row '../secret/x.tif': path leaves the slices folder; ...
    """
    unified = path.replace("\\", "/")
    normal = posixpath.normpath(unified)
    climbs = normal == ".." or normal.startswith("../")
    drive = len(unified) >= 2 and unified[1] == ":" and unified[0].isalpha()
    if not path or normal == "." or unified.startswith("/") or drive or climbs:
        raise VolumeError(
            f"manifest row {path!r}: path leaves the slices folder; a manifest's paths are relative "
            "to it and stay inside it"
        )
    return posixpath.normpath(path)


def matrix(row: Row, columns: Sequence[str]) -> np.ndarray:
    """The 3x3 matrix of nine columns, row-major."""
    return np.array([number(row, c) for c in columns]).reshape(3, 3)


def number(row: Row, column: str) -> float:
    """A finite number of a row; VolumeError naming the row and the column otherwise."""
    value = row[column]
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        result = float("nan")
    if not np.isfinite(result):
        raise VolumeError(f"manifest row {row.get('path', '?')}: {column} is {value!r}, not a finite number")
    return result


def integer(row: Row, column: str, *, low: int, high: int | None = None) -> int:
    """A whole number of a row within ``low`` .. ``high``."""
    value = number(row, column)
    if not value.is_integer() or value < low or (high is not None and value > high):
        allowed = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"
        raise VolumeError(f"manifest row {row.get('path', '?')}: {column} is {row[column]!r}, not {allowed}")
    return int(value)


def _cell(row: Row, column: str) -> object:
    """A cell as compared between rows: numbers by value ("2" equals "2.0"), text as it is."""
    value = row[column]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return value
    return number if np.isfinite(number) else value  # NaN equals nothing: left to number() to refuse
