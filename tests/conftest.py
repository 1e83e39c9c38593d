"""Small synthetic volumes, written byte by byte so that dtype, byte order and scaling are exact."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"

#: A size that differs on every axis, so a swapped axis fails loudly.
SHAPE = (7, 9, 5)


def nifti_bytes(
    raw: np.ndarray,
    *,
    slope: float = float("nan"),
    inter: float = 0.0,
    nifti2: bool = False,
    shape: tuple[int, ...] | None = None,
) -> bytes:
    """A complete single-file NIfTI image of ``raw`` (its dtype and byte order are kept as stored)."""
    header_class = nib.Nifti2Header if nifti2 else nib.Nifti1Header
    endianness = ">" if raw.dtype.byteorder == ">" else "<"
    header = header_class(endianness=endianness)
    header.set_data_dtype(raw.dtype.newbyteorder("="))
    header.set_data_shape(shape or raw.shape)
    header["scl_slope"], header["scl_inter"] = slope, inter
    header["vox_offset"] = header.single_vox_offset
    header.set_qform(np.diag([1.0, 2.0, 3.0, 1.0]), code=1)
    padding = b"\0" * (int(header["vox_offset"]) - header.sizeof_hdr)
    return header.binaryblock + padding + np.asfortranarray(raw).tobytes(order="F")


def write_volume(path: Path, raw: np.ndarray, **kwargs: object) -> Path:
    """Write ``raw`` as ``path`` (gzip-compressed when it ends in ``.gz``)."""
    data = nifti_bytes(raw, **kwargs)  # type: ignore[arg-type]
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.name.endswith(".gz") else data)
    return path


def ramp(shape: tuple[int, ...] = SHAPE, dtype: str = "int16", start: int = -1000) -> np.ndarray:
    """Distinct values at every voxel: any misplaced voxel changes some pixel."""
    return (np.arange(int(np.prod(shape))) + start).reshape(shape).astype(dtype)


def read_tiff(path: str | os.PathLike[str]) -> np.ndarray:
    """A TIFF as tifffile reads it, after checking that Pillow reads the same values."""
    data = tifffile.imread(path)
    with Image.open(path) as image:
        pillow = np.array(image)
    assert pillow.shape == data.shape, path
    np.testing.assert_array_equal(pillow.astype(np.float64), data.astype(np.float64), err_msg=str(path))
    return data


def all_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, hidden records included, by relative path: two runs compared whole."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def expected_slices(path: Path, view: str) -> list[np.ndarray]:
    """nibabel's ``get_fdata()`` sliced per SPEC.md's table, independent of the package's own code."""
    data = np.asarray(nib.load(str(path)).get_fdata())
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[:, :, None]
    if view == "axial":
        return [data[:, :, i] for i in range(data.shape[2])]
    if view == "coronal":
        return [data[:, i, :] for i in range(data.shape[1])]
    return [data[i, :, :] for i in range(data.shape[0])]


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    """A folder of three int16 volumes of different shapes, named case_001..case_003."""
    folder = tmp_path / "volumes"
    folder.mkdir()
    for number, shape in enumerate([(7, 9, 5), (6, 8, 11), (10, 4, 3)], start=1):
        write_volume(folder / f"case_{number:03d}.nii.gz", ramp(shape, start=-500 * number))
    return folder
