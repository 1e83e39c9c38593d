"""Windows that show the image: "auto" on the foreground, and a warning for a window that washes out.

Expected values come from nibabel, numpy's percentiles and Pillow, never from the windowing code.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from conftest import write_volume
from nidataset.cli import main
from nidataset.phantoms import ct_phantom
from nidataset.slices import extract_slices_dataset
from nidataset.values.windows import auto_window

ANATOMICAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "anatomical.nii"


def used_share(image: np.ndarray, maximum: int = 255) -> float:
    """The share of the display range a slice uses, from its 1st to its 99th percentile pixel."""
    low, high = np.percentile(image, (1, 99))
    return float(high - low) / maximum


def test_auto_window_of_a_big_endian_mri_uses_the_display_range(tmp_path):
    """anatomical.nii is big-endian int16: its middle slice used 127..182 of 0..255 (byte-swapped
    percentiles); now at least 60% of the range."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "anatomical.nii").write_bytes(ANATOMICAL.read_bytes())
    extract_slices_dataset(
        str(folder), str(tmp_path / "out"), window="auto", image_format="png", progress=False
    )
    data = np.asarray(nib.load(str(ANATOMICAL)).dataobj)
    middle = data.shape[2] // 2
    image = np.asarray(
        Image.open(tmp_path / "out" / "anatomical" / "axial" / f"anatomical_axial_{middle:03d}.png")
    )
    assert used_share(image) >= 0.6
    low, high = np.percentile(data.astype(np.float64), (0.5, 99.5))  # no background: every value counts
    expected = np.clip(np.floor((np.take(data, middle, axis=2) - low) / (high - low) * 255 + 0.5), 0, 255)
    assert np.abs(image.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("dtype", ["int16", "float32", ">i2"])
def test_auto_window_leaves_a_skull_stripped_background_out(dtype):
    """70% zeros around a brain of 400..1000: the window spans the brain, not 0..1000."""
    rng = np.random.default_rng(0)
    volume = np.zeros((40, 40, 20))
    brain = np.zeros(volume.shape, bool)
    brain[12:28, 10:30, 3:17] = True
    volume[brain] = rng.uniform(400, 1000, brain.sum()).round()
    window = auto_window(volume.astype(dtype))
    low, high = np.percentile(volume[brain], (0.5, 99.5))
    assert window.bounds == pytest.approx((low, high), abs=0.5)
    image = window.apply(volume[:, :, 10])
    assert used_share(image[brain[:, :, 10]]) >= 0.9


def test_auto_window_of_ct_spans_air_to_bone():
    """A CT-like phantom (air -1000, lungs, soft tissue, bone 700), with and without padding outside
    the scanned circle (-1024, a third of the voxels): the window still shows air through bone."""
    volume = ct_phantom((64, 64, 16))
    padded = volume.copy()
    padded[:, :, :5] = -1024
    for ct in (volume, padded):
        lower, upper = auto_window(ct).bounds
        assert -1100 < lower < -800 and 600 < upper < 800


def test_a_window_that_washes_out_a_volume_is_said_not_skipped(tmp_path, caplog):
    """The brain preset on an MRI (values in the thousands) maps nearly every voxel to white."""
    folder = tmp_path / "in"
    folder.mkdir()
    mri = np.random.default_rng(1).uniform(500, 3000, (12, 10, 6)).astype(np.int16)
    write_volume(folder / "mri.nii.gz", mri)
    write_volume(folder / "ct.nii.gz", ct_phantom((12, 10, 6)))
    result = extract_slices_dataset(
        str(folder), str(tmp_path / "out"), window="brain", progress=False, save_report=True
    )
    assert not result.skipped and result.total() == 12
    white = np.count_nonzero(mri >= 40 - 0.5 + 79 / 2) / mri.size  # above the window's upper bound
    notes = {o.name: o.note for o in result.outcomes}
    assert notes["ct.nii.gz"] is None
    assert notes["mri.nii.gz"] == (
        f"washed out mri.nii.gz: window='brain' maps {white:.1%} of its voxels to black or white "
        f"({white:.1%} white); for MRI use window='auto'"
    )
    assert [r.getMessage() for r in caplog.records if "washed out" in r.getMessage()] == [notes["mri.nii.gz"]]
    page = (tmp_path / "out" / "report.html").read_text()
    assert "washed out mri.nii.gz" in page


def test_the_washed_out_warning_counts_the_same_without_a_value_table(tmp_path):
    """float32 volumes (no value table) and every view (the whole volume read at once) give the
    same share as numpy's own count."""
    folder = tmp_path / "in"
    folder.mkdir()
    mri = np.random.default_rng(2).uniform(0, 100, (12, 10, 6)).astype(np.float32)
    mri[:2] = 3000
    write_volume(folder / "mri.nii", mri)
    result = extract_slices_dataset(
        str(folder), str(tmp_path / "out"), ["axial", "coronal"], window=(1000, 100), progress=False
    )
    dark = np.count_nonzero(mri <= 1000 - 0.5 - 99 / 2) / mri.size
    white = 1 - dark
    assert result.outcomes[0].note == (
        f"washed out mri.nii: window=(1000, 100) maps {dark + white:.1%} of its voxels to black or white "
        f"({white:.1%} white); for MRI use window='auto'"
    )


def test_the_command_line_says_washed_out_in_its_own_words(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "mri.nii.gz", np.full((8, 6, 4), 2000, dtype=np.int16))
    assert main(["slices", str(folder), str(tmp_path / "out"), "--window", "brain"]) == 0
    err = capsys.readouterr().err
    assert (
        "washed out mri.nii.gz: --window brain maps 100.0% of its voxels to black or white (100.0% white); "
        "for MRI use --window auto"
    ) in err


def spec_window(x: np.ndarray, center: float, width: float, top: int = 255) -> np.ndarray:
    """SPEC Part 2's window formula, written out here (not the package's)."""
    lower, upper = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    scaled = np.floor(np.clip(((x - (center - 0.5)) / (width - 1) + 0.5) * top, 0, top) + 0.5)
    return np.where(np.isnan(x) | (x <= lower), 0, np.where(x > upper, top, scaled))


@pytest.mark.parametrize("dtype", ["int16", "uint8", ">i2", "int32", "float32"])
@pytest.mark.parametrize(("center", "width", "slope", "inter"), [(40, 80, None, 0.0), (10.5, 3, -0.5, 7.0)])
def test_clipped_counts_what_the_window_formula_maps_to_0_and_to_the_top(dtype, center, width, slope, inter):
    from nidataset.values.windows import Clipped, Window

    rng = np.random.default_rng(3)
    block = rng.integers(0, 120, 5000).astype(dtype)
    real = block.astype(np.float64) if slope is None else block * slope + inter
    pixels = spec_window(real, center, width)
    clipped = Clipped(Window(center, width), slope, inter)
    for part in np.array_split(block, 3):
        clipped.take(part)
    assert (clipped.dark, clipped.bright, clipped.total) == (
        np.count_nonzero(pixels == 0),
        np.count_nonzero(pixels == 255),
        block.size,
    )
