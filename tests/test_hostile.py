"""A hostile dataset folder: every kind of file a real one holds, each beside a good control volume.

Every case is built at test time from a few bytes (nothing binary is committed) and run in every
view. The test asserts the exact outcome: extracted with nibabel's values, skipped with a one-line
reason that names the problem and nothing of it left behind, or ignored (not an input). In every
case the control volume beside it is extracted with the right values.
"""

from __future__ import annotations

import bz2
import contextlib
import functools
import gzip
import io
import os
import re
import stat
import struct
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import nidataset.io.volumes
from conftest import SHAPE, expected_slices, nifti_bytes, ramp, read_tiff
from nidataset.slices import extract_slices_dataset

VIEWS = ("axial", "coronal", "sagittal")
VIEW_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}
CONTROL = "control.nii.gz"
BOOKKEEPING = ".nidataset/"  # the run's completion records (resume=True), not outputs
TIMEOUT = 60.0  # seconds: a hang (a FIFO opened for reading, an endless loop) fails its case
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
POSIX_ONLY = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev need a POSIX system")


# --- Bytes of valid and broken files ---------------------------------------------------------------


def volume(raw: np.ndarray | None = None, **kwargs: object) -> bytes:
    """A valid single-file NIfTI image: the 7x9x5 int16 ramp unless ``raw`` is given."""
    return nifti_bytes(ramp() if raw is None else raw, **kwargs)  # type: ignore[arg-type]


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


def header_size(data: bytes) -> int:
    sizes = {int.from_bytes(data[:4], "little"), int.from_bytes(data[:4], "big")}
    return 540 if 540 in sizes else 348


def patched(data: bytes, **fields: object) -> bytes:
    """``data`` with header fields set (NIfTI-1 or NIfTI-2, in the header's own byte order)."""
    size = header_size(data)
    header_class = nib.Nifti2Header if size == 540 else nib.Nifti1Header
    header = header_class(binaryblock=data[:size], check=False)
    for name, value in fields.items():
        header[name] = value
    return header.binaryblock + data[size:]


def with_dims(data: bytes, *dims: int) -> bytes:
    """``data`` whose header declares ``dims`` (dim[0] is their count)."""
    return patched(data, dim=[len(dims), *dims, *[1] * (7 - len(dims))])


def declaring(shape: tuple[int, ...], dtype: str = "int16", nifti2: bool = False) -> bytes:
    """A header that declares ``shape`` followed by a few bytes of voxels."""
    return nifti_bytes(np.zeros(4, dtype), shape=shape, nifti2=nifti2)


def typed(code: int, bitpix: int, itemsize: int) -> bytes:
    """A 7x9x5 volume of datatype ``code`` whose voxel bytes are a ramp, ``itemsize`` bytes each."""
    header = patched(volume(), datatype=code, bitpix=bitpix)[:352]
    return header + bytes(i % 251 for i in range(int(np.prod(SHAPE)) * itemsize))


def valued(dtype: str, *extremes: float) -> np.ndarray:
    """7x9x5 voxels of ``dtype``: small distinct values, with ``extremes`` at the first voxels."""
    raw = ramp(dtype="float64", start=0).astype(dtype)
    raw.flat[: len(extremes)] = extremes  # flat is C order; any voxel will do
    return raw


def values(dtype: str, *extremes: float, **kwargs: object) -> bytes:
    return volume(valued(dtype, *extremes), **kwargs)


SPECIAL_FLOATS = (np.nan, np.inf, -np.inf, -0.0, 1.5e-3, -2.5e4)


def with_vox_offset(data: bytes, offset: int) -> bytes:
    """A valid volume whose voxels start at ``offset`` (> 352), the gap filled with zeros."""
    return patched(data[:352] + b"\0" * (offset - 352) + data[352:], vox_offset=offset)


def with_extension() -> bytes:
    image = nib.Nifti1Image(ramp(), np.diag([1.0, 2.0, 3.0, 1.0]))
    image.header.extensions.append(nib.nifti1.Nifti1Extension(6, b"acquired on a Tuesday"))
    return image.to_bytes()


