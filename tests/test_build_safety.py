"""Never lose or mix training data (issue 18, the builder): reruns, negative cases, channels, split
files, refused combinations. Each test failed before its fix."""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from build_cases import make_inputs, tree
from nidataset import build_dataset, extract_slices
from nidataset.cli import main

QUIET = {"progress": False}


def build(images: Path, masks: Path, out: Path, **kwargs: object):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an empty split is warned about, not an error
        return build_dataset(str(images), str(masks), str(out), **{**QUIET, **kwargs})  # type: ignore[arg-type]


def remove_mask(images: Path, masks: Path) -> None:
    (masks / "case_1.nii.gz").unlink()


def remove_input(images: Path, masks: Path) -> None:
    (images / "case_2_0000.nii.gz").unlink()
    (masks / "case_2.nii.gz").unlink()


SPLIT = {"split": (0.5, 0.25, 0.25), "seed": 3, "image_format": "png", "window": "brain"}
RERUNS = {
    "mask removed": (SPLIT, SPLIT, remove_mask),
    "input removed": (SPLIT, SPLIT, remove_input),
    "another split": (SPLIT, {**SPLIT, "seed": 11, "split": (0.4, 0.4, 0.2)}, None),
    "no split": (SPLIT, {**SPLIT, "split": None}, None),
    "test split emptied": (SPLIT, {**SPLIT, "split": (0.6, 0.4, 0.0)}, None),
    "first view dropped": (
        {**SPLIT, "view": ["axial", "coronal"]},
        {**SPLIT, "view": ["coronal"]},
        None,
    ),
    "fewer labels and views": (
        {**SPLIT, "view": ["axial", "coronal"], "labels": ("masks", "yolo", "coco", "csv")},
        {**SPLIT, "labels": ("masks",)},
        None,
    ),
}


@pytest.mark.parametrize("case", list(RERUNS))
def test_a_rerun_leaves_exactly_the_tree_a_fresh_run_writes(tmp_path, case):
    first, second, change = RERUNS[case]
    images, masks = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    build(images, masks, out, **first)
    before = tree(out)
    if change is not None:
        change(images, masks)
    build(images, masks, out, **second)
    fresh = tmp_path / "fresh"
    build(images, masks, fresh, **second)
    after, wanted = tree(out), tree(fresh)
    assert sorted(after) == sorted(wanted)
    for name, data in wanted.items():
        assert after[name] == data, name
    assert after != before
    assert folders(out) == folders(fresh)  # no folder a fresh run would not make (an emptied split's)


def folders(root: Path) -> set[str]:
    """The visible folders under ``root`` (the hidden records left out)."""
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}
    return {name for name in found if not any(part.startswith(".") for part in name.split("/"))}


def test_a_resumed_rerun_without_the_first_view_keeps_the_other_views_labels(tmp_path):
    images, masks = make_inputs(tmp_path / "in")
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    build(images, masks, out, view=["axial", "coronal"], image_format="png", window="brain")
    result = build(images, masks, out, view=["coronal"], image_format="png", window="brain", resume=True)
    assert all(o.reused for o in result.done)
    build(images, masks, fresh, view=["coronal"], image_format="png", window="brain")
    after, wanted = tree(out), tree(fresh)
    assert sorted(after) == sorted(wanted)
    assert (
        after["annotations/instances.json"].split(b"date_created")[1]
        == wanted["annotations/instances.json"].split(b"date_created")[1]
    )


def test_a_resumed_rerun_with_a_case_removed_drops_that_case(tmp_path):
    images, masks = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    mapping = {"train": ["case_0", "case_1", "case_2"], "val": ["case_3"], "test": ["empty"]}
    options = {**SPLIT, "split": split_file(tmp_path, "split.json", json.dumps(mapping))}
    build(images, masks, out, **options)
    remove_input(images, masks)
    result = build(images, masks, out, resume=True, **options)
    assert len(result.done) == 4 and all(o.reused for o in result.done)  # the others keep their files
    fresh = tmp_path / "fresh"
    build(images, masks, fresh, **options)
    assert tree(out) == tree(fresh)
    assert "case_2" not in (out / "split.json").read_text() and not list(out.rglob("case_2_*"))


@pytest.mark.parametrize("select", ["labelled", (0, 0, 1)])
def test_a_pair_with_no_selected_slice_writes_nothing_and_the_dataset_is_valid(tmp_path, select):
    coco_module = pytest.importorskip("pycocotools.coco")
    images, masks = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    result = build(images, masks, out, select=select, image_format="png", window="brain")
    counts = {o.name: o.counts for o in result.outcomes}
    assert counts["empty_0000.nii.gz"] == (0,) and not result.skipped
    assert not [name for name in tree(out) if "empty_" in name]
    assert (out / "data.yaml").is_file()
    coco = coco_module.COCO(str(out / "annotations" / "instances.json"))
    assert len(coco.getImgIds()) == sum(sum(c) for c in counts.values())
    code = main(["build", str(images), str(masks), str(tmp_path / "cli"), "--select", "labelled", "--quiet"])
    assert code == 0


