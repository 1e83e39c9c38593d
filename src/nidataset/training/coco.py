"""COCO detection files: one entry per slice from the pair jobs, merged by COCO's finisher.

SPEC Part 3: ``annotations/instances_<split>.json`` (COCO 2017's names), or
``annotations/instances.json`` without splits, each with ``info``, ``licenses: []``, ``images``
(``file_name`` relative to the split's image folder, every image, with or without objects),
``annotations`` (``iscrowd: 0``, ids from 1) and ``categories`` (ids from 1 in label-value order,
named by ``label_names``).
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from ..io.atomic import make_folder, open_temporary, write_atomic
from .plugins import FinishedDataset, LabelFormat, LabelSlice

# numpy and the modules that import it are imported in the functions that use them: the CLI reads
# this module's record for its help and usage errors, which then start without numpy.
if TYPE_CHECKING:
    import numpy as np

    from ..annotations.labels import SliceObject

#: The folder of the COCO files, under the dataset's root.
FOLDER = "annotations"


def coco_entry(item: LabelSlice) -> dict[str, object]:
    """The slice's COCO image and its annotations, each with its label value as ``category_id``: the
    finisher numbers images, annotations and categories once every mask has been read."""
    from .segments import COCO_SEGMENTATIONS

    polygons = COCO_SEGMENTATIONS[item.options.coco_segmentation]  # None: RLE
    annotations = [coco_annotation(found, found.counts) for found in item.objects]
    if polygons is not None:
        for annotation, found in zip(annotations, item.objects, strict=True):
            annotation["segmentation"] = _polygons(found, polygons)
    for annotation in annotations:  # its JSON text: the finisher copies it, never parses its numbers
        annotation["segmentation"] = json.dumps(annotation["segmentation"])
    return {
        "file_name": item.image_name,
        "height": int(item.shape[0]),
        "width": int(item.shape[1]),
        "annotations": annotations,
    }


def coco_annotation(item: SliceObject, counts: list[int] | None = None) -> dict[str, object]:
    """A COCO annotation without its ids, its label value as ``category_id`` (SPEC Part 2: ``bbox`` on
    pixel edges, ``area`` the pixel count, ``iscrowd`` 0, uncompressed RLE ``segmentation``);
    ``counts`` are the object's runs when they are known already."""
    from ..annotations.labels import boxed_counts

    (r0, r1), (c0, c1) = item.rows, item.cols
    if counts is None:  # an object holding its extent's pixels only needs no image-sized mask
        counts = rle_counts(item.mask) if item.shape is None else boxed_counts(item)
    height, width = item.mask.shape if item.shape is None else item.shape
    return {
        "category_id": item.label,
        "bbox": [c0, r0, c1 - c0 + 1, r1 - r0 + 1],
        "area": int(sum(counts[1::2])),
        "iscrowd": 0,
        "segmentation": {"size": [int(height), int(width)], "counts": counts},
    }


def _polygons(item: SliceObject, polygons: Callable[[np.ndarray], object]) -> object:
    """The polygons of an object, ``[x1, y1, ...]`` on pixel edges: traced on its extent's pixels and
    moved to its place (exactly the image's own polygons, since the tracer sees outside a mask as
    background either way), not on an image-sized mask per object.

    >>> import numpy as np
    >>> from nidataset.annotations.labels import SliceObject
    >>> from nidataset.annotations.polygons import coco_polygons
    >>> item = SliceObject(1, (1, 1), (2, 2), np.ones((1, 1), bool), (3, 4))
    >>> whole = np.zeros((3, 4), bool)
    >>> whole[1, 2] = True
    >>> _polygons(item, coco_polygons) == coco_polygons(whole)
    True
    """
    found = polygons(item.mask)
    if item.shape is None:
        return found
    (r0, _), (c0, _) = item.rows, item.cols
    return [[v + (r0 if i % 2 else c0) for i, v in enumerate(polygon)] for polygon in found]  # type: ignore[attr-defined]


