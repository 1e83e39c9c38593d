"""Writing: TIFF bytes as tifffile writes them, atomic renames, and who owns a write failure."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
import tifffile

from nidataset.errors import OutputError, VolumeError
from nidataset.io.images import write_parts, write_tiff
from nidataset.io.tables import for_people, write_counts_csv


@pytest.mark.parametrize("dtype", ["uint8", "int16", ">i2", "uint16", "int32", "float32"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 1), (3, 5), (64, 48)])
def test_tiff_bytes_are_exactly_tifffile_imwrite(tmp_path, dtype, shape):
    image = (np.arange(np.prod(shape)).reshape(shape) % 97 - 40).astype(dtype)
    write_tiff(str(tmp_path / "ours.tif"), image)
    tifffile.imwrite(
        tmp_path / "theirs.tif",
        image.astype(image.dtype.newbyteorder("=")),
        photometric="minisblack",
        metadata=None,
    )
    assert (tmp_path / "ours.tif").read_bytes() == (tmp_path / "theirs.tif").read_bytes()


def test_a_strided_view_is_written_in_row_order(tmp_path):
    image = np.arange(12, dtype=np.int16).reshape(3, 4).T
    write_tiff(str(tmp_path / "t.tif"), image)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "t.tif"), image)


def test_a_failed_write_leaves_no_file_at_all(tmp_path, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    def write_half_then_fail(path, parts):
        with open(path, "wb") as handle:
            handle.write(b"partial bytes")
        full()

    monkeypatch.setattr("nidataset.io.images.write_parts", write_half_then_fail)
    with pytest.raises(OutputError, match="No space left on device"):
        write_tiff(str(tmp_path / "t.tif"), np.zeros((4, 4), np.int16))
    assert os.listdir(tmp_path) == []


def test_a_name_too_long_belongs_to_the_volume(tmp_path):
    with pytest.raises(VolumeError, match="File name too long"):
        write_tiff(str(tmp_path / ("x" * 300 + ".tif")), np.zeros((2, 2), np.uint8))
    assert os.listdir(tmp_path) == []


def test_counts_csv_escapes_names_that_are_not_utf8(tmp_path):
    name = os.fsdecode(b"scan_\xff.nii.gz")
    assert for_people(name) == "scan_\\xff.nii.gz"
    write_counts_csv(str(tmp_path / "s.csv"), [(name, 3), ("b.nii", 2)], "SLICES")
    assert (tmp_path / "s.csv").read_text(encoding="utf-8").splitlines() == [
        "FILENAME,NUM_SLICES,TOTAL_SLICES",
        "scan_\\xff.nii.gz,3,3",
        "b.nii,2,5",
        "TOTAL_SLICES,5,5",
    ]


def test_a_short_writev_is_finished(tmp_path, monkeypatch):
    real_write = os.write

    def writev_three_bytes(descriptor, parts):
        return real_write(descriptor, bytes(parts[0])[:3])

    monkeypatch.setattr(os, "writev", writev_three_bytes)
    write_parts(str(tmp_path / "f"), [b"header", memoryview(b"pixels")])
    assert (tmp_path / "f").read_bytes() == b"headerpixels"


def test_without_writev_the_parts_are_written_plainly(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "writev")
    write_parts(str(tmp_path / "f"), [b"header", memoryview(b"pixels")])
    assert (tmp_path / "f").read_bytes() == b"headerpixels"
