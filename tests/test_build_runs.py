"""The builder's label shortcuts (issue 19, "labels nearly free") against plain computations: a plane's
objects, extents and COCO runs from one pass, planes in any memory order, the label values of a slab,
a COCO annotation spliced from its segmentation's text, and a component's runs from its extent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nidataset.annotations.labels import SliceObject, boxed_counts, c_order
from nidataset.training.coco import _annotation_text, _polygons, coco_annotation
from nidataset.training.job import label_values
from nidataset.training.writer import plane_objects


def _planes() -> list[np.ndarray]:
    """Random label planes of several dtypes, sizes and densities, in C, Fortran and flipped order."""
    rng = np.random.default_rng(19)
    planes = []
    for number in range(120):
        height, width = (int(v) for v in rng.integers(1, 30, 2))
        dtype = (np.uint8, np.int16, np.uint16, np.int32)[number % 4]
        low = -2 if np.dtype(dtype).kind == "i" else 0
        values = rng.integers(low, 12, (height, width)) * (rng.random((height, width)) < rng.random())
        plane = values.astype(dtype)
        planes.append(
            [plane, np.asfortranarray(plane), plane[::-1], np.asfortranarray(plane)[:, ::-1]][number % 4]
        )
    return planes


def _counts(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed counts, written out: runs of 0 then 1 down each column, column by column."""
    counts, current, run = [], False, 0
    for value in mask.T.ravel().tolist():
        if bool(value) != current:
            counts.append(run)
            current, run = bool(value), 0
        run += 1
    counts.append(run)
    return counts


@pytest.mark.parametrize("plane", _planes())
def test_plane_objects_are_each_label_value_with_its_extent_pixels_and_runs(plane):
    found = plane_objects(plane)
    assert [o.label for o in found] == sorted({int(v) for v in plane.ravel() if v > 0})
    for item in found:
        mask = plane == item.label
        rows, cols = np.nonzero(mask)
        assert item.rows == (rows.min(), rows.max()) and item.cols == (cols.min(), cols.max())
        (r0, r1), (c0, c1) = item.rows, item.cols
        assert item.shape == plane.shape  # its pixels are those of its extent
        assert np.array_equal(item.mask, mask[r0 : r1 + 1, c0 : c1 + 1])
        assert item.counts == _counts(mask)
        assert coco_annotation(item)["area"] == int(mask.sum())


@pytest.mark.parametrize("plane", _planes()[:40])
def test_c_order_copies_any_plane_to_row_major(plane):
    copy = c_order(plane)
    assert copy.flags.c_contiguous and copy.dtype == plane.dtype and np.array_equal(copy, plane)


@pytest.mark.parametrize("largest", [0, 1, 3, 8, 9, 300])
def test_label_values_are_the_positive_values_a_mask_holds(largest):
    rng = np.random.default_rng(largest)
    labels = np.asfortranarray(rng.integers(-1, largest + 1, (40, 30, 6)).astype(np.int32))
    labels[labels == largest // 2] = 0  # a value missing in the middle
    expected = sorted(int(v) for v in np.unique(labels) if v > 0)
    assert label_values(labels) == expected
    if largest < 256:
        assert label_values(np.maximum(labels, 0).astype(np.uint8)) == expected


def test_an_annotation_spliced_from_its_segmentation_text_is_json_of_the_whole():
    segmentation = {"size": [4, 5], "counts": [1, 2, 17]}
    annotation = {"id": 3, "image_id": 1, "category_id": 2, "bbox": [0, 1, 1, 2], "area": 2, "iscrowd": 0}
    whole = json.dumps({**annotation, "segmentation": segmentation})
    assert _annotation_text({**annotation, "segmentation": json.dumps(segmentation)}) == whole
    assert _annotation_text({**annotation, "segmentation": segmentation}) == whole  # an earlier entry


def test_a_component_held_by_its_extent_has_the_runs_and_polygons_of_its_whole_image_mask():
    from nidataset.annotations.polygons import coco_polygons

    rng = np.random.default_rng(7)
    for _ in range(50):
        whole = np.zeros((int(rng.integers(5, 25)), int(rng.integers(5, 25))), dtype=bool)
        r0, c0 = (int(rng.integers(0, s - 3)) for s in whole.shape)
        r1, c1 = (int(rng.integers(a, s)) for a, s in zip((r0, c0), whole.shape, strict=True))
        whole[r0 : r1 + 1, c0 : c1 + 1] = rng.random((r1 - r0 + 1, c1 - c0 + 1)) < 0.6
        whole[r0, c0] = whole[r1, c1] = True
        item = SliceObject(1, (r0, r1), (c0, c1), whole[r0 : r1 + 1, c0 : c1 + 1], whole.shape)
        assert boxed_counts(item) == _counts(whole)
        assert _polygons(item, coco_polygons) == coco_polygons(whole)
