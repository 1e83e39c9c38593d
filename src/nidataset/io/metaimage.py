"""MetaImage volumes (``.mha``, and ``.mhd`` with a detached data file): ITK's text header, read here.

Why our own ~100 lines: the light library for it (metaimageio, 12 kB) reads the voxels to return
the header (a header-only look at a compressed file decompresses the whole volume), holds a volume
twice while reading it, and takes ``HeaderSize = -1`` (data at the file's end) as 0; SimpleITK reads
it right but weighs ~50 MB. The format is a few ``Key = Value`` lines; the geometry is ITK's:
``TransformMatrix`` lists each axis' direction in turn, ``Offset`` the first voxel's position, both
in LPS, with ``ElementSpacing``.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO, cast

import numpy as np

from ..errors import VolumeError
from .loaded import StreamedVolume, ZlibStream, data_file, open_at, ras_affine, spacing_of
from .source import volume_shape
from .volumes import Header

_TYPES = {
    "MET_CHAR": "i1", "MET_UCHAR": "u1", "MET_SHORT": "i2", "MET_USHORT": "u2", "MET_INT": "i4",
    "MET_UINT": "u4", "MET_LONG": "i8", "MET_ULONG": "u8", "MET_LONG_LONG": "i8", "MET_ULONG_LONG": "u8",
    "MET_FLOAT": "f4", "MET_DOUBLE": "f8",
}  # fmt: skip
_SYNONYMS = {"POSITION": "OFFSET", "ORIGIN": "OFFSET", "ROTATION": "TRANSFORMMATRIX",
             "ORIENTATION": "TRANSFORMMATRIX"}  # fmt: skip
_LPS = (-1.0, -1.0, 1.0)
_HEADER_LIMIT = 1 << 16  # a MetaImage header is a few hundred bytes


def open_metaimage(path: str) -> StreamedVolume:
    r"""The MetaImage volume at ``path``: its header now, its voxels when first read.

    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/v.mha"
    >>> with open(path, "wb") as handle:
    ...     _ = handle.write(b"ObjectType = Image\nNDims = 3\nDimSize = 2 3 4\nElementType = MET_SHORT\n"
    ...                      b"ElementSpacing = 1 1 2\nOffset = 5 6 7\nElementDataFile = LOCAL\n")
    ...     _ = handle.write(np.arange(24, dtype="<i2").tobytes())
    >>> with open_metaimage(path) as source:
    ...     volume = source.volume()
    >>> volume.shape, int(volume[1, 2, 3]), source.header.affine[:3, 3].tolist()
    ((2, 3, 4), 23, [-5.0, -6.0, 7.0])
    """
    fields, header_bytes = _fields(path)
    shape = volume_shape(_sizes(fields), "MetaImage")
    dtype = _dtype(fields)
    _integer(fields, "HEADERSIZE", "0")  # refused with the header, not at the first read of the voxels
    if _integer(fields, "ELEMENTNUMBEROFCHANNELS", "1") != 1:
        raise VolumeError(
            f"{fields['ELEMENTNUMBEROFCHANNELS']} channels per voxel; one value per voxel is read"
        )
    name = fields.get("ELEMENTDATAFILE", "")
    if name.upper() == "LIST" or "%" in name or not name:
        raise VolumeError(f"ElementDataFile {name!r}: only LOCAL or one data file is read")
    source = path if name.upper() == "LOCAL" else data_file(path, name)
    start = header_bytes if source == path else 0
    header = Header(shape=shape, dtype=dtype, slope=None, inter=None, offset=0, format="metaimage",
                    **_geometry(fields))  # fmt: skip

    return StreamedVolume(path, header, lambda: _open_voxels(source, start, fields, header))


def _fields(path: str) -> tuple[dict[str, str], int]:
    """The header's fields (upper-case keys) and its length in bytes (where LOCAL data start)."""
    fields: dict[str, str] = {}
    length = 0
    try:
        with open(path, "rb") as handle:
            while length < _HEADER_LIMIT:
                line = handle.readline(_HEADER_LIMIT)
                if not line:
                    break
                length += len(line)
                key, equals, value = line.decode("latin-1").partition("=")
                if not equals:
                    continue
                key = key.strip().upper()
                fields[_SYNONYMS.get(key, key)] = value.strip()
                if key == "ELEMENTDATAFILE":  # the last field: the data follow
                    break
    except OSError as error:
        raise VolumeError(f"cannot be read: {error.strerror or error}") from None
    if fields.get("OBJECTTYPE", "").upper() != "IMAGE" or "DIMSIZE" not in fields:
        raise VolumeError("not a MetaImage header (no ObjectType = Image with a DimSize)")
    return fields, length


def _values(fields: dict[str, str], key: str) -> list[float]:
    try:
        return [float(v) for v in fields.get(key, "").split()]
    except ValueError:
        raise VolumeError(f"invalid {key} {fields[key]!r} in the MetaImage header") from None


def _integer(fields: dict[str, str], key: str, default: str) -> int:
    try:
        return int(fields.get(key, default))
    except ValueError:
        raise VolumeError(f"invalid {key} {fields[key]!r} in the MetaImage header") from None


def _sizes(fields: dict[str, str]) -> list[int]:
    """DimSize's numbers as integers (as ``int`` of each, truncating); ``nan`` or ``1e400`` is refused."""
    try:
        return [int(v) for v in _values(fields, "DIMSIZE")]
    except (ValueError, OverflowError):
        raise VolumeError(f"invalid DIMSIZE {fields['DIMSIZE']!r} in the MetaImage header") from None


def _dtype(fields: dict[str, str]) -> np.dtype:
    kind = fields.get("ELEMENTTYPE", "").upper()
    if kind not in _TYPES:
        raise VolumeError(f"unsupported MetaImage ElementType {kind!r}")
    msb = (fields.get("BINARYDATABYTEORDERMSB") or fields.get("ELEMENTBYTEORDERMSB") or "False").upper()
    return np.dtype(("<", ">")[msb == "TRUE"] + _TYPES[kind])


def _geometry(fields: dict[str, str]) -> dict[str, Any]:
    spacing = _values(fields, "ELEMENTSPACING") or _values(fields, "ELEMENTSIZE") or [1.0, 1.0, 1.0]
    matrix = _values(fields, "TRANSFORMMATRIX") or list(np.eye(3).ravel())
    origin = _values(fields, "OFFSET") or [0.0, 0.0, 0.0]
    if len(matrix) != 9 or len(origin) != 3 or len(spacing) != 3:
        return {"affine": None, "spacing": None}  # a 2D image's geometry: not usable for orientation
    directions = np.asarray(matrix).reshape(3, 3).T * np.asarray(spacing)  # column i: axis i's step
    affine = ras_affine(directions, np.asarray(origin), _LPS)
    return {"affine": affine, "spacing": spacing_of(affine)}


def _open_voxels(source: str, start: int, fields: dict[str, str], header: Header) -> tuple[BinaryIO, bool]:
    """The voxels' bytes from the first one: zlib-compressed, or raw from HeaderSize on (-1: the data are
    the file's last bytes)."""
    header_size = _integer(fields, "HEADERSIZE", "0")
    if fields.get("COMPRESSEDDATA", "False").upper() == "TRUE":
        return cast(BinaryIO, ZlibStream(open_at(source, start + max(header_size, 0)))), True
    if header_size == -1:
        return open_at(source, max(os.path.getsize(source) - header.nbytes, 0)), False
    return open_at(source, start + header_size), False
