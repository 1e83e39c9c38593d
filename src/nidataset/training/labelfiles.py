"""The per-slice label formats of the ``yolo`` layout: mask images, YOLO box lines, box CSVs.

Each is one :class:`~nidataset.training.plugins.LabelFormat` record of
:mod:`~nidataset.training.tables`. Conventions (SPEC Parts 2 and 3): masks are the label values
(uint8, or uint16 above 255) as PNG beside PNG or JPEG images, else TIFF; YOLO lines follow
:func:`~nidataset.annotations.labels.yolo_line`, class ids from 0 in label-value order, and a slice
without objects gets an empty ``.txt`` (a background image); the ids are known once every mask has
been read, so the pairs leave the boxes as entries and YOLO's finisher writes the files; the box
CSVs are the annotation functions' ``data_mode="box"`` slice CSVs (the same columns and values,
through the same functions).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..annotations.formats import columns, measures
from ..io.atomic import make_folder, write_atomic, write_reserved
from ..io.image_formats import Parts
from ..io.tables import write_csv
from .plugins import FinishedDataset, LabelFormat, LabelSlice

# numpy and the modules that import it are imported in the functions that use them: the CLI reads
# this module's records for its help and usage errors, which then start without numpy.
if TYPE_CHECKING:
    import numpy as np


def png_labels(image: np.ndarray) -> Parts:
    """A PNG of label values, deflated by isal (:func:`~nidataset.io.png.png_bytes`, ``labels=True``)."""
    from ..io.png import png_bytes

    return [png_bytes(image, labels=True)]


#: Label images' own encoders, by image format, where one is faster than the format's: a PNG of label
#: values is deflated by isal (:func:`~nidataset.io.png.png_bytes`, ``labels=True``: the same
#: pixels, 0.09 against 0.5 ms a 512 x 512 mask), and a plane stored column by column goes into its
#: rows as it lies.
LABEL_ENCODERS: dict[str, Callable[[np.ndarray], Parts]] = {
    "png": png_labels,
}


def write_label_image(path: str, image: np.ndarray, image_format: str) -> None:
    """Write an image of label values (a mask, nnU-Net's labels) atomically: by the format's label
    encoder (:data:`LABEL_ENCODERS`), else by its own from a row-major copy."""
    from ..annotations.labels import c_order
    from ..io.images import image_parts, write_parts

    encode = LABEL_ENCODERS.get(image_format)
    parts = encode(image) if encode is not None else image_parts(c_order(image), image_format)
    write_atomic(path, lambda temporary: write_parts(temporary, parts))


def write_mask(item: LabelSlice) -> None:
    """The label values of the slice as an image: uint8, or uint16 when a value exceeds 255."""
    import numpy as np

    values = item.labels if item.labels.dtype.kind in "ub" else np.maximum(item.labels, 0)
    small = values.dtype.itemsize == 1 or values.size == 0 or int(values.max()) <= 255  # uint8: no pass
    dtype = np.uint8 if small else np.uint16
    image = values if values.dtype == dtype else values.astype(dtype, order="K")  # in its memory order
    write_label_image(item.place(f".{item.options.mask_extension}"), image, item.options.mask_format)


def yolo_entry(item: LabelSlice) -> dict[str, object]:
    """The slice's label file and its boxes as ``[label value, "cx cy w h"]``: the class ids are the
    finisher's, once every mask has been read. The file itself is created now, empty and hidden
    (:func:`reserved`)."""
    from ..annotations.labels import yolo_line

    boxes = [[found.label, yolo_line(found, 0, item.shape).split(" ", 1)[1]] for found in item.objects]
    return reserved(item, {"file": f"{item.folder}/{item.stem}.txt", "boxes": boxes})


def reserved(item: LabelSlice, entry: dict[str, object]) -> dict[str, object]:
    """``entry`` with the hidden temporary its finisher fills (``"temporary"``), created by the
    worker: creating a file cost 0.1-0.7 ms on the 2026-12-06 machine, a third of the serial
    finisher's time when it created every label file itself."""
    if item.reserve is not None:
        entry["temporary"] = item.reserve(".txt")
    return entry


def write_label_text(output_path: str, entry: dict[str, object], text: str) -> str:
    """Put a label file's ``text`` in place through the temporary its worker reserved (a new one when
    it is gone: a pair resumed from an earlier run); its path."""
    path = os.path.join(output_path, str(entry["file"]))
    temporary = entry.get("temporary")
    reserved_path = os.path.join(output_path, temporary) if isinstance(temporary, str) else None
    write_reserved(reserved_path, path, text.replace("\n", os.linesep).encode("utf-8"))  # as text mode writes
    return path


def finish_yolo(dataset: FinishedDataset) -> list[str]:
    """One YOLO line per object; an empty file for a slice without objects (a background image)."""
    return finish_label_lines(dataset, "yolo", "boxes")


def finish_label_lines(dataset: FinishedDataset, name: str, key: str) -> list[str]:
    """The label files of format ``name``: a line per ``[label value, rest]`` of each entry's ``key``,
    the value replaced by its class id (known once every mask has been read); an empty file for a
    slice without objects."""
    class_of = dataset.classes.index()
    written = []
    folders: set[str] = set()
    for entries in dataset.entries.get(name, {}).values():
        for entry in entries:
            folder = os.path.dirname(os.path.join(dataset.output_path, entry["file"]))  # type: ignore[index]
            if folder not in folders:
                make_folder(folder)
                folders.add(folder)
            lines = entry[key]  # type: ignore[index]
            text = "".join(f"{class_of[value]} {rest}\n" for value, rest in lines)
            written.append(write_label_text(dataset.output_path, entry, text))  # type: ignore[arg-type]
    return written


def write_box_csv(item: LabelSlice) -> None:
    """The annotation functions' box CSV of the slice (X the column, Y the row), when it holds objects."""
    if not item.objects:
        return
    rows = [[*measures("box", (o.cols[0], o.rows[0]), (o.cols[1], o.rows[1])), o.label] for o in item.objects]
    write_csv(item.place(".csv"), [columns("box", ("X", "Y")), *rows])


MASKS = LabelFormat(
    "masks", "masks", write_mask, help="label slices as images (PNG beside PNG/JPEG images, else TIFF)"
)
YOLO = LabelFormat(
    "yolo", "labels", yolo_entry, finish_yolo, help="YOLO box lines, labels/<split>/<name>.txt"
)
CSV = LabelFormat("csv", "boxes", write_box_csv, help="box CSVs of the annotation functions")
