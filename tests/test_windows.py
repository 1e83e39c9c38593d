"""window= and bits=: the DICOM linear VOI function of SPEC Part 2, checked against the formula.

The expected pixels are computed here, value by value, with Python floats from SPEC.md's formula and
its preset table; the voxels' real values come from nibabel's get_fdata().
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from conftest import read_tiff, write_volume
from nidataset import extract_slices, extract_slices_dataset
from nidataset.cli import main

SPEC_PRESETS = {
    "brain": (40, 80),
    "subdural": (75, 215),
    "stroke": (40, 40),
    "bone": (480, 2500),
    "soft_tissue": (50, 350),
    "lung": (-600, 1500),
    "liver": (60, 160),
    "mediastinum": (50, 350),
}


def spec_window(x: float, center: float, width: float, bits: int) -> int:
    """SPEC Part 2 / DICOM PS3.3 C.11.2.1.2.1, rounded to the nearest integer (halves up)."""
    top = 2**bits - 1
    if math.isnan(x) or x <= center - 0.5 - (width - 1) / 2:
        return 0
    if x > center - 0.5 + (width - 1) / 2:
        return top
    return math.floor(((x - (center - 0.5)) / (width - 1) + 0.5) * top + 0.5)


def expected(values: np.ndarray, center: float, width: float, bits: int) -> np.ndarray:
    flat = [spec_window(float(v), center, width, bits) for v in values.ravel()]
    return np.array(flat).reshape(values.shape)


def boundary_values(center: float, width: float) -> np.ndarray:
    """Values at, just inside and just outside both bounds, and spread across the window."""
    low, high = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    edges = [low, np.nextafter(low, np.inf), high, np.nextafter(high, np.inf), np.nextafter(low, -np.inf)]
    inside = np.linspace(low - width / 4, high + width / 4, 53)
    return np.array([*edges, *inside, center, center - 0.5])


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("window", [*SPEC_PRESETS, (10.25, 3.5), (0.0, 1.0), (-3.0, 2.0)])
def test_every_pixel_is_the_spec_formula_of_its_real_value(tmp_path, window, bits):
    center, width = SPEC_PRESETS[window] if isinstance(window, str) else window
    values = boundary_values(center, width).reshape(4, 3, 5)  # float64 voxels: exact real values
    path = write_volume(tmp_path / "v.nii.gz", values)
    paths = extract_slices(str(path), str(tmp_path / "out"), "axial", window=window, bits=bits)
    real = np.asarray(nib.load(str(path)).get_fdata())
    for index, out in enumerate(paths):
        image = read_tiff(out)
        assert image.dtype == (np.uint8 if bits == 8 else np.uint16)
        np.testing.assert_array_equal(image, expected(real[:, :, index], center, width, bits))


def test_the_bounds_are_exact(tmp_path):
    center, width = 40.0, 80.0  # bounds 0 and 79
    values = np.array([0.0, np.nextafter(0.0, 1), 79.0, np.nextafter(79.0, 100), -1e9, 1e9]).reshape(6, 1, 1)
    out = extract_slices(
        str(write_volume(tmp_path / "v.nii", values)), str(tmp_path / "o"), window=(center, width)
    )
    assert read_tiff(out[0]).ravel().tolist() == [0, 0, 255, 255, 0, 255]


@pytest.mark.parametrize("view", ["axial", "coronal", "sagittal"])
def test_ct_with_slope_and_intercept_is_windowed_on_its_hounsfield_units(tmp_path, view):
    raw = (np.arange(7 * 9 * 5) * 37 % 4000).reshape(7, 9, 5).astype(np.uint16)
    path = write_volume(tmp_path / "ct.nii.gz", raw, slope=0.5, inter=-1024.0)
    hounsfield = np.asarray(nib.load(str(path)).get_fdata())
    assert hounsfield.min() < -500 < 500 < hounsfield.max()
    paths = extract_slices(str(path), str(tmp_path / "out"), view, window="soft_tissue", bits=16)
    axis = {"axial": 2, "coronal": 1, "sagittal": 0}[view]
    for index, out in enumerate(paths):
        np.testing.assert_array_equal(
            read_tiff(out), expected(np.take(hounsfield, index, axis=axis), 50, 350, 16)
        )


@pytest.mark.parametrize(("dtype", "bits"), [("int16", 8), ("uint16", 16), ("int8", 8), ("uint8", 16)])
def test_every_stored_integer_value_is_windowed_by_the_spec_formula(tmp_path, dtype, bits):
    """Each possible value of the dtype once, with a slope and an intercept (8- and 16-bit integers
    are windowed through a table of every value: this checks all of its entries)."""
    info = np.iinfo(dtype)
    raw = np.arange(info.min, info.max + 1).astype(dtype).reshape(-1, 16, 1)
    path = write_volume(tmp_path / "v.nii.gz", raw, slope=0.75, inter=-1000.5)
    real = np.asarray(nib.load(str(path)).get_fdata())
    center, width = (40.0, 801.0) if raw.itemsize == 2 else (-950.0, 101.0)
    out = extract_slices(str(path), str(tmp_path / "out"), window=(center, width), bits=bits)
    np.testing.assert_array_equal(read_tiff(out[0]), expected(real[:, :, 0], center, width, bits))


def test_auto_takes_each_volumes_percentiles_and_the_manifest_records_it(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(2)
    volumes = {
        "a.nii.gz": rng.normal(100, 20, (8, 7, 6)).astype(np.float32),
        "b.nii.gz": rng.normal(-300, 400, (6, 8, 7)).astype(np.float32),
    }
    volumes["b.nii.gz"][0, 0, 0] = np.nan
    for name, data in volumes.items():
        write_volume(folder / name, data)
    out = tmp_path / "out"
    kwargs = {"view": "coronal", "window": "auto", "save_manifest": True, "progress": False}
    extract_slices_dataset(str(folder), str(out), **kwargs)
    with open(out / "coronal_manifest.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for name in volumes:
        real = np.asarray(nib.load(str(folder / name)).get_fdata())
        low, high = np.percentile(real[np.isfinite(real)], [0.5, 99.5])
        center, width = (low + high) / 2 + 0.5, high - low + 1  # bounds c - 0.5 -+ (w - 1) / 2 = low, high
        prefix = name.removesuffix(".nii.gz")
        maps = {r["value_map"] for r in rows if r["source"] == name}
        assert maps == {f"window c={center:g} w={width:g} uint8"}
        assert {r["dtype"] for r in rows if r["source"] == name} == {"uint8"}
        for index, path in enumerate(sorted((out / prefix / "coronal").glob("*.tif"))):
            np.testing.assert_array_equal(read_tiff(path), expected(real[:, index, :], center, width, 8))
    first = (out / "coronal_manifest.csv").read_bytes()
    next((out / "a" / "coronal").glob("*.tif")).unlink()
    result = extract_slices_dataset(str(folder), str(out), resume=True, **kwargs)
    assert [o.reused for o in result.outcomes] == [False, True]
    assert (out / "coronal_manifest.csv").read_bytes() == first


def test_padding_is_a_real_value_windowed_like_the_voxels(tmp_path):
    path = write_volume(tmp_path / "v.nii.gz", np.full((3, 4, 2), 60, dtype=np.int16))
    paths = extract_slices(
        str(path), str(tmp_path / "o"), target_size=(5, 6), pad_value=-1024, window="brain"
    )
    image = read_tiff(paths[0])
    assert image[0, 0] == 0 and image[2, 2] == spec_window(60, 40, 80, 8)


def test_fixed_windows_are_recorded_in_the_manifest(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "v.nii.gz", np.zeros((3, 4, 2), dtype=np.int16))
    extract_slices_dataset(
        str(folder), str(tmp_path / "o"), window="lung", bits=16, save_manifest=True, progress=False
    )
    with open(tmp_path / "o" / "axial_manifest.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["value_map"], r["dtype"]) for r in rows} == {("window c=-600 w=1500 uint16", "uint16")}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": "head"}, "window must be None, \\(center, width\\), or one of 'auto', 'brain'"),
        ({"window": (40, 0.5)}, "width >= 1"),
        ({"window": (float("nan"), 80)}, "finite numbers"),
        ({"window": "brain", "bits": 12}, "bits must be 8 or 16"),
        ({"bits": 16}, "bits=16 needs a window, whose output's depth it sets: add window='soft_tissue'"),
    ],
    ids=lambda value: str(value)[:24],
)
def test_bad_windows_are_refused_before_anything_is_written(tmp_path, kwargs, message):
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "v.nii.gz", np.zeros((3, 4, 2), dtype=np.int16))
    with pytest.raises(ValueError, match=message):
        extract_slices_dataset(str(folder), str(tmp_path / "out"), **kwargs)
    assert not (tmp_path / "out").exists()


def test_the_command_line_takes_a_window(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    values = boundary_values(40, 80).reshape(4, 3, 5)
    path = write_volume(folder / "v.nii.gz", values)
    assert main(["slices", str(folder), str(tmp_path / "a"), "--window", "brain", "--quiet"]) == 0
    assert (
        main(["slices", str(folder), str(tmp_path / "b"), "--window", "40,80", "--bits", "16", "--quiet"])
        == 0
    )
    real = np.asarray(nib.load(str(path)).get_fdata())
    first = sorted(Path(tmp_path / "a" / "v" / "axial").glob("*.tif"))[0]
    np.testing.assert_array_equal(read_tiff(first), expected(real[:, :, 0], 40, 80, 8))
    first = sorted(Path(tmp_path / "b" / "v" / "axial").glob("*.tif"))[0]
    np.testing.assert_array_equal(read_tiff(first), expected(real[:, :, 0], 40, 80, 16))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "bool", "int32", "float32"])
def test_the_percentiles_of_auto_without_a_background_are_numpys(dtype):
    from nidataset.values.windows import foreground_percentiles

    rng = np.random.default_rng(5)
    for size in (1, 2, 7, 1000, 33333):
        # No background: no value at or below the 1st percentile is 10% of them (False is about 5%).
        values = rng.integers(-40000, 40000, size) if dtype != "bool" else rng.integers(0, 20, size) > 0
        values = values.astype(dtype)
        qs = (0.0, 0.5, 37.3, 99.5, 100.0)
        numbers = values.astype(np.uint8) if dtype == "bool" else values  # numpy has no bool percentile
        assert foreground_percentiles(values, qs) == pytest.approx(
            np.percentile(numbers, qs).tolist(), abs=1e-9
        )
