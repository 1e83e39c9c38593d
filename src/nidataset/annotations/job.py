"""The per-mask job: read a mask once, number its objects, write their CSV rows for every view.

:func:`annotate_volume` is a top-level function of a path and a frozen
:class:`~nidataset.options.AnnotationOptions`: it pickles to any executor. Objects are numbered at a
cost that does not grow with the number of labels (:mod:`~nidataset.annotations.objects`); slice
coordinates are pixels of the images, through the same :class:`~nidataset.geometry.frame.SliceFrame`.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET
from ..batch.resume import Done, Records, run_with_records
from ..errors import VolumeError
from ..geometry.frame import SliceFrame
from ..io.atomic import make_folder, remove_files
from ..io.readers import Header, open_volume, read_header
from ..io.tables import write_csv
from ..io.volumes import find_volume
from ..manifest import volume_rows
from ..naming import index_width, output_folder, own_folders, prefix_of, relative_folder, slice_filename
from ..options import FLAT, AnnotationOptions
from ..results import Outcome
from .formats import Number, columns, measures
from .objects import Objects, check_label_dtype, integer_labels, number_objects, plane_boxes


def annotate_volume(path: str, options: AnnotationOptions) -> Outcome:
    """Write the annotation CSVs of one mask; on a problem of the mask, remove them and say why.

    The counts are the number of objects, once per view.
    """
    return annotate_file(path, options)[0]


def annotate_file(path: str, options: AnnotationOptions) -> tuple[Outcome, list[str]]:
    """:func:`annotate_volume`, and the CSV paths it wrote in order (none when skipped or reused)."""
    prefix = prefix_of(os.path.basename(path))
    output, views = options.output_path, options.views
    indices: list[tuple[int, ...]] = []  # per view, the slices that got a CSV
    notes: list[str] = []

    def work(written: list[str], done: Done) -> tuple[int, ...]:
        count = _annotate(path, options, prefix, written, indices, notes)
        return (count,) * len(views)

    records = Records(output, views, prefix, options.output_key, KIND)
    result = run_with_records(
        path,
        work,
        records if options.saving_mode != FLAT else None,  # dataset runs: a rerun removes the last one's
        lambda written: [_own(written, prefix, view, options) for view in views],
        resume=options.resume,
        own_folders=own_folders(output, prefix, views, options.saving_mode),
        what="mask",
    )
    if result.outcome.skipped:
        return result.outcome, result.written
    if result.reused:  # the slices that got a CSV are in the names its records list
        indices = [
            _listed_indices(names, prefix, view) for names, view in zip(result.listed, views, strict=True)
        ]
    kept = None if options.extraction_mode == "volume" else tuple(indices)
    return replace(result.outcome, indices=kept, note=notes[0] if notes else None), result.written


def _listed_indices(names: list[str], prefix: str, view: str) -> tuple[int, ...]:
    """The slice indices of the CSV names ``<prefix>_<view>_<index>.csv`` among ``names``."""
    start = f"{prefix}_{view}_"
    found = []
    for name in names:
        base = name.rsplit("/", 1)[-1]
        number = base[len(start) : -len(".csv")]
        if base.startswith(start) and base.endswith(".csv") and number.isdigit():
            found.append(int(number))
    return tuple(sorted(found))


#: Annotation runs keep their records apart from the slices' (the two may share an output folder).
KIND = "annotations"


def _own(written: list[str], prefix: str, view: str, options: AnnotationOptions) -> list[str]:
    """The files of one view: slice CSVs and previews, and the volume-mode CSV in the view's folder."""
    folder = output_folder(options.output_path, prefix, view, options.saving_mode)
    return [
        p
        for p in written
        if os.path.basename(p).startswith(f"{prefix}_{view}_")
        or (os.path.basename(p) == f"{prefix}.csv" and os.path.dirname(p) == folder)
    ]


def manifest_rows(path: str, outcome: Outcome, options: AnnotationOptions) -> list[list[list[object]]]:
    """The manifest rows of the slice CSVs of one mask, per view, in the images' columns.

    ``dtype`` is left empty (a CSV has none); ``interpolation`` is ``nearest`` when resampled.
    """
    header = read_header(path)
    frames = fitting_frames(header, options)
    prefix = prefix_of(outcome.name)
    return volume_rows(
        frames,
        header.affine,
        source=outcome.name,
        folders=[relative_folder(prefix, frame.view, options.saving_mode) for frame in frames],
        indices=outcome.indices or (),
        extension="csv",
        dtype="",
    )


