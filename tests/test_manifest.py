"""save_manifest=True: one row per slice file, and every pixel traced back to its voxel and millimetre.

Expected values come from nibabel (``get_fdata``, ``apply_affine``), SimpleITK and SPEC.md's column
list, written out here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nibabel.affines import apply_affine

from conftest import read_tiff
from nidataset import extract_annotations_dataset, extract_slices_dataset
from nidataset.cli import main

VIEWS = ("axial", "coronal", "sagittal")
SPEC_COLUMNS = (
    "path,source,view,orientation,slice_index,source_axis,source_index,rows,cols,pad_top,pad_left,"
    "shape_i,shape_j,shape_k,"
    + ",".join(f"affine_{r}{c}" for r in range(3) for c in range(4))
    + ","
    + ",".join(f"pix2vox_{r}{c}" for r in range(3) for c in range(3))
    + ","
    + ",".join(f"pix2world_{r}{c}" for r in range(3) for c in range(3))
    + ",interpolation,value_map,dtype,qform_code,sform_code"
).split(",")


def oblique_affine(seed: int) -> np.ndarray:
    """A rotated, scaled, translated affine with a permuted, flipped dominant direction."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.1, 0.4, size=3)
    cx, cy, cz = np.cos(angle)
    sx, sy, sz = np.sin(angle)
    rotation = (
        np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
        @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        @ np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    )
    permutation = np.eye(3)[list(rng.permutation(3))] * rng.choice([-1, 1], size=3)[:, None]
    affine = np.eye(4)
    affine[:3, :3] = rotation @ permutation @ np.diag(rng.uniform(0.5, 3.0, size=3))
    affine[:3, 3] = rng.uniform(-100, 100, size=3)
    return affine


@pytest.fixture(scope="module")
def volumes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("volumes")
    for seed, shape in enumerate([(6, 7, 5), (5, 4, 8), (7, 5, 6)]):
        data = (np.arange(np.prod(shape)).reshape(shape) * 3 - 50).astype(np.int16)
        image = nib.Nifti1Image(data, oblique_affine(seed))
        image.set_qform(image.affine, code=1)
        nib.save(image, str(folder / f"case_{seed}.nii.gz"))
    return folder