@pytest.mark.parametrize("window", [None, "brain"])
def test_context_one_with_tiff_is_three_channels_read_exactly_by_tifffile_and_opencv(tmp_path, window):
    images, masks = make_inputs(tmp_path / "in", cases=1, negative=False)
    out = tmp_path / "out"
    bits = 16 if window else 8
    result = build(images, masks, out, view="sagittal", context=1, window=window, bits=bits)
    assert not result.skipped and sum(result.done[0].counts) > 0
    plain = extract_slices(
        str(images / "case_0_0000.nii.gz"), str(tmp_path / "plain"), "sagittal", window=window, bits=bits
    )
    singles = [tifffile.imread(p) for p in plain]
    for index in range(len(singles)):
        path = out / "images" / f"case_0_0000_sagittal_{index:03d}.tif"
        by_tifffile = tifffile.imread(path)
        by_opencv = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]  # OpenCV gives BGR
        for image in (by_tifffile, by_opencv):
            assert image.shape == (*singles[0].shape, 3) and image.dtype == singles[0].dtype
            for channel in range(3):
                neighbour = min(max(index - 1 + channel, 0), len(singles) - 1)
                np.testing.assert_array_equal(image[..., channel], singles[neighbour])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"context": 2}, "context=2 gives 5 channels"),
        ({"context": 2, "image_format": "png", "window": "brain"}, "context=2 gives 5 channels"),
        ({"context": 1, "image_format": "png", "window": "brain", "bits": 16}, "use image_format='tiff'"),
    ],
)
def test_channels_no_common_reader_reads_right_are_refused_before_writing(tmp_path, options, message):
    images, masks = make_inputs(tmp_path / "in", cases=1)
    with pytest.raises(ValueError, match=message):
        build(images, masks, tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def split_file(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


ALL = ["case_0", "case_1", "case_2", "case_3", "empty"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("twice.json", json.dumps({"train": ALL, "val": ["case_1"]}), "names case 'case_1' twice"),
        (
            "twice.csv",
            "case,split\n" + "".join(f"{c},train\n" for c in ALL) + "case_3,val\n",
            "'case_3' twice",
        ),
        ("value.json", json.dumps({"train": "case_0", "val": ALL}), "'train' must list its cases"),
        ("shape.json", json.dumps([["case_0", "train"]]), "JSON must be"),
    ],
)
def test_a_bad_split_file_is_refused_naming_the_problem(tmp_path, name, text, message):
    images, masks = make_inputs(tmp_path / "in")
    with pytest.raises(ValueError, match=message):
        build(images, masks, tmp_path / "out", split=split_file(tmp_path, name, text))
    assert not (tmp_path / "out").exists()


def test_a_split_csv_with_a_byte_order_mark_is_read_and_unknown_cases_warned(tmp_path):
    images, masks = make_inputs(tmp_path / "in")
    rows = "case,split\n" + "".join(f"{c},{'val' if c == 'case_0' else 'train'}\n" for c in ALL)
    path = split_file(tmp_path, "excel.csv", b"\xef\xbb\xbf" + (rows + "gone,test\n").encode())
    with pytest.warns(UserWarning, match="inputs do not have, ignored: gone"):
        build_dataset(str(images), str(masks), str(tmp_path / "out"), split=path, **QUIET)  # type: ignore[arg-type]
    listed = json.loads((tmp_path / "out" / "split.json").read_text())
    assert listed["val"] == ["case_0"] and listed["test"] == []


def test_an_output_inside_an_input_folder_or_one_folder_for_everything_is_refused(tmp_path):
    images, masks = make_inputs(tmp_path / "in", cases=1)
    arguments_tried = (
        [images, images, images],
        [images, masks, images / "dataset"],
        [images, masks, masks],
        [images, masks, images.parent],  # dataset/images, dataset/masks -> dataset/: images/ is the input
    )
    for arguments in arguments_tried:
        with pytest.raises(ValueError, match=r"same folder|inside"):
            build(*arguments)
        assert main(["build", *map(str, arguments), "--quiet"]) == 2
    assert sorted(p.name for p in images.iterdir()) == ["case_0_0000.nii.gz", "empty_0000.nii.gz"]


def test_a_bad_mask_is_reported_once(tmp_path, caplog):
    images, masks = make_inputs(tmp_path / "in", cases=2)
    shutil.copy(images / "case_0_0000.nii.gz", masks / "case_0.nii.gz")  # int16 CT values as labels
    noisy = np.random.default_rng(0).normal(size=(24, 20, 12)).astype(np.float32)
    import nibabel as nib

    nib.save(nib.Nifti1Image(noisy, np.eye(4)), str(masks / "case_1.nii.gz"))
    with caplog.at_level(logging.WARNING, logger="nidataset"):
        result = build(images, masks, tmp_path / "out")
    assert {o.name for o in result.skipped} >= {"case_1_0000.nii.gz"}
    lines = [r.getMessage() for r in caplog.records if "case_1" in r.getMessage()]
    assert len(lines) == 1, lines
