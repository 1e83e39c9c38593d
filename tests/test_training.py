"""build_dataset: images, masks, YOLO and COCO that line up, selections, splits and 2.5D context.

Expected values come from the NIfTI files through nibabel, the SPEC's box formulas written out here,
scipy's connected components and pycocotools' own decoder, never from the package's code.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from conftest import read_tiff
from nidataset import build_dataset, extract_slices
from nidataset.cli import main

VIEWS = ("axial", "coronal", "sagittal")
SHAPE = (24, 20, 12)
AFFINE = np.array([[0, 0, 2.0, -5], [-0.8, 0, 0, 4], [0, 0.9, 0, 7], [0, 0, 0, 1]])  # permuted, flipped


def phantom(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An int16 image and a mask with two labels; label 2 in two separate pieces."""
    rng = np.random.default_rng(seed)
    image = rng.integers(-200, 300, SHAPE).astype(np.int16)
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[3 + seed : 9 + seed, 4:10, 3:7] = 1
    mask[15:19, 2:5, 5:6] = 2
    mask[15:19, 12:16, 5:6] = 2
    return image, mask


@pytest.fixture
def pairs(tmp_path: Path) -> tuple[Path, Path]:
    images, masks = tmp_path / "images_in", tmp_path / "masks_in"
    images.mkdir()
    masks.mkdir()
    for seed in range(4):
        image, mask = phantom(seed)
        nib.save(nib.Nifti1Image(image, AFFINE), str(images / f"case_{seed}_0000.nii.gz"))  # nnU-Net
        nib.save(nib.Nifti1Image(mask, AFFINE), str(masks / f"case_{seed}.nii.gz"))
    return images, masks


def read(path: Path) -> np.ndarray:
    return read_tiff(path) if path.suffix == ".tif" else np.asarray(Image.open(path))