def _annotate(
    path: str,
    options: AnnotationOptions,
    prefix: str,
    written: list[str],
    indices: list[tuple[int, ...]],
    notes: list[str],
) -> int:
    reader = open_volume(path)
    header = reader.header
    image_bytes = _image_bytes(options, prefix)  # reserved with the mask: one reservation at a time
    with reader, BUDGET.reserve(_held(header) + image_bytes, f"mask of shape {header.shape}"):
        frames = fitting_frames(header, options)
        check_label_dtype(header.dtype)  # before reading all of an RGB or complex file
        labels = integer_labels(reader.volume(), header.slope, header.inter)
        if options.images_folder is not None:
            _overlay_previews(path, labels, options, prefix, written, notes)
        objects = number_objects(labels, components=options.components)
        del labels  # often the same array as objects.ids; else no longer needed
    for frame in frames:
        folder = output_folder(options.output_path, prefix, frame.view, options.saving_mode)
        make_folder(folder)
        if options.extraction_mode == "volume":
            _write_volume_csv(objects, os.path.join(folder, f"{prefix}.csv"), options.data_mode, written)
        else:
            rows = _write_slice_csvs(objects, frame, options.data_mode, folder, prefix, written)
            indices.append(tuple(sorted(rows)))
    return len(objects.items)


def _image_bytes(options: AnnotationOptions, prefix: str) -> int:
    """The voxels of the image its previews are drawn on (0 without one, or when it is unreadable)."""
    if options.images_folder is None:
        return 0
    image_path = find_volume(options.images_folder, prefix)
    try:
        return 0 if image_path is None else read_header(image_path).nbytes
    except VolumeError:
        return 0


def _held(header: Header) -> int:
    """What reading and numbering a mask holds at most: the stored voxels, their real values when
    scaled or float (float64) and the integer labels (int64), and the object ids (up to 4 bytes)."""
    voxels = header.nbytes // header.dtype.itemsize
    scaled = header.slope is not None or header.dtype.kind == "f"
    return header.nbytes + voxels * ((8 + 8) if scaled else 0) + voxels * 4


def _overlay_previews(
    path: str,
    labels: np.ndarray,
    options: AnnotationOptions,
    prefix: str,
    written: list[str],
    notes: list[str],
) -> None:
    """Previews of the image with this mask's prefix, each label outlined; a note when it cannot be."""
    from ..viewing.job import write_previews

    assert options.images_folder is not None
    image_path = find_volume(options.images_folder, prefix)
    name = os.path.basename(path)
    if image_path is None:
        notes.append(f"{name}: no image with its prefix in {options.images_folder}; no preview")
        return
    try:
        with open_volume(image_path) as reader:  # its memory is in the mask's reservation
            if reader.header.shape != labels.shape:
                raise VolumeError(f"its shape {reader.header.shape} is not the mask's {labels.shape}")
            image = reader.volume()
            write_previews(
                image,
                reader.header,
                options.output_path,
                prefix,
                options.views,
                orientation=options.orientation,
                labels=labels,
                written=written,
            )
    except VolumeError as error:
        notes.append(f"{name}: image {os.path.basename(image_path)} not previewed: {error}")


def _write_volume_csv(objects: Objects, path: str, data_mode: str, written: list[str]) -> None:
    """One row per object: its 3D box in voxel indices of the stored axes, whatever the view."""
    rows = [[*measures(data_mode, o.first, o.last), o.label] for o in objects.items]
    write_csv(path, [columns(data_mode, ("X", "Y", "Z")), *rows])
    written.append(path)


def _write_slice_csvs(
    objects: Objects, frame: SliceFrame, data_mode: str, folder: str, prefix: str, written: list[str]
) -> dict[int, list[list[Number]]]:
    """One CSV per slice that holds an object, in the pixel frame of that slice's (padded) image."""
    rows = slice_rows(objects, frame, data_mode)
    width = index_width(frame.count)
    paths = [
        os.path.join(folder, slice_filename(prefix, frame.view, i, width, "csv")) for i in range(frame.count)
    ]
    header = columns(data_mode, ("X", "Y"))
    for index in sorted(rows):
        write_csv(paths[index], [header, *rows[index]])
        written.append(paths[index])
    # A CSV left by an earlier run on a slice that now holds no object would be read as its labels.
    # Removing this mask's own names (not listing the folder, shared by every mask in "view" mode)
    # keeps the cost to one call per slice.
    remove_files(path for index, path in enumerate(paths) if index not in rows)
    return rows


def slice_rows(objects: Objects, frame: SliceFrame, data_mode: str) -> dict[int, list[list[Number]]]:
    """The CSV rows of each slice index that holds an object, objects in their order.

    X is the image column and Y the image row, both in the frame's (padded) image. Each slice's
    boxes are tight on that slice: one find_objects pass over the slice gives every object's extent.
    """
    if not objects.items:
        return {}
    top, left = frame.offsets
    label_of = {o.id: o.label for o in objects.items}
    ends = [frame.slice_index(o.first[frame.axis]) for o in objects.items]
    ends += [frame.slice_index(o.last[frame.axis]) for o in objects.items]
    start, stop = min(ends), max(ends) + 1
    rows: dict[int, list[list[Number]]] = {}
    for offset, plane in enumerate(frame.planes(objects.ids, start, stop)):
        found = plane_boxes(frame.resample(plane))
        if found:
            rows[start + offset] = [
                [*measures(data_mode, (c0 + left, r0 + top), (c1 + left, r1 + top)), label_of[i]]
                for i, r0, r1, c0, c1 in found
            ]
    return rows
