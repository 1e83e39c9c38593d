"""``preview_dataset``: previews of a folder of image volumes, with their masks' outlines."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor

from ..batch.flow import run_dataset
from ..options import Orientation, View, WindowSpec, preview_options, run_options
from ..progress import Progress
from ..results import RunResult
from .job import preview_volume
from .run_report import write_report

__all__ = ["preview_dataset"]


def preview_dataset(
    images_folder: str,
    output_path: str,
    masks_folder: str | None = None,
    *,
    view: View | Sequence[View] = "axial",
    orientation: Orientation = "radiological",
    window: WindowSpec = None,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool | Progress = True,
    save_report: bool = True,
    save_failures: bool = False,
) -> RunResult:
    """Write ``<output>/previews/<prefix>_<view>_preview.png`` for every volume of ``images_folder``.

    Parameters
    ----------
    images_folder : str
        Folder of ``.nii.gz`` / ``.nii`` volumes, found as the slice functions find them.
    output_path : str
        Root of the outputs; created if needed.
    masks_folder : str, optional
        Folder of label masks named like the images (same prefix): each label's outline is drawn
        in its own colour. An image without a mask, or a mask of another shape, is previewed without
        outlines and noted.
    view : str or list of str
        The views to preview.
    orientation : {"radiological", "neurological", "stored"}
        How the tiles are laid out (``"stored"`` is shown radiological: a preview is for looking).
    window : None, preset, (center, width) or "auto"
        One window for each whole volume; ``None`` is ``"auto"``.
    workers, executor, progress, save_failures
        As for :func:`nidataset.slices.extract_slices_dataset`.
    save_report : bool
        Write ``<output>/report.html`` showing every preview.

    Returns
    -------
    RunResult
        ``what="previews"``: previews written per view, or why a file was skipped.
    """
    options = preview_options(
        output_path, view, orientation=orientation, window=window, masks_folder=masks_folder
    )
    run = run_options(
        workers, executor, progress, save_stats=False, save_failures=save_failures, save_report=save_report
    )
    return run_dataset(
        preview_volume,
        options,
        os.fspath(images_folder),
        run,
        what="previews",
        outputs=[write_report] if run.save_report else [],
    )