def manifest(out: Path, view: str) -> list[dict[str, str]]:
    with open(out / f"{view}_manifest.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def pix2vox(row: dict[str, str]) -> np.ndarray:
    return np.array([[float(row[f"pix2vox_{r}{c}"]) for c in range(3)] for r in range(3)])


def spec_yolo(r0: int, r1: int, c0: int, c1: int, height: int, width: int) -> list[float]:
    return [
        (c0 + c1 + 1) / (2 * width),
        (r0 + r1 + 1) / (2 * height),
        (c1 - c0 + 1) / width,
        (r1 - r0 + 1) / height,
    ]


@pytest.mark.parametrize("orientation", ["stored", "radiological"])
@pytest.mark.parametrize(("target", "spacing"), [(None, None), ((30, 30), None), (None, "isotropic")])
def test_every_mask_image_is_the_nifti_mask_through_the_manifest(
    pairs, tmp_path, orientation, target, spacing
):
    out = tmp_path / "out"
    build_dataset(
        *map(str, pairs),
        str(out),
        view=list(VIEWS),
        orientation=orientation,
        target_size=target,
        spacing=spacing,
        labels=("masks",),
        progress=False,
    )
    for view in VIEWS:
        rows = manifest(out, view)
        assert rows
        for row in rows:
            mask = np.asarray(nib.load(str(pairs[1] / row["source"].replace("_0000", ""))).dataobj)
            name = Path(row["path"]).name
            image = read(out / "masks" / Path(name).with_suffix(".tif"))
            assert image.shape == read(out / row["path"]).shape
            rr, cc = np.meshgrid(*map(np.arange, image.shape), indexing="ij")
            voxels = pix2vox(row) @ np.stack([rr.ravel(), cc.ravel(), np.ones(rr.size)])
            nearest = np.floor(voxels + 0.5).astype(int)
            limit = np.array(SHAPE)[:, None] - 1
            content = np.all((voxels >= -1e-9) & (voxels <= limit + 1e-9), axis=0)
            padding = np.any((voxels < -0.5) | (voxels > limit + 0.5), axis=0)
            pixels = image.ravel()
            np.testing.assert_array_equal(pixels[content], mask[tuple(nearest[:, content])], err_msg=name)
            assert np.all(pixels[padding] == 0)


@pytest.mark.parametrize("components", [False, True])
def test_coco_loads_with_pycocotools_and_every_annotation_is_its_objects_pixels(pairs, tmp_path, components):
    coco_module = pytest.importorskip("pycocotools.coco")
    out = tmp_path / "out"
    build_dataset(
        *map(str, pairs),
        str(out),
        view=["axial", "sagittal"],
        orientation="radiological",
        target_size=(32, 32),
        components=components,
        split=(0.5, 0.25, 0.25),
        seed=4,
        progress=False,
    )
    checked = 0
    for split in ("train", "val", "test"):
        coco = coco_module.COCO(str(out / "annotations" / f"instances_{split}.json"))
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["label_1", "label_2"]
        for image_id in coco.getImgIds():
            info = coco.loadImgs(image_id)[0]
            mask = read(out / "masks" / split / Path(info["file_name"]).with_suffix(".tif"))
            assert (
                (info["height"], info["width"])
                == mask.shape
                == read(out / "images" / split / info["file_name"]).shape
            )
            expected = []
            for label in (1, 2):
                pieces = ndimage.label(mask == label)[0] if components else (mask == label).astype(int)
                expected += [pieces == n for n in range(1, int(pieces.max()) + 1)]
            annotations = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
            assert len(annotations) == len(expected)
            for annotation in annotations:
                pixels = coco.annToMask(annotation).astype(bool)
                assert any(np.array_equal(pixels, e) for e in expected)
                label = annotation["category_id"]
                assert np.all(mask[pixels] == label) and annotation["area"] == pixels.sum()
                rows, cols = np.nonzero(pixels)
                assert annotation["bbox"] == [
                    cols.min(),
                    rows.min(),
                    cols.max() - cols.min() + 1,
                    rows.max() - rows.min() + 1,
                ]
                assert annotation["iscrowd"] == 0
                checked += 1
    assert checked > 30


def test_yolo_lines_are_the_spec_formula_and_empty_slices_have_none(pairs, tmp_path):
    out = tmp_path / "out"
    build_dataset(
        *map(str, pairs),
        str(out),
        view="coronal",
        target_size=(30, 16),
        image_format="png",
        window="brain",
        progress=False,
    )
    yaml = (out / "data.yaml").read_text()
    assert yaml == 'train: images\nnames:\n  0: "label_1"\n  1: "label_2"\n'  # no path:, no val: of train
    images = sorted((out / "images").glob("*.png"))
    labels = sorted((out / "labels").glob("*.txt"))
    assert {p.stem for p in labels} == {p.stem for p in images} | {"classes"}  # background: an empty file
    for image_path in images:
        mask = read(out / "masks" / image_path.name)
        height, width = mask.shape
        expected = []
        for label in (1, 2):
            if (mask == label).any():
                rows, cols = np.nonzero(mask == label)
                expected.append(
                    [label - 1, *spec_yolo(rows.min(), rows.max(), cols.min(), cols.max(), height, width)]
                )
        label_path = out / "labels" / (image_path.stem + ".txt")
        if not expected:
            assert label_path.read_text() == ""
            continue
        lines = [line.split() for line in label_path.read_text().splitlines()]
        assert [int(line[0]) for line in lines] == [e[0] for e in expected]
        for line, wanted in zip(lines, expected, strict=True):
            assert all(len(value.split(".")[1]) == 6 for value in line[1:])
            assert [float(v) for v in line[1:]] == pytest.approx(wanted[1:], abs=5e-7)


def test_labelled_selection_keeps_images_masks_and_labels_together(pairs, tmp_path):
    for select, reach in (("labelled", 0), (("labelled", 2), 2)):
        out = tmp_path / f"out_{reach}"
        build_dataset(*map(str, pairs), str(out), view="axial", select=select, progress=False)
        for seed in range(4):
            mask = phantom(seed)[1]
            held = np.flatnonzero(mask.any(axis=(0, 1)))
            wanted = sorted({j for i in held for j in range(max(0, i - reach), min(SHAPE[2], i + reach + 1))})
            names = {p.stem for p in (out / "images").glob(f"case_{seed}_0000_*")}
            assert names == {f"case_{seed}_0000_axial_{i:03d}" for i in wanted}
            assert names == {p.stem for p in (out / "masks").glob(f"case_{seed}_0000_*")}
            label_files = list((out / "labels").glob(f"case_{seed}_0000_*"))
            assert {p.stem for p in label_files} == names
            labelled = {p.stem for p in label_files if p.read_text()}
            assert labelled == {f"case_{seed}_0000_axial_{i:03d}" for i in held}


def test_splits_keep_cases_whole_and_reproducible(pairs, tmp_path):
    images, masks = pairs
    image, _ = phantom(0)
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / "case_0_0001.nii.gz"))  # a second channel of case_0
    first = tmp_path / "a"
    build_dataset(str(images), str(masks), str(first), split=(0.5, 0.25, 0.25), seed=7, progress=False)
    second = tmp_path / "b"
    build_dataset(str(images), str(masks), str(second), split=(0.5, 0.25, 0.25), seed=7, progress=False)
    listed = json.loads((first / "split.json").read_text())
    assert listed == json.loads((second / "split.json").read_text())
    assert sorted(listed["train"] + listed["val"] + listed["test"]) == [f"case_{n}" for n in range(4)]
    assert [len(listed[s]) for s in ("train", "val", "test")] == [2, 1, 1]
    for split in ("train", "val", "test"):
        cases = {p.name.split("_0000_")[0].split("_0001_")[0] for p in (first / "images" / split).iterdir()}
        assert cases == set(listed[split])
    mapping = tmp_path / "split.csv"
    mapping.write_text("case,split\ncase_0,test\ncase_1,train\ncase_2,train\ncase_3,val\n")
    build_dataset(str(images), str(masks), str(tmp_path / "c"), split=str(mapping), progress=False)
    assert {p.name[:6] for p in (tmp_path / "c" / "images" / "test").iterdir()} == {"case_0"}


