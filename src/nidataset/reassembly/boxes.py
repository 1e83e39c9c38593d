"""2D boxes and centres back to stored voxels and scanner millimetres, through a manifest's matrices."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .manifests import BOX_COLUMNS, PIX2VOX, PIX2WORLD, Row, check_columns, integer, matrix, read_manifest

__all__ = ["boxes_to_volume"]

_BOX = ("X_MIN", "Y_MIN", "X_MAX", "Y_MAX")
_CENTER = ("CENTER_X", "CENTER_Y")
_RADIUS = ("RADIUS_X", "RADIUS_Y")
_MM = ("x_mm", "y_mm", "z_mm")


def boxes_to_volume(boxes: Any, manifest: Any) -> list[dict[str, Any]]:
    """Turn 2D boxes or centres on slice images into stored voxel indices and scanner millimetres.

    Parameters
    ----------
    boxes : str, os.PathLike, iterable of mappings, or pandas.DataFrame
        Rows in the annotation CSV columns: ``X_MIN,Y_MIN,X_MAX,Y_MAX`` (inclusive pixel indices),
        or ``CENTER_X,CENTER_Y``, optionally with ``RADIUS_X,RADIUS_Y``; X is the image column, Y
        the image row. Either the path of one slice CSV (``extract_annotations_dataset`` output,
        or predictions in the same columns), found in the manifest by its path relative to the
        manifest's folder; or rows that carry, besides those columns, either ``path`` (as in the
        manifest) or ``source`` and ``slice_index``.
    manifest : str, os.PathLike, iterable of mappings, or pandas.DataFrame
        A ``<view>_manifest.csv`` (images' or annotations'), or its rows.

    Returns
    -------
    list of dict
        One dict per input row, in input order: the 3D values first, in the columns of a volume-mode
        annotation CSV (``X_MIN,Y_MIN,Z_MIN,X_MAX,Y_MAX,Z_MAX``; or ``CENTER_X,CENTER_Y,CENTER_Z``
        and, with radii, ``RADIUS_X,RADIUS_Y,RADIUS_Z``) where X, Y, Z are the stored voxel axes i,
        j, k; then the row's other columns (``LABEL``, ``path``, ...) unchanged; then ``x_mm, y_mm,
        z_mm``, the scanner coordinate of the box's centre.

    Raises
    ------
    FileNotFoundError
        ``boxes`` or ``manifest`` is a path that does not exist.
    ValueError
        A manifest without the columns ``path, source, slice_index, pix2vox_*, pix2world_*``; a row
        without box or centre columns, or with no manifest row or several.

    Notes
    -----
    - The 2D columns are replaced by the 3D ones of the same names (``X_MIN`` becomes the smallest
      stored index i), as in volume-mode annotation CSVs.
    - A box's voxel extent is the minimum and maximum, per stored axis, over its four corner pixels
      mapped by the row's ``pix2vox``: a flipped or transposed layout swaps which corner gives the
      minimum. Radii are half the extent of the corners ``centre +- radius``, so ``RADIUS`` along
      the slice axis is 0.
    - Values are integers when the row's ``pix2vox`` and the pixel values are whole numbers (every
      slice not resampled); for resampled slices they are the exact fractional voxel coordinates of
      the corner pixels' centres, not rounded (rounding is the caller's choice). Centres are floats.
    - ``x_mm, y_mm, z_mm`` is ``pix2world @ [row, col, 1]`` at the centre pixel ((Y_MIN + Y_MAX) / 2,
      (X_MIN + X_MAX) / 2), which equals the volume's affine applied to the centre voxel; None when
      the manifest has no affine.
    - A row joins the manifest row with the same ``path`` up to the extension, so an annotation CSV
      (``.csv``) joins the images' manifest (``.tif``) too, and vice versa.
    - Pixels outside the slice (padding, or beyond the image) give voxel indices outside the
      volume: nothing is clipped.

    Examples
    --------
    >>> row = {"path": "case/axial/case_axial_002.tif", "source": "case.nii.gz", "slice_index": 2,
    ...        **{f"pix2vox_{r}{c}": v for r, c, v in [(r, c, [1, 0, -1, 0, 1, 0, 0, 0, 2][3 * r + c])
    ...                                               for r in range(3) for c in range(3)]},
    ...        **{f"pix2world_{r}{c}": v for r, c, v in [(r, c, [2, 0, -2, 0, 2, 0, 0, 0, 6][3 * r + c])
    ...                                                 for r in range(3) for c in range(3)]}}
    >>> boxes_to_volume([{"X_MIN": 3, "Y_MIN": 1, "X_MAX": 4, "Y_MAX": 5, "LABEL": 1,
    ...                   "path": "case/axial/case_axial_002.csv"}], [row])
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'X_MIN': 0, 'Y_MIN': 3, 'Z_MIN': 2, 'X_MAX': 4, 'Y_MAX': 4, 'Z_MAX': 2, 'LABEL': 1,
      'path': 'case/axial/case_axial_002.csv', 'x_mm': 4.0, 'y_mm': 7.0, 'z_mm': 6.0}]
    """
    rows, root = _manifest_rows(manifest)
    table = _Table(rows, root)
    if isinstance(boxes, str | os.PathLike):
        path = os.fsdecode(os.fspath(boxes))
        records = _read_csv(path)
        if root is None:
            raise ValueError(
                "boxes given as a CSV path need manifest as a path: the CSV is found by its place"
            )
        found = table.by_path(path)
        return [_convert(record, found) for record in records]
    return [_convert(record, table.find(record, number)) for number, record in enumerate(_records(boxes))]


def _manifest_rows(manifest: Any) -> tuple[list[Row], str | None]:
    if isinstance(manifest, str | os.PathLike):
        path = os.fsdecode(os.fspath(manifest))
        return list(read_manifest(path, BOX_COLUMNS)), os.path.dirname(os.path.abspath(path))
    rows = _records(manifest)
    if not rows:
        raise ValueError("manifest holds no row")
    check_columns(set().union(*(row.keys() for row in rows)), BOX_COLUMNS, "manifest")
    return rows, None


def _records(rows: Any) -> list[Row]:
    """Rows of a DataFrame or an iterable of mappings."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a pandas DataFrame
        return list(rows.to_dict("records"))
    if isinstance(rows, Mapping | str | bytes) or not isinstance(rows, Iterable):
        raise ValueError(
            f"expected a path, a DataFrame or an iterable of mappings; got {type(rows).__name__}"
        )
    records = list(rows)
    for record in records:
        if not isinstance(record, Mapping):
            raise ValueError(f"each row must be a mapping of column to value; got {type(record).__name__}")
    return records


