"""The run's ``report.html`` as an output of the dataset flow: every input with its geometry, its
previews and its folders (rendered by :mod:`nidataset.viewing.report`)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ..errors import VolumeError
from ..io.atomic import write_text
from ..io.readers import INPUT_FORMATS, read_header
from ..naming import PREVIEWS, prefix_of, preview_filename, relative_folder
from ..results import Outcome, RunResult
from .report import InputRow, render_report


def write_report(result: RunResult, nii_folder: str, options: Any, seconds: float) -> None:
    """``<output>/report.html``: the summary, every input with its geometry, previews and folders."""
    rows = [_report_row(os.path.join(nii_folder, o.name), o, options) for o in result.outcomes]
    settings = [("input", nii_folder), *_settings(options)]
    page = render_report(
        title=f"nidataset {result.what}: {options.output_path}",
        summary=result.summary(),
        seconds=seconds,
        views=result.views,
        what=result.what,
        settings=settings,
        rows=rows,
    )
    write_text(os.path.join(options.output_path, "report.html"), page)


def _settings(options: Any) -> list[tuple[str, str]]:
    """The options a run was given, those that differ from their defaults, for the report."""
    shown = []
    for name, value, default in options.listed():  # nidataset.stages.Listed
        if name in ("output_path", "resume", "measure_range") or value == default:
            continue
        shown.append((name, ", ".join(value) if name == "views" else str(value)))
    return [("views", ", ".join(options.views)), *[s for s in shown if s[0] != "views"]]


def _report_row(path: str, outcome: Outcome, options: Any) -> InputRow:
    prefix = prefix_of(outcome.name)
    row = InputRow(
        outcome.name, outcome.counts, outcome.reason, outcome.reused, value_range=outcome.value_range
    )
    try:
        header = read_header(path)
    except VolumeError:
        return row
    spacing, axcodes = None, None
    if header.affine is not None:
        import nibabel as nib

        from ..io.loaded import spacing_of  # numpy: imported when a report is written

        spacing = spacing_of(header.affine)
        axcodes = "".join(str(code) for code in nib.aff2axcodes(header.affine))
    previews = tuple(
        (view, f"{PREVIEWS}/{preview_filename(prefix, view)}")
        for view in options.views
        if os.path.isfile(os.path.join(options.output_path, PREVIEWS, preview_filename(prefix, view)))
    )
    folders = tuple(
        (view, relative_folder(prefix, view, options.saving_mode) + "/")
        for view in options.views
        if os.path.isdir(
            os.path.join(options.output_path, relative_folder(prefix, view, options.saving_mode))
        )
    )
    notes: tuple[str, ...] = (outcome.note,) if outcome.note else ()
    if _named(header.format):  # what was read: DICOM's modality and series description
        notes += ("; ".join(f"{k}: {v}" for k, v in (("format", header.format), *header.details)),)
    return dataclasses.replace(
        row,
        shape=header.shape,
        spacing=spacing,
        dtype=dtype_words(header.dtype),
        axcodes=axcodes,
        previews=previews,
        folders=folders,
        notes=notes,
    )


def dtype_words(dtype: Any) -> str:
    """A dtype as a person reads it: ``int16``, or ``int16 (big-endian)`` (numpy writes ``>i2``); the
    machine's own byte order goes unsaid.

    >>> import numpy as np
    >>> dtype_words(np.dtype(">i2")), dtype_words(np.dtype("<f4")), dtype_words(np.dtype("u1"))
    ('int16 (big-endian)', 'float32', 'uint8')
    """
    order = {">": "big", "<": "little"}.get(dtype.byteorder)
    return dtype.name if order is None or dtype.isnative else f"{dtype.name} ({order}-endian)"


def _named(format_name: str) -> bool:
    """Whether the report names a volume's input format (a format unregistered since is named)."""
    record = INPUT_FORMATS.get(format_name)
    return record is None or record.named
