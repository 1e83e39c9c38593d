"""layout="huggingface": ``datasets.load_dataset(folder)`` loads it offline, images equal the PNG files.

Expected masks come from nibabel, boxes from the SPEC's COCO formula on them, images from Pillow.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layout_cases import LABEL_NAMES, expected_mask, remove_case, write_cases
from nidataset import build_dataset

# datasets reads these when it is imported: a local folder needs no network, and must not try one
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
datasets = pytest.importorskip("datasets")


def build(images: Path, masks: Path, out: Path, **options: object) -> None:
    settings: dict[str, object] = {
        "layout": "huggingface",
        "image_format": "png",
        "window": "soft_tissue",
        "label_names": LABEL_NAMES,
        "split": (0.6, 0.2, 0.2),
        "progress": False,
    }
    build_dataset(str(images), str(masks), str(out), **{**settings, **options})  # type: ignore[arg-type]


def load(out: Path) -> object:
    # a cache of its own each time: a rerun rewrites the shards under the same names
    return datasets.load_dataset(str(out), cache_dir=tempfile.mkdtemp(dir=out.parent))


def coco_boxes(mask: np.ndarray) -> list[tuple[int, list[int]]]:
    found = []
    for value in (1, 3):
        rows, cols = np.nonzero(mask == value)
        if rows.size:
            r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
            found.append((value, [int(c0), int(r0), int(c1 - c0 + 1), int(r1 - r0 + 1)]))
    return found


def check(out: Path, masks: Path, bits: int = 8) -> dict[str, list[str]]:
    loaded = load(out)
    cases = {}
    with open(out / "axial_manifest.csv", encoding="utf-8") as handle:
        manifest = {row["path"]: row for row in csv.DictReader(handle)}
    for split in loaded:
        data = loaded[split]
        names = data.features["objects"]["category"].feature.names
        assert names == ["liver", "tumour"]
        for row in data:
            stem = f"{row['case']}_{row['view']}_{row['slice_index']:03d}"
            path = f"images/{split}/{stem}.png"
            assert row["path"] == path and row["source"] == f"{row['case']}.nii.gz"
            assert set(manifest[path]) <= set(row)  # every manifest column
            assert float(row["pix2world_00"]) == float(manifest[path]["pix2world_00"])
            expected_image = np.asarray(Image.open(out / path))
            image = np.asarray(row["image"])
            assert image.dtype == expected_image.dtype and image.dtype.itemsize * 8 == bits
            np.testing.assert_array_equal(image, expected_image)
            mask = expected_mask(masks, stem)
            np.testing.assert_array_equal(np.asarray(row["mask"]), mask)
            boxes = coco_boxes(mask)
            assert row["objects"]["bbox"] == [box for _, box in boxes]
            assert [names[c] for c in row["objects"]["category"]] == [LABEL_NAMES[v] for v, _ in boxes]
            cases.setdefault(split, []).append(row["case"])
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "liver" in card and "tumour" in card and "window" in card
    return {split: sorted(set(listed)) for split, listed in cases.items()}


def test_load_dataset_reads_every_split_with_image_features(tmp_path: Path) -> None:
    images, masks = write_cases(tmp_path)
    out = tmp_path / "out"
    build(images, masks, out)
    cases = check(out, masks)
    assert sorted(c for listed in cases.values() for c in listed) == [
        "case_a",
        "case_b",
        "case_c",
        "case_d",
        "empty",
    ]
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        f"{split}-00000-of-00001.parquet" for split in sorted(cases)
    ]
    remove_case(images, masks, "case_a")
    build(images, masks, out)
    cases = check(out, masks)
    assert "case_a" not in [c for listed in cases.values() for c in listed]


def test_sixteen_bits_are_kept_and_no_split_is_train(tmp_path: Path) -> None:
    images, masks = write_cases(tmp_path, ("case_a", "empty"))
    out = tmp_path / "out16"
    build(images, masks, out, bits=16, split=None)
    loaded = load(out)
    assert list(loaded) == ["train"]
    image = np.asarray(loaded["train"][0]["image"])
    assert image.dtype == np.uint16 and image.max() > 255


def test_pyarrow_missing_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a)
    )
    images, masks = write_cases(tmp_path, ("case_a",))
    with pytest.raises(ImportError, match=r"nidataset\[huggingface\]"):
        build(images, masks, tmp_path / "o")


def test_without_a_manifest_the_rows_hold_the_slice_columns(tmp_path: Path) -> None:
    images, masks = write_cases(tmp_path, ("case_a", "empty"))
    out = tmp_path / "bare"
    build(images, masks, out, split=None, save_manifest=False)
    rows = load(out)["train"]
    assert rows.column_names == ["image", "mask", "objects", "case", "view", "slice_index"]
    assert sorted(set(rows["case"])) == ["case_a", "empty"] and len(rows) == 12
