"""The ``yolo-seg`` label format: YOLO segmentation lines, one polygon per 2D component of each object.

SPEC Part 3: ``labels/<split>/<name>.txt`` (the folder YOLO's boxes use, so not both), one line per
8-connected component of each object on the slice, ``class x1 y1 ... xn yn``: the component's outer
boundary along pixel edges (:mod:`nidataset.annotations.polygons`), each coordinate divided by W or H,
6 decimals; an empty file for a slice without objects (a background image). Class ids are the
finisher's, once every mask has been read, as for YOLO's boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .labelfiles import finish_label_lines, reserved
from .plugins import FinishedDataset, LabelFormat, LabelSlice

if TYPE_CHECKING:  # for annotations only: the CLI reads this module's records for its help
    import numpy as np

    from ..annotations.labels import SliceObject

NAME = "yolo-seg"


def coco_polygons(mask: np.ndarray) -> object:
    """:func:`nidataset.annotations.polygons.coco_polygons`, imported on first use: the CLI reads
    this module's records (and :data:`COCO_SEGMENTATIONS`) for its help, without numpy."""
    from ..annotations.polygons import coco_polygons as trace

    return trace(mask)


#: ``coco_segmentation=``: how a COCO annotation's ``segmentation`` holds the object's mask. "rle"
#: (None: COCO's own runs): uncompressed RLE, exact; "polygon": the outer boundary of each 2D
#: component on pixel edges (holes not represented), what COCO specifies for ``iscrowd: 0`` and what
#: CVAT edits.
COCO_SEGMENTATIONS: dict[str, Callable[[np.ndarray], object] | None] = {"rle": None, "polygon": coco_polygons}


def segments_entry(item: LabelSlice) -> dict[str, object]:
    """The slice's label file and its polygons as ``[label value, "x1 y1 ... xn yn"]``."""
    from ..annotations.polygons import yolo_segments  # here: the CLI reads this module, without numpy

    segments = [
        [found.label, line.split(" ", 1)[1]]
        for found in item.objects
        for line in yolo_segments(found.mask, 0, item.shape, _origin(found))
    ]
    return reserved(item, {"file": f"{item.folder}/{item.stem}.txt", "segments": segments})


def _origin(found: SliceObject) -> tuple[int, int]:
    """Where the object's ``mask`` starts in the image: its extent's first pixel when it holds only
    that (traced there, not on an image-sized mask per object), else the image's."""
    return (0, 0) if found.shape is None else (found.rows[0], found.cols[0])


def finish_segments(dataset: FinishedDataset) -> list[str]:
    """One line per polygon with its class id; an empty file for a slice without objects."""
    return finish_label_lines(dataset, NAME, "segments")


YOLO_SEG = LabelFormat(
    NAME,
    "labels",
    segments_entry,
    finish_segments,
    help="YOLO segmentation polygons (pixel edges, per 2D component), labels/<split>/<name>.txt",
)
