"""The per-slice label formats of the ``yolo`` layout: mask images, YOLO box lines, box CSVs.

Each is one :class:`~nidataset.training.plugins.LabelFormat` record of
:mod:`~nidataset.training.tables`. Conventions (SPEC Parts 2 and 3): masks are the label values
(uint8, or uint16 above 255) as PNG beside PNG or JPEG images, else TIFF; YOLO lines follow
:func:`~nidataset.annotations.labels.yolo_line`, class ids from 0 in label-value order, and a slice
without objects gets an empty ``.txt`` (a background image); the box CSVs are the annotation functions'
``data_mode="box"`` slice CSVs (the same columns and values, through the same functions).
"""

from __future__ import annotations

import numpy as np

from ..annotations.formats import columns, measures
from ..annotations.labels import yolo_line
from ..io.atomic import write_text
from ..io.images import write_image
from ..io.tables import write_csv
from .plugins import LabelFormat, LabelSlice


def write_mask(item: LabelSlice) -> None:
    """The label values of the slice as an image: uint8, or uint16 when a value exceeds 255."""
    values = np.maximum(item.labels, 0)
    dtype = np.uint8 if values.size == 0 or int(values.max()) <= 255 else np.uint16
    extension = item.options.mask_extension
    write_image(item.place(f".{extension}"), values.astype(dtype), "tiff" if extension == "tif" else "png")


def write_yolo(item: LabelSlice) -> None:
    """One YOLO line per object; an empty file for a slice without objects (a background image)."""
    class_of = item.classes.index()
    lines = [yolo_line(found, class_of[found.label], item.shape) + "\n" for found in item.objects]
    write_text(item.place(".txt"), "".join(lines))


def write_box_csv(item: LabelSlice) -> None:
    """The annotation functions' box CSV of the slice (X the column, Y the row), when it holds objects."""
    if not item.objects:
        return
    rows = [[*measures("box", (o.cols[0], o.rows[0]), (o.cols[1], o.rows[1])), o.label] for o in item.objects]
    write_csv(item.place(".csv"), [columns("box", ("X", "Y")), *rows])


MASKS = LabelFormat(
    "masks", "masks", write_mask, help="label slices as images (PNG beside PNG/JPEG images, else TIFF)"
)
YOLO = LabelFormat("yolo", "labels", write_yolo, help="YOLO box lines, labels/<split>/<name>.txt")
CSV = LabelFormat("csv", "boxes", write_box_csv, help="box CSVs of the annotation functions")