@pytest.mark.parametrize("bits", [8])  # 16-bit RGB PNG is refused (test_build_safety.py), TIFF tested there
def test_context_channels_are_the_neighbouring_slices_with_edges_repeated(pairs, tmp_path, bits):
    import cv2  # reads 16-bit RGB PNG, which Pillow narrows to 8 bits

    images, masks = pairs
    result = build_dataset(
        str(images),
        str(masks),
        str(tmp_path / "out"),
        view="sagittal",
        window="brain",
        bits=bits,
        image_format="png",
        context=1,
        progress=False,
    )
    assert not result.skipped
    plain = extract_slices(
        str(images / "case_2_0000.nii.gz"),
        str(tmp_path / "plain"),
        "sagittal",
        window="brain",
        bits=bits,
        image_format="png",
    )
    singles = [np.asarray(Image.open(p)) for p in plain]
    for index in range(len(singles)):
        path = tmp_path / "out" / "images" / f"case_2_0000_sagittal_{index:03d}.png"
        rgb = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]  # OpenCV gives BGR
        assert rgb.shape == (*singles[0].shape, 3) and rgb.dtype == np.dtype(f"uint{bits}")
        for channel in range(3):
            neighbour = min(max(index - 1 + channel, 0), len(singles) - 1)
            np.testing.assert_array_equal(rgb[..., channel], singles[neighbour])


def test_pairing_lists_what_it_could_not_pair(pairs, tmp_path):
    images, masks = pairs
    image, mask = phantom(1)
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / "lonely.nii.gz"))
    nib.save(nib.Nifti1Image(mask, AFFINE), str(masks / "stray_seg.nii.gz"))
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / "other.nii.gz"))
    nib.save(nib.Nifti1Image(mask[:, :, :-1], AFFINE), str(masks / "other_mask.nii.gz"))
    nib.save(nib.Nifti1Image(image, AFFINE), str(images / "moved.nii"))
    shifted = AFFINE.copy()
    shifted[0, 3] += 0.5
    nib.save(nib.Nifti1Image(mask, shifted), str(masks / "moved_label.nii.gz"))
    result = build_dataset(str(images), str(masks), str(tmp_path / "out"), progress=False)
    reasons = {o.name: o.reason for o in result.skipped}
    assert (
        reasons["lonely.nii.gz"]
        == "no mask named lonely, lonely_seg, lonely_mask, lonely_label, lonely_labels"
    )
    assert reasons["stray_seg.nii.gz"] == "a mask without an image of its prefix"
    assert reasons["other.nii.gz"].startswith(
        "its mask other_mask.nii.gz has shape (24, 20, 11), the image (24, 20, 12)"
    )
    assert "affine differs from the image's by 0.5" in reasons["moved.nii"]
    assert not list((tmp_path / "out" / "images").glob("other*")) and len(result.done) == 4
    failures = (tmp_path / "out" / "images_failed.csv").read_text()
    assert "stray_seg.nii.gz" in failures and "lonely.nii.gz" in failures


def test_resume_reuses_complete_pairs_and_redoes_a_damaged_one(pairs, tmp_path):
    out = tmp_path / "out"
    kwargs = {"view": "axial", "select": "labelled", "progress": False}
    build_dataset(*map(str, pairs), str(out), **kwargs)
    before = {
        p.relative_to(out): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and ".nidataset" not in p.parts and p.name != "report.html"
    }
    next((out / "images").glob("case_1_*")).unlink()
    next((out / "labels").glob("case_3_*")).unlink()  # the YOLO finisher writes every label file again
    result = build_dataset(*map(str, pairs), str(out), resume=True, **kwargs)
    assert [o.reused for o in result.outcomes] == [True, False, True, True]
    after = {
        p.relative_to(out): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and ".nidataset" not in p.parts and p.name != "report.html"
    }
    assert after == before


def test_the_command_line_builds_a_dataset(pairs, tmp_path):
    code = main(
        [
            "build",
            *map(str, pairs),
            str(tmp_path / "out"),
            "--window",
            "soft_tissue",
            "--format",
            "png",
            "--select",
            "labelled:1",
            "--split",
            "0.5",
            "0.25",
            "0.25",
            "--labels",
            "yolo,coco",
            "--quiet",
        ]
    )
    assert code == 0
    assert (tmp_path / "out" / "annotations" / "instances_train.json").is_file() and (
        tmp_path / "out" / "split.json"
    ).is_file()
    assert not (tmp_path / "out" / "masks").exists()
    assert main(["build", *map(str, pairs), str(tmp_path / "bad"), "--format", "png", "--quiet"]) == 2
