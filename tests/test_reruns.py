"""Reruns over earlier outputs, and inputs that change: the tree is always what a fresh run writes.

Issue 13, findings 2 and 3: a rerun removes the volume's own earlier outputs (any slice count, index
width or format; never another volume's), a skipped volume leaves nothing, an input rewritten while it
is read is skipped with a reason, and ``resume`` redoes truncated slices and replaced inputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import ramp, write_volume
from nidataset import extract_annotations_dataset, extract_slices_dataset


def visible_tree(root: Path) -> dict[str, bytes]:
    """Every file but the hidden records (they hold the inputs' times), and the report (timings)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".nidataset" not in p.parts and p.name != "report.html"
    }


def fresh_equals_rerun(inputs: Path, tmp_path: Path, first: dict[str, object], **options: object) -> None:
    """Run with ``first`` options, rerun with ``options`` into the same folder; compare with fresh."""
    extract_slices_dataset(str(inputs), str(tmp_path / "rerun"), progress=False, **first)  # type: ignore[arg-type]
    yield_inputs = options.pop("change", None)
    if callable(yield_inputs):
        yield_inputs()
    extract_slices_dataset(str(inputs), str(tmp_path / "rerun"), progress=False, **options)  # type: ignore[arg-type]
    extract_slices_dataset(str(inputs), str(tmp_path / "fresh"), progress=False, **options)  # type: ignore[arg-type]
    assert visible_tree(tmp_path / "rerun") == visible_tree(tmp_path / "fresh")


@pytest.mark.parametrize("saving_mode", ["case", "view"])
def test_a_volume_that_shrank_leaves_no_slice_of_its_old_length(tmp_path, saving_mode):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_volume(inputs / "a.nii", ramp((2, 3, 1001)))
    write_volume(inputs / "a_b.nii", ramp((2, 3, 4)))

    def shrink() -> None:
        write_volume(inputs / "a.nii", ramp((2, 3, 999)))

    options = {"saving_mode": saving_mode, "save_stats": True}
    fresh_equals_rerun(inputs, tmp_path, options, change=shrink, **options)
    names = os.listdir(tmp_path / "rerun" / ("a" if saving_mode == "case" else "") / "axial")
    assert sum(n.startswith("a_axial_") for n in names) == 999
    assert "a_axial_0998.tif" not in names and "a_axial_998.tif" in names


