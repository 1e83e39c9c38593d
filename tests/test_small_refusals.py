"""Small refusals with clear reasons: zero voxel sizes, negative select starts, read-only outputs,
the example of a non-integer mask value."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

from nidataset import extract_slices_dataset
from nidataset.annotations.objects import integer_labels
from nidataset.checks import check_select
from nidataset.cli import main
from nidataset.errors import OutputError, VolumeError


def zero_column_volume(path: Path) -> Path:
    """A volume whose sform has a zero column (voxel size 0 along j) though its pixdims are fine."""
    header = nib.Nifti1Header()
    header.set_data_dtype(np.int16)
    header.set_data_shape((7, 9, 5))
    header["pixdim"][1:4] = [1.0, 1.0, 2.0]
    header["vox_offset"] = 352
    header["sform_code"] = 1
    header["srow_x"], header["srow_y"], header["srow_z"] = [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 2, 0]
    data = np.arange(7 * 9 * 5, dtype=np.int16).reshape(7, 9, 5)
    path.write_bytes(header.binaryblock + b"\0" * 4 + data.tobytes(order="F"))
    return path


@pytest.mark.parametrize("spacing", ["isotropic", 1.0])
def test_a_zero_voxel_size_with_spacing_skips_the_volume_with_a_clear_reason(
    tmp_path: Path, spacing: object
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    zero_column_volume(folder / "zero.nii")
    result = extract_slices_dataset(
        str(folder), str(tmp_path / "out"), view="axial", spacing=spacing, progress=False
    )
    (skipped,) = result.skipped
    assert skipped.reason is not None and "ZeroDivisionError" not in skipped.reason
    assert f"spacing={spacing!r}" in skipped.reason and "voxel size of 0" in skipped.reason


def test_a_negative_select_start_is_refused_naming_the_option() -> None:
    with pytest.raises(ValueError, match=r"start >= 0 .*got \(-2, 100, 1\)"):
        check_select((-2, 100, 1))
    assert check_select((0, 100, 1)) == (0, 100, 1)


@pytest.mark.parametrize("select", [(), [], ("labelled",)])
def test_an_empty_or_short_select_is_refused_naming_the_option(select: object) -> None:
    with pytest.raises(ValueError, match=r"select must be .*got"):
        check_select(select)


def test_the_example_of_a_non_integer_mask_value_is_shown_exactly() -> None:
    with pytest.raises(VolumeError, match=r"e\.g\. 1000000\.5\)"):
        integer_labels(np.array([0, 2000001], dtype=np.int32), 0.5, 0.0)


def read_only_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating the lock fails as on a read-only mount (root ignores permissions, so simulated)."""
    real = os.open

    def refuse(path: Any, flags: int, *args: Any) -> int:
        if str(path).endswith(os.path.join(".nidataset", "lock")) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)


def test_resume_into_a_read_only_output_is_an_output_error_saying_so(
    cases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    extract_slices_dataset(str(cases), str(out), progress=False)
    read_only_lock(monkeypatch)
    with pytest.raises(OutputError, match=r"output_path .* is read-only"):
        extract_slices_dataset(str(cases), str(out), progress=False, resume=True)
    assert main(["slices", str(cases), str(out), "--resume", "--quiet"]) == 3
    assert "is read-only" in capsys.readouterr().err
