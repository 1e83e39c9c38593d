"""boxes_to_volume: 2D boxes and centres back to stored voxels and scanner millimetres.

Expected extents come from the masks themselves (numpy on the voxels of each object in each stored
slice), millimetres from ``nibabel.affines.apply_affine``: never from the package's geometry.
"""

from __future__ import annotations

import csv
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nibabel.affines import apply_affine

from nidataset import boxes_to_volume, extract_annotations_dataset

VIEWS = ("axial", "coronal", "sagittal")
SHAPES = {"case_0": (9, 7, 6), "case_1": (6, 10, 8)}


def affine_for(seed: int) -> np.ndarray:
    """Permuted, flipped, scaled, rotated a little and translated: every layout differs."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.1, 0.3)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    permutation = np.eye(3)[list(rng.permutation(3))] * rng.choice([-1, 1], size=3)[:, None]
    affine = np.eye(4)
    affine[:3, :3] = rotation @ permutation @ np.diag(rng.uniform(0.5, 3.0, size=3))
    affine[:3, 3] = rng.uniform(-50, 50, size=3)
    return affine


@pytest.fixture(scope="module")
def masks(tmp_path_factory) -> Path:
    """Irregular objects of three labels, each spanning several slices in every view."""
    folder = tmp_path_factory.mktemp("masks")
    for seed, (prefix, shape) in enumerate(SHAPES.items()):
        rng = np.random.default_rng(seed)
        data = np.zeros(shape, dtype=np.uint8)
        for label in (1, 4, 9):
            start = rng.integers(0, np.array(shape) // 2)
            stop = start + rng.integers(2, np.array(shape) // 2 + 2)
            block = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
            data[block] = np.where(rng.random(data[block].shape) < 0.6, label, data[block])
        nib.save(nib.Nifti1Image(data, affine_for(seed)), str(folder / f"{prefix}.nii.gz"))
    return folder


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def extents(mask: np.ndarray, label: int, axis: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The inclusive voxel extent of one label's voxels in one stored slice."""
    voxels = np.argwhere(mask == label)
    voxels = voxels[voxels[:, axis] == index]
    return voxels.min(axis=0), voxels.max(axis=0)


@pytest.mark.parametrize("orientation", ["stored", "radiological", "neurological"])
@pytest.mark.parametrize("target", [None, (13, 14)], ids=["unpadded", "padded"])
def test_slice_boxes_give_the_extent_of_each_object_in_its_stored_slice(masks, tmp_path, orientation, target):
    out = tmp_path / "labels"
    extract_annotations_dataset(
        str(masks),
        str(out),
        view=list(VIEWS),
        data_mode="box",
        target_size=target,
        orientation=orientation,
        save_manifest=True,
        progress=False,
    )
    images = {p: nib.load(str(masks / f"{p}.nii.gz")) for p in SHAPES}
    checked = 0
    for view in VIEWS:
        manifest = out / f"{view}_manifest.csv"
        for row in read_rows(manifest):
            image = images[row["source"].removesuffix(".nii.gz")]
            mask, affine = np.asarray(image.dataobj), image.affine
            axis, index = int(row["source_axis"]), int(row["source_index"])
            found = boxes_to_volume(out / row["path"], manifest)
            present = sorted(set(np.unique(np.take(mask, index, axis=axis))) - {0})
            assert sorted(r["LABEL"] for r in found) == present
            for box in found:
                low, high = extents(mask, box["LABEL"], axis, index)
                assert [box[c] for c in ("X_MIN", "Y_MIN", "Z_MIN")] == low.tolist(), (row["path"], box)
                assert [box[c] for c in ("X_MAX", "Y_MAX", "Z_MAX")] == high.tolist(), (row["path"], box)
                assert all(type(box[c]) is int for c in ("X_MIN", "Z_MAX"))
                centre = apply_affine(affine, (low + high) / 2)
                np.testing.assert_allclose([box["x_mm"], box["y_mm"], box["z_mm"]], centre, atol=1e-4)
                checked += 1
    assert checked > 40


