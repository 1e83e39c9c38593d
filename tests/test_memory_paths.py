"""Every path reserves the memory it will hold (issue 13, finding 6): a volume that cannot fit is
skipped with a reason instead of getting the whole run killed."""

from __future__ import annotations

import numpy as np
import pytest

import nidataset.batch.memory as memory
from conftest import write_volume
from nidataset import extract_annotations_dataset, extract_slices_dataset


@pytest.fixture
def little_memory(monkeypatch):
    """Pretend 20 MB are available, whatever the machine has."""
    monkeypatch.setattr(memory.BUDGET, "_available", lambda: 20 << 20)


def test_streaming_one_huge_slice_is_refused_not_attempted(tmp_path, little_memory):
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "huge.nii.gz", np.zeros((2048, 2048, 2), dtype=np.int16))  # 8 MB per slice
    write_volume(folder / "small.nii.gz", np.zeros((16, 16, 4), dtype=np.int16))
    result = extract_slices_dataset(str(folder), str(tmp_path / "out"), view="axial", progress=False)
    assert [o.name for o in result.done] == ["small.nii.gz"]
    (skipped,) = result.skipped
    assert skipped.reason.startswith("too large: shape (2048, 2048, 2) needs")


def test_a_scaled_mask_reserves_its_real_values_and_labels(tmp_path, little_memory):
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "mask.nii.gz", np.ones((256, 256, 128), dtype=np.uint8), slope=2.0)  # 8 MB stored
    write_volume(folder / "tiny.nii.gz", np.ones((8, 8, 8), dtype=np.uint8))
    result = extract_annotations_dataset(str(folder), str(tmp_path / "out"), progress=False)
    assert [o.name for o in result.done] == ["tiny.nii.gz"]
    (skipped,) = result.skipped
    assert skipped.reason.startswith("too large: mask of shape (256, 256, 128) needs")
