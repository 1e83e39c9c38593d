"""The NIfTI reader: the first entry of the input table, parsing headers and streaming voxels.

A volume is read exactly once, front to back (see :mod:`nidataset.io.streams`), and the stream is
always read to its end so that the gzip CRC and length are checked. Every problem of one file becomes a
:class:`VolumeError` whose message is a one-line reason.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from ..errors import VolumeError
from .nifti_header import CIFTI_INTENTS, plain_fields
from .readers import Header
from .source import SourceBase, volume_shape
from .streams import complete_members, open_stream, read_bytes, read_into, skip, translated

if TYPE_CHECKING:
    import nibabel as nib

_HEADER_SIZES = (348, 540)  # NIfTI-1, NIfTI-2
_GZIP_REASONS = ("truncated", "corrupt gzip")  # what junk after a gzip stream is first taken for


class NiftiReader(SourceBase):
    """One input volume opened for a single front-to-back read.

    >>> import tempfile, nibabel as nib
    >>> path = tempfile.mkdtemp() + "/v.nii.gz"
    >>> nib.save(nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4)), path)
    >>> with NiftiReader(path) as reader:
    ...     volume = reader.volume()
    >>> volume.shape, int(volume[1, 2, 3])
    ((2, 3, 4), 23)
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._stream = open_stream(path)
        self._at_voxels = False  # the stream is moved to vox_offset on the first read, not before
        try:
            self.header = self._reading(_parse_header, self._stream)
            _check_file_size(self._stream, self.header)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._stream.close()

    def _skip_to_voxels(self) -> None:
        gap = self.header.offset - self._stream.tell()
        if gap < 0:
            raise VolumeError(f"vox_offset {self.header.offset} points inside the header")
        self._reading(skip, self._stream, gap, "the voxel data")
        self._at_voxels = True

    def read(self, voxels: int, into: np.ndarray | None = None) -> np.ndarray:
        """The next ``voxels`` voxels, 1D, in the stored dtype (in the uint8 buffer ``into`` if given)."""
        if not self._at_voxels:
            self._skip_to_voxels()
        size = voxels * self.header.dtype.itemsize
        try:
            buffer = np.empty(size, dtype=np.uint8) if into is None else into[:size]
        except (MemoryError, ValueError):  # ValueError: more than numpy can index
            raise VolumeError(
                f"too large: shape {self.header.shape} needs {size / 2**30:.3g} GiB of memory to read"
            ) from None
        self._reading(read_into, self._stream, buffer.data, self.header.nbytes)
        return buffer.view(self.header.dtype)

    def finish(self) -> None:
        """Read to the end of the stream, so that a gzip CRC or length mismatch is caught."""
        self._reading(skip, self._stream, None, "")

    def _reading(self, function, *args):  # type: ignore[no-untyped-def]
        """:func:`~nidataset.io.streams.translated`, telling junk after a gzip stream from a damaged one."""
        try:
            return translated(function, *args)
        except VolumeError as error:
            if isinstance(self._stream, io.BufferedReader) or not str(error).startswith(_GZIP_REASONS):
                raise
            reason = _after_gzip_end(self.path, getattr(self, "header", None))
            if reason is None:
                raise
            raise VolumeError(reason) from None


def _check_file_size(stream: BinaryIO, header: Header) -> None:
    """An uncompressed file shorter than its header declares is refused before anything is read."""
    if isinstance(stream, io.BufferedReader):
        size = os.fstat(stream.fileno()).st_size
        if size < header.offset + header.nbytes:
            raise VolumeError(
                f"truncated: the header declares {header.nbytes} bytes of voxels from byte {header.offset}, "
                f"the file holds {size} bytes"
            )


def _parse_header(stream: BinaryIO) -> Header:
    first = read_bytes(stream, 4, "a NIfTI header")
    little, big = int.from_bytes(first, "little"), int.from_bytes(first, "big")
    size = little if little in _HEADER_SIZES else big if big in _HEADER_SIZES else 0
    if not size:
        raise VolumeError("not a NIfTI file (no NIfTI-1 or NIfTI-2 header size at its start)")
    block = first + read_bytes(stream, size - 4, "a NIfTI header")
    # The byte order is the one sizeof_hdr was read in; left to itself, nibabel guesses it from dim[0].
    endianness = "<" if little == size else ">"
    plain = plain_fields(block, endianness)
    if plain is not None:  # the common header, without importing nibabel (issue 23)
        return Header(
            _volume_shape(plain.dim),
            plain.dtype,
            plain.slope,
            plain.inter,
            _offset(plain.vox_offset),
            *_usable(plain.affine, plain.zooms),
            codes=plain.codes,
        )
    return _nibabel_header(block, size, endianness)


