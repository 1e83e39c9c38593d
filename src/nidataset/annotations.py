"""Annotations from label masks: boxes, centres and radii of objects, on the slices' own geometry.

The per-file job :func:`annotate_volume` reads a mask once, numbers its objects at a cost that does not
grow with the number of labels (:mod:`nidataset.objects`), and writes CSV files whose coordinates are
pixels of the images :func:`nidataset.slices.extract_slices_dataset` writes for the same volume and
``target_size``: the view table of :mod:`nidataset.views` and the padding rule of
:mod:`nidataset.padding` are the ones the images use. The public functions validate every option
first, then run the job through the one runner.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from .dataset import run_dataset
from .errors import VolumeError
from .extraction import check_fits
from .naming import SAVING_MODES, index_width, output_folder, prefix_of, slice_filename
from .objects import Objects, check_label_dtype, integer_labels, number_objects, plane_boxes
from .options import check_choice, check_target_size, check_views
from .padding import pad_offsets
from .progress import Progress
from .results import Outcome, RunResult
from .views import VIEW_AXIS, slice_count, slice_shape, slice_stack, take_slice
from .volumes import VolumeReader, read_header
from .writers import make_folder, remove_files, write_csv

__all__ = ["extract_annotations", "extract_annotations_dataset"]

EXTRACTION_MODES: tuple[str, ...] = ("slice", "volume")
DATA_MODES: tuple[str, ...] = ("center", "box", "radius")

Number = int | float


@dataclass(frozen=True)
class AnnotationJob:
    """Options of one annotation run, validated by the public functions before any file is written."""

    output_path: str
    views: tuple[str, ...] = ("axial",)
    saving_mode: str = "case"  # "case", "view", or "flat" (extract_annotations: straight into output_path)
    extraction_mode: str = "slice"
    data_mode: str = "center"
    target_size: tuple[int, int] | None = None
    components: bool = False


def extract_annotations(
    nii_path: str,
    output_path: str,
    view: str = "axial",
    extraction_mode: str = "slice",
    data_mode: str = "center",
    target_size: tuple[int, int] | None = None,
    *,
    components: bool = False,
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
    job = _job(output_path, view, "flat", extraction_mode, data_mode, target_size, components)
    if not os.path.isfile(nii_path):
        raise FileNotFoundError(f"nii_path {nii_path!r} does not exist or is not a file")
    try:
        check_fits(read_header(nii_path), job.views, job.target_size)
    except VolumeError as error:
        raise VolumeError(f"{nii_path}: {error}") from None
    make_folder(job.output_path)
    outcome, written = _annotate_file(nii_path, job)
    if outcome.reason is not None:
        raise VolumeError(f"{nii_path}: {outcome.reason}")
    return written


def extract_annotations_dataset(
    nii_folder: str,
    output_path: str,
    view: str | Sequence[str] = "axial",
    saving_mode: str = "case",
    extraction_mode: str = "slice",
    data_mode: str = "center",
    target_size: tuple[int, int] | None = None,
    save_stats: bool = False,
    *,
    components: bool = False,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool | Progress = True,
    save_failures: bool = False,
) -> RunResult:
    """Write the objects of every label mask in ``nii_folder``; a mask that cannot be used is skipped.

    Masks are found and named as :func:`~nidataset.slices.extract_slices_dataset` finds and names
    volumes, so the CSV files sit beside the images in the same layout.

    Parameters
    ----------
    nii_folder : str
        Folder whose ``.nii.gz`` / ``.nii`` files (not hidden, not in sub-folders) are the masks,
        taken in sorted name order.
    output_path : str
        Root of the outputs; created if needed.
    view : str or list of str
        ``"axial"``, ``"coronal"``, ``"sagittal"``, or a list of them (each mask read once).
    saving_mode : {"case", "view"}
        ``<output>/<prefix>/<view>/`` per mask, or one ``<output>/<view>/`` folder; volume-mode
        ``<prefix>.csv`` files go to the same folders.
    extraction_mode, data_mode, target_size, components
        As in :func:`extract_annotations`. Every mask's slices must fit ``target_size``: checked
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
    check_choice("saving_mode", saving_mode, SAVING_MODES)
    job = _job(output_path, view, saving_mode, extraction_mode, data_mode, target_size, components)
    return run_dataset(
        annotate_volume,
        job,
        nii_folder,
        what="annotations",
        workers=workers,
        executor=executor,
        progress=progress,
        save_stats=save_stats,
        save_failures=save_failures,
    )