def _read_csv(path: str) -> list[Row]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"boxes {path!r} does not exist or is not a file")
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: _parsed(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _parsed(text: str) -> Any:
    """A CSV cell as a number when it is one (``3`` -> 3, ``3.5`` -> 3.5), else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            pass
    return text


class _Table:
    """The manifest's rows, found by path (up to the extension) or by source and slice index."""

    def __init__(self, rows: Sequence[Row], root: str | None) -> None:
        self.root = root
        self.paths: dict[str, list[Row]] = {}
        self.slices: dict[tuple[str, int], list[Row]] = {}
        for row in rows:
            self.paths.setdefault(_key(str(row["path"])), []).append(row)
            index = integer(row, "slice_index", low=0)
            self.slices.setdefault((str(row["source"]), index), []).append(row)

    def by_path(self, path: str) -> Row:
        """The row of a CSV file, by its path relative to the manifest's folder."""
        assert self.root is not None
        relative = os.path.relpath(os.path.abspath(path), self.root)
        if relative.split(os.sep)[0] == os.pardir:
            raise ValueError(f"boxes {path!r} is not under the manifest's folder {self.root!r}")
        return self._one(self.paths.get(_key(relative), []), f"boxes {relative!r}")

    def find(self, record: Row, number: int) -> Row:
        if _present(record, "path"):
            path = str(record["path"])
            if os.path.isabs(path) and self.root is not None:
                path = os.path.relpath(path, self.root)
            return self._one(self.paths.get(_key(path), []), f"row {number}: path {path!r}")
        if _present(record, "source") and _present(record, "slice_index"):
            index = integer(record, "slice_index", low=0)
            return self._one(
                self.slices.get((str(record["source"]), index), []),
                f"row {number}: source {record['source']!r}, slice_index {index}",
            )
        raise ValueError(
            f"row {number} needs a 'path', or 'source' and 'slice_index', to find its manifest row"
        )

    @staticmethod
    def _one(found: list[Row], what: str) -> Row:
        if len(found) != 1:
            problem = "is not in the manifest" if not found else f"matches {len(found)} manifest rows"
            raise ValueError(f"{what} {problem}")
        return found[0]


def _key(path: str) -> str:
    """A path as joined: ``/`` separators, no leading ``./``, no extension."""
    posix = os.path.normpath(path).replace(os.sep, "/")
    return os.path.splitext(posix)[0]


def _present(record: Row, column: str) -> bool:
    value = record.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    return not (isinstance(value, float | np.floating) and math.isnan(value))


def _convert(record: Row, row: Row) -> dict[str, Any]:
    """One input row in 3D: voxel columns, the row's other columns, millimetres."""
    pix2vox = matrix(row, PIX2VOX)
    whole = bool(np.all(pix2vox == np.round(pix2vox)))
    world = matrix(row, PIX2WORLD) if all(_present(row, c) for c in PIX2WORLD) else None
    if all(_present(record, c) for c in _BOX):
        used: tuple[str, ...] = _BOX
        c0, r0, c1, r1 = (_coordinate(record, c) for c in _BOX)
        low, high = _extent(pix2vox, (r0, r1), (c0, c1))
        floats = not (whole and all(v.is_integer() for v in (c0, r0, c1, r1)))
        values = _named(("X_MIN", "Y_MIN", "Z_MIN"), low, floats=floats)
        values |= _named(("X_MAX", "Y_MAX", "Z_MAX"), high, floats=floats)
        centre = ((r0 + r1) / 2, (c0 + c1) / 2)
    elif all(_present(record, c) for c in _CENTER):
        col, centre_row = (_coordinate(record, c) for c in _CENTER)
        centre, used = (centre_row, col), _CENTER
        values = _named(("CENTER_X", "CENTER_Y", "CENTER_Z"), pix2vox @ (centre_row, col, 1.0), floats=True)
        if all(_present(record, c) for c in _RADIUS):
            radius_col, radius_row = (_coordinate(record, c) for c in _RADIUS)
            rows = (centre_row - radius_row, centre_row + radius_row)
            low, high = _extent(pix2vox, rows, (col - radius_col, col + radius_col))
            values |= _named(("RADIUS_X", "RADIUS_Y", "RADIUS_Z"), (high - low) / 2, floats=True)
            used = _CENTER + _RADIUS
    else:
        raise ValueError(
            f"a row needs the columns {', '.join(_BOX)} or {', '.join(_CENTER)}; got {list(record)}"
        )
    rest = {k: v for k, v in record.items() if k not in used and k not in values and k not in _MM}
    millimetres = world @ (*centre, 1.0) if world is not None else (None, None, None)
    return values | rest | _named(_MM, millimetres, floats=True)


def _coordinate(record: Row, column: str) -> float:
    value = record[column]
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{column} is {value!r}, not a number") from None


def _extent(
    pix2vox: np.ndarray, rows: tuple[float, float], cols: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Per stored axis, the smallest and largest voxel coordinate of the four corners."""
    corners = np.array([pix2vox @ (r, c, 1.0) for r in rows for c in cols])
    return corners.min(axis=0), corners.max(axis=0)


def _named(names: Sequence[str], values: Any, *, floats: bool = False) -> dict[str, Any]:
    """Values by column: ints, or floats (never ``-0.0``) when ``floats``; None kept."""
    result: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        if value is None:
            result[name] = None
        else:
            result[name] = float(value) + 0.0 if floats else round(float(value))
    return result