def rle_counts(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed run lengths of a boolean mask: runs of 0 then 1, alternately, column-major
    (no integer copy of the plane).

    >>> import numpy as np
    >>> rle_counts(np.array([[1, 0], [1, 1]], bool)), rle_counts(np.zeros((2, 2), bool))
    ([0, 2, 1, 1], [4])
    """
    import numpy as np

    from ..annotations.labels import c_order

    flat = c_order(mask.T).ravel()  # column-major order
    if flat.size == 0:
        return [0]
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate(([0], changes, [flat.size]))
    counts = np.diff(edges).tolist()
    return [0, *counts] if flat[0] else counts


def coco_path(output_path: str, split: str | None) -> str:
    """Where the COCO file of a split goes."""
    return os.path.join(output_path, FOLDER, f"instances_{split}.json" if split else "instances.json")


def finish_coco(dataset: FinishedDataset) -> list[str]:
    """One COCO file per split that exists, images and annotations numbered from 1 across the dataset.

    Written as it is read, a pair's fragment at a time (images, then annotations: two passes), so a
    dataset's annotations never need to fit in memory; the bytes are ``json.dumps`` of the whole.
    """
    from .. import __version__

    info = {
        "description": f"2D slices by nidataset {__version__} build_dataset, layout={dataset.layout.name}",
        "version": __version__,
        "date_created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y/%m/%d"),
    }
    categories = [
        {"id": number + 1, "name": name, "supercategory": "label"}
        for number, name in enumerate(dataset.classes.names)
    ]
    category_of = {value: number + 1 for value, number in dataset.classes.index().items()}
    entries = dataset.entries.get("coco", {})
    written = []
    first_image = first_annotation = 1
    make_folder(os.path.join(dataset.output_path, FOLDER))
    for split in dataset.splits:
        listed = entries.get(split, ())
        head = json.dumps({"info": info, "licenses": []})[:-1]
        parts = _CocoParts(listed, first_image, first_annotation, category_of)
        path = coco_path(dataset.output_path, split)

        def write(temporary: str, head: str = head, parts: _CocoParts = parts) -> None:
            with open(open_temporary(temporary), "w", encoding="utf-8") as handle:
                handle.write(head + ', "images": [')
                _join(handle, parts.images())
                handle.write('], "annotations": [')
                _join(handle, parts.annotations())
                handle.write(f'], "categories": {json.dumps(categories)}}}')

        write_atomic(path, write)
        first_image, first_annotation = parts.next_image, parts.next_annotation
        written.append(path)
    return written


@dataclass
class _CocoParts:
    """A split's images and annotations as JSON text, numbered from the given ids, from its entries."""

    entries: Iterable[object]
    first_image: int
    first_annotation: int
    category_of: dict[int, int]
    next_image: int = 0
    next_annotation: int = 0

    def images(self) -> Iterator[str]:
        image_id = self.first_image
        for entry in self.entries:
            image = {key: value for key, value in entry.items() if key != "annotations"}  # type: ignore[attr-defined]
            yield json.dumps({"id": image_id, **image})
            image_id += 1
        self.next_image = image_id

    def annotations(self) -> Iterator[str]:
        image_id, annotation_id = self.first_image, self.first_annotation
        for entry in self.entries:
            for annotation in entry["annotations"]:  # type: ignore[index]
                category = self.category_of[annotation["category_id"]]
                yield _annotation_text(
                    {"id": annotation_id, "image_id": image_id, **annotation, "category_id": category}
                )
                annotation_id += 1
            image_id += 1
        self.next_annotation = annotation_id


def _annotation_text(annotation: dict[str, object]) -> str:
    """``json.dumps(annotation)``, its ``segmentation`` (the last key) copied as the JSON text the pair
    left (the runs of a noisy mask are thousands of numbers: parsing and printing them again took
    most of the finisher's time); an entry of an earlier version holds the segmentation itself.

    >>> _annotation_text({"id": 1, "area": 2, "segmentation": '{"size": [1, 2], "counts": [0, 2]}'})
    '{"id": 1, "area": 2, "segmentation": {"size": [1, 2], "counts": [0, 2]}}'
    """
    segmentation = annotation.get("segmentation")
    if not isinstance(segmentation, str) or next(reversed(annotation)) != "segmentation":
        return json.dumps(annotation)
    rest = json.dumps({key: value for key, value in annotation.items() if key != "segmentation"})
    return f'{rest[:-1]}, "segmentation": {segmentation}}}'


def _join(handle: TextIO, items: Iterable[str]) -> None:
    """Write ``items`` separated as ``json.dumps`` separates list items."""
    for number, item in enumerate(items):
        handle.write(item if number == 0 else ", " + item)


COCO = LabelFormat(
    "coco",
    None,
    coco_entry,
    finish_coco,
    help="COCO detection files with RLE masks, annotations/instances_<split>.json",
)