def _job(
    output_path: str,
    view: str | Sequence[str],
    saving_mode: str,
    extraction_mode: str,
    data_mode: str,
    target_size: object,
    components: object,
) -> AnnotationJob:
    views = check_views(view)
    if saving_mode == "flat" and len(views) != 1:
        raise ValueError(f"view must be one view for a single mask; got {view!r}")
    if not isinstance(components, bool):
        raise ValueError(f"components must be True or False; got {components!r}")
    return AnnotationJob(
        output_path=os.fspath(output_path),
        views=views,
        saving_mode=saving_mode,
        extraction_mode=check_choice("extraction_mode", extraction_mode, EXTRACTION_MODES),
        data_mode=check_choice("data_mode", data_mode, DATA_MODES),
        target_size=check_target_size(target_size),
        components=components,
    )


def annotate_volume(path: str, job: AnnotationJob) -> Outcome:
    """Write the annotation CSVs of one mask; on a problem of the mask, remove them and say why.

    The counts are the number of objects, once per view of the job.
    """
    return _annotate_file(path, job)[0]


def _annotate_file(path: str, job: AnnotationJob) -> tuple[Outcome, list[str]]:
    name = os.path.basename(path)
    written: list[str] = []
    try:
        count = _annotate(path, job, prefix_of(name), written)
    except VolumeError as error:
        remove_files(written)
        return Outcome(name, reason=str(error)), []
    except MemoryError:
        remove_files(written)
        return Outcome(name, reason="not enough memory to hold the mask"), []
    except BaseException:
        remove_files(written)
        raise
    return Outcome(name, (count,) * len(job.views)), written


def _annotate(path: str, job: AnnotationJob, prefix: str, written: list[str]) -> int:
    with VolumeReader(path) as reader:
        header = reader.header
        check_fits(header, job.views, job.target_size)
        check_label_dtype(header.dtype)  # before reading all of an RGB or complex file
        labels = integer_labels(reader.volume(), header.slope, header.inter)
    objects = number_objects(labels, components=job.components)
    del labels  # often the same array as objects.ids; else no longer needed
    for view in job.views:
        folder = output_folder(job.output_path, prefix, view, job.saving_mode)
        make_folder(folder)
        if job.extraction_mode == "volume":
            _write_volume_csv(objects, os.path.join(folder, f"{prefix}.csv"), job.data_mode, written)
        else:
            _write_slice_csvs(objects, view, job, folder, prefix, written)
    return len(objects.items)


def _write_volume_csv(objects: Objects, path: str, data_mode: str, written: list[str]) -> None:
    """One row per object: its 3D box in voxel indices of the stored axes, whatever the view."""
    rows = [[*measures(data_mode, o.first, o.last), o.label] for o in objects.items]
    write_csv(path, [columns(data_mode, ("X", "Y", "Z")), *rows])
    written.append(path)


