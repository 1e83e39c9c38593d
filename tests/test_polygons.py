"""Polygons of label masks: checked with pycocotools' rasteriser and scipy's 8-connected components."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask
from scipy import ndimage

from nidataset.annotations.polygons import coco_polygons, outer_polygons, yolo_segments

EIGHT = np.ones((3, 3), dtype=bool)


def rasterised(polygon: list[float], height: int, width: int) -> np.ndarray:
    """pycocotools' own reading of one COCO polygon at height x width."""
    return coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects([polygon], height, width))).astype(bool)


def components(mask: np.ndarray) -> list[np.ndarray]:
    """The 8-connected components, holes filled (with a 4-connected background), in raster order."""
    labelled, count = ndimage.label(mask, structure=EIGHT)
    return [ndimage.binary_fill_holes(labelled == n) for n in range(1, count + 1)]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / max(np.count_nonzero(a | b), 1)


def blobs(draw_seed: int, shape: tuple[int, int]) -> np.ndarray:
    """Organ-like masks: smoothed noise thresholded, so components have curved borders and holes."""
    rng = np.random.default_rng(draw_seed)
    noise = ndimage.gaussian_filter(rng.normal(size=shape), sigma=rng.uniform(0.5, 4))
    return noise > rng.uniform(0, 0.5) * noise.std()


def check(mask: np.ndarray) -> None:
    height, width = mask.shape
    polygons = coco_polygons(mask)
    expected = components(mask)
    assert len(polygons) == len(expected)
    for polygon, component in zip(polygons, expected, strict=True):
        assert len(polygon) >= 6 and len(polygon) % 2 == 0  # at least 3 points
        back = rasterised(polygon, height, width)
        if np.count_nonzero(component) >= 25:
            assert iou(back, component) >= 0.9
        assert np.array_equal(back, component)  # on pixel edges it is in fact exact
    lines = yolo_segments(mask, 2, (height, width))
    assert len(lines) == len(polygons)
    for line, polygon in zip(lines, polygons, strict=True):
        fields = line.split()
        assert fields[0] == "2" and len(fields) == len(polygon) + 1
        values = np.array([float(v) for v in fields[1:]])
        assert np.all((values >= 0) & (values <= 1))
        scale = np.tile([width, height], len(polygon) // 2)
        assert np.allclose(values * scale, polygon, atol=1e-6 * max(height, width))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_random_masks_trace_back_to_their_components(mask: np.ndarray) -> None:
    check(mask)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.integers(20, 90), st.integers(20, 90))
def test_organ_like_masks_trace_back_to_their_components(seed: int, height: int, width: int) -> None:
    check(blobs(seed, (height, width)))


def test_a_hole_is_not_represented_and_diagonal_pixels_are_one_component() -> None:
    ring = np.ones((7, 7), bool)
    ring[2:5, 2:5] = False
    assert [p.tolist() for p in outer_polygons(ring)] == [[[0, 0], [7, 0], [7, 7], [0, 7]]]
    chain = np.eye(6, dtype=bool) | np.eye(6, k=2, dtype=bool)
    assert len(outer_polygons(chain)) == 1


def test_empty_mask_has_no_polygon() -> None:
    assert outer_polygons(np.zeros((4, 4), bool)) == []
    assert yolo_segments(np.zeros((4, 4), bool), 0, (4, 4)) == []


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1)])
def test_thin_masks(shape: tuple[int, int]) -> None:
    check(np.ones(shape, bool))