def gzip_member_with_every_header_field(data: bytes) -> bytes:
    """One gzip member with FHCRC, FEXTRA (a BGZF-like subfield), FNAME and FCOMMENT set."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x1e" + struct.pack("<I", 0) + b"\x00\x03"
    header += struct.pack("<H", 6) + b"BC\x02\x00\x00\x00" + b"case.nii\0" + b"from the scanner\0"
    header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
    return header + deflated + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def flipped(data: bytes, position: int, mask: int = 0xFF) -> bytes:
    changed = bytearray(data)
    changed[position] ^= mask
    return bytes(changed)


def invalid_deflate_block(data: bytes) -> bytes:
    """A gzip stream whose first deflate block has the reserved block type 3."""
    changed = bytearray(gz(data))
    changed[10] |= 0b110  # gzip() writes a 10-byte header without FNAME; BTYPE is bits 1-2
    return bytes(changed)


def zip_archive(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("case.nii", data)
    return buffer.getvalue()


@functools.cache
def multi_slab(dtype: str, last: int | None = None) -> bytes:
    """A gzip volume of 128x96x200 voxels: more than one 4 MiB slab of axial slices."""
    raw = (np.arange(128 * 96 * 200) % 30011 - 15000).reshape(128, 96, 200)
    raw = np.abs(raw).astype(dtype) if dtype.startswith("u") else raw.astype(dtype)
    if last is not None:
        raw[-1, -1, -1] = last
    return gz(volume(raw))


#: The bomb: its header declares 8 GiB, its gzip stream (under 1 MB) holds 288 MiB of zeros.
BOMB_SHAPE = (8192, 8192, 64)
BOMB_ZEROS = 288 << 20


@functools.cache
def decompression_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(nifti_bytes(np.zeros(0, np.int16), shape=BOMB_SHAPE))]
    zeros = bytes(1 << 20)
    parts += [compressor.compress(zeros) for _ in range(BOMB_ZEROS >> 20)]
    bomb = b"".join(parts) + compressor.flush()
    assert len(bomb) < 1 << 20
    return bomb


GOOD = volume()
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(64)
LONG_240 = ("a_very_long_subject_name_" * 10)[:240]
LONG_248 = ("a_very_long_subject_name_" * 10)[:248]  # 255 bytes with .nii.gz: the longest name allowed
NOT_UTF8 = os.fsdecode(b"scan_\xff.nii.gz")


# --- Cases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extracted:
    """Every slice written, equal to nibabel's ``get_fdata()``; ``dtype`` is the TIFF's, when given."""

    dtype: str | None = None


@dataclass(frozen=True)
class Skipped:
    """Skipped with a one-line reason matching ``pattern``, and nothing of it left behind."""

    pattern: str


Expect = Extracted | Skipped


@dataclass(frozen=True)
class Case:
    """One hostile input: ``build`` writes it into the folder beside the control volume.

    ``name`` is its input file (None: nothing in the folder is an input besides the control);
    ``expect`` is its outcome, or one per view.
    """

    id: str
    build: Callable[[Path], None]
    name: str | None
    expect: Expect | dict[str, Expect] | None
    marks: tuple[pytest.MarkDecorator, ...] = ()

    def expected(self, view: str) -> Expect | None:
        return self.expect[view] if isinstance(self.expect, dict) else self.expect


def one(
    id: str,
    content: bytes | Callable[[], bytes],
    expect: Expect | dict[str, Expect],
    name: str = "case.nii.gz",
    **kwargs: object,
) -> Case:
    """A case of one file named ``name`` holding ``content`` (a callable builds it lazily)."""

    def build(folder: Path) -> None:
        (folder / name).write_bytes(content() if callable(content) else content)

    return Case(id, build, name, expect, **kwargs)  # type: ignore[arg-type]


def fs_case(id: str, make: Callable[[Path], None], expect: Expect | None, **kwargs: object) -> Case:
    """A case whose file ``case.nii.gz`` is made by ``make(path)`` (a link, a FIFO, ...)."""
    name = "case.nii.gz"
    return Case(id, lambda folder: make(folder / name), name if expect else None, expect, **kwargs)  # type: ignore[arg-type]


def ignored(id: str, files: dict[str, bytes | None]) -> Case:
    """Files that are not inputs (None makes a folder): the control is the only outcome."""

    def build(folder: Path) -> None:
        for relative, content in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir() if content is None else path.write_bytes(content)

    return Case(id, build, None, None)


def symlink_to_volume(path: Path) -> None:
    store = path.parent.parent / "store"
    store.mkdir()
    (store / "annexed.nii.gz").write_bytes(gz(GOOD))
    path.symlink_to(os.path.relpath(store / "annexed.nii.gz", path.parent))


def symlink_to_folder(path: Path) -> None:
    (path.parent.parent / "elsewhere").mkdir()
    path.symlink_to(path.parent.parent / "elsewhere", target_is_directory=True)


def unreadable(path: Path) -> None:
    path.write_bytes(gz(GOOD))
    path.chmod(0)


def with_non_utf8_name(folder: Path) -> None:
    try:
        (folder / NOT_UTF8).write_bytes(gz(GOOD))
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")


def void_in_nibabel(code: int) -> bool:
    """Whether nibabel has no numpy type for this datatype code here (float128 needs IEEE binary128)."""
    return np.dtype(nib.nifti1.data_type_codes.dtype[code]).kind == "V"


TRUNCATED = r"^truncated"
# Uncompressed files are measured before reading: the reason gives both sizes.
VOXELS_CUT = r"^truncated: the header declares 630 bytes of voxels from byte 352, the file holds \d+ bytes$"
HEADER_CUT = r"^truncated: the file ends inside a NIfTI header$"
NOT_NIFTI = r"^not a NIfTI file"
NO_MEMORY = r"^(truncated|too large: shape \(.*\) needs .* GiB of memory|not enough memory)"
NAME_TOO_LONG = r"^cannot write .*File name too long"

CASES = [
    # The file system: empty, missing, special and unreadable files, links, folders.
    one("zero_bytes_gz", b"", Skipped(r"^empty file \(0 bytes\)$")),
    one("zero_bytes_nii", b"", Skipped(r"^empty file \(0 bytes\)$"), name="case.nii"),
    fs_case(
        "broken_symlink",
        lambda path: path.symlink_to("gone.nii.gz"),
        Skipped(r"^file not found \(or a broken symbolic link\)$"),
    ),
    fs_case("symlink_loop", lambda path: path.symlink_to(path.name), Skipped(r"symbolic link")),
    fs_case("symlink_to_volume", symlink_to_volume, Extracted("int16")),
    fs_case("fifo", lambda path: os.mkfifo(path), Skipped(r"^not a regular file"), marks=(POSIX_ONLY,)),
    fs_case(
        "device",
        lambda path: path.symlink_to("/dev/zero"),
        Skipped(r"^not a regular file"),
        marks=(POSIX_ONLY,),
    ),
    fs_case(
        "unreadable",
        unreadable,
        Skipped(r"^cannot be opened: Permission denied$"),
        marks=(pytest.mark.skipif(IS_ROOT, reason="root reads any file whatever its permissions"),),
    ),
    fs_case("symlink_to_folder", symlink_to_folder, None),
    ignored("folder_named_nii_gz", {"folder.nii.gz": None, "folder.nii.gz/inner.nii.gz": gz(GOOD)}),
    ignored("nested_volume", {"nested/inner.nii.gz": gz(GOOD)}),
    # Names.
    one("space_in_name", gz(GOOD), Extracted("int16"), name="my scan.nii.gz"),
    one("unicode_name", gz(GOOD), Extracted("int16"), name="patient_é_日本.nii.gz"),
    one("leading_dash", gz(GOOD), Extracted("int16"), name="-case.nii.gz"),
    Case("not_utf8_name", with_non_utf8_name, NOT_UTF8, Extracted("int16")),
    ignored("apple_double", {"._case.nii.gz": APPLE_DOUBLE, "._case.nii": APPLE_DOUBLE}),
    ignored("hidden_volume", {".case.nii": GOOD, ".case.nii.gz": gz(GOOD)}),
    ignored(
        "partial_downloads",
        {"case.nii.gz.part": gz(GOOD)[:100], "case.nii.gz.crdownload": gz(GOOD)[:50], "case.nii.gz~": b""},
    ),
    ignored("analyze_pair", {"pair.hdr": patched(GOOD, magic=b"ni1")[:348], "pair.img": GOOD[352:]}),
    one(
        "long_name_240",
        gz(GOOD),
        {
            "axial": Extracted("int16"),  # <prefix>_axial_000.tif is 254 bytes: it fits
            "coronal": Skipped(NAME_TOO_LONG),
            "sagittal": Skipped(NAME_TOO_LONG),
        },
        name=LONG_240 + ".nii.gz",
    ),
    one("long_name_255", gz(GOOD), Skipped(NAME_TOO_LONG), name=LONG_248 + ".nii.gz"),
    # What the bytes are: the gzip magic decides, not the name; other formats are not NIfTI.
    one("plain_named_gz", GOOD, Extracted("int16")),
    one("gzip_named_nii", gz(GOOD), Extracted("int16"), name="case.nii"),
    one("gzip_header_fields", gzip_member_with_every_header_field(GOOD), Extracted("int16")),
    one("gzip_multi_member", gz(GOOD[:200]) + gz(GOOD[200:500]) + gz(GOOD[500:]), Extracted("int16")),
    one("gzip_zero_padding", gz(GOOD) + bytes(512), Extracted("int16")),
    one("gzip_trailing_garbage", gz(GOOD) + b"garbage after the stream", Skipped(r"gzip")),
    one("gzip_twice", gz(gz(GOOD)), Skipped(NOT_NIFTI)),
    one("text_named_gz", b"subject 12, scanned twice\n", Skipped(NOT_NIFTI)),
    one("text_named_nii", b"subject 12, scanned twice\n", Skipped(NOT_NIFTI), name="case.nii"),
    one("html_error_page", b"<!DOCTYPE html><html><body>403 Forbidden</body></html>", Skipped(NOT_NIFTI)),
    one("gzip_of_text", gz(b"subject 12, scanned twice\n" * 40), Skipped(NOT_NIFTI)),
    one("bzip2", bz2.compress(GOOD), Skipped(NOT_NIFTI)),
    one("zip", zip_archive(GOOD), Skipped(NOT_NIFTI)),
    one("bad_sizeof_hdr", patched(GOOD, sizeof_hdr=349), Skipped(NOT_NIFTI)),
    one("bad_magic", patched(GOOD, magic=b"n+3"), Skipped(r"^not a NIfTI file \(magic")),
    one("analyze_no_magic", patched(GOOD, magic=b""), Skipped(r"^not a NIfTI file \(magic")),
    one("pair_magic", patched(GOOD, magic=b"ni1"), Skipped(r"NIfTI pair header")),
    one("cifti2", patched(volume(nifti2=True), intent_code=3001), Skipped(r"CIFTI-2")),
    # Truncation and gzip integrity: every stream is read to its end.
    one("gzip_cut_in_half", gz(GOOD)[: len(gz(GOOD)) // 2], Skipped(TRUNCATED)),
    one("gzip_header_only", gz(GOOD)[:10], Skipped(TRUNCATED)),
    one("gzip_without_trailer", gz(GOOD)[:-8], Skipped(TRUNCATED)),
    one("gzip_cut_in_trailer", gz(GOOD)[:-3], Skipped(TRUNCATED)),
    one("gzip_crc", flipped(gz(GOOD), -8), Skipped(r"^corrupt gzip data \(CRC check failed\)$")),
    one("gzip_isize", flipped(gz(GOOD), -4), Skipped(r"^corrupt gzip data \(length check failed\)$")),
    one("gzip_bad_deflate", invalid_deflate_block(GOOD), Skipped(r"^corrupt gzip data")),
    one("gzip_cut_in_header", gz(GOOD[:200]), Skipped(HEADER_CUT)),
    one("nii_cut_in_header", GOOD[:200], Skipped(HEADER_CUT)),
    one("nii_three_bytes", GOOD[:3], Skipped(HEADER_CUT)),
    one("nii_cut_before_voxels", GOOD[:350], Skipped(VOXELS_CUT)),
    one("nii_header_only", GOOD[:352], Skipped(VOXELS_CUT), name="case.nii"),
    one("nii_cut_in_voxels", GOOD[:-1], Skipped(VOXELS_CUT), name="case.nii"),
    one(
        "gzip_cut_after_a_slab",
        lambda: multi_slab("int16")[: len(multi_slab("int16")) * 9 // 10],
        Skipped(TRUNCATED),
    ),
    one("gzip_many_slabs", lambda: multi_slab("int16"), Extracted("int16")),
    one(
        "gzip_crc_after_a_slab",
        lambda: flipped(multi_slab("int16"), -8),
        Skipped(r"^corrupt gzip data \(CRC check failed\)$"),
    ),
    # Header dimensions against the data.
    one(
        "dims_beyond_data_nii",
        with_dims(GOOD, 7, 9, 6),
        Skipped(r"^truncated: the header declares 756"),
        name="case.nii",
    ),
    one("dims_beyond_data_gz", gz(with_dims(GOOD, 7, 9, 6)), Skipped(TRUNCATED)),
    one("data_beyond_dims_nii", with_dims(GOOD, 7, 9, 4), Extracted("int16"), name="case.nii"),
    one("data_beyond_dims_gz", gz(GOOD + bytes(1000)), Extracted("int16")),
    one("vox_offset_1024", gz(with_vox_offset(GOOD, 1024)), Extracted("int16")),
    one("header_extension", gz(with_extension()), Extracted("int16")),
    one(
        "vox_offset_inside_header",
        patched(GOOD, vox_offset=100),
        Skipped(r"^vox_offset 100 points inside the header"),
    ),
    one("vox_offset_zero", patched(GOOD, vox_offset=0), Skipped(r"^vox_offset 0 points inside the header")),
    one("vox_offset_beyond_file", gz(patched(GOOD, vox_offset=100_000)), Skipped(TRUNCATED)),
    one("vox_offset_negative", patched(GOOD, vox_offset=-352), Skipped(r"^invalid vox_offset")),
    one("vox_offset_fractional", patched(GOOD, vox_offset=352.5), Skipped(r"^invalid vox_offset")),
    one("vox_offset_nan", patched(GOOD, vox_offset=np.nan), Skipped(r"^invalid vox_offset")),
    # Dimensionality (SPEC.md: 3D; trailing singletons dropped; 2D is one slice).
    one("trailing_singleton_4d", volume(ramp((7, 9, 5, 1))), Extracted("int16")),
    one("trailing_singletons_5d", volume(ramp((7, 9, 5, 1, 1))), Extracted("int16")),
    one("image_2d", volume(ramp((7, 9))), Extracted("int16")),
    one("singleton_volume", volume(ramp((1, 1, 1))), Extracted("int16")),
    one("singleton_axes", volume(ramp((1, 9, 1))), Extracted("int16")),
    one("dims_beyond_dim0_ignored", patched(GOOD, dim=[3, 7, 9, 5, 0, -4, 32767, 2]), Extracted("int16")),
    one(
        "series_4d",
        volume(ramp((7, 9, 5, 2))),
        Skipped(r"^4D image of shape \(7, 9, 5, 2\); only 3D volumes are sliced$"),
    ),
    one(
        "displacement_field_5d",
        patched(volume(ramp((7, 9, 5, 1, 3))), intent_code=1006),
        Skipped(r"^5D image"),
    ),
    one("image_1d", with_dims(GOOD, 315), Skipped(r"^1D image")),
    one("dim0_zero", patched(GOOD, dim=[0, 7, 9, 5, 1, 1, 1, 1]), Skipped(r"^invalid header: dim\[0\]")),
    one(
        "dim0_eight",
        patched(GOOD, dim=[8, 7, 9, 5, 1, 1, 1, 1]),
        Skipped(r"^invalid header: dim\[0\] is 8\b"),
    ),
    one(
        "dim0_negative",
        patched(GOOD, dim=[-3, 7, 9, 5, 1, 1, 1, 1]),
        Skipped(r"^invalid header: dim\[0\] is -3\b"),
    ),
    one("zero_dimension", with_dims(GOOD, 7, 0, 5), Skipped(r"empty or invalid dimensions")),
    one("negative_dimension", with_dims(GOOD, 7, -9, 5), Skipped(r"empty or invalid dimensions")),
    # Declared sizes that cannot be held: skipped at once in every view, never allocated.
    one("huge_nifti1", declaring((32767, 32767, 32767)), Skipped(NO_MEMORY)),
    one("huge_nifti2", gz(declaring((60000, 60000, 60000), nifti2=True)), Skipped(NO_MEMORY)),
    one(
        "huge_beyond_int64",
        declaring((2**40, 2**40, 2**40), nifti2=True),
        Skipped(NO_MEMORY),
    ),
    one("huge_slice_count", declaring((1, 1, 2**40), nifti2=True), Skipped(NO_MEMORY)),
    one("decompression_bomb", decompression_bomb, Skipped(r"^(truncated|too large: needs .* GiB)")),
    # NIfTI-2 and byte order.
    one("nifti2", gz(volume(nifti2=True)), Extracted("int16")),
    one("nifti2_big_endian", volume(ramp().astype(">i2"), nifti2=True), Extracted("int16")),
    one("big_endian_int16", gz(volume(ramp().astype(">i2"))), Extracted("int16")),
    one("big_endian_float64", volume(ramp(dtype=">f8") / 7), Extracted("float32")),
    # Voxel types and the dtype policy.
    one("uint8", values("uint8", 0, 255), Extracted("uint8")),
    one("int8", values("int8", -128, 127), Extracted("int16")),
    one("uint16", values("uint16", 0, 65535), Extracted("uint16")),
    one("int32", values("int32", -(2**31), 2**31 - 1), Extracted("int32")),
    one("uint32_fits", values("uint32", 0, 2**31 - 1), Extracted("int32")),
    one("uint32_beyond_int32", values("uint32", 2**31), Skipped(r"do not fit int32")),
    one("int64_fits", values("int64", -(2**31), 2**31 - 1), Extracted("int32")),
    one("int64_beyond_int32", values("int64", -(2**31) - 1), Skipped(r"do not fit int32")),
    one("uint64_fits", values("uint64", 2**31 - 1), Extracted("int32")),
    one("uint64_beyond_int32", values("uint64", 2**64 - 1), Skipped(r"do not fit int32")),
    one(
        "uint32_beyond_int32_in_last_slab",
        lambda: multi_slab("uint32", last=2**32 - 1),
        Skipped(r"do not fit int32"),
    ),
    one("float32_nan_inf", values("float32", *SPECIAL_FLOATS), Extracted("float32")),
    one("float64_nan_inf", values("float64", *SPECIAL_FLOATS), Extracted("float32")),
    one("float64_beyond_float32", values("float64", 1e39), Skipped(r"exceed float32's range")),
    one("float64_max_float32", values("float64", -3.4028234663852886e38), Extracted("float32")),
    one("rgb24", typed(128, 24, 3), Skipped(r"RGB or structured voxels")),
    one("rgba32", typed(2304, 32, 4), Skipped(r"RGB or structured voxels")),
    one("complex64", volume(ramp(dtype="complex64")), Skipped(r"complex voxels")),
    one("complex128", volume(ramp(dtype="complex128")), Skipped(r"complex voxels")),
    one(
        "complex256",
        typed(2048, 256, 32),
        Skipped(r"complex voxels|unsupported NIfTI datatype code 2048"),
    ),
    one("float128", values("longdouble"), Extracted("float32"))
    if not void_in_nibabel(1536)
    else one(
        "float128",
        typed(1536, 128, 16),
        Skipped(r"unsupported NIfTI datatype code 1536"),
    ),
    one(
        "datatype_binary",
        typed(1, 1, 1),
        Skipped(r"unsupported NIfTI datatype code 1\b"),
    ),
    one(
        "datatype_unknown",
        typed(0, 0, 0),
        Skipped(r"unsupported NIfTI datatype code 0\b"),
    ),
    one("datatype_9999", patched(GOOD, datatype=9999), Skipped(r"unsupported NIfTI datatype code 9999")),
    one("bitpix_disagrees", patched(GOOD, bitpix=32), Extracted("int16")),
    # Scaling: get_fdata()'s values, in float32.
    one("slope_zero", volume(slope=0.0), Extracted("int16")),
    one("slope_inf", volume(slope=np.inf), Extracted("int16")),
    one("slope_one_inter_zero", volume(slope=1.0), Extracted("int16")),
    one("slope_2_inter_1", volume(slope=2.0, inter=1.0), Extracted("float32")),
    one("negative_slope", volume(slope=-0.5, inter=3.0), Extracted("float32")),
    one("scaled_uint8", volume(ramp(dtype="uint8", start=0), slope=0.1, inter=-10), Extracted("float32")),
    one(
        "scaled_nan_inf",
        values("float32", *SPECIAL_FLOATS, slope=2.0, inter=1.0),
        Extracted("float32"),
    ),
    one("inter_nan", volume(slope=2.0, inter=np.nan), Skipped(r"invalid scaling in the header")),
    one("inter_inf", volume(slope=2.0, inter=-np.inf), Skipped(r"invalid scaling in the header")),
    one("scaled_beyond_float32", volume(slope=1e36), Skipped(r"scaled values .* exceed float32's range")),
    # Header fields that do not matter for slicing.
    one("pixdim_garbage", patched(GOOD, pixdim=[0, -1, 0, np.nan, np.inf, 0, 0, 0]), Extracted("int16")),
    one("affine_nan", patched(GOOD, srow_x=[np.nan] * 4, sform_code=1, quatern_b=np.nan), Extracted("int16")),
    one("intent_label", patched(GOOD, intent_code=1002), Extracted("int16")),
]


def params() -> list[object]:
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids), "case ids must be unique"
    out = []
    for case in CASES:
        for view in VIEWS:
            out.append(pytest.param(case, view, id=f"{case.id}-{view}", marks=list(case.marks)))
    return out


# --- Running and checking ----------------------------------------------------------------------------


def run_guarded(folder: Path, out: Path, view: str | list[str], **kwargs: object):  # type: ignore[no-untyped-def]
    """``extract_slices_dataset`` in a thread, so that a hang fails the test instead of the suite."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["result"] = extract_slices_dataset(str(folder), str(out), view=view, progress=False, **kwargs)  # type: ignore[arg-type]
        except BaseException as error:
            box["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        release_fifos(folder)
        pytest.fail(f"extract_slices_dataset(view={view!r}) did not return within {TIMEOUT:.0f} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]


def release_fifos(folder: Path) -> None:
    """Open every FIFO of ``folder`` for writing, so that a reader blocked on it wakes up."""
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            if stat.S_ISFIFO(path.stat().st_mode):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def files_under(folder: Path) -> set[str]:
    """Every file below ``folder``, hidden ones included, as relative POSIX paths."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


def prefix_of(name: str) -> str:
    return name[: -len(".nii.gz")] if name.endswith(".nii.gz") else name[: -len(".nii")]


def slice_names(name: str, view: str, count: int) -> list[str]:
    prefix, width = prefix_of(name), max(3, len(str(count - 1)))
    return [f"{prefix}/{view}/{prefix}_{view}_{i:0{width}d}.tif" for i in range(count)]


def reference(path: Path, workdir: Path) -> Path:
    """An uncompressed copy of ``path`` named ``.nii``: nibabel then reads it whatever its name."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.GzipFile(fileobj=io.BytesIO(data)).read()
    copy = workdir / f"reference_{len(list(workdir.glob('reference_*')))}.nii"
    copy.write_bytes(data)
    return copy


def assert_values(image: np.ndarray, expected: np.ndarray, where: str) -> None:
    """Equal values (NaN equals NaN); a float32 TIFF is compared with the float32 of ``expected``."""
    if image.dtype == np.float32:
        expected = expected.astype(np.float32)  # SPEC.md: rounding to float32 precision is accepted
    np.testing.assert_array_equal(image.astype(np.float64), expected.astype(np.float64), err_msg=where)


def check_extracted(outcome, path: Path, view: str, out: Path, dtype: str | None, workdir: Path) -> set[str]:  # type: ignore[no-untyped-def]
    """Assert that ``path`` was extracted in ``view`` with nibabel's values; return its slice files."""
    assert outcome.reason is None, f"{outcome.name} was skipped: {outcome.reason}"
    expected = expected_slices(reference(path, workdir), view)
    assert outcome.counts == (len(expected),)
    names = slice_names(outcome.name, view, len(expected))
    for name, values in zip(names, expected, strict=True):
        image = read_tiff(out / name)
        if dtype is not None:
            assert image.dtype == np.dtype(dtype), f"{name} is {image.dtype}, not {dtype}"
        assert_values(image, values, name)
    return set(names)


def check_skipped(outcome, pattern: str) -> None:  # type: ignore[no-untyped-def]
    reason = outcome.reason
    assert reason is not None, f"{outcome.name} was extracted, expected a skip matching {pattern!r}"
    assert "\n" not in reason and "Traceback" not in reason, reason
    assert re.search(pattern, reason), f"{outcome.name}: reason {reason!r} does not match {pattern!r}"
    assert outcome.counts == ()


def make_folder(tmp_path: Path, case: Case) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / CONTROL).write_bytes(gz(GOOD))
    case.build(folder)
    return folder


@pytest.mark.parametrize(("case", "view"), params())
def test_hostile_file_beside_a_good_volume(case: Case, view: str, tmp_path: Path) -> None:
    folder, out = make_folder(tmp_path, case), tmp_path / "out"
    started = time.monotonic()
    result = run_guarded(folder, out, view)
    assert time.monotonic() - started < 30, "a hostile file must be decided quickly"
    expect: dict[str, Expect] = {CONTROL: Extracted("int16")}
    if case.name is not None:
        expect[case.name] = case.expected(view)  # type: ignore[assignment]
    assert [o.name for o in result.outcomes] == sorted(expect)
    written: set[str] = set()
    for outcome in result.outcomes:
        wanted = expect[outcome.name]
        if isinstance(wanted, Skipped):
            check_skipped(outcome, wanted.pattern)
        else:
            written |= check_extracted(outcome, folder / outcome.name, view, out, wanted.dtype, tmp_path)
    # Nothing else: no slice of a skipped volume, no temporary file left behind.
    files = files_under(out)
    assert {f for f in files if not f.startswith(BOOKKEEPING)} == written
    for outcome in result.skipped:
        assert not [f for f in files if Path(f).name.startswith(prefix_of(outcome.name) + ".")]


def test_the_corpus_covers_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


# --- Beyond one file beside the control ----------------------------------------------------------------


def test_two_inputs_with_one_prefix_raise_before_anything_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, content in [(CONTROL, gz(GOOD)), ("a.nii", GOOD), ("a.nii.gz", gz(GOOD))]:
        (folder / name).write_bytes(content)
    with pytest.raises(ValueError, match=r"'a\.nii'.*'a\.nii\.gz'|'a\.nii\.gz'.*'a\.nii'"):
        extract_slices_dataset(str(folder), str(tmp_path / "out"), progress=False)
    assert not (tmp_path / "out").exists()


def test_a_name_that_is_not_utf8_is_escaped_in_the_statistics(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    with_non_utf8_name(folder)
    (folder / CONTROL).write_bytes(gz(GOOD))
    extract_slices_dataset(str(folder), str(tmp_path / "out"), view="axial", save_stats=True, progress=False)
    text = (tmp_path / "out" / "axial_slices_stats.csv").read_bytes().decode("utf-8")
    assert text.splitlines() == [
        "FILENAME,NUM_SLICES,TOTAL_SLICES",
        "control.nii.gz,5,5",
        "scan_\\xff.nii.gz,5,10",
        "TOTAL_SLICES,10,10",
    ]


def test_every_skip_is_one_line_on_stderr_without_traceback(tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / CONTROL).write_bytes(gz(GOOD))
    hostile = {
        "crc.nii.gz": flipped(gz(GOOD), -8),
        "empty.nii": b"",
        "text.nii.gz": b"hello",
        "4d.nii": volume(ramp((7, 9, 5, 2))),
    }
    for name, content in hostile.items():
        (folder / name).write_bytes(content)
    result = extract_slices_dataset(str(folder), str(tmp_path / "out"), view="coronal")
    stderr = capfd.readouterr().err
    assert "Traceback" not in stderr
    lines = [line for line in re.split(r"[\r\n]", stderr) if line.startswith("skipped ")]
    assert sorted(lines) == sorted(f"skipped {o.name}: {o.reason}" for o in result.skipped)
    assert sorted(o.name for o in result.skipped) == sorted(hostile)
    assert "1 of 5 files done, 9 slices written, 4 skipped" in stderr


def three_volumes(tmp_path: Path) -> Path:
    """A folder of a victim, the control and another good volume."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a_victim.nii.gz", CONTROL, "z_other.nii"):
        (folder / name).write_bytes(gz(GOOD) if name.endswith(".gz") else GOOD)
    return folder


def check_only_the_victim_failed(result, out: Path, view: str, pattern: str) -> None:  # type: ignore[no-untyped-def]
    victim, control, other = result.outcomes
    check_skipped(victim, pattern)
    assert control.counts == other.counts == (SHAPE[VIEW_AXIS[view]],)
    assert not [p for p in files_under(out) if "victim" in p]


class DyingExecutor(ThreadPoolExecutor):
    """An executor whose job for the victim fails with ``error`` instead of running."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(max_workers=2)
        self.error = error

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "victim" in str(args[0]):
            future: Future[object] = Future()
            future.set_exception(self.error)
            return future
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("bug")], ids=["out_of_memory", "bug"])
def test_a_job_that_dies_fails_only_its_file(tmp_path: Path, error: BaseException) -> None:
    """The future of one job fails with ``error``: only that file is skipped, the run goes on."""
    folder = three_volumes(tmp_path)
    for view in VIEWS:
        with DyingExecutor(error) as executor:
            result = run_guarded(folder, tmp_path / view, view, executor=executor)
        check_only_the_victim_failed(result, tmp_path / view, view, type(error).__name__)


