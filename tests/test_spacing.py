"""spacing= and interpolation=: square pixels by in-plane resampling, as SPEC Part 2 writes it.

Expected images are computed here from nibabel's data with the SPEC's size and grid rule, written out
independently (and checked against scipy's map_coordinates); boxes against the resampled mask images.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from conftest import read_tiff
from nidataset import extract_annotations_dataset, extract_slices, extract_slices_dataset
from nidataset.cli import main

VIEWS = ("axial", "coronal", "sagittal")
PLANE_AXES = {"axial": (0, 1), "coronal": (0, 2), "sagittal": (1, 2)}
SPACING = (0.7, 0.8, 2.5)


def spec_size(count: int, spacing: float, target: float) -> int:
    return math.floor((count - 1) * spacing / target + 0.5) + 1


def spec_linear(image: np.ndarray, steps: tuple[float, float]) -> np.ndarray:
    """Separable linear interpolation at centres m * step, the last clamped to the edge (float64)."""
    result = image.astype(np.float64)
    for axis, step in enumerate(steps):
        count = result.shape[axis]
        size = math.floor((count - 1) / step + 0.5) + 1
        x = np.minimum(np.arange(size) * step, count - 1)
        lo = np.floor(x).astype(int)
        hi = np.minimum(lo + 1, count - 1)
        w = (x - lo).reshape([-1, 1] if axis == 0 else [1, -1])
        result = np.take(result, lo, axis=axis) * (1 - w) + np.take(result, hi, axis=axis) * w
    return result


def spec_nearest(image: np.ndarray, steps: tuple[float, float]) -> np.ndarray:
    index = []
    for count, step in zip(image.shape, steps, strict=True):
        size = math.floor((count - 1) / step + 0.5) + 1
        index.append(np.minimum(np.floor(np.arange(size) * step + 0.5).astype(int), count - 1))
    return image[np.ix_(*index)]


def voxel_sizes(affine: np.ndarray) -> np.ndarray:
    """The millimetres between neighbouring voxel centres along each stored axis."""
    return np.linalg.norm(affine[:3, :3], axis=0)


@pytest.fixture
def ct(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    data = rng.integers(-1000, 2000, size=(11, 9, 6)).astype(np.int16)
    path = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([*SPACING, 1.0])), str(path))
    return path


@pytest.mark.parametrize("spacing", ["isotropic", 0.5, 1.3])
@pytest.mark.parametrize("view", VIEWS)
def test_linear_resampling_gives_the_spec_sizes_and_values(ct, tmp_path, view, spacing):
    image = nib.load(str(ct))
    data = np.asarray(image.dataobj)
    sizes = voxel_sizes(image.affine)  # as the file holds them (float32), not as the test wrote them
    rows, cols = PLANE_AXES[view]
    target = min(sizes[rows], sizes[cols]) if spacing == "isotropic" else spacing
    steps = (target / sizes[rows], target / sizes[cols])
    paths = extract_slices(str(ct), str(tmp_path / "out"), view, spacing=spacing)
    axis = ({0, 1, 2} - {rows, cols}).pop()
    assert len(paths) == data.shape[axis]
    for index, path in enumerate(paths):
        image = read_tiff(path)
        assert image.dtype == np.int16
        assert image.shape == (
            spec_size(data.shape[rows], SPACING[rows], target),
            spec_size(data.shape[cols], SPACING[cols], target),
        )
        source = np.take(data, index, axis=axis)
        expected = spec_linear(source, steps)
        np.testing.assert_array_equal(image, np.rint(expected))
        grid = np.meshgrid(
            *(
                np.minimum(np.arange(n) * s, m - 1)
                for n, s, m in zip(image.shape, steps, source.shape, strict=True)
            ),
            indexing="ij",
        )
        scipy = ndimage.map_coordinates(source.astype(np.float64), grid, order=1, mode="nearest")
        assert np.abs(image - scipy).max() <= 0.5 + 1e-9  # only rounding separates them


@pytest.mark.parametrize("view", VIEWS)
def test_nearest_keeps_label_values_and_float_images_stay_float(tmp_path, view):
    labels = np.zeros((12, 10, 7), dtype=np.uint8)
    labels[2:7, 3:8, 1:5] = 3
    labels[9, 1, 6] = 200
    path = tmp_path / "mask.nii.gz"
    nib.save(nib.Nifti1Image(labels, np.diag([*SPACING, 1.0])), str(path))
    paths = extract_slices(
        str(path), str(tmp_path / "out"), view, spacing="isotropic", interpolation="nearest"
    )
    rows, cols = PLANE_AXES[view]
    target = min(SPACING[rows], SPACING[cols])
    axis = ({0, 1, 2} - {rows, cols}).pop()
    for index, out in enumerate(paths):
        image = read_tiff(out)
        expected = spec_nearest(
            np.take(labels, index, axis=axis), (target / SPACING[rows], target / SPACING[cols])
        )
        np.testing.assert_array_equal(image, expected)
        assert set(np.unique(image)) <= {0, 3, 200}
    floats = tmp_path / "float.nii.gz"
    nib.save(nib.Nifti1Image(labels.astype(np.float32) / 7, np.diag([*SPACING, 1.0])), str(floats))
    image = read_tiff(extract_slices(str(floats), str(tmp_path / "float"), view, spacing=0.6)[2])
    assert image.dtype == np.float32


def test_target_size_is_checked_on_the_resampled_slices(ct, tmp_path):
    # coronal slices are 11 x 6 voxels, 11 x 19 pixels at 0.7 mm: (12, 12) fits the voxels only
    with pytest.raises(ValueError, match=r"coronal slices of 11x19\); nothing was written"):
        extract_slices_dataset(
            str(ct.parent), str(tmp_path / "out"), "coronal", target_size=(12, 12), spacing="isotropic"
        )
    assert not (tmp_path / "out").exists()
    extract_slices_dataset(
        str(ct.parent),
        str(tmp_path / "out"),
        "coronal",
        target_size=(12, 24),
        spacing="isotropic",
        progress=False,
    )
    assert read_tiff(next((tmp_path / "out" / "ct" / "coronal").glob("*.tif"))).shape == (12, 24)


@pytest.mark.parametrize("orientation", ["stored", "radiological"])
def test_manifest_rows_of_resampled_slices_name_the_voxels_nearest_pixels_show(tmp_path, orientation):
    rng = np.random.default_rng(5)
    data = rng.integers(0, 30000, size=(9, 8, 7)).astype(np.int16)
    folder = tmp_path / "in"
    folder.mkdir()
    affine = np.array([[0, 0, 2.5, 4], [-0.7, 0, 0, 5], [0, 0.9, 0, 6], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(data, affine), str(folder / "v.nii.gz"))
    extract_slices_dataset(
        str(folder),
        str(tmp_path / "out"),
        list(VIEWS),
        target_size=(40, 40),
        pad_value=-1,
        orientation=orientation,
        spacing=0.6,
        interpolation="nearest",
        save_manifest=True,
        progress=False,
    )
    for view in VIEWS:
        with open(tmp_path / "out" / f"{view}_manifest.csv", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert {r["interpolation"] for r in rows} == {"nearest"}
        for row in rows:
            image = read_tiff(tmp_path / "out" / row["path"])
            pix2vox = np.array([[float(row[f"pix2vox_{r}{c}"]) for c in range(3)] for r in range(3)])
            rr, cc = np.meshgrid(*map(np.arange, image.shape), indexing="ij")
            voxels = pix2vox @ np.stack([rr.ravel(), cc.ravel(), np.ones(rr.size)])
            # Pixel centres within the voxel centres' range are content; beyond the voxels' outer
            # faces, padding. Between the last centre and the face, the size rule's rounding decides.
            limit = np.array(data.shape)[:, None] - 1
            content = np.all((voxels >= -1e-9) & (voxels <= limit + 1e-9), axis=0)
            padding = np.any((voxels < -0.5) | (voxels > limit + 0.5), axis=0)
            nearest = np.clip(np.floor(voxels + 0.5).astype(int), 0, limit)
            pixels = image.ravel()
            np.testing.assert_array_equal(pixels[content], data[tuple(nearest[:, content])])
            assert np.all(pixels[padding] == -1)
            band = ~content & ~padding
            assert np.all((pixels[band] == -1) | (pixels[band] == data[tuple(nearest[:, band])]))


@pytest.mark.parametrize("orientation", ["stored", "neurological"])
@pytest.mark.parametrize("view", VIEWS)
def test_annotation_boxes_equal_boxes_of_the_nearest_resampled_mask_images(tmp_path, view, orientation):
    masks = tmp_path / "masks"
    masks.mkdir()
    rng = np.random.default_rng(11)
    labels = np.zeros((10, 9, 8), dtype=np.uint8)
    labels[1:4, 2:6, 1:7] = 1
    labels[7, 0:2, 3] = 2
    labels[rng.random(labels.shape) > 0.95] = 4
    nib.save(nib.Nifti1Image(labels, np.diag([0.6, 1.1, 2.2, 1.0])), str(masks / "m.nii.gz"))
    common = {
        "view": view,
        "target_size": (30, 30),
        "orientation": orientation,
        "spacing": "isotropic",
        "progress": False,
    }
    extract_slices_dataset(str(masks), str(tmp_path / "images"), interpolation="nearest", **common)
    extract_annotations_dataset(str(masks), str(tmp_path / "labels"), data_mode="box", **common)
    checked = 0
    for image_path in sorted((tmp_path / "images" / "m" / view).glob("*.tif")):
        image = read_tiff(image_path)
        csv_path = tmp_path / "labels" / "m" / view / (image_path.stem + ".csv")
        rows = list(csv.reader(csv_path.open()))[1:] if csv_path.exists() else []
        assert sorted(int(r[-1]) for r in rows) == sorted(int(v) for v in np.unique(image) if v > 0)
        for x_min, y_min, x_max, y_max, label in (map(int, r) for r in rows):
            ys, xs = np.nonzero(image == label)
            assert (x_min, y_min, x_max, y_max) == (xs.min(), ys.min(), xs.max(), ys.max())
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("iso", "spacing must be None, 'isotropic' or a positive number"),
        (0, "spacing must"),
        (float("nan"), "spacing must"),
    ],
)
def test_bad_spacing_is_refused_before_anything_is_written(ct, tmp_path, value, message):
    with pytest.raises(ValueError, match=message):
        extract_slices_dataset(str(ct.parent), str(tmp_path / "out"), spacing=value)
    with pytest.raises(ValueError, match="interpolation must be one of 'linear', 'nearest'"):
        extract_slices_dataset(str(ct.parent), str(tmp_path / "out"), interpolation="cubic")  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_the_command_line_takes_spacing_and_interpolation(ct, tmp_path, capsys):
    folder = str(ct.parent)
    assert (
        main(
            ["slices", folder, str(tmp_path / "a"), "--view", "coronal", "--spacing", "isotropic", "--quiet"]
        )
        == 0
    )
    assert read_tiff(next((tmp_path / "a" / "ct" / "coronal").glob("*.tif"))).shape == (11, 19)
    assert (
        main(
            [
                "slices",
                folder,
                str(tmp_path / "b"),
                "--spacing",
                "0.35",
                "--interpolation",
                "nearest",
                "--quiet",
            ]
        )
        == 0
    )
    assert read_tiff(next((tmp_path / "b" / "ct" / "axial").glob("*.tif"))).shape == (21, 19)
    with pytest.raises(SystemExit):
        main(["slices", folder, str(tmp_path / "c"), "--spacing", "fine"])
    assert "'isotropic' or a number of millimetres" in capsys.readouterr().err


# ------------------------------------------------------------------------- round trip through 2D
def phantom_labels(folder: Path) -> Path:
    """Label masks of the demo's CT phantoms (body, lungs, bone, heart) and of a real MRI volume."""
    from nidataset.phantoms import DEMO_CASES, ct_affine, ct_phantom

    folder.mkdir()
    for seed, (name, shape, spacing) in enumerate(DEMO_CASES):
        ct = ct_phantom(shape, seed=seed)
        labels = np.zeros(shape, dtype=np.uint8)
        labels[ct > -500] = 1
        labels[(ct < -700) & (ct > -950)] = 2
        labels[ct > 400] = 3
        labels[(ct > 70) & (ct < 200)] = 4
        nib.save(nib.Nifti1Image(labels, ct_affine(spacing)), str(folder / f"{name}.nii.gz"))
    from conftest import DATA

    if (DATA / "someones_anatomy.nii.gz").is_file():
        real = nib.load(str(DATA / "someones_anatomy.nii.gz"))
        values = real.get_fdata()
        labels = (values > np.percentile(values, 60)).astype(np.uint8) + (values > np.percentile(values, 90))
        nib.save(nib.Nifti1Image(labels.astype(np.uint8), real.affine), str(folder / "anatomy_labels.nii.gz"))
    return folder