def _nibabel_header(block: bytes, size: int, endianness: str) -> Header:
    """Any other header, read by nibabel (imported here, only for these)."""
    import nibabel as nib

    kind = nib.Nifti1Header if size == 348 else nib.Nifti2Header
    header = kind(binaryblock=block, endianness=endianness, check=False)
    _check_magic(header)
    return Header(
        _volume_shape(header["dim"]),
        _stored_dtype(header),
        *_scaling(header),
        _offset(float(header["vox_offset"])),
        *_geometry(header),
        codes=(int(header["qform_code"]), int(header["sform_code"])),
    )


def _check_magic(header: nib.Nifti1Header) -> None:
    magic = header["magic"].item()
    if magic == header.pair_magic:
        raise VolumeError("a NIfTI pair header (.hdr) whose voxels live in a separate .img file")
    if magic != header.single_magic:
        raise VolumeError(f"not a NIfTI file (magic {magic!r})")
    intent = int(header["intent_code"])
    if intent in CIFTI_INTENTS:
        raise VolumeError(f"a CIFTI-2 file (intent code {intent}), not an image volume")


def _volume_shape(dims: Any) -> tuple[int, int, int]:
    """SPEC.md: drop trailing singleton dimensions; (X, Y) is (X, Y, 1); anything else is refused."""
    dim = [int(d) for d in dims]
    if not 1 <= dim[0] <= 7:
        raise VolumeError(f"invalid header: dim[0] is {dim[0]}, not 1 to 7")
    return volume_shape(dim[1 : dim[0] + 1])


def _stored_dtype(header: nib.Nifti1Header) -> np.dtype:
    code = int(header["datatype"])
    try:
        dtype = np.dtype(header.get_data_dtype())
    except Exception:
        raise VolumeError(f"unsupported NIfTI datatype code {code}") from None
    if dtype.kind == "V" and dtype.fields is None:  # codes nibabel knows but numpy has no type for here
        from nibabel.nifti1 import data_type_codes

        label = data_type_codes.label[code]
        raise VolumeError(f"unsupported NIfTI datatype code {code} ({label})")
    return dtype


def _scaling(header: nib.Nifti1Header) -> tuple[float | None, float | None]:
    try:
        slope, inter = header.get_slope_inter()
    except Exception as error:
        raise VolumeError(f"invalid scaling in the header ({error})") from None
    return slope, inter


def _offset(offset: float) -> int:
    if not (np.isfinite(offset) and offset.is_integer() and offset >= 0):
        raise VolumeError(f"invalid vox_offset {offset} in the header")
    return int(offset)


def _geometry(header: nib.Nifti1Header) -> tuple[np.ndarray | None, tuple[float, float, float] | None]:
    """The affine and voxel sizes, or None for what a damaged header cannot give.

    Only the orientation and spacing options need them, and those refuse a volume without them; the
    stored-order slices of a volume with a broken affine are still its values.
    """
    try:
        affine = np.asarray(header.get_best_affine(), dtype=np.float64)
        zooms = tuple(float(z) for z in header.get_zooms()[:3])
    except Exception:
        return None, None
    return _usable(affine, zooms)


def _usable(
    affine: np.ndarray, zooms: tuple[float, ...]
) -> tuple[np.ndarray | None, tuple[float, float, float] | None]:
    """The affine and the first three voxel sizes, or (None, None) when either is unusable."""
    zooms = zooms[:3]
    spacing = (*zooms, 1.0, 1.0)[:3]  # a 2D image has two zooms
    usable = bool(np.all(np.isfinite(affine))) and all(np.isfinite(z) and z > 0 for z in spacing)
    return (affine, (spacing[0], spacing[1], spacing[2])) if usable else (None, None)


def _after_gzip_end(path: str, header: Header | None) -> str | None:
    """The reason when bytes that are not another gzip member follow the last complete one, else None.

    Decompressors report such bytes as a truncated or corrupt next member; only on this error path is
    the file decompressed once more, into nothing, to tell them apart. ``header`` is the volume's
    (None: parsed from the decompressed bytes). Zero bytes after the last member are padding, as gzip
    allows.
    """
    found = complete_members(path)
    if found is None:
        return None
    total, junk, head = found
    if header is None:
        try:
            header = _parse_header(io.BytesIO(head))
        except VolumeError:
            return None
    needed = header.offset + header.nbytes
    if total < needed:
        return f"truncated: the header declares {needed} bytes, the gzip stream holds {total}, then {junk}"
    return f"junk after the end of the gzip stream ({junk})"
