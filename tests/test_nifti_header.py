"""Issue 23: the common NIfTI headers read without nibabel give what nibabel's header methods give."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from nidataset.io.nifti import _nibabel_header, _parse_header
from nidataset.io.nifti_header import PLAIN_DTYPES, plain_fields

SRC = str(Path(__file__).resolve().parents[1] / "src")
KINDS = {"nifti1": nib.Nifti1Header, "nifti2": nib.Nifti2Header}


def _header(kind: str, endianness: str, seed: int) -> nib.Nifti1Header:
    """A header of random shape, dtype, zooms, sform and scaling, as nibabel writes it."""
    rng = np.random.default_rng(seed)
    header = KINDS[kind](endianness=endianness)
    header.set_data_dtype(np.dtype(PLAIN_DTYPES[int(rng.choice(list(PLAIN_DTYPES)))]))
    ndim = int(rng.integers(2, 6))
    header.set_data_shape(tuple(int(n) for n in rng.integers(1, 40, ndim)))
    header["pixdim"][1:] = rng.choice([0.5, 0.7, 1.0, 2.5, -1.0, 0.0, np.nan], 7)
    header.set_sform(
        rng.normal(0, 2, (4, 4)) * [[1], [1], [1], [0]] + [0, 0, 0, 1], code=int(rng.integers(1, 5))
    )
    header["qform_code"] = int(rng.integers(0, 3))
    header["scl_slope"], header["scl_inter"] = rng.choice(
        [[1, 0], [0, 0], [np.nan, 3], [2.5, -1024], [0.1, 7]]
    )
    header["vox_offset"] = rng.choice([352, 400, 352.5, -16])
    return header


def _same(a: object, b: object) -> None:
    for field in ("shape", "dtype", "slope", "inter", "offset", "spacing", "codes", "format"):
        assert getattr(a, field) == getattr(b, field), field
    assert str(a.dtype) == str(b.dtype) and a.dtype.byteorder == b.dtype.byteorder  # type: ignore[attr-defined]
    if b.affine is None:  # type: ignore[attr-defined]
        assert a.affine is None  # type: ignore[attr-defined]
    else:
        assert a.affine.tobytes() == b.affine.tobytes()  # type: ignore[attr-defined]


def _parsed(block: bytes) -> object:
    try:
        return _parse_header(io.BytesIO(block))
    except Exception as error:
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("endianness", ["<", ">"])
def test_plain_headers_read_as_nibabel_reads_them(kind: str, endianness: str) -> None:
    plain = 0
    for seed in range(60):
        block = _header(kind, endianness, seed).binaryblock
        size = len(block)
        ours = _parsed(block)
        try:
            theirs: object = _nibabel_header(block, size, endianness)
        except Exception as error:
            theirs = f"{type(error).__name__}: {error}"
        if isinstance(theirs, str):
            assert ours == theirs
            continue
        plain += plain_fields(block, endianness) is not None
        _same(ours, theirs)
    assert plain >= 10  # the valid ones took the path without nibabel


@pytest.mark.parametrize("change", ["qform only", "pair magic", "rgb", "float128", "cifti", "inf intercept"])
def test_other_headers_go_to_nibabel(change: str) -> None:
    header = _header("nifti1", "<", 1)
    if change == "qform only":
        header["sform_code"] = 0
    elif change == "pair magic":
        header["magic"] = b"ni1"
    elif change == "rgb":
        header["datatype"] = 128
    elif change == "float128":
        header["datatype"] = 1536
    elif change == "cifti":
        header["intent_code"] = 3001
    else:
        header["scl_slope"], header["scl_inter"] = 1.0, np.inf
    assert plain_fields(header.binaryblock, "<") is None


def _probe(code: str, tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_reading_a_volume_imports_no_nibabel(tmp_path: Path) -> None:
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    nib.save(nib.Nifti1Image(data, np.diag([0.7, 0.7, 2.5, 1])), str(tmp_path / "v.nii.gz"))
    code = (
        "import sys\nfrom nidataset.io.readers import open_volume\n"
        "with open_volume('v.nii.gz') as r:\n    v = r.volume()\n"
        "print(int(v[1, 2, 3]), r.header.spacing, 'nibabel' in sys.modules)"
    )
    assert _probe(code, tmp_path) == "23 (0.699999988079071, 0.699999988079071, 2.5) False"