def _write_slice_csvs(
    objects: Objects,
    view: str,
    job: AnnotationJob,
    folder: str,
    prefix: str,
    written: list[str],
) -> None:
    """One CSV per slice that holds an object, in the pixel frame of that slice's (padded) image."""
    rows = slice_rows(objects, view, job.data_mode, job.target_size)
    count = slice_count(objects.ids.shape, view)
    paths = [
        os.path.join(folder, slice_filename(prefix, view, i, index_width(count), "csv")) for i in range(count)
    ]
    header = columns(job.data_mode, ("X", "Y"))
    for index in sorted(rows):
        write_csv(paths[index], [header, *rows[index]])
        written.append(paths[index])
    # A CSV left by an earlier run on a slice that now holds no object would be read as its labels.
    # Removing this mask's own names (not listing the folder, shared by every mask in "view" mode)
    # keeps the cost to one call per slice.
    remove_files(path for index, path in enumerate(paths) if index not in rows)


def slice_rows(
    objects: Objects, view: str, data_mode: str, target_size: tuple[int, int] | None
) -> dict[int, list[list[Number]]]:
    """The CSV rows of each slice index that holds an object, objects in their order.

    X is the image column (the view's second plane axis) and Y the image row (the first), both
    shifted by the left and top padding that ``target_size`` gives the images. Each slice's boxes
    are tight on that slice: one find_objects pass over the slice gives every object's extent.
    """
    if not objects.items:
        return {}
    shape = slice_shape(objects.ids.shape, view)
    top, left = (0, 0) if target_size is None else pad_offsets(shape, target_size)
    label_of = {o.id: o.label for o in objects.items}
    start, planes = _planes(objects, view)
    rows: dict[int, list[list[Number]]] = {}
    for offset, plane in enumerate(planes):
        found = plane_boxes(plane)
        if found:
            rows[start + offset] = [
                [*measures(data_mode, (c0 + left, r0 + top), (c1 + left, r1 + top)), label_of[i]]
                for i, r0, r1, c0, c1 in found
            ]
    return rows


def _planes(objects: Objects, view: str) -> tuple[int, Iterable[np.ndarray]]:
    """(first slice index, the 2D ids of each slice from there to the last that holds an object).

    Slices are read in place, except when the view slices across the array's fastest axis (the
    sagittal view of a NIfTI volume): each slice would then touch a cache line per voxel, so the
    slices are first laid out by :func:`~nidataset.views.slice_stack`, one cache-friendly copy.
    """
    axis = VIEW_AXIS[view]
    start = min(o.first[axis] for o in objects.items)
    stop = max(o.last[axis] for o in objects.items) + 1
    if int(np.argmin(objects.ids.strides)) != axis:
        return start, (take_slice(objects.ids, view, index) for index in range(start, stop))
    key = [slice(None)] * 3
    key[axis] = slice(start, stop)
    return start, slice_stack(objects.ids[tuple(key)], view)


def columns(data_mode: str, axes: Sequence[str]) -> list[str]:
    """The CSV header of ``data_mode`` for the named axes, then ``LABEL``.

    >>> columns("radius", ("X", "Y"))
    ['CENTER_X', 'CENTER_Y', 'RADIUS_X', 'RADIUS_Y', 'LABEL']
    """
    centres = [f"CENTER_{a}" for a in axes]
    names = {
        "box": [f"{a}_MIN" for a in axes] + [f"{a}_MAX" for a in axes],
        "center": centres,
        "radius": centres + [f"RADIUS_{a}" for a in axes],
    }[data_mode]
    return [*names, "LABEL"]


def measures(data_mode: str, first: Sequence[int], last: Sequence[int]) -> list[Number]:
    """The values of ``data_mode`` for an inclusive box from ``first`` to ``last`` (one per axis).

    Centres are ``(min + max) / 2`` and radii ``(max - min) / 2``, as floats.

    >>> measures("box", (2, 1), (5, 2)), measures("radius", (2, 1), (5, 2))
    ([2, 1, 5, 2], [3.5, 1.5, 1.5, 0.5])
    """
    if data_mode == "box":
        return [*first, *last]
    centres = [(a + b) / 2 for a, b in zip(first, last, strict=True)]
    if data_mode == "center":
        return list(centres)
    return centres + [(b - a) / 2 for a, b in zip(first, last, strict=True)]
