"""NRRD volumes (``.nrrd``, and ``.nhdr`` with a detached data file), read with pynrrd.

pynrrd (a 25 kB pure-Python package on numpy) parses the header; raw and gzip data are read here as
one stream from the first voxel (as NIfTI is, so that axial slabs need a few MB), bzip2 and ASCII
data are decoded whole by pynrrd. The geometry is NRRD's ``space directions`` and ``space origin``
in the named space, LPS when the header names none (as ITK and 3D Slicer read it), turned into RAS.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

import numpy as np

from ..errors import VolumeError
from .loaded import LoadedVolume, StreamedVolume, data_file, open_at, ras_affine, spacing_of
from .source import volume_shape
from .streams import gzip_stream, skip
from .volumes import Header

#: How each anatomical space's x and y turn into RAS; NRRD's names and their abbreviations.
_SPACES = {
    "right-anterior-superior": (1.0, 1.0, 1.0),
    "ras": (1.0, 1.0, 1.0),
    "left-anterior-superior": (-1.0, 1.0, 1.0),
    "las": (-1.0, 1.0, 1.0),
    "left-posterior-superior": (-1.0, -1.0, 1.0),
    "lps": (-1.0, -1.0, 1.0),
}
#: Encodings read as one stream (as NIfTI is); others (bzip2, ASCII) are decoded whole by pynrrd.
_STREAMED = ("raw", "gzip", "gz")


def open_nrrd(path: str) -> LoadedVolume | StreamedVolume:
    """The NRRD volume at ``path``: its header now, its voxels when first read.

    >>> import tempfile, nrrd
    >>> path = tempfile.mkdtemp() + "/v.nrrd"
    >>> header = {"space": "left-posterior-superior", "space directions": np.diag([1.0, 1.0, 2.0]),
    ...           "space origin": np.array([5.0, 6.0, 7.0])}
    >>> nrrd.write(path, np.arange(24, dtype=np.int16).reshape(2, 3, 4, order="F"), header)
    >>> with open_nrrd(path) as source:
    ...     volume = source.volume()
    >>> volume.shape, int(volume[1, 2, 3]), source.header.affine[:3, 3].tolist()
    ((2, 3, 4), 23, [-5.0, -6.0, 7.0])
    """
    fields, data_at = _fields(path)
    header = Header(
        shape=volume_shape(list(fields["sizes"]), "NRRD"),
        dtype=_dtype(fields),
        slope=None,
        inter=None,
        offset=0,
        format="nrrd",
        **_geometry(fields),
    )
    source, start = path, data_at
    detached = fields.get("data file")
    if detached is not None:
        name = str(detached)
        if name.upper().startswith("LIST") or "%" in name:
            raise VolumeError(f"data file {name!r}: voxels in several files are not read")
        source, start = data_file(path, name), 0
    encoding = str(fields.get("encoding", "raw")).lower()
    byte_skip, line_skip = int(fields.get("byte skip", 0)), int(fields.get("line skip", 0))
    if encoding in _STREAMED and line_skip == 0 and (byte_skip >= 0 or encoding == "raw"):
        return StreamedVolume(path, header, lambda: _open_voxels(source, start, encoding, byte_skip, header))
    return LoadedVolume(path, header, lambda: _read_data(path, fields))


def _open_voxels(
    source: str, start: int, encoding: str, byte_skip: int, header: Header
) -> tuple[BinaryIO, bool]:
    """The voxels' bytes from the first one. NRRD's byte skip counts raw bytes (-1: the data are the
    file's last bytes), or for gzip the decompressed bytes."""
    if encoding == "raw":
        at = os.path.getsize(source) - header.nbytes if byte_skip == -1 else start + byte_skip
        return open_at(source, max(at, 0)), False
    stream = gzip_stream(open_at(source, start))
    skip(stream, byte_skip, "the voxels")
    return stream, True


def _fields(path: str) -> tuple[dict[str, Any], int]:
    """The header's fields, and where attached data start."""
    nrrd = _pynrrd()
    try:
        with open(path, "rb") as handle:
            return dict(nrrd.read_header(handle)), handle.tell()
    except OSError as error:
        raise VolumeError(f"cannot be read: {error.strerror or error}") from None
    except Exception as error:  # pynrrd's NRRDError, or a value it could not parse
        raise VolumeError(f"not a readable NRRD header ({error})") from None


def _read_data(path: str, fields: dict[str, Any]) -> np.ndarray:
    nrrd = _pynrrd()
    try:
        with open(path, "rb") as handle:
            nrrd.read_header(handle)  # to the start of attached data
            return nrrd.read_data(fields, handle, path, index_order="F")  # type: ignore[no-any-return]
    except FileNotFoundError as error:
        raise VolumeError(f"its data file is missing ({os.path.basename(error.filename or '')})") from None
    except OSError as error:
        raise VolumeError(f"read error: {error.strerror or error}") from None
    except Exception as error:  # short or corrupt data: pynrrd, zlib, bz2 or numpy say so
        raise VolumeError(f"its voxel data cannot be read ({error})") from None


def _dtype(fields: dict[str, Any]) -> np.dtype:
    from nrrd.reader import _determine_datatype  # the one table of NRRD's type names and endianness

    try:
        return np.dtype(_determine_datatype(fields))
    except Exception as error:
        raise VolumeError(f"unsupported NRRD type {fields.get('type')!r} ({error})") from None


def _geometry(fields: dict[str, Any]) -> dict[str, Any]:
    """The affine and spacing of the header's axes: ``space directions`` (or ``spacings``), LPS unless
    the header names another anatomical space."""
    space = str(fields.get("space", "left-posterior-superior")).lower()
    if space not in _SPACES:
        raise VolumeError(f"NRRD space {space!r} is not an anatomical space (RAS, LAS or LPS)")
    directions = fields.get("space directions")
    if directions is None:
        spacings = fields.get("spacings")
        steps = (
            np.diag(np.nan_to_num(np.asarray(spacings, dtype=float), nan=1.0))
            if spacings is not None
            else None
        )
        directions = np.eye(3) if steps is None else steps
    rows = np.asarray(directions, dtype=np.float64)
    rows = rows[~np.all(np.isnan(rows), axis=1)]  # "none": a non-spatial axis (a vector's components)
    if rows.shape != (3, 3):
        raise VolumeError(
            f"NRRD space directions for {rows.shape[0]} axes in {rows.shape[1:]}D; 3 are needed"
        )
    origin = np.asarray(fields.get("space origin", np.zeros(3)), dtype=np.float64)
    affine = ras_affine(rows.T, origin, _SPACES[space])
    if not np.all(np.isfinite(affine)):
        return {"affine": None, "spacing": None}
    return {"affine": affine, "spacing": spacing_of(affine)}


def _pynrrd() -> Any:
    try:
        import nrrd
    except ImportError:  # pragma: no cover - a core dependency
        raise VolumeError("reading NRRD needs pynrrd: pip install pynrrd") from None
    return nrrd
