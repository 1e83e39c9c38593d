"""The public annotation functions: validate every option, then run the per-mask job.

The job (:func:`nidataset.annotations.job.annotate_volume`) writes CSV files whose coordinates are
pixels of the images :func:`nidataset.slices.extract_slices_dataset` writes for the same volume,
view and ``target_size``: both go through the same :class:`~nidataset.geometry.frame.SliceFrame`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor

from ..batch.flow import fitting_frames, run_dataset
from ..errors import VolumeError
from ..io.atomic import make_folder
from ..io.readers import claimed_folder
from ..io.volumes import read_header
from ..options import (
    DataMode,
    ExtractionMode,
    Orientation,
    SavingMode,
    Spacing,
    View,
    annotation_options,
    run_options,
)
from ..outputs import run_outputs
from ..progress import Progress
from ..results import RunResult
from .job import annotate_file, annotate_volume, manifest_rows

__all__ = ["extract_annotations", "extract_annotations_dataset"]


def extract_annotations(
    nii_path: str,
    output_path: str,
    view: View = "axial",
    extraction_mode: ExtractionMode = "slice",
    data_mode: DataMode = "center",
    target_size: tuple[int, int] | None = None,
    *,
    components: bool = False,
    orientation: Orientation = "stored",
    spacing: Spacing = None,
    saving_mode: ExtractionMode | None = None,
) -> list[str]:
    """Write the objects of one label mask as CSV files straight into ``output_path``.

    Parameters
    ----------
    nii_path : str
        A ``.nii.gz`` or ``.nii`` label mask: integer voxels (a boolean mask, stored as 0/1, is
        label 1). Float or scaled (``scl_slope``/``scl_inter``) voxels are accepted when every value
        is a whole number; a fractional or NaN value fails the mask. Each positive label value is
        one object; values <= 0 are background.
    output_path : str
        Folder for the CSV files; created if needed.
    view : {"axial", "coronal", "sagittal"}
        The slices the coordinates refer to, as :func:`~nidataset.slices.extract_slices` cuts them.
    extraction_mode : {"slice", "volume"}
        ``"slice"``: one ``<prefix>_<view>_<index>.csv`` per slice holding at least one object (named
        like its image), one row per object on that slice, tight on that slice, in pixels of the
        (padded) slice image: X is the column, Y the row. ``"volume"``: one ``<prefix>.csv`` with one
        row per object, its 3D box in voxel indices of the stored axes (X, Y, Z), whatever the view.
        (``nidataset`` 0.9.1 called this fourth parameter ``saving_mode``; positional calls work alike.)
    data_mode : {"center", "box", "radius"}
        Columns ``CENTER_*``; ``*_MIN, *_MAX`` (inclusive indices); or ``CENTER_*, RADIUS_*`` where a
        radius is ``(max - min) / 2`` (0 for a single pixel). A ``LABEL`` column (the label value)
        comes last.
    target_size : (int, int), optional
        The (height, width) the images were padded to: slice coordinates are shifted by the same
        top and left padding. The mask's slices must fit it (also checked in volume mode, which
        does not otherwise use it).
    components : bool
        Make each 3D connected component of each label (26-connectivity) its own object, instead
        of one object per label: a binary mask with three separate lesions then gives three boxes.
    orientation : {"stored", "radiological", "neurological"}
        ``"stored"``: the stored voxel axes (SPEC Part 1). ``"radiological"`` (3D Slicer, ITK-SNAP)
        and ``"neurological"`` (nilearn, niivue): the volume is brought to the closest RAS+ layout by
        axis permutations and flips only, then each view is shown as those viewers show it (axial:
        anterior at the top, patient right or left at the image's left); slice indices count
        from patient left, posterior or inferior. Slice coordinates are pixels of
        the oriented images; volume mode stays in stored voxel indices.
    spacing : None, "isotropic" or float
        ``None``: one pixel per voxel. ``"isotropic"``: each slice is resampled in-plane to square
        pixels at the finer of its two in-plane spacings; a number: square pixels of that many
        millimetres. Which slices exist does not change. Voxel sizes are the lengths of the affine's
        columns; an axis of n pixels of spacing s becomes ``round((n - 1) * s / s') + 1`` pixels,
        pixel 0 centred on voxel 0. Slice coordinates are pixels of the
        resampled images, whose masks are resampled by nearest neighbour.
    saving_mode : {"slice", "volume"}, optional
        Deprecated: ``nidataset`` 0.9.1's name of ``extraction_mode``, accepted with a
        ``DeprecationWarning``.

    Returns
    -------
    list of str
        The CSV paths written, in slice order (volume mode: the one ``<prefix>.csv``).

    Raises
    ------
    FileNotFoundError
        ``nii_path`` does not exist.
    ValueError
        A bad option, a slice larger than ``target_size``, or a mask that cannot be read or holds
        non-integer values (:class:`nidataset.errors.VolumeError`, naming the file and the reason).

    Notes
    -----
    The prefix is the file name without ``.nii.gz`` / ``.nii``, exactly as for the images
    (``nidataset`` 0.9.1 also dropped a trailing ``_bbox`` from the CSV names only). Objects come in
    label order; with ``components=True`` the components of one label come in the order of their
    first voxel in storage order (X fastest, then Y, then Z). Box values are integers; centres and
    radii are floats (``6.0``, ``3.5``); radii are never shifted by the padding. Slice CSVs that an
    earlier run wrote for this mask and view, on slices that now hold no object, are removed: a
    loader would otherwise read them as labels.

    Examples
    --------
    >>> import tempfile, numpy as np, nibabel as nib
    >>> folder = tempfile.mkdtemp()
    >>> mask = np.zeros((6, 8, 4), dtype=np.uint8)
    >>> mask[1:3, 2:6, 1] = 1                    # rows 1..2, columns 2..5 of axial slice 1
    >>> nib.save(nib.Nifti1Image(mask, np.eye(4)), f"{folder}/case.nii.gz")
    >>> paths = extract_annotations(f"{folder}/case.nii.gz", f"{folder}/out", data_mode="box")
    >>> [os.path.basename(p) for p in paths]
    ['case_axial_001.csv']
    >>> print(open(paths[0]).read().strip())
    X_MIN,Y_MIN,X_MAX,Y_MAX,LABEL
    2,1,5,2,1
    """
    extraction_mode = _old_name(extraction_mode, saving_mode)
    options = annotation_options(
        output_path,
        view,
        None,
        extraction_mode,
        data_mode,
        target_size,
        components=components,
        orientation=orientation,
        spacing=spacing,
        single=True,
    )
    if not os.path.isfile(nii_path) and claimed_folder(nii_path) is None:  # or a DICOM series folder
        raise FileNotFoundError(f"nii_path {nii_path!r} does not exist or is not a file")
    try:
        fitting_frames(read_header(nii_path), options)
    except VolumeError as error:
        raise VolumeError(f"{nii_path}: {error}") from None
    make_folder(options.output_path)
    outcome, written = annotate_file(nii_path, options)
    if outcome.reason is not None:
        raise VolumeError(f"{nii_path}: {outcome.reason}")
    return written


def _old_name(extraction_mode: ExtractionMode, saving_mode: ExtractionMode | None) -> ExtractionMode:
    """``extraction_mode``, or 0.9.1's ``saving_mode`` for it (with a DeprecationWarning)."""
    if saving_mode is None:
        return extraction_mode
    warnings.warn(
        "extract_annotations(saving_mode=...) is nidataset 0.9.1's name of extraction_mode=: "
        f"write extraction_mode={saving_mode!r}",
        DeprecationWarning,
        stacklevel=3,
    )
    if extraction_mode not in ("slice", saving_mode):
        raise ValueError(
            f"extraction_mode={extraction_mode!r} and its old name saving_mode={saving_mode!r} disagree: "
            "give extraction_mode alone"
        )
    return saving_mode


def extract_annotations_dataset(
    nii_folder: str,
    output_path: str,
    view: View | Sequence[View] = "axial",
    saving_mode: SavingMode = "case",
    extraction_mode: ExtractionMode = "slice",
    data_mode: DataMode = "center",
    target_size: tuple[int, int] | None = None,
    save_stats: bool = False,
    *,
    components: bool = False,
    orientation: Orientation = "stored",
    spacing: Spacing = None,
    images_folder: str | None = None,
    save_report: bool = False,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool | Progress = True,
    save_failures: bool = False,
    save_manifest: bool = False,
    resume: bool = False,
) -> RunResult:
    """Write the objects of every label mask in ``nii_folder``; a mask that cannot be used is skipped.

    Masks are found and named as :func:`~nidataset.slices.extract_slices_dataset` finds and names
    volumes, so the CSV files sit beside the images in the same layout.

    Parameters
    ----------
    nii_folder : str
        Folder whose ``.nii.gz`` / ``.nii`` files (not hidden, not in sub-folders) are the masks,
        taken in sorted name order.
        One such file is a dataset of one: the outputs its folder's run writes for it.
    output_path : str
        Root of the outputs; created if needed.
    view : str or list of str
        ``"axial"``, ``"coronal"``, ``"sagittal"``, or a list of them (each mask read once).
    saving_mode : {"case", "view"}
        ``<output>/<prefix>/<view>/`` per mask, or one ``<output>/<view>/`` folder; volume-mode
        ``<prefix>.csv`` files go to the same folders.
    extraction_mode, data_mode, target_size, components, orientation, spacing
        As in :func:`extract_annotations`.
    images_folder : str, optional
        A folder of the image volumes these masks label, named alike (same prefix): writes
        ``<output>/previews/<prefix>_<view>_preview.png``, the image's preview (as
        :func:`~nidataset.slices.extract_slices_dataset` draws it) with each label's outline in its
        own colour. A mask whose image is missing or of another shape is noted, not skipped.
    save_report : bool
        Write ``<output>/report.html``: every mask, its objects per view (or why it was skipped),
        and its previews. Every mask's slices must fit ``target_size``: checked
        from the headers before anything is written.
    save_stats : bool
        Write ``<output>/<view>_annotations_stats.csv``: ``FILENAME,NUM_ANNOTATIONS,TOTAL_ANNOTATIONS``
        per mask done (its number of objects, the running total), then a ``TOTAL_ANNOTATIONS`` row.
    workers : int, optional
        Masks processed at once on a thread pool; default all cores, ``1`` runs in this thread.
    executor : concurrent.futures.Executor, optional
        Run the per-mask jobs on this executor instead.
    progress : bool or nidataset.progress.Progress
        Show one progress bar over masks (plain lines when stderr is not a terminal) and a summary
        line, on stderr. Skipped files are reported either way.
    save_failures : bool
        Write ``<output>/annotations_failed.csv`` (``FILENAME,REASON``) listing every skipped file.
    save_manifest : bool
        Write ``<output>/<view>_manifest.csv`` with the columns of the slices' manifest, one row per
        slice CSV (the slices that hold an object), so that a box row joins its image's row on
        ``source``, ``view`` and ``slice_index``. Slice mode only.
    resume : bool
        Skip masks that an earlier run with the same options completed (each completed mask is
        recorded under ``<output>/.nidataset/annotations/``, checked against the mask's size and time
        and the CSV files present); the statistics and manifests still cover every mask.

    Returns
    -------
    RunResult
        Every file's outcome: objects found per view, or why it was skipped (``what="annotations"``).

    Raises
    ------
    FileNotFoundError
        ``nii_folder`` is missing or holds no NIfTI file.
    ValueError
        A bad option, two inputs with the same prefix, or a slice larger than ``target_size``.
    nidataset.errors.OutputError
        The output location failed (disk full, no permission); the run stops.
    """
    options = annotation_options(
        output_path,
        view,
        saving_mode,
        extraction_mode,
        data_mode,
        target_size,
        components=components,
        orientation=orientation,
        spacing=spacing,
        images_folder=images_folder,
        resume=resume,
    )
    run = run_options(
        workers,
        executor,
        progress,
        save_stats=save_stats,
        save_failures=save_failures,
        save_manifest=save_manifest,
        save_report=save_report,
    )
    if run.save_manifest and options.extraction_mode != "slice":
        raise ValueError("save_manifest lists slice files: it needs extraction_mode='slice'")
    return run_dataset(
        annotate_volume, options, nii_folder, run, what="annotations", outputs=run_outputs(run, manifest_rows)
    )
