"""The command line: the demo, in-process and as a subprocess; and a cheap ``import nidataset``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from conftest import read_tiff
from nidataset.cli import main
from nidataset.phantoms import DEMO_CASES


def check_demo(output: Path) -> None:
    volumes = sorted((output / "volumes").glob("*.nii.gz"))
    assert [v.name for v in volumes] == [f"{name}.nii.gz" for name, _, _ in DEMO_CASES]
    for volume, (name, shape, _) in zip(volumes, DEMO_CASES, strict=True):
        image = nib.load(str(volume))
        assert image.shape == shape and image.get_data_dtype() == np.int16
        data = np.asarray(image.dataobj)
        for view, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0)):
            files = sorted((output / "slices" / name / view).glob("*.tif"))
            assert len(files) == shape[axis]
            middle = shape[axis] // 2
            np.testing.assert_array_equal(read_tiff(files[middle]), np.take(data, middle, axis=axis))
    for view, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0)):
        stats = pd.read_csv(output / "slices" / f"{view}_slices_stats.csv")
        assert stats.iloc[-1]["TOTAL_SLICES"] == sum(shape[axis] for _, shape, _ in DEMO_CASES)


def test_demo_in_process(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo"), "--quiet"]) == 0
    check_demo(tmp_path / "demo")
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "3 of 3 files done, 664 slices written"
    assert err == ""


def test_demo_as_a_module_subprocess(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "nidataset", "demo", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "3 of 3 files done" in done.stdout and "3/3" in done.stderr
    check_demo(tmp_path / "demo")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_import_is_cheap():
    heavy = "('numpy', 'nibabel', 'tifffile', 'tqdm')"
    code = f"import sys, nidataset; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
