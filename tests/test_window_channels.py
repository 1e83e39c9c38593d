"""Several windows as channels (SPEC Part 3): channel c of the RGB image is window c of the same slice.

Expected pixels come from SPEC's VOI formula written out here value by value, on nibabel's
get_fdata() values; images are read back with Pillow and OpenCV.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import nibabel as nib
import numpy as np
import pytest
import tifffile
from PIL import Image

from nidataset import build_dataset, extract_slices, extract_slices_dataset
from nidataset.cli import main

PRESETS = {"brain": (40, 80), "subdural": (75, 215), "bone": (480, 2500)}


def voi(x: float, center: float, width: float, bits: int) -> int:
    top = 2**bits - 1
    if math.isnan(x) or x <= center - 0.5 - (width - 1) / 2:
        return 0
    if x > center - 0.5 + (width - 1) / 2:
        return top
    return math.floor(((x - (center - 0.5)) / (width - 1) + 0.5) * top + 0.5)


def rgb(values: np.ndarray, windows: list[tuple[float, float]], bits: int) -> np.ndarray:
    channels = [[voi(float(v), c, w, bits) for v in values.ravel()] for c, w in windows]
    return np.stack([np.array(c).reshape(values.shape) for c in channels], axis=-1)


def read_png(path: Path) -> np.ndarray:
    """A PNG as OpenCV reads it (BGR turned to RGB), after checking Pillow agrees where it can."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    if image.dtype == np.uint8:
        np.testing.assert_array_equal(np.asarray(Image.open(path)), image)
    return image


@pytest.fixture
def ct(tmp_path: Path) -> Path:
    folder = tmp_path / "ct"
    folder.mkdir()
    rng = np.random.default_rng(3)
    data = rng.integers(-1100, 2000, (9, 7, 4)).astype(np.int16)
    data[0, 0, :] = 40  # the window centres and bounds, exactly
    data[1, 0, :] = 0
    data[2, 0, :] = 1730
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(folder / "head.nii.gz"))
    return folder


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("window", [["brain", "subdural", "bone"], ["brain", (75, 215), (480.0, 2500.0)]])
def test_slices_hold_three_windows_as_rgb(ct: Path, tmp_path: Path, window: list[object], bits: int) -> None:
    """8-bit RGB as PNG; 16-bit RGB as TIFF (Pillow reads a 16-bit RGB PNG as 8 bits: refused)."""
    out = tmp_path / "out"
    image_format = "png" if bits == 8 else "tiff"
    extract_slices(str(ct / "head.nii.gz"), str(out), window=window, bits=bits, image_format=image_format)
    values = np.asarray(nib.load(str(ct / "head.nii.gz")).get_fdata())
    for k in range(values.shape[2]):
        if bits == 8:
            image = read_png(out / f"head_axial_{k:03d}.png")
        else:
            image = tifffile.imread(out / f"head_axial_{k:03d}.tif")
            np.testing.assert_array_equal(
                cv2.imread(str(out / f"head_axial_{k:03d}.tif"), cv2.IMREAD_UNCHANGED)[:, :, ::-1], image
            )
        assert image.dtype == (np.uint8 if bits == 8 else np.uint16)
        np.testing.assert_array_equal(image, rgb(values[:, :, k], list(PRESETS.values()), bits))


def test_three_windows_at_16_bits_are_refused_as_png(ct: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="16-bit RGB PNG as 8 bits; use image_format='tiff'"):
        extract_slices(
            str(ct / "head.nii.gz"), str(tmp_path / "out"), window=["brain"] * 3, bits=16, image_format="png"
        )
    assert not (tmp_path / "out").exists()


def test_padding_and_manifest_list_the_three_windows(ct: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    extract_slices_dataset(
        str(ct),
        str(out),
        window=["brain", "subdural", "bone"],
        image_format="png",
        target_size=(11, 9),
        pad_value=-1000,
        save_manifest=True,
        progress=False,
    )
    image = read_png(out / "head" / "axial" / "head_axial_000.png")
    values = np.asarray(nib.load(str(ct / "head.nii.gz")).get_fdata())[:, :, 0]
    padded = np.full((11, 9), -1000.0)
    padded[1:10, 1:8] = values
    np.testing.assert_array_equal(image, rgb(padded, list(PRESETS.values()), 8))
    with open(out / "axial_manifest.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["value_map"] for row in rows} == {
        "window c=40 w=80 uint8; window c=75 w=215 uint8; window c=480 w=2500 uint8"
    }


def test_builder_writes_rgb_images_and_the_cli_takes_a_list(ct: Path, tmp_path: Path) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    mask = np.zeros((9, 7, 4), np.uint8)
    mask[2:5, 2:5, 1] = 1
    nib.save(nib.Nifti1Image(mask, np.eye(4)), str(masks / "head.nii.gz"))
    out = tmp_path / "built"
    arguments = ["build", str(ct), str(masks), str(out), "--window", "brain,75:215,bone", "--format", "png"]
    code = main([*arguments, "--quiet"])
    assert code == 0
    values = np.asarray(nib.load(str(ct / "head.nii.gz")).get_fdata())
    for k in range(4):
        image = read_png(out / "images" / f"head_axial_{k:03d}.png")
        np.testing.assert_array_equal(image, rgb(values[:, :, k], list(PRESETS.values()), 8))


@pytest.mark.parametrize(
    ("window", "context", "message"),
    [
        (["brain", "bone"], 0, "exactly three"),
        (["brain", "bone", "auto"], 0, "presets or"),
        (["brain", "bone", "lung", "liver"], 0, "exactly three"),
        (["brain", "subdural", "bone"], 1, "context"),
    ],
)
def test_refused(ct: Path, tmp_path: Path, window: list[str], context: int, message: str) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    with pytest.raises(ValueError, match=message):
        build_dataset(
            str(ct), str(masks), str(tmp_path / "o"), window=window, context=context, progress=False
        )
    assert not (tmp_path / "o").exists()
