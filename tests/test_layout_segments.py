"""labels="yolo-seg" and coco_segmentation="polygon": checked with pycocotools and YOLO's own rules.

YOLO's rules, written out here: every image has a label file of the same stem under labels/ (empty
for a background image), each line a class id below len(names) and at least 3 x, y pairs in [0, 1].
Polygons are rasterised by pycocotools and compared with scipy's 8-connected components of the mask
slices nibabel reads, holes filled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from scipy import ndimage

from layout_cases import CASES, LABEL_NAMES, expected_mask, remove_case, write_cases
from nidataset import build_dataset
from nidataset.cli import main

EIGHT = np.ones((3, 3), bool)


def components(mask: np.ndarray) -> list[np.ndarray]:
    labelled, count = ndimage.label(mask, structure=EIGHT)
    return [ndimage.binary_fill_holes(labelled == n) for n in range(1, count + 1)]


def polygon_pixels(points: list[float], height: int, width: int) -> np.ndarray:
    return coco_mask.decode(coco_mask.frPyObjects([points], height, width))[:, :, 0] > 0


def best_iou(component: np.ndarray, drawn: list[np.ndarray]) -> float:
    return max(np.count_nonzero(component & d) / np.count_nonzero(component | d) for d in drawn)


def build(images: Path, masks: Path, out: Path, **options: object) -> None:
    build_dataset(
        str(images),
        str(masks),
        str(out),
        labels=("masks", "yolo-seg", "coco"),
        coco_segmentation="polygon",
        label_names=LABEL_NAMES,
        image_format="png",
        window="soft_tissue",
        split=(0.6, 0.2, 0.2),
        progress=False,
        **options,
    )


def check_yolo_seg(out: Path, masks: Path) -> None:
    names = ["liver", "tumour"]  # class ids in label-value order: 1 -> 0, 3 -> 1
    value_of = {0: 1, 1: 3}
    assert (out / "labels" / "classes.txt").read_text(encoding="utf-8").split() == names
    images = sorted((out / "images").glob("*/*.png"))
    assert images
    for image in images:
        label_file = out / "labels" / image.parent.name / f"{image.stem}.txt"
        assert label_file.is_file()  # every image, background images too
        mask = expected_mask(masks, image.stem).astype(int)
        height, width = mask.shape
        drawn: dict[int, list[np.ndarray]] = {1: [], 3: []}
        for line in label_file.read_text(encoding="utf-8").splitlines():
            fields = line.split()
            class_id, values = int(fields[0]), np.array([float(v) for v in fields[1:]])
            assert 0 <= class_id < len(names) and len(values) >= 6 and len(values) % 2 == 0
            assert np.all((values >= 0) & (values <= 1))
            points = (values * np.tile([width, height], len(values) // 2)).tolist()
            drawn[value_of[class_id]].append(polygon_pixels(points, height, width))
        for value in (1, 3):
            found = components(mask == value)
            assert len(found) == len(drawn[value]), (image.name, value)
            for component in found:
                if np.count_nonzero(component) >= 25:
                    assert best_iou(component, drawn[value]) >= 0.9


def check_coco_polygons(out: Path, masks: Path) -> None:
    for path in sorted((out / "annotations").glob("instances_*.json")):
        coco = COCO(str(path))
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["liver", "tumour"]
        for image in coco.loadImgs(coco.getImgIds()):
            mask = expected_mask(masks, Path(image["file_name"]).stem).astype(int)
            annotations = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
            by_value = {1: 1, 2: 3}
            assert {by_value[a["category_id"]] for a in annotations} == set(np.unique(mask)) - {0}
            for annotation in annotations:
                assert isinstance(annotation["segmentation"], list) and annotation["iscrowd"] == 0
                value = by_value[annotation["category_id"]]
                assert annotation["area"] == np.count_nonzero(mask == value)
                drawn = coco.annToMask(annotation) > 0
                filled = np.zeros(mask.shape, bool)
                for component in components(mask == value):
                    filled |= component
                assert np.count_nonzero(drawn & filled) / np.count_nonzero(drawn | filled) >= 0.9


def test_yolo_seg_and_coco_polygons_open_as_their_tools_read_them(tmp_path: Path) -> None:
    images, masks = write_cases(tmp_path)
    out = tmp_path / "out"
    build(images, masks, out)
    check_yolo_seg(out, masks)
    check_coco_polygons(out, masks)
    data_yaml = (out / "data.yaml").read_text(encoding="utf-8")
    assert "path:" not in data_yaml and '0: "liver"' in data_yaml and '1: "tumour"' in data_yaml
    # a rerun with one case removed leaves exactly what a fresh build writes
    remove_case(images, masks, "case_b")
    build(images, masks, out)
    fresh = tmp_path / "fresh"
    build(images, masks, fresh)
    listing = sorted(str(p.relative_to(out)) for p in out.rglob("*") if ".nidataset" not in p.parts)
    assert not [name for name in listing if "case_b" in name]
    assert listing == sorted(
        str(p.relative_to(fresh)) for p in fresh.rglob("*") if ".nidataset" not in p.parts
    )
    check_yolo_seg(out, masks)


def test_the_empty_case_alone_is_a_valid_dataset(tmp_path: Path) -> None:
    images, masks = write_cases(tmp_path, ("empty",))
    out = tmp_path / "out"
    build_dataset(str(images), str(masks), str(out), labels=("yolo-seg", "coco"), progress=False)
    assert all(p.read_text() == "" for p in (out / "labels").glob("*.txt") if p.name != "classes.txt")
    assert json.loads((out / "annotations" / "instances.json").read_text())["annotations"] == []


def test_cli_and_refusals(tmp_path: Path) -> None:
    images, masks = write_cases(tmp_path, CASES[:2])
    out = tmp_path / "cli"
    arguments = [
        str(images),
        str(masks),
        str(out),
        "--labels",
        "yolo-seg,coco",
        "--coco-segmentation",
        "polygon",
    ]
    assert main(["build", *arguments, "--label-names", "1=liver,3=tumour", "--quiet"]) == 0
    check_yolo_seg_files = list((out / "labels").glob("*.txt"))
    assert len(check_yolo_seg_files) > 1
    coco = json.loads((out / "annotations" / "instances.json").read_text())
    assert all(isinstance(a["segmentation"], list) for a in coco["annotations"])
    with pytest.raises(ValueError, match="labels"):
        build_dataset(
            str(images), str(masks), str(tmp_path / "o"), labels=("yolo", "yolo-seg"), progress=False
        )
    with pytest.raises(ValueError, match="coco_segmentation"):
        build_dataset(str(images), str(masks), str(tmp_path / "o"), coco_segmentation="mask", progress=False)