def test_centres_and_radii(masks, tmp_path):
    out = tmp_path / "labels"
    extract_annotations_dataset(
        str(masks),
        str(out),
        view="coronal",
        data_mode="radius",
        target_size=(12, 12),
        orientation="radiological",
        save_manifest=True,
        progress=False,
    )
    manifest = out / "coronal_manifest.csv"
    image = nib.load(str(masks / "case_1.nii.gz"))
    mask = np.asarray(image.dataobj)
    rows = [r for r in read_rows(manifest) if r["source"] == "case_1.nii.gz"]
    for row in rows:
        axis, index = int(row["source_axis"]), int(row["source_index"])
        for box in boxes_to_volume(out / row["path"], manifest):
            assert list(box)[:6] == ["CENTER_X", "CENTER_Y", "CENTER_Z", "RADIUS_X", "RADIUS_Y", "RADIUS_Z"]
            low, high = extents(mask, box["LABEL"], axis, index)
            assert [box[f"CENTER_{a}"] for a in "XYZ"] == ((low + high) / 2).tolist()
            assert [box[f"RADIUS_{a}"] for a in "XYZ"] == ((high - low) / 2).tolist()
            assert box[f"RADIUS_{'XYZ'[axis]}"] == 0
            centre = apply_affine(image.affine, (low + high) / 2)
            np.testing.assert_allclose([box["x_mm"], box["y_mm"], box["z_mm"]], centre, atol=1e-4)


def test_rows_from_a_dataframe_by_path_or_by_source_and_slice(masks, tmp_path):
    out = tmp_path / "labels"
    common = {"view": "sagittal", "orientation": "neurological", "save_manifest": True, "progress": False}
    extract_annotations_dataset(str(masks), str(out), data_mode="box", **common)
    manifest = out / "sagittal_manifest.csv"
    frames = []
    for row in read_rows(manifest):
        frame = pd.read_csv(out / row["path"])
        frame["path"] = row["path"]
        frame["source"], frame["slice_index"] = row["source"], int(row["slice_index"])
        frames.append(frame)
    boxes = pd.concat(frames, ignore_index=True)
    by_csv = [box for row in read_rows(manifest) for box in boxes_to_volume(out / row["path"], manifest)]
    by_path = boxes_to_volume(boxes.drop(columns=["source", "slice_index"]), manifest)
    by_slice = boxes_to_volume(boxes.drop(columns=["path"]).to_dict("records"), pd.read_csv(manifest))
    assert len(by_csv) == len(boxes) > 10
    keys = ["X_MIN", "Y_MIN", "Z_MIN", "X_MAX", "Y_MAX", "Z_MAX", "LABEL", "x_mm", "y_mm", "z_mm"]
    for one, two, three in zip(by_csv, by_path, by_slice, strict=True):
        assert [one[k] for k in keys] == [two[k] for k in keys] == [three[k] for k in keys]
    assert list(by_path[0]) == [*keys[:7], "path", *keys[7:]]
    # an image manifest row joins an annotation CSV of the same name: paths match without extension
    images_rows = [dict(r, path=r["path"].replace(".csv", ".tif")) for r in read_rows(manifest)]
    assert boxes_to_volume(boxes.drop(columns=["source", "slice_index"]), images_rows) == by_path


def hand_made_row(pix2vox: np.ndarray, affine: np.ndarray) -> dict[str, object]:
    pix2world = (affine @ np.vstack([pix2vox, [0, 0, 1]]))[:3]
    row: dict[str, object] = {
        "path": "case/axial/case_axial_004.tif",
        "source": "case.nii.gz",
        "slice_index": 4,
    }
    row |= {f"pix2vox_{r}{c}": pix2vox[r, c] for r in range(3) for c in range(3)}
    row |= {f"pix2world_{r}{c}": pix2world[r, c] for r in range(3) for c in range(3)}
    return row