def test_a_volume_that_now_fails_keeps_nothing_and_its_neighbour_keeps_everything(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_volume(inputs / "a.nii.gz", ramp((4, 3, 6)))
    write_volume(inputs / "a_b.nii.gz", ramp((4, 3, 5)))

    def corrupt() -> None:
        (inputs / "a.nii.gz").write_bytes(b"broken now")

    fresh_equals_rerun(inputs, tmp_path, {"saving_mode": "view"}, change=corrupt, saving_mode="view")
    names = sorted(os.listdir(tmp_path / "rerun" / "axial"))
    assert names == [f"a_b_axial_{i:03d}.tif" for i in range(5)]


def test_a_change_of_format_removes_the_old_files(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_volume(inputs / "a.nii.gz", np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
    fresh_equals_rerun(
        inputs, tmp_path, {"view": ["axial", "coronal"]}, view=["axial", "coronal"], image_format="png"
    )
    assert {Path(n).suffix for n in os.listdir(tmp_path / "rerun" / "a" / "coronal")} == {".png"}


def test_a_view_not_asked_again_is_left_alone(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_volume(inputs / "a.nii.gz", ramp((3, 4, 5)))
    out = tmp_path / "out"
    extract_slices_dataset(str(inputs), str(out), view="coronal", progress=False)
    extract_slices_dataset(str(inputs), str(out), view="axial", progress=False)
    assert len(os.listdir(out / "a" / "coronal")) == 4 and len(os.listdir(out / "a" / "axial")) == 5


def test_annotation_reruns_remove_their_earlier_csvs(tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    mask = np.zeros((3, 4, 1200), dtype=np.uint8)
    mask[1, 1, 100:1100] = 1
    write_volume(masks / "m.nii.gz", mask)
    write_volume(masks / "m_2.nii.gz", mask[:, :, :50])
    out = tmp_path / "out"
    extract_annotations_dataset(str(masks), str(out), saving_mode="view", progress=False)
    assert len(os.listdir(out / "axial")) == 1000 + 0  # m_2's slices 0..49 hold no object
    smaller = np.zeros((3, 4, 60), dtype=np.uint8)
    smaller[1, 1, 5:7] = 2
    write_volume(masks / "m.nii.gz", smaller)
    extract_annotations_dataset(str(masks), str(out), saving_mode="view", progress=False)
    assert sorted(os.listdir(out / "axial")) == ["m_axial_005.csv", "m_axial_006.csv"]
    (masks / "m.nii.gz").write_bytes(b"no longer a mask")
    result = extract_annotations_dataset(str(masks), str(out), saving_mode="view", progress=False)
    assert [o.name for o in result.skipped] == ["m.nii.gz"] and os.listdir(out / "axial") == []


@pytest.mark.parametrize("damage", ["truncate", "empty", "delete"])
def test_resume_redoes_a_damaged_slice(tmp_path, damage):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_volume(inputs / "a.nii.gz", ramp((5, 4, 6)))
    write_volume(inputs / "b.nii.gz", ramp((5, 4, 6), start=7))
    out = tmp_path / "out"
    extract_slices_dataset(str(inputs), str(out), progress=False)
    before = visible_tree(out)
    victim = out / "b" / "axial" / "b_axial_003.tif"
    if damage == "delete":
        victim.unlink()
    else:
        victim.write_bytes(victim.read_bytes()[: 10 if damage == "truncate" else 0])
    result = extract_slices_dataset(str(inputs), str(out), resume=True, progress=False)
    assert [o.reused for o in result.outcomes] == [True, False]
    assert visible_tree(out) == before


def test_resume_redoes_an_input_replaced_by_one_of_the_same_size(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_volume(inputs / "a.nii", ramp((5, 4, 6)))
    out = tmp_path / "out"
    extract_slices_dataset(str(inputs), str(out), progress=False)
    info = os.stat(inputs / "a.nii")
    replacement = tmp_path / "new.nii"
    write_volume(replacement, ramp((5, 4, 6), start=3))
    os.replace(replacement, inputs / "a.nii")  # same size, new inode
    os.utime(inputs / "a.nii", ns=(info.st_atime_ns, info.st_mtime_ns))  # even the same time
    result = extract_slices_dataset(str(inputs), str(out), resume=True, progress=False)
    assert not result.outcomes[0].reused
    extract_slices_dataset(str(inputs), str(tmp_path / "fresh"), progress=False)
    assert visible_tree(out) == visible_tree(tmp_path / "fresh")


@pytest.mark.parametrize("view", ["axial", "coronal"])
def test_an_input_rewritten_while_it_is_read_is_skipped_and_leaves_nothing(tmp_path, monkeypatch, view):
    """Forced interleaving: the input is replaced right after its voxels are read."""
    import nidataset.io.volumes as volumes

    inputs = tmp_path / "in"
    inputs.mkdir()
    write_volume(inputs / "a.nii", ramp((5, 4, 6)))
    real_finish = volumes.VolumeReader.finish

    def finish_then_replace(self: volumes.VolumeReader) -> None:
        real_finish(self)
        write_volume(tmp_path / "new.nii", ramp((5, 4, 6), start=11))
        os.replace(tmp_path / "new.nii", self.path)

    monkeypatch.setattr(volumes.VolumeReader, "finish", finish_then_replace)
    out = tmp_path / "out"
    result = extract_slices_dataset(str(inputs), str(out), view=view, progress=False)
    assert result.outcomes[0].reason == "the file changed while it was read (size, time or inode); run again"
    assert not list(out.rglob("*.tif"))
    monkeypatch.undo()
    result = extract_slices_dataset(str(inputs), str(out), view=view, resume=True, progress=False)
    assert not result.outcomes[0].reused and not result.skipped
