"""Names: which files are inputs, their prefixes, and where each output goes."""

from __future__ import annotations

import os
from collections.abc import Sequence

# Which names are inputs, and their prefixes, come from the input table (a new input format changes
# them all); re-exported here, next to the output names they make.
from .io.readers import is_input_name as is_input_name
from .io.readers import prefix_of as prefix_of


def printable(name: str) -> str:
    """``name`` on one line: control characters and line separators as backslash escapes.

    A file name may hold a newline; a one-line report must not be split by it.

    >>> printable("a\\nb.nii"), printable("café.nii")
    ('a\\\\nb.nii', 'café.nii')
    """
    if name.isprintable():
        return name
    return "".join(char if char.isprintable() or char == " " else _escaped(char) for char in name)


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    if char in "\n\r\t":
        return repr(char)[1:-1]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def index_width(count: int) -> int:
    """Digits of a slice index: at least 3, more when needed so names sort in slice order.

    >>> index_width(160), index_width(1100)
    (3, 4)
    """
    return max(3, len(str(max(count - 1, 0))))


def slice_filename(prefix: str, view: str, index: int, width: int, extension: str = "tif") -> str:
    """``<prefix>_<view>_<index>.<extension>`` with a zero-padded index.

    >>> slice_filename("case_001", "axial", 7, 3)
    'case_001_axial_007.tif'
    """
    return f"{prefix}_{view}_{index:0{width}d}.{extension}"


def output_folder(output_path: str, prefix: str, view: str, saving_mode: str) -> str:
    """Folder of one volume's slices.

    ``<out>/<prefix>/<view>`` (case), ``<out>/<view>`` (view), or ``<out>`` itself ("flat", used by
    the single-volume functions).
    """
    if saving_mode == "case":
        return os.path.join(output_path, prefix, view)
    if saving_mode == "view":
        return os.path.join(output_path, view)
    return output_path


def own_folders(output_path: str, prefix: str, views: Sequence[str], saving_mode: str) -> list[str]:
    """The folders that belong to one volume alone, innermost first: what its rollback may remove.

    Only case mode has any (``<out>/<prefix>/<view>`` and ``<out>/<prefix>``); the view folders of
    view mode are shared by every volume, and the single-volume functions write into the caller's.

    >>> own_folders("out", "case_001", ["axial"], "case"), own_folders("out", "case_001", ["axial"], "view")
    (['out/case_001/axial', 'out/case_001'], [])
    """
    if saving_mode != "case":
        return []
    case = os.path.join(output_path, prefix)
    return [*(os.path.join(case, view) for view in views), case]


def stats_filename(view: str, what: str = "slices") -> str:
    """Name of the statistics file of one view: ``<view>_slices_stats.csv`` or ``..._annotations_...``."""
    return f"{view}_{what}_stats.csv"


#: The folder of the previews, at the output root.
PREVIEWS = "previews"


def preview_filename(prefix: str, view: str) -> str:
    """``<prefix>_<view>_preview.png``."""
    return f"{prefix}_{view}_preview.png"


def manifest_filename(view: str) -> str:
    """Name of the per-slice manifest of one view: ``<view>_manifest.csv``."""
    return f"{view}_manifest.csv"


def relative_folder(prefix: str, view: str, saving_mode: str) -> str:
    """The folder of one volume's outputs relative to the output root, with ``/`` separators.

    >>> relative_folder("case_001", "axial", "case"), relative_folder("case_001", "axial", "view")
    ('case_001/axial', 'axial')
    """
    return output_folder("", prefix, view, saving_mode).replace(os.sep, "/")


def failures_filename(what: str = "slices") -> str:
    """Name of the list of skipped files: ``slices_failed.csv`` or ``annotations_failed.csv``."""
    return f"{what}_failed.csv"
