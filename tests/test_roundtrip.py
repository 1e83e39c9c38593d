"""Every TIFF read back (Pillow and tifffile) equals nibabel's get_fdata() slice, in the promised dtype."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, SHAPE, expected_slices, ramp, read_tiff, write_volume
from nidataset import extract_slices
from nidataset.errors import VolumeError

VIEWS = ["axial", "coronal", "sagittal"]

# (id, raw array, header scaling, TIFF dtype expected under dtype="auto")
VOLUMES = [
    ("int16", ramp(SHAPE, "int16"), {}, "int16"),
    ("uint8", ramp(SHAPE, "uint8", start=0), {}, "uint8"),
    ("float32", ramp(SHAPE, "float32") / 7, {}, "float32"),
    ("float64", ramp(SHAPE, "float64") / 7, {}, "float32"),
    ("big-endian-int16", ramp(SHAPE, ">i2"), {}, "int16"),
    ("big-endian-float32", (ramp(SHAPE, "float32") / 3).astype(">f4"), {}, "float32"),
    ("int8", ramp(SHAPE, "int8", start=-128), {}, "int16"),
    ("uint16", ramp(SHAPE, "uint16", start=60000), {}, "uint16"),
    ("int32", ramp(SHAPE, "int32", start=-(2**30)), {}, "int32"),
    ("uint32-fits", ramp(SHAPE, "uint32", start=2**31 - 400), {}, "int32"),
    ("scaled-int16", ramp(SHAPE, "int16"), {"slope": 0.0754, "inter": 3100.76}, "float32"),
    ("scaled-uint8", ramp(SHAPE, "uint8", start=0), {"slope": 0.35245904, "inter": 6.678364}, "float32"),
    ("unit-scaling", ramp(SHAPE, "int16"), {"slope": 1.0, "inter": 0.0}, "int16"),
]


def padded(image: np.ndarray, target: tuple[int, int], value: float) -> np.ndarray:
    """SPEC.md's padding, written out here independently of the package."""
    h, w = image.shape
    top, left = (target[0] - h) // 2, (target[1] - w) // 2
    return np.pad(image, ((top, target[0] - h - top), (left, target[1] - w - left)), constant_values=value)


def check_volume(volume: Path, output: Path, view: str, dtype: str, target=None, pad=0.0, float32=False):
    expected = expected_slices(volume, view)
    files = sorted(output.glob("*.tif"))
    assert len(files) == len(expected)
    for index, (file, want) in enumerate(zip(files, expected, strict=True)):
        assert file.name == f"{volume.name.split('.nii')[0]}_{view}_{index:03d}.tif"
        got = read_tiff(file)
        assert got.dtype == np.dtype(dtype), file.name
        if target is not None:
            want = padded(want, target, pad)
        np.testing.assert_array_equal(got, want.astype(np.float32) if got.dtype == np.float32 else want)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(("name", "raw", "scaling", "dtype"), VOLUMES, ids=[v[0] for v in VOLUMES])
@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_synthetic_volumes_round_trip(tmp_path, view, name, raw, scaling, dtype, suffix):
    volume = write_volume(tmp_path / f"vol{suffix}", raw, **scaling)
    extract_slices(str(volume), str(tmp_path / "out"), view=view)
    check_volume(volume, tmp_path / "out", view, dtype)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(("name", "raw", "scaling", "dtype"), VOLUMES[:6], ids=[v[0] for v in VOLUMES[:6]])
def test_padding_round_trips(tmp_path, view, name, raw, scaling, dtype):
    volume = write_volume(tmp_path / "vol.nii.gz", raw, **scaling)
    extract_slices(str(volume), str(tmp_path / "out"), view=view, target_size=(12, 14), pad_value=-3.0)
    wanted = "float32" if dtype == "uint8" else dtype  # -3 does not fit uint8: promoted
    check_volume(volume, tmp_path / "out", view, wanted, target=(12, 14), pad=-3.0)


