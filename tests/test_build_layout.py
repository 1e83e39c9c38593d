"""The ``yolo`` layout as the tools read it (issue 19): data.yaml, label files, classes, COCO files,
label names, padding with the background, reassembly by case, and the report's slice sizes.

The rules are the tools' documented ones, implemented in ``build_cases`` (Ultralytics' label pairing,
normalised boxes; COCO read by pycocotools), with a negative case, label values {1, 3}, ``label_names``
and a rerun with one case removed.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml

from build_cases import SHAPE, check_coco, check_yolo_tree, make_inputs, tree, write_pair
from nidataset import build_dataset, extract_slices_dataset, reassemble
from nidataset.cli import main

NAMES = {1: "liver", 2: "spleen"}  # 2 is in no mask: kept, so class ids match other datasets
OPTIONS = {
    "image_format": "png",
    "window": "soft_tissue",
    "split": (0.5, 0.25, 0.25),
    "seed": 1,
    "label_names": NAMES,
    "progress": False,
}
CLASSES = ["liver", "spleen", "label_3"]


def check_dataset(out: Path) -> None:
    """data.yaml, classes.txt, label files and COCO files, from a copy in another folder."""
    copy = out.parent / f"{out.name}_copied"
    shutil.copytree(out, copy)
    data = yaml.safe_load((copy / "data.yaml").read_text())
    assert "path" not in data  # Ultralytics resolves the folders against the yaml's own folder
    assert data["names"] == dict(enumerate(CLASSES))
    assert (copy / "labels" / "classes.txt").read_text().splitlines() == CLASSES
    splits = [s for s in ("train", "val", "test") if s in data]
    assert splits and all((copy / data[s]).is_dir() and any((copy / data[s]).iterdir()) for s in splits)
    assert len({data[s] for s in splits}) == len(splits)  # no split points at another's images
    assert check_yolo_tree(copy, len(CLASSES)) > 0
    annotations = 0
    for split in splits:
        path = copy / "annotations" / f"instances_{split}.json"
        annotations += check_coco(path, copy / "images" / split, copy / "masks" / split, CLASSES, [1, 2, 3])
    assert annotations > 0
    shutil.rmtree(copy)


def test_the_yolo_layout_opens_as_the_tools_read_it_and_after_a_rerun_without_a_case(tmp_path):
    images, masks = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    build_dataset(str(images), str(masks), str(out), **OPTIONS)  # type: ignore[arg-type]
    check_dataset(out)
    labels = [p for p in (out / "labels").rglob("empty_*.txt")]
    assert labels and all(p.read_text() == "" for p in labels)  # the negative case: background images
    (images / "case_3_0000.nii.gz").unlink()
    build_dataset(str(images), str(masks), str(out), **OPTIONS)  # type: ignore[arg-type]
    check_dataset(out)
    fresh = tmp_path / "fresh"
    build_dataset(str(images), str(masks), str(fresh), **OPTIONS)  # type: ignore[arg-type]
    assert tree(out) == tree(fresh) and not [n for n in tree(out) if "case_3_" in n]


def test_an_empty_split_is_left_out_of_data_yaml_and_warned_about(tmp_path):
    images, masks = make_inputs(tmp_path / "in", cases=2, negative=False)
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="the test split holds no case"):
        build_dataset(str(images), str(masks), str(out), split=(0.5, 0.5, 0.0), progress=False)
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert (data["train"], data["val"]) == ("images/train", "images/val") and "test" not in data
    assert sorted(p.name for p in (out / "annotations").iterdir()) == [
        "instances_train.json",
        "instances_val.json",
    ]
    without = tmp_path / "whole"
    build_dataset(str(images), str(masks), str(without), progress=False)
    assert yaml.safe_load((without / "data.yaml").read_text())["train"] == "images"
    assert "val" not in yaml.safe_load((without / "data.yaml").read_text())  # never val: of train
    assert (without / "annotations" / "instances.json").is_file()


@pytest.mark.parametrize("given", ["1=liver,2=spleen", "file"])
def test_label_names_from_the_command_line(tmp_path, given):
    images, masks = make_inputs(tmp_path / "in", cases=2)
    if given == "file":
        path = tmp_path / "names.json"
        path.write_text(json.dumps({"1": "liver", "2": "spleen"}))
        given = str(path)
    assert (
        main(["build", str(images), str(masks), str(tmp_path / "out"), "--label-names", given, "--quiet"])
        == 0
    )
    assert (tmp_path / "out" / "labels" / "classes.txt").read_text().splitlines() == CLASSES
    coco = json.loads((tmp_path / "out" / "annotations" / "instances.json").read_text())
    assert [(c["id"], c["name"]) for c in coco["categories"]] == [(1, "liver"), (2, "spleen"), (3, "label_3")]


@pytest.mark.parametrize(
    ("names", "message"),
    [({1: "a", 2: "a"}, "one name to two values"), ({0: "air"}, "not a label value"), ({1: ""}, "non-empty")],
)
def test_bad_label_names_are_refused(tmp_path, names, message):
    images, masks = make_inputs(tmp_path / "in", cases=1)
    with pytest.raises(ValueError, match=message):
        build_dataset(str(images), str(masks), str(tmp_path / "out"), label_names=names)


def padding(image: np.ndarray, top: int, left: int, shape: tuple[int, int]) -> np.ndarray:
    inside = np.zeros(image.shape[:2], bool)
    inside[top : top + shape[0], left : left + shape[1]] = True
    return image[~inside]


def test_the_builder_pads_with_each_volumes_minimum_by_default(tmp_path):
    images, masks = make_inputs(tmp_path / "in", cases=1, negative=False)
    image = np.asarray(nib.load(str(images / "case_0_0000.nii.gz")).dataobj)
    out = tmp_path / "out"
    build_dataset(str(images), str(masks), str(out), target_size=(30, 30), progress=False)
    top, left = (30 - SHAPE[0]) // 2, (30 - SHAPE[1]) // 2
    from conftest import read_tiff

    for path in (out / "images").iterdir():
        pixels = read_tiff(path)
        assert np.all(padding(pixels, top, left, SHAPE[:2]) == image.min())  # air, -1000
    windowed = tmp_path / "windowed"
    build_dataset(
        str(images), str(masks), str(windowed), target_size=(30, 30), window=(40, 400), progress=False
    )
    for path in (windowed / "images").iterdir():
        assert np.all(padding(read_tiff(path), top, left, SHAPE[:2]) == 0)  # -1000 is black in the window


def test_pad_value_min_for_the_slice_functions_and_their_command_line(tmp_path):
    images, _ = make_inputs(tmp_path / "in", cases=2, negative=False)
    volume = np.asarray(nib.load(str(images / "case_1_0000.nii.gz")).dataobj)
    volume[volume == volume.min()] = -700  # each volume its own minimum
    nib.save(nib.Nifti1Image(volume, np.eye(4)), str(images / "case_1_0000.nii.gz"))
    out = tmp_path / "out"
    extract_slices_dataset(
        str(images), str(out), "axial", target_size=(30, 30), pad_value="min", progress=False
    )
    assert (
        main(
            [
                "slices",
                str(images),
                str(tmp_path / "cli"),
                "--target-size",
                "30",
                "30",
                "--pad-value",
                "min",
                "--quiet",
            ]
        )
        == 0
    )
    from conftest import read_tiff

    top, left = (30 - SHAPE[0]) // 2, (30 - SHAPE[1]) // 2
    for root in (out, tmp_path / "cli"):
        for case, lowest in (("case_0_0000", -1000), ("case_1_0000", -700)):
            files = list(root.rglob(f"{case}_axial_*.tif"))
            assert files and all(np.all(padding(read_tiff(p), top, left, SHAPE[:2]) == lowest) for p in files)
    default = tmp_path / "default"
    extract_slices_dataset(str(images), str(default), "axial", target_size=(30, 30), progress=False)
    assert all(np.all(padding(read_tiff(p), top, left, SHAPE[:2]) == 0) for p in default.rglob("*.tif"))


def test_volumes_reassembled_from_a_built_dataset_are_named_by_the_case(tmp_path):
    images, masks = make_inputs(tmp_path / "in", cases=2, negative=False)
    out = tmp_path / "out"
    build_dataset(str(images), str(masks), str(out), image_format="png", window="brain", progress=False)
    predictions = tmp_path / "predictions"
    shutil.copytree(out / "masks", predictions / "images")  # predictions laid out like the images
    result = reassemble(
        str(predictions), str(tmp_path / "volumes"), str(out / "axial_manifest.csv"), progress=False
    )
    assert not result.skipped
    assert sorted(p.name for p in (tmp_path / "volumes").iterdir()) == ["case_0.nii.gz", "case_1.nii.gz"]
    for case in ("case_0", "case_1"):
        wanted = np.asarray(nib.load(str(masks / f"{case}.nii.gz")).dataobj)
        got = np.asarray(nib.load(str(tmp_path / "volumes" / f"{case}.nii.gz")).dataobj)
        np.testing.assert_array_equal(got, wanted)


def test_the_report_shows_the_slice_sizes_and_asks_for_target_size_when_they_differ(tmp_path):
    images, masks = make_inputs(tmp_path / "in", cases=1, negative=False)
    small = np.zeros((16, 20, 12), np.uint8)
    small[2:5, 2:5, 2:5] = 1
    write_pair(images, masks, "small", small)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        build_dataset(str(images), str(masks), str(out), progress=False)
    page = (out / "report.html").read_text()
    assert "axial 24x20 (1 volumes), 16x20 (1 volumes)" in page
    assert "a batch of more than one image needs target_size" in page