def read_manifest(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == SPEC_COLUMNS
        return list(reader)


def matrix(row: dict[str, str], name: str) -> np.ndarray:
    return np.array([[float(row[f"{name}_{r}{c}"]) for c in range(3)] for r in range(3)])


@pytest.mark.parametrize("orientation", ["stored", "radiological", "neurological"])
@pytest.mark.parametrize("target", [None, (10, 11)], ids=["unpadded", "padded"])
def test_every_pixel_is_the_voxel_its_row_names(volumes, tmp_path, orientation, target):
    out = tmp_path / "out"
    extract_slices_dataset(
        str(volumes),
        str(out),
        view=list(VIEWS),
        target_size=target,
        pad_value=-7,
        orientation=orientation,
        save_stats=True,
        save_manifest=True,
        progress=False,
    )
    data = {p.name: np.asarray(nib.load(str(p)).get_fdata()) for p in volumes.glob("*.nii.gz")}
    for view in VIEWS:
        rows = read_manifest(out / f"{view}_manifest.csv")
        files = sorted(p.relative_to(out).as_posix() for p in out.glob(f"*/{view}/*.tif"))
        assert sorted(r["path"] for r in rows) == files
        for row in rows:
            image = read_tiff(out / row["path"])
            volume = data[row["source"]]
            assert image.shape == (int(row["rows"]), int(row["cols"]))
            assert (
                row["view"],
                row["orientation"],
                row["interpolation"],
                row["value_map"],
                row["dtype"],
            ) == (view, orientation, "none", "identity", "int16")
            assert tuple(int(row[f"shape_{a}"]) for a in "ijk") == volume.shape
            pix2vox = matrix(row, "pix2vox")
            assert all(float(v).is_integer() for v in pix2vox.ravel())
            rr, cc = np.meshgrid(*map(np.arange, image.shape), indexing="ij")
            voxels = (pix2vox @ np.stack([rr.ravel(), cc.ravel(), np.ones(rr.size)])).astype(int)
            inside = np.all((voxels >= 0) & (voxels < np.array(volume.shape)[:, None]), axis=0)
            expected = np.full(rr.size, -7.0)
            expected[inside] = volume[tuple(voxels[:, inside])]
            np.testing.assert_array_equal(image.ravel(), expected, err_msg=row["path"])
            axis, index = int(row["source_axis"]), int(row["source_index"])
            assert np.all(voxels[axis] == index)
            top, left = int(row["pad_top"]), int(row["pad_left"])
            inside_image = inside.reshape(image.shape)
            assert inside_image[top, left] and inside_image[0, 0] == (top == left == 0)


def test_pix2world_agrees_with_nibabel_and_simpleitk(volumes, tmp_path):
    sitk = pytest.importorskip("SimpleITK")
    out = tmp_path / "out"
    extract_slices_dataset(
        str(volumes),
        str(out),
        view=list(VIEWS),
        target_size=(12, 12),
        orientation="radiological",
        save_manifest=True,
        progress=False,
    )
    rng = np.random.default_rng(0)
    checked = 0
    for view in VIEWS:
        for row in read_manifest(out / f"{view}_manifest.csv"):
            source = volumes / row["source"]
            affine = nib.load(str(source)).affine
            assert np.allclose(
                [float(row[f"affine_{r}{c}"]) for r in range(3) for c in range(4)], affine[:3].ravel()
            )
            itk = sitk.ReadImage(str(source))
            for _ in range(3):
                pixel = np.array([rng.integers(0, 12), rng.integers(0, 12), 1])
                voxel = matrix(row, "pix2vox") @ pixel
                world = matrix(row, "pix2world") @ pixel
                np.testing.assert_allclose(world, apply_affine(affine, voxel), atol=1e-4)
                lps = itk.TransformContinuousIndexToPhysicalPoint([float(v) for v in voxel])
                np.testing.assert_allclose(world, [-lps[0], -lps[1], lps[2]], atol=1e-4)  # ITK is LPS
                checked += 1
    assert checked > 100


def test_rows_follow_the_statistics_and_resume_gives_the_same_manifest(volumes, tmp_path):
    kwargs = {"view": ["coronal", "axial"], "saving_mode": "view", "save_stats": True, "progress": False}
    extract_slices_dataset(str(volumes), str(tmp_path / "fresh"), save_manifest=True, **kwargs)
    interrupted = tmp_path / "resumed"
    extract_slices_dataset(str(volumes), str(interrupted), **kwargs)
    next(iter(sorted((interrupted / "axial").glob("case_1_*.tif")))).unlink()
    result = extract_slices_dataset(str(volumes), str(interrupted), resume=True, save_manifest=True, **kwargs)
    assert [o.reused for o in result.outcomes] == [True, False, True]
    for view in ("coronal", "axial"):
        fresh = (tmp_path / "fresh" / f"{view}_manifest.csv").read_bytes()
        assert (interrupted / f"{view}_manifest.csv").read_bytes() == fresh
        rows = read_manifest(tmp_path / "fresh" / f"{view}_manifest.csv")
        with open(tmp_path / "fresh" / f"{view}_slices_stats.csv", encoding="utf-8") as handle:
            stats = [r for r in csv.DictReader(handle) if r["FILENAME"] != "TOTAL_SLICES"]
        order = [r["source"] for r in rows]
        assert sorted(set(order), key=order.index) == [s["FILENAME"] for s in stats]
        assert [order.count(s["FILENAME"]) for s in stats] == [int(s["NUM_SLICES"]) for s in stats]


def test_no_manifest_unless_asked(volumes, tmp_path):
    extract_slices_dataset(str(volumes), str(tmp_path / "out"), progress=False)
    assert not list((tmp_path / "out").glob("*manifest*"))


def test_annotation_rows_join_their_image_rows(volumes, tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    for source in volumes.glob("*.nii.gz"):
        image = nib.load(str(source))
        labels = (np.asarray(image.dataobj) % 97 == 0).astype(np.uint8)
        nib.save(nib.Nifti1Image(labels, image.affine), str(masks / source.name))
    common = {"view": list(VIEWS), "target_size": (12, 12), "orientation": "neurological", "progress": False}
    extract_slices_dataset(str(masks), str(tmp_path / "images"), save_manifest=True, **common)
    extract_annotations_dataset(
        str(masks), str(tmp_path / "labels"), data_mode="box", save_manifest=True, **common
    )
    for view in VIEWS:
        images = {
            (r["source"], r["slice_index"]): r
            for r in read_manifest(tmp_path / "images" / f"{view}_manifest.csv")
        }
        labels = read_manifest(tmp_path / "labels" / f"{view}_manifest.csv")
        csvs = sorted(
            p.relative_to(tmp_path / "labels").as_posix()
            for p in (tmp_path / "labels").glob(f"*/{view}/*.csv")
        )
        assert sorted(r["path"] for r in labels) == csvs and csvs
        for row in labels:
            image_row = images[row["source"], row["slice_index"]]
            assert Path(row["path"]).stem == Path(image_row["path"]).stem
            same = [c for c in SPEC_COLUMNS if c not in ("path", "dtype")]
            assert [row[c] for c in same] == [image_row[c] for c in same]
            assert row["dtype"] == ""


def test_volume_mode_annotations_refuse_a_manifest(volumes, tmp_path):
    with pytest.raises(ValueError, match="save_manifest lists slice files: it needs extraction_mode='slice'"):
        extract_annotations_dataset(
            str(volumes), str(tmp_path / "out"), extraction_mode="volume", save_manifest=True
        )
    assert not (tmp_path / "out").exists()


def test_the_command_line_writes_the_manifest(volumes, tmp_path):
    assert main(["slices", str(volumes), str(tmp_path / "out"), "--save-manifest", "--quiet"]) == 0
    assert len(read_manifest(tmp_path / "out" / "axial_manifest.csv")) == 5 + 8 + 6