def test_resampled_slices_give_fractional_voxels(tmp_path):
    """Pixels of 2 voxels down the rows and half a voxel across, transposed: a float matrix."""
    affine = np.array([[0, 0, 1.5, -10], [-0.8, 0, 0, 20], [0, 2.0, 0, 5], [0, 0, 0, 1]])
    pix2vox = np.array([[0.0, 0.5, -1.0], [2.0, 0.0, 0.0], [0.0, 0.0, 4.0]])  # i = col / 2 - 1, j = 2 row
    box = {
        "X_MIN": 3,
        "Y_MIN": 1,
        "X_MAX": 8,
        "Y_MAX": 2,
        "LABEL": 5,
        "source": "case.nii.gz",
        "slice_index": 4,
    }
    (found,) = boxes_to_volume([box], [hand_made_row(pix2vox, affine)])
    expected = {"X_MIN": 0.5, "Y_MIN": 2.0, "Z_MIN": 4.0, "X_MAX": 3.0, "Y_MAX": 4.0, "Z_MAX": 4.0}
    assert {k: found[k] for k in expected} == expected
    assert all(type(found[k]) is float for k in expected)
    centre = apply_affine(affine, [(0.5 + 3.0) / 2, 3.0, 4.0])
    np.testing.assert_allclose([found["x_mm"], found["y_mm"], found["z_mm"]], centre)
    (centre_row,) = boxes_to_volume(
        [{"CENTER_X": 5.5, "CENTER_Y": 1.5, "path": "case/axial/case_axial_004.png"}],
        [hand_made_row(pix2vox, affine)],
    )
    assert [centre_row[f"CENTER_{a}"] for a in "XYZ"] == [1.75, 3.0, 4.0]


@pytest.mark.parametrize(
    ("boxes", "manifest", "match"),
    [
        ([{"X_MIN": 1, "Y_MIN": 1, "X_MAX": 2, "Y_MAX": 2}], "rows", "row 0 needs a 'path', or 'source'"),
        ([{"X_MIN": 1, "path": "case/axial/case_axial_004.csv"}], "rows", "a row needs the columns X_MIN"),
        ([{"CENTER_X": 1, "CENTER_Y": 1, "path": "x/y.csv"}], "rows", "row 0: path 'x/y.csv' is not in"),
        ([{"CENTER_X": 1, "CENTER_Y": 1, "source": "case.nii.gz", "slice_index": 3}], "rows", "is not in"),
        ("boxes.csv", "rows", "boxes given as a CSV path need manifest as a path"),
        ([{"CENTER_X": 1, "CENTER_Y": 1, "slice_index": 4}], "no pix2world", "lacks the manifest columns"),
        ({"CENTER_X": 1}, "rows", "expected a path, a DataFrame or an iterable of mappings"),
    ],
    ids=[
        "no key",
        "half a box",
        "unknown path",
        "unknown slice",
        "csv without a path",
        "columns",
        "a mapping",
    ],
)
def test_bad_rows_are_refused(tmp_path, boxes, manifest, match):
    row = hand_made_row(np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 4]]), np.eye(4))
    if manifest == "no pix2world":
        row = {k: v for k, v in row.items() if not k.startswith("pix2world")}
    if boxes == "boxes.csv":
        (tmp_path / "boxes.csv").write_text("CENTER_X,CENTER_Y\n1,1\n", encoding="utf-8")
        boxes = tmp_path / "boxes.csv"
    with pytest.raises(ValueError, match=match):
        boxes_to_volume(boxes, [row])


def test_a_missing_manifest_or_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"manifest .* does not exist"):
        boxes_to_volume([], tmp_path / "none.csv")
    row = hand_made_row(np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 4]]), np.eye(4))
    (tmp_path / "m.csv").write_text(",".join(row) + "\n" + ",".join(map(str, row.values())) + "\n")
    with pytest.raises(FileNotFoundError, match=r"boxes .* does not exist"):
        boxes_to_volume(tmp_path / "none.csv", tmp_path / "m.csv")