def test_running_out_of_memory_while_reading_fails_only_its_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = three_volumes(tmp_path)
    read = nidataset.io.volumes.VolumeReader.read

    def read_out_of_memory(self, voxels, into=None):  # type: ignore[no-untyped-def]
        if "victim" in self.path:
            raise MemoryError
        return read(self, voxels, into)

    monkeypatch.setattr(nidataset.io.volumes.VolumeReader, "read", read_out_of_memory)
    for view in VIEWS:
        result = run_guarded(folder, tmp_path / view, view)
        check_only_the_victim_failed(result, tmp_path / view, view, r"^not enough memory")


@pytest.mark.skipif(sys.platform != "linux", reason="peak memory is read from getrusage on Linux")
def test_the_decompression_bomb_runs_in_bounded_memory(tmp_path: Path) -> None:
    """A fresh process extracts the bomb in every view: its peak RSS stays far below the 8 GiB declared."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bomb.nii.gz").write_bytes(decompression_bomb())
    (folder / CONTROL).write_bytes(gz(GOOD))
    script = textwrap.dedent(
        f"""
        import resource, time
        from nidataset.slices import extract_slices_dataset
        FOLDER, OUT = {str(folder)!r}, {str(tmp_path / "out")!r}
        for view in ("axial", "coronal", "sagittal"):
            started = time.monotonic()
            result = extract_slices_dataset(FOLDER, OUT, view=view, progress=False)
            bomb, control = result.outcomes
            assert bomb.skipped and not control.skipped, result.outcomes
            print(view, round(time.monotonic() - started, 2), "s:", bomb.reason)
        print("peak RSS MiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    print(run.stdout)
    peak = int(run.stdout.split("peak RSS MiB")[1])
    assert peak < 1536, f"peak RSS {peak} MiB for a bomb of {BOMB_ZEROS >> 20} MiB of zeros"