#: Fraction of voxels recovered exactly, measured 2026-11-29: isotropic pixels (upsampling the coarser
#: axis) give every voxel back in every view; 2 mm pixels on 0.7-0.9 mm CT voxels lose thin structures
#: (0.971 at worst, axial).
RECOVERED = {"isotropic": 1.0, 2.0: 0.97}


@pytest.mark.parametrize("spacing", list(RECOVERED))
@pytest.mark.parametrize("orientation", ["stored", "radiological"])
def test_label_masks_resampled_to_square_pixels_reassemble_to_their_voxels(tmp_path, orientation, spacing):
    import nidataset as nid

    masks = phantom_labels(tmp_path / "masks")
    for view in VIEWS:
        out = tmp_path / f"{view}"
        extract_slices_dataset(
            str(masks),
            str(out / "slices"),
            view=view,
            orientation=orientation,
            spacing=spacing,
            interpolation="nearest",
            save_manifest=True,
            progress=False,
        )
        nid.reassemble(
            str(out / "slices"),
            str(out / "volumes"),
            str(out / "slices" / f"{view}_manifest.csv"),
            progress=False,
        )
        for source in sorted(masks.glob("*.nii.gz")):
            original = nib.load(str(source))
            back = nib.load(str(out / "volumes" / source.name))
            np.testing.assert_allclose(back.affine, original.affine, atol=1e-6)
            recovered = np.mean(np.asarray(back.dataobj) == np.asarray(original.dataobj))
            assert recovered >= RECOVERED[spacing], (view, source.name, recovered)
