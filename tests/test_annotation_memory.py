"""Annotation memory: scaled and float masks are converted to labels a block at a time, into the
smallest integer dtype; the reservation follows, so a small budget skips the mask as "too large"."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from conftest import write_volume
from nidataset import extract_annotations_dataset
from nidataset.annotations.objects import integer_labels, number_objects


def scaled_mask(shape: tuple[int, int, int] = (256, 256, 96)) -> np.ndarray:
    raw = np.zeros(shape, dtype=np.uint8, order="F")
    inner = tuple(slice(n // 8, n - n // 8) for n in shape)
    raw[inner] = np.random.default_rng(0).integers(0, 4, size=raw[inner].shape)
    return raw


def test_a_scaled_uint8_mask_becomes_labels_near_its_own_size(tmp_path: Path) -> None:
    """Before: float64 values, their floor and int64 labels, 18x the mask; now under 3x."""
    raw = scaled_mask()
    path = write_volume(tmp_path / "m.nii", raw, slope=2.0, inter=-1.0)
    expected = np.asarray(nib.load(str(path)).get_fdata())  # nibabel applies the scaling
    tracemalloc.start()
    labels = integer_labels(raw, 2.0, -1.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * raw.nbytes, peak / raw.nbytes
    assert labels.dtype == np.int8 and labels.flags.f_contiguous
    np.testing.assert_array_equal(labels, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_masks_of_whole_numbers_become_small_integer_labels(dtype: str) -> None:
    values = np.array([[[0.0, 300.0], [-2.0, 7.0]]], dtype=dtype)
    labels = integer_labels(values)
    assert labels.dtype == np.int16 and labels.tolist() == [[[0, 300], [-2, 7]]]
    assert [o.label for o in number_objects(labels).items] == [7, 300]


def test_a_mask_beyond_the_budget_is_skipped_as_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nidataset.batch import memory

    masks = tmp_path / "masks"
    masks.mkdir()
    write_volume(masks / "m.nii.gz", scaled_mask((32, 32, 16)), slope=2.0)
    monkeypatch.setattr(memory.BUDGET, "_available", lambda: 64 * 1024)
    result = extract_annotations_dataset(str(masks), str(tmp_path / "out"), progress=False)
    (skipped,) = result.skipped
    assert (skipped.reason or "").startswith("too large: mask of shape (32, 32, 16) needs")


def test_a_scaled_mask_of_1_mb_fits_a_budget_of_20_mb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reserved before: 1 + 16 (float64) + 4 (ids) MB per MB of uint8 mask, so it was refused."""
    from nidataset.batch import memory

    masks = tmp_path / "masks"
    masks.mkdir()
    write_volume(masks / "m.nii.gz", np.ones((128, 128, 64), dtype=np.uint8), slope=2.0)
    monkeypatch.setattr(memory.BUDGET, "_available", lambda: 20 << 20)
    result = extract_annotations_dataset(str(masks), str(tmp_path / "out"), progress=False)
    assert result.summary().startswith("1 of 1 files done")


def many_objects(height: int = 128, width: int = 128) -> np.ndarray:
    """Objects of one to three pixels on a grid: about a thousand ids on one slice."""
    ids = np.zeros((height, width), dtype=np.uint16)
    number = 0
    for r in range(0, height - 2, 4):
        for c in range(0, width - 2, 4):
            number += 1
            ids[r, c] = number
            if number % 3:
                ids[r + 1, c + (number % 2)] = number  # touching by a face or a corner
    return ids


def test_slice_objects_hold_their_boxes_and_give_the_same_coco_masks(tmp_path: Path) -> None:
    """Each object used to hold a mask of the whole slice (1,000 objects: 16 MB on 128 x 128)."""
    from pycocotools import mask as coco_mask

    from nidataset.annotations.labels import slice_objects
    from nidataset.training.coco import coco_annotation

    ids = many_objects()
    labels = {int(i): 1 + int(i) % 5 for i in np.unique(ids) if i}
    slice_objects(ids[:4, :4], labels)  # scipy imported before measuring
    tracemalloc.start()
    found = slice_objects(ids, labels)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(found) == len(labels) and peak < 2 * 2**20, peak
    for number, item in enumerate(found, start=1):
        annotation = coco_annotation(item)  # category_id: the label value
        segmentation = annotation["segmentation"]
        assert isinstance(segmentation, dict)
        decoded = coco_mask.decode(coco_mask.frPyObjects(segmentation, *segmentation["size"]))
        np.testing.assert_array_equal(decoded.astype(bool), ids == number)
        assert annotation["area"] == int(np.count_nonzero(ids == number))


def test_many_components_are_numbered_in_storage_order_and_held_compactly() -> None:
    """3,000 one-voxel components (no two touch, even by a corner) and a block of label 2."""
    shape = (40, 30, 20)
    mask = np.zeros(shape, dtype=np.uint8, order="F")
    mask[::2, ::2, ::2] = 1
    mask[1, 1, 1:4] = 2  # between the voxels of label 1, touching them only by corners: its own label
    number_objects(mask[:4, :4, :4], components=True)  # scipy imported before measuring
    tracemalloc.start()
    objects = number_objects(mask, components=True)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    voxels = np.argwhere(mask.T == 1)[:, ::-1]  # label 1's voxels in storage order (x fastest)
    assert len(objects.items) == len(voxels) + 1 == 3001
    for item, voxel in zip(objects.items, voxels, strict=False):
        assert item.label == 1 and item.first == item.last == tuple(voxel)
        assert objects.ids[tuple(voxel)] == item.id
    last = objects.items[-1]
    assert (last.id, last.label, last.first, last.last) == (3001, 2, (1, 1, 1), (1, 1, 3))
    assert held < objects.ids.nbytes + 150 * len(objects.items), held / len(
        objects.items
    )  # was ~315 a component
