"""Inputs and independent checks shared by the builder's tests (tests/test_build_*.py).

The checks implement the tools' documented rules here, without the package's code: Ultralytics finds
a label file by replacing ``/images/`` with ``/labels/`` and the extension with ``.txt``; a YOLO line is
``class cx cy w h`` normalised to [0, 1]; COCO category ids count from 1.
"""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np

SHAPE = (24, 20, 12)
AFFINE = np.diag([0.8, 0.9, 2.0, 1.0])


def write_pair(images: Path, masks: Path, case: str, mask: np.ndarray, seed: int = 0) -> None:
    """An int16 CT-like image (air -1000 around a body) and its mask, as NIfTI."""
    rng = np.random.default_rng(seed)
    image = rng.integers(-100, 300, mask.shape).astype(np.int16)
    image[:2] = -1000
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / f"{case}_0000.nii.gz"))
    nib.save(nib.Nifti1Image(mask, AFFINE), str(masks / f"{case}.nii.gz"))


def labelled_mask(seed: int, values: tuple[int, ...] = (1, 3)) -> np.ndarray:
    """A mask with non-consecutive label values: one block of the first, two pieces of the second."""
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[3 + seed : 9 + seed, 4:10, 3:7] = values[0]
    mask[15:19, 2:5, 5:6] = values[-1]
    mask[15:19, 12:16, 5:7] = values[-1]
    return mask


def make_inputs(root: Path, cases: int = 4, negative: bool = True) -> tuple[Path, Path]:
    """``cases`` labelled pairs (values {1, 3}) plus, if asked, one negative case (an empty mask)."""
    images, masks = root / "images_in", root / "masks_in"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for seed in range(cases):
        write_pair(images, masks, f"case_{seed}", labelled_mask(seed), seed)
    if negative:
        write_pair(images, masks, "empty", np.zeros(SHAPE, dtype=np.uint8), 9)
    return images, masks


def tree(root: Path) -> dict[str, bytes]:
    """Every visible file under ``root`` (the hidden records and the dated report left out)."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and ".nidataset" not in relative.parts and path.name != "report.html":
            found[relative.as_posix()] = path.read_bytes()
    return found


def check_yolo_tree(root: Path, classes: int) -> int:
    """Ultralytics' rules: every image has ``labels/...txt`` (empty for a background image), every
    label file has its image, each line is a class id below ``classes`` and four numbers in [0, 1]
    with 6 decimals. Returns the number of lines."""
    images = [p for p in (root / "images").rglob("*") if p.is_file()]
    labels = {p for p in (root / "labels").rglob("*.txt") if p.name != "classes.txt"}
    expected = set()
    for image in images:
        parts = list(image.relative_to(root).parts)
        parts[0] = "labels"
        expected.add(root.joinpath(*parts).with_suffix(".txt"))
    assert expected == labels, "labels/ pairs one to one with images/"
    lines = 0
    for label in labels:
        for line in label.read_text().splitlines():
            fields = line.split()
            assert len(fields) == 5 and 0 <= int(fields[0]) < classes
            assert all(0 <= float(v) <= 1 and len(v.split(".")[1]) == 6 for v in fields[1:])
            lines += 1
    return lines


def check_coco(
    path: Path, images_folder: Path, masks_folder: Path, names: list[str], values: list[int] | None = None
) -> int:
    """pycocotools reads the file; every annotation's decoded mask is its label's pixels in the mask
    image (``values[c - 1]`` is the label value of category c, when given); every image of the folder
    is listed; categories count from 1. Returns the annotations."""
    from PIL import Image
    from pycocotools.coco import COCO

    coco = COCO(str(path))
    assert [c["id"] for c in coco.dataset["categories"]] == list(range(1, len(names) + 1))
    assert [c["name"] for c in coco.dataset["categories"]] == names
    assert coco.dataset["licenses"] == [] and set(coco.dataset["info"]) >= {
        "description",
        "version",
        "date_created",
    }
    listed = {coco.imgs[i]["file_name"] for i in coco.getImgIds()}
    assert listed == {p.name for p in images_folder.iterdir()}
    count = 0
    for image_id in coco.getImgIds():
        info = coco.imgs[image_id]
        mask = np.asarray(Image.open(masks_folder / (os.path.splitext(info["file_name"])[0] + ".png")))
        assert (info["height"], info["width"]) == mask.shape
        union = np.zeros(mask.shape, bool)
        for annotation in coco.loadAnns(coco.getAnnIds(imgIds=image_id)):
            pixels = coco.annToMask(annotation).astype(bool)
            assert annotation["iscrowd"] == 0 and annotation["area"] == pixels.sum()
            if values is not None:  # one object per label value: annToMask is the mask's value
                assert np.array_equal(pixels, mask == values[annotation["category_id"] - 1])
            union |= pixels
            count += 1
        assert np.array_equal(union, mask > 0)
    return count
