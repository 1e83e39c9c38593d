"""The builder reads an axial pair a slab at a time (few MB) when nothing needs the whole volume: its
outputs are byte for byte those of the whole-volume path."""

from __future__ import annotations

import numpy as np
import pytest

from build_cases import labelled_mask, make_inputs, tree, write_pair
from nidataset import build_dataset
from nidataset.training import job


@pytest.mark.parametrize("orientation", ["stored", "radiological"])
@pytest.mark.parametrize("select", ["all", "labelled", (1, 11, 3)])
def test_a_streamed_pair_writes_what_the_whole_volume_path_writes(tmp_path, monkeypatch, orientation, select):
    images, masks = make_inputs(tmp_path / "in")
    tall = np.concatenate([labelled_mask(1)] * 3, axis=2)  # 36 slices
    write_pair(images, masks, "tall", tall)
    options = {
        "orientation": orientation,
        "select": select,
        "image_format": "png",
        "window": "brain",
        "labels": ("masks", "yolo", "coco", "csv"),
        "progress": False,
    }
    assert job.streams([job.SliceFrame((24, 20, 36), "axial")], job.BuildOptions("x"))
    monkeypatch.setattr(job, "SLAB_BYTES", 24 * 20 * 2 * 7)  # slabs of 7 slices, the last one shorter
    build_dataset(str(images), str(masks), str(tmp_path / "streamed"), **options)  # type: ignore[arg-type]
    monkeypatch.setattr(job, "streams", lambda frames, options: False)
    build_dataset(str(images), str(masks), str(tmp_path / "whole"), **options)  # type: ignore[arg-type]
    streamed, whole = tree(tmp_path / "streamed"), tree(tmp_path / "whole")
    assert sorted(streamed) == sorted(whole) and len(streamed) > 50
    for name, data in whole.items():
        if name.startswith("annotations/"):
            data, other = (d.split(b'"date_created"')[0] for d in (data, streamed[name]))
            assert data == other, name
        else:
            assert streamed[name] == data, name


def _tall_pair(tmp_path):
    images, masks = make_inputs(tmp_path / "in", cases=2, negative=False)
    write_pair(images, masks, "tall", np.concatenate([labelled_mask(1)] * 3, axis=2))  # 36 slices
    return images, masks


@pytest.mark.parametrize("workers", [1, 2])
def test_reading_ahead_writes_what_reading_in_step_writes(tmp_path, monkeypatch, workers):
    """The next slabs of image and mask are decompressed on a thread: the same files, with one worker
    or two."""
    images, masks = _tall_pair(tmp_path)
    options = {"image_format": "png", "window": "brain", "labels": ("masks", "yolo", "coco"), "select": "all"}
    monkeypatch.setattr(job, "SLAB_BYTES", 24 * 20 * 3 * 5)  # slabs of 5 slices of image and mask
    trees = {}
    for ahead in (False, True):
        monkeypatch.setattr(job, "READ_AHEAD", ahead)
        out = tmp_path / f"ahead-{ahead}"
        result = build_dataset(str(images), str(masks), str(out), progress=False, workers=workers, **options)
        assert not result.skipped
        trees[ahead] = {n: d.split(b'"date_created"')[0] for n, d in tree(out).items()}
    assert trees[True] == trees[False]
    assert len([n for n in trees[True] if n.startswith("labels/") and "axial" in n]) == 2 * 12 + 36


@pytest.mark.parametrize("ahead", [False, True])
def test_a_mask_cut_short_rolls_its_streamed_pair_back(tmp_path, monkeypatch, ahead):
    """A mask whose gzip stream ends part-way fails (on the reading thread when read ahead): the pair
    is skipped with a reason naming the mask and its problem, and nothing of it is left; the other
    pairs are written."""
    images, masks = _tall_pair(tmp_path)
    whole = (masks / "tall.nii.gz").read_bytes()
    (masks / "tall.nii.gz").write_bytes(whole[: len(whole) * 2 // 3])
    monkeypatch.setattr(job, "SLAB_BYTES", 24 * 20 * 3 * 5)  # slabs of 5 slices of image and mask
    monkeypatch.setattr(job, "READ_AHEAD", ahead)
    out = tmp_path / "out"
    result = build_dataset(
        str(images), str(masks), str(out), window="brain", image_format="png", progress=False
    )
    (skipped,) = result.skipped
    assert skipped.name == "tall_0000.nii.gz"
    assert skipped.reason.startswith("its mask tall.nii.gz: truncated")  # the mask's problem, named
    assert not [p for p in out.rglob("*") if "tall" in p.name]
    assert len(list(out.rglob("case_*.png"))) > 0
