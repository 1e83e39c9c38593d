"""SliceDataset's up-front pass and shared folder: the reasons it gives and what it decodes while waiting.

Expected reasons are build_dataset's own for the same files; expected counts are the loads the test
itself counts.
"""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np

from nidataset import SliceDataset, build_dataset
from test_training import AFFINE, phantom


def test_a_truncated_mask_is_named_as_the_mask_as_build_dataset_names_it(tmp_path):
    images, masks = tmp_path / "images_in", tmp_path / "masks_in"
    images.mkdir()
    masks.mkdir()
    image, mask = phantom(1)
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / "case.nii.gz"))
    nib.save(nib.Nifti1Image(mask, AFFINE), str(masks / "case.nii.gz"))
    data = (masks / "case.nii.gz").read_bytes()
    (masks / "case.nii.gz").write_bytes(data[: len(data) // 2])  # the mask truncated in its voxels
    result = build_dataset(str(images), str(masks), str(tmp_path / "out"), progress=False)
    expected = [(o.name, o.reason) for o in result.skipped]
    assert len(expected) == 1 and expected[0][1].startswith("its mask case.nii.gz: truncated")
    assert SliceDataset(images, masks).failures == expected


def _waiting_store(tmp_path, monkeypatch, polls: int, budget: int):
    """A shared folder whose volume ``a`` is claimed by a live process that lets go after ``polls``
    looks at its lock, with no sleeping between them."""
    from nidataset.sliceset import shared

    lock = tmp_path / "a.lock"
    lock.write_text(str(os.getpid()))
    looks = []

    def alive(path: str) -> bool:
        looks.append(path)
        if len(looks) >= polls:
            lock.unlink()
        return True

    monkeypatch.setattr(shared, "_holder_alive", alive)
    monkeypatch.setattr(shared.time, "sleep", lambda seconds: None)
    return shared.SharedVolumes(str(tmp_path), budget), looks


def test_a_spare_volume_too_big_for_the_folder_is_decoded_once_while_waiting(tmp_path, monkeypatch):
    store, looks = _waiting_store(tmp_path, monkeypatch, polls=50, budget=64)
    loads = []

    def big():
        loads.append(1)
        return np.zeros(1000, np.uint8), None  # more than the folder's 64 bytes

    mine = (np.arange(6, dtype=np.int16), None)
    got, mapped = store.get("a", lambda: mine, lambda: iter([("big", big)]))
    assert got is mine and not mapped and len(looks) == 50
    assert len(loads) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_spare_volume_that_cannot_be_decoded_does_not_fail_another_sample(tmp_path, monkeypatch):
    store, looks = _waiting_store(tmp_path, monkeypatch, polls=5, budget=1 << 20)
    loads = []

    def broken():
        loads.append(1)
        raise ValueError("broken.nii.gz: truncated")

    mine = (np.arange(6, dtype=np.int16), None)
    got, mapped = store.get("a", lambda: mine, lambda: iter([("broken", broken)]))
    assert got is mine and not mapped and len(loads) == 1 and len(looks) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # its lock let go
