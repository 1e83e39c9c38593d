"""The shared resume-and-rollback protocol, seen from the annotation functions that gained it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import write_volume
from nidataset.annotations import extract_annotations_dataset
from nidataset.cli import main


@pytest.fixture
def masks(tmp_path: Path) -> Path:
    folder = tmp_path / "masks"
    folder.mkdir()
    for number in (1, 2):
        mask = np.zeros((9, 8, 6), dtype=np.uint8)
        mask[2:5, 1 : 3 + number, 1:4] = 1
        mask[6:8, 5:7, 3 + number - 1 : 5] = 2
        write_volume(folder / f"case_{number}.nii.gz", mask)
    return folder


def _tree(root: Path) -> dict[str, bytes]:
    """Every visible file under ``root`` with its bytes (the records, hidden, are left out)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".nidataset" not in p.parts
    }


def test_annotations_resume_reuses_completed_masks_and_writes_the_same_tree(masks, tmp_path):
    out = tmp_path / "out"
    kwargs = {"save_stats": True, "save_manifest": True, "progress": False}
    first = extract_annotations_dataset(str(masks), str(out), ["axial", "coronal"], data_mode="box", **kwargs)
    before = _tree(out)
    again = extract_annotations_dataset(
        str(masks), str(out), ["axial", "coronal"], data_mode="box", resume=True, **kwargs
    )
    assert all(o.reused for o in again.outcomes)
    assert [o.counts for o in again.outcomes] == [o.counts for o in first.outcomes]
    assert [o.indices for o in again.outcomes] == [o.indices for o in first.outcomes]
    assert _tree(out) == before  # the manifests and statistics still list every mask


def test_annotations_resume_redoes_a_mask_whose_csv_is_gone_or_whose_options_changed(masks, tmp_path):
    out = tmp_path / "out"
    extract_annotations_dataset(str(masks), str(out), "axial", data_mode="box", progress=False)
    before = _tree(out)
    (out / "case_2" / "axial" / "case_2_axial_002.csv").unlink()
    result = extract_annotations_dataset(
        str(masks), str(out), "axial", data_mode="box", resume=True, progress=False
    )
    assert [o.reused for o in result.outcomes] == [True, False]
    assert _tree(out) == before
    result = extract_annotations_dataset(
        str(masks), str(out), "axial", data_mode="center", resume=True, progress=False
    )
    assert not any(o.reused for o in result.outcomes)
    first = (out / "case_1" / "axial" / "case_1_axial_001.csv").read_text(encoding="utf-8")
    assert first.splitlines()[0].split(",")[:1] != ["X_MIN"]  # centres now, not boxes


def test_the_annotations_command_takes_resume(masks, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["annotations", str(masks), out, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["annotations", str(masks), out, "--resume"]) == 0
    assert "(2 files already complete)" in capsys.readouterr().out