@pytest.mark.parametrize("view", VIEWS)
def test_float32_option_gives_float32_everywhere(tmp_path, view):
    volume = write_volume(tmp_path / "vol.nii.gz", ramp(SHAPE, "int16"))
    extract_slices(str(volume), str(tmp_path / "out"), view=view, target_size=(10, 10), dtype="float32")
    check_volume(volume, tmp_path / "out", view, "float32", target=(10, 10))


REAL = [
    ("anatomical.nii", "int16"),  # big-endian int16
    ("resampled_anat_moved.nii", "float32"),  # big-endian float32
    ("someones_anatomy.nii.gz", "float32"),  # uint8 scaled: real values are not integers
    ("standard.nii.gz", "uint8"),
]


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the project")
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(("name", "dtype"), REAL)
@pytest.mark.parametrize("target", [None, (80, 80)])
def test_real_volumes_round_trip(tmp_path, view, name, dtype, target):
    volume = tmp_path / name
    shutil.copy(DATA / name, volume)
    extract_slices(str(volume), str(tmp_path / "out"), view=view, target_size=target)
    check_volume(volume, tmp_path / "out", view, dtype, target=target)


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the project")
@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("example4d.nii.gz", r"4D image of shape \(128, 96, 24, 2\); only 3D volumes are sliced"),
        ("functional.nii", r"4D image of shape \(17, 21, 3, 20\)"),
        ("example_nifti2.nii.gz", r"4D image of shape \(32, 20, 12, 2\)"),
        ("row_major.dconn.nii", r"a CIFTI-2 file \(intent code 3001\), not an image volume"),
    ],
)
def test_real_files_that_are_not_3d_volumes_are_refused_with_a_reason(tmp_path, name, reason):
    with pytest.raises(VolumeError, match=f"{name}: {reason}"):
        extract_slices(str(DATA / name), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_nifti2_volume_round_trips(tmp_path):
    volume = write_volume(tmp_path / "vol.nii.gz", ramp(SHAPE, "int16"), nifti2=True)
    extract_slices(str(volume), str(tmp_path / "out"), view="coronal")
    check_volume(volume, tmp_path / "out", "coronal", "int16")


@pytest.mark.parametrize(
    ("stored_shape", "header_shape", "slices"),
    [((7, 9, 5), (7, 9, 5, 1), 5), ((7, 9), (7, 9), 1), ((7, 9, 1), (7, 9, 1, 1, 1), 1)],
    ids=["trailing-singleton", "2D", "two-trailing-singletons"],
)
def test_singleton_and_2d_images_are_3d_volumes(tmp_path, stored_shape, header_shape, slices):
    volume = write_volume(tmp_path / "vol.nii.gz", ramp(stored_shape), shape=header_shape)
    paths = extract_slices(str(volume), str(tmp_path / "out"), view="axial")
    assert len(paths) == slices
    check_volume(volume, tmp_path / "out", "axial", "int16")


@pytest.mark.parametrize(
    ("raw", "scaling"), [(ramp((33, 17, 40), ">i2"), {}), (ramp((33, 17, 40)), {"slope": 0.5})]
)
def test_streaming_and_whole_volume_paths_write_the_same_bytes(tmp_path, monkeypatch, raw, scaling):
    """Axial alone streams slab by slab; axial beside another view is cut from the whole volume."""
    import nidataset.slices.job as job
    from nidataset.options import Geometry, SliceOptions

    volume = write_volume(tmp_path / "vol.nii.gz", raw, **scaling)
    monkeypatch.setattr(job, "SLAB_BYTES", 33 * 17 * 2 * 3)  # slabs of 3 slices; 40 is no multiple of 3
    for folder, views in [("streamed", ("axial",)), ("whole", ("axial", "coronal"))]:
        options = SliceOptions(str(tmp_path / folder), Geometry(views, target_size=(40, 40), pad_value=1.5))
        assert job.extract_volume(str(volume), options).counts[0] == 40
    streamed = sorted((tmp_path / "streamed").rglob("*axial*.tif"))
    assert len(streamed) == 40
    for file in streamed:
        assert (
            file.read_bytes() == (tmp_path / "whole" / file.relative_to(tmp_path / "streamed")).read_bytes()
        )
