"""layout="nnunet": checked against nnU-Net v2's documented rules, written out here.

From nnU-Net's dataset_format.md and verify_dataset_integrity: dataset.json holds labels,
channel_names, numTraining and file_ending; labels are consecutive from background 0; every case in
labelsTr has one image per channel (``<case>_XXXX<file_ending>``) in imagesTr and no other, and their
count is numTraining; each label file holds only declared labels and has its image's shape; the
one fold of splits_final.json puts no patient on both sides. Label values are compared with nibabel's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layout_cases import LABEL_NAMES, expected_mask, remove_case, write_cases
from nidataset import build_dataset
from nidataset.cli import main


def build(images: Path, masks: Path, out: Path, **options: object) -> None:
    settings: dict[str, object] = {
        "layout": "nnunet",
        "image_format": "png",
        "window": "soft_tissue",
        "label_names": LABEL_NAMES,
        "split": (0.4, 0.4, 0.2),
        "seed": 3,
        "progress": False,
    }
    build_dataset(str(images), str(masks), str(out), **{**settings, **options})  # type: ignore[arg-type]


def patient(case: str) -> str:
    return case.rpartition("_axial_")[0]


def check_nnunet(out: Path, masks: Path, names: dict[str, int]) -> dict[str, list[str]]:
    """nnU-Net's rules; returns the cases of imagesTr and imagesTs."""
    dataset = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert {"labels", "channel_names", "numTraining", "file_ending"} <= set(dataset)
    assert dataset["file_ending"] == ".png" and dataset["overwrite_image_reader_writer"] == "NaturalImage2DIO"
    assert dataset["labels"] == names
    values = sorted(dataset["labels"].values())
    assert values == list(range(len(values))) and dataset["labels"]["background"] == 0
    channels = len(dataset["channel_names"])
    found = {}
    for part in ("Tr", "Ts"):
        labels = sorted(p.name[: -len(".png")] for p in (out / f"labels{part}").glob("*.png"))
        images = sorted(p.name for p in (out / f"images{part}").glob("*.png"))
        assert images == sorted(f"{case}_{c:04d}.png" for case in labels for c in range(channels))
        for case in labels:
            label = np.asarray(Image.open(out / f"labels{part}" / f"{case}.png"))
            image = np.asarray(Image.open(out / f"images{part}" / f"{case}_0000.png"))
            assert label.dtype == np.uint8 and label.shape == image.shape[:2]
            assert set(np.unique(label)) <= set(values)
            raw = expected_mask(masks, case)
            renumbered = np.select([raw == 1, raw == 3], [1, 2], 0)  # {1, 3} -> consecutive {1, 2}
            np.testing.assert_array_equal(label, renumbered)
        found[part] = labels
    assert dataset["numTraining"] == len(found["Tr"])
    folds = json.loads((out / "splits_final.json").read_text(encoding="utf-8"))
    assert len(folds) == 1 and set(folds[0]) == {"train", "val"}
    train, val = folds[0]["train"], folds[0]["val"]
    assert sorted(train + val) == found["Tr"]
    assert not {patient(c) for c in train} & {patient(c) for c in val}
    assert not {patient(c) for c in found["Tr"]} & {patient(c) for c in found["Ts"]}
    split = json.loads((out / "split.json").read_text(encoding="utf-8"))
    assert {patient(c) for c in val} == set(split["val"])
    assert {patient(c) for c in found["Ts"]} == set(split["test"])
    return found


def test_nnunet_tree_follows_nnunets_rules_and_reruns_leave_a_fresh_tree(tmp_path: Path) -> None:
    images, masks = write_cases(tmp_path)
    out = tmp_path / "out"
    build(images, masks, out)
    names = {"background": 0, "liver": 1, "tumour": 2}
    found = check_nnunet(out, masks, names)
    assert any(patient(c) == "empty" for part in found.values() for c in part)  # the negative case
    remove_case(images, masks, "case_c")
    build(images, masks, out)
    fresh = tmp_path / "fresh"
    build(images, masks, fresh)
    found = check_nnunet(out, masks, names)
    assert not any(patient(c) == "case_c" for part in found.values() for c in part)

    def listing(root: Path) -> list[str]:  # files: an emptied split folder may stay behind
        return sorted(
            str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".nidataset" not in p.parts
        )

    assert listing(out) == listing(fresh)


def test_rgb_channels_and_the_cli(tmp_path: Path) -> None:
    images, masks = write_cases(tmp_path, ("case_a", "case_b", "empty"))
    out = tmp_path / "cli"
    arguments = [str(images), str(masks), str(out), "--layout", "nnunet", "--format", "png"]
    arguments += ["--window", "brain,subdural,bone", "--split", "0.34", "0.33", "0.33", "--quiet"]
    assert main(["build", *arguments]) == 0
    dataset = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert dataset["channel_names"] == {"0": "R", "1": "G", "2": "B"}
    assert dataset["labels"] == {"background": 0, "label_1": 1, "label_3": 2}
    image = next((out / "imagesTr").glob("*.png"))
    assert np.asarray(Image.open(image)).shape[-1] == 3


def test_refusals_and_no_validation_split(tmp_path: Path) -> None:
    images, masks = write_cases(tmp_path, ("case_a", "empty"))
    with pytest.raises(ValueError, match="image_format"):
        build(images, masks, tmp_path / "o", image_format="tiff", window=None)
    with pytest.raises(ValueError, match="labels"):
        build(images, masks, tmp_path / "o", labels=("yolo",))
    with pytest.warns(UserWarning, match="splits_final"):
        build(images, masks, tmp_path / "nosplit", split=None)
    assert not (tmp_path / "nosplit" / "splits_final.json").exists()
    assert json.loads((tmp_path / "nosplit" / "dataset.json").read_text())["numTraining"] == 12
