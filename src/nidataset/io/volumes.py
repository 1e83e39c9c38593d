"""All reading: finding the inputs, parsing headers, streaming voxels in their stored dtype.

A volume is read exactly once, front to back, through the fastest gzip decompressor available
(``isal`` when installed, else the standard library), and the stream is always read to its end so that
the gzip CRC and length are checked. Every problem of one file becomes a :class:`VolumeError`
whose message is a one-line reason.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import types
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import nibabel as nib
import numpy as np

from ..errors import OutputError, VolumeError
from ..naming import is_input_name, prefix_of
from .atomic import DESCRIPTOR_ERRORS

_gzip_module: types.ModuleType
try:  # isal decompresses about 3x faster than zlib and releases the GIL while doing it
    from isal import igzip as _gzip_module
    from isal.igzip_lib import IsalError
except ImportError:  # pragma: no cover - depends on the platform
    _gzip_module = gzip
    IsalError = zlib.error  # type: ignore[assignment,misc]

_GZIP_MAGIC = b"\x1f\x8b"
_HEADERS = {348: nib.Nifti1Header, 540: nib.Nifti2Header}
_CIFTI_INTENTS = range(3000, 3100)  # NIFTI_INTENT_CONNECTIVITY_*: CIFTI-2 matrices, not volumes
_CHUNK = 1 << 22  # bytes per read: large enough for speed, small enough not to double memory
_GZIP_REASONS = ("truncated", "corrupt gzip")  # what junk after a gzip stream is first taken for


def list_volumes(folder: str) -> list[str]:
    """Paths of the dataset's inputs: NIfTI names directly inside ``folder``, sorted by name.

    Raises FileNotFoundError when the folder is missing or holds no NIfTI file, and ValueError when
    it cannot be listed or two inputs share a prefix (``a.nii`` and ``a.nii.gz`` would write the same
    slices), also when their prefixes differ only in case or Unicode normalisation.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"nii_folder {folder!r} does not exist or is not a folder")
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if is_input_name(e.name) and not _is_dir(e))
    except OSError as error:
        raise ValueError(f"nii_folder {folder!r} cannot be listed: {error.strerror or error}") from None
    if not names:
        raise FileNotFoundError(f"nii_folder {folder!r} holds no .nii.gz or .nii file")
    _check_unique_prefixes(names)
    return [os.path.join(folder, name) for name in names]


def find_volume(folder: str, prefix: str) -> str | None:
    """The input of ``folder`` whose prefix is ``prefix`` (``.nii.gz`` before ``.nii``), or None.

    The suffix's case does not matter (``case.NII.GZ``); the prefix's does.
    """
    for suffix in (".nii.gz", ".nii"):
        path = os.path.join(folder, prefix + suffix)
        if os.path.isfile(path):
            return path
    try:  # rarely reached: only for an upper-case suffix, or no such input
        with os.scandir(folder) as entries:
            found = sorted(e.name for e in entries if is_input_name(e.name) and prefix_of(e.name) == prefix)
    except OSError:
        return None
    found.sort(key=lambda name: not name.lower().endswith(".gz"))
    paths = [os.path.join(folder, name) for name in found]
    return next((path for path in paths if os.path.isfile(path)), None)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _check_unique_prefixes(names: list[str]) -> None:
    """Two inputs whose outputs would share names, here or on a case-insensitive disk, are refused.

    Datasets move between file systems: macOS, Windows, exFAT and most SMB shares fold case, and
    macOS normalises Unicode, so ``Case01`` and ``case01`` (or an ``é`` composed and decomposed)
    would overwrite each other's slices there.
    """
    seen: dict[str, str] = {}
    for name in names:
        prefix = prefix_of(name)
        key = portable_key(prefix)
        if key not in seen:
            seen[key] = name
            continue
        other = prefix_of(seen[key])
        if other == prefix:
            raise ValueError(
                f"{seen[key]!r} and {name!r} have the same prefix {prefix!r} and would write the "
                "same slices; remove or rename one of them"
            )
        raise ValueError(
            f"{seen[key]!r} and {name!r} have prefixes {other!r} and {prefix!r} that differ only in case "
            "or Unicode normalisation: on a case-insensitive disk (macOS, Windows, exFAT, SMB) they "
            "would write the same slices; rename one of them"
        )


def portable_key(prefix: str) -> str:
    """``prefix`` as a case-insensitive, normalising file system compares names.

    >>> portable_key("Case01") == portable_key("case01"), portable_key("e\u0301") == portable_key("\u00e9")
    (True, True)
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", prefix).casefold())


@dataclass(frozen=True)
class Header:
    """What the header says about a volume's voxels, after SPEC.md's dimension rules."""

    shape: tuple[int, int, int]
    dtype: np.dtype  # stored, with its byte order
    slope: float | None
    inter: float | None
    offset: int
    #: nibabel's affine (``header.get_best_affine()``, as ``nib.load(path).affine``); None when unusable.
    affine: np.ndarray | None = field(default=None, compare=False)
    #: Voxel sizes along the three stored axes (``get_zooms()``), in the header's units (usually mm).
    spacing: tuple[float, float, float] | None = None
    #: The header's space codes ``(qform_code, sform_code)``, which reassembly writes back.
    codes: tuple[int, int] | None = field(default=None, compare=False)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize


class VolumeReader:
    """One input volume opened for a single front-to-back read.

    >>> import tempfile, nibabel as nib
    >>> path = tempfile.mkdtemp() + "/v.nii.gz"
    >>> nib.save(nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4)), path)
    >>> with VolumeReader(path) as reader:
    ...     volume = reader.volume()
    >>> volume.shape, int(volume[1, 2, 3])
    ((2, 3, 4), 23)
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._stream = _open_stream(path)
        self._at_voxels = False  # the stream is moved to vox_offset on the first read, not before
        try:
            self.header = self._reading(_parse_header, self._stream)
            _check_file_size(self._stream, self.header)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> VolumeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stream.close()

    def _skip_to_voxels(self) -> None:
        skip = self.header.offset - self._stream.tell()
        if skip < 0:
            raise VolumeError(f"vox_offset {self.header.offset} points inside the header")
        self._reading(_skip, self._stream, skip, "the voxel data")
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
        self._reading(_read_into, self._stream, buffer.data, self.header.nbytes)
        return buffer.view(self.header.dtype)

    def volume(self, into: np.ndarray | None = None) -> np.ndarray:
        """The whole volume, (X, Y, Z) in Fortran order, stored dtype; checks the stream's end.

        ``into`` is a uint8 buffer of at least ``header.nbytes`` to read into (see memory.BufferPool).
        """
        shape = self.header.shape
        data = self.read(int(np.prod(shape)), into).reshape(shape, order="F")
        self.finish()
        return data

    def slabs(self, slices_per_slab: int) -> Iterator[np.ndarray]:
        """Consecutive (X, Y, k) blocks of axial slices; checks the stream's end after the last."""
        x, y, z = self.header.shape
        for start in range(0, z, slices_per_slab):
            count = min(slices_per_slab, z - start)
            yield self.read(x * y * count).reshape((x, y, count), order="F")
        self.finish()

    def finish(self) -> None:
        """Read to the end of the stream, so that a gzip CRC or length mismatch is caught."""
        self._reading(_skip, self._stream, None, "")

    def _reading(self, function, *args):  # type: ignore[no-untyped-def]
        """:func:`_translated`, telling junk after a gzip stream from a truncated or corrupt one."""
        try:
            return _translated(function, *args)
        except VolumeError as error:
            if isinstance(self._stream, io.BufferedReader) or not str(error).startswith(_GZIP_REASONS):
                raise
            reason = _after_gzip_end(self.path, getattr(self, "header", None))
            if reason is None:
                raise
            raise VolumeError(reason) from None


def read_header(path: str) -> Header:
    """Parse only the header of ``path`` (reads a few hundred bytes, whatever vox_offset says)."""
    with VolumeReader(path) as reader:
        return reader.header


def _check_file_size(stream: BinaryIO, header: Header) -> None:
    """An uncompressed file shorter than its header declares is refused before anything is read."""
    if isinstance(stream, io.BufferedReader):
        size = os.fstat(stream.fileno()).st_size
        if size < header.offset + header.nbytes:
            raise VolumeError(
                f"truncated: the header declares {header.nbytes} bytes of voxels from byte {header.offset}, "
                f"the file holds {size} bytes"
            )


def _open_stream(path: str) -> BinaryIO:
    """Open ``path`` for reading, decompressing when its first bytes say gzip (whatever its name)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise VolumeError("not a regular file (a FIFO, device or socket)")
        if info.st_size == 0:
            raise VolumeError("empty file (0 bytes)")
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the returned stream
    except FileNotFoundError:
        raise VolumeError("file not found (or a broken symbolic link)") from None
    except OSError as error:
        if error.errno in DESCRIPTOR_ERRORS:  # the process's problem, never the file's
            raise OutputError(error.errno, f"cannot open {path!r}: {error.strerror}") from None
        raise VolumeError(f"cannot be opened: {error.strerror or error}") from None
    if raw.read(2) != _GZIP_MAGIC:
        raw.seek(0)
        return raw
    raw.seek(0)
    return _gzip_module.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]


def _parse_header(stream: BinaryIO) -> Header:
    first = _read_bytes(stream, 4, "a NIfTI header")
    little, big = int.from_bytes(first, "little"), int.from_bytes(first, "big")
    size = little if little in _HEADERS else big if big in _HEADERS else 0
    if not size:
        raise VolumeError("not a NIfTI file (no NIfTI-1 or NIfTI-2 header size at its start)")
    block = first + _read_bytes(stream, size - 4, "a NIfTI header")
    # The byte order is the one sizeof_hdr was read in; left to itself, nibabel guesses it from dim[0].
    endianness = "<" if little == size else ">"
    header = _HEADERS[size](binaryblock=block, endianness=endianness, check=False)
    _check_magic(header)
    return Header(
        _volume_shape(header),
        _stored_dtype(header),
        *_scaling(header),
        _offset(header),
        *_geometry(header),
        (int(header["qform_code"]), int(header["sform_code"])),
    )


def _check_magic(header: nib.Nifti1Header) -> None:
    magic = header["magic"].item()
    if magic == header.pair_magic:
        raise VolumeError("a NIfTI pair header (.hdr) whose voxels live in a separate .img file")
    if magic != header.single_magic:
        raise VolumeError(f"not a NIfTI file (magic {magic!r})")
    intent = int(header["intent_code"])
    if intent in _CIFTI_INTENTS:
        raise VolumeError(f"a CIFTI-2 file (intent code {intent}), not an image volume")


def _volume_shape(header: nib.Nifti1Header) -> tuple[int, int, int]:
    """SPEC.md: drop trailing singleton dimensions; (X, Y) is (X, Y, 1); anything else is refused."""
    dim = [int(d) for d in header["dim"]]
    if not 1 <= dim[0] <= 7:
        raise VolumeError(f"invalid header: dim[0] is {dim[0]}, not 1 to 7")
    shape = dim[1 : dim[0] + 1]
    if min(shape) <= 0:
        raise VolumeError(f"empty or invalid dimensions {tuple(shape)} in the header")
    while len(shape) > 3 and shape[-1] == 1:
        shape.pop()
    if len(shape) == 2:
        shape.append(1)
    if len(shape) != 3:
        raise VolumeError(f"{len(shape)}D image of shape {tuple(shape)}; only 3D volumes are sliced")
    return shape[0], shape[1], shape[2]


def _stored_dtype(header: nib.Nifti1Header) -> np.dtype:
    code = int(header["datatype"])
    try:
        dtype = np.dtype(header.get_data_dtype())
    except Exception:
        raise VolumeError(f"unsupported NIfTI datatype code {code}") from None
    if dtype.kind == "V" and dtype.fields is None:  # codes nibabel knows but numpy has no type for here
        label = nib.nifti1.data_type_codes.label[code]
        raise VolumeError(f"unsupported NIfTI datatype code {code} ({label})")
    return dtype


def _scaling(header: nib.Nifti1Header) -> tuple[float | None, float | None]:
    try:
        slope, inter = header.get_slope_inter()
    except Exception as error:
        raise VolumeError(f"invalid scaling in the header ({error})") from None
    return slope, inter


def _offset(header: nib.Nifti1Header) -> int:
    offset = float(header["vox_offset"])
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
    spacing = (*zooms, 1.0, 1.0)[:3]  # a 2D image has two zooms
    usable = bool(np.all(np.isfinite(affine))) and all(np.isfinite(z) and z > 0 for z in spacing)
    return (affine, (spacing[0], spacing[1], spacing[2])) if usable else (None, None)


def _translated(function, *args):  # type: ignore[no-untyped-def]
    """Call a reading function, turning decompression and I/O errors into one-line reasons."""
    try:
        return function(*args)
    except VolumeError:
        raise
    except EOFError:
        raise VolumeError("truncated: the gzip stream ends before its end marker") from None
    except gzip.BadGzipFile as error:
        raise VolumeError(f"corrupt gzip data ({_gzip_problem(str(error))})") from None
    except (zlib.error, IsalError) as error:
        raise VolumeError(f"corrupt gzip data ({error})") from None
    except OSError as error:
        raise VolumeError(f"read error: {error.strerror or error}") from None


def _after_gzip_end(path: str, header: Header | None) -> str | None:
    """The reason when bytes that are not another gzip member follow the last complete one, else None.

    Decompressors report such bytes as a truncated or corrupt next member; only on this error path is
    the file decompressed once more, into nothing, to tell them apart. ``header`` is the volume's
    (None: parsed from the decompressed bytes). Zero bytes after the last member are padding, as gzip
    allows.
    """
    found = _complete_members(path)
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


def _complete_members(path: str) -> tuple[int, str, bytes] | None:
    """The bytes the complete gzip members of ``path`` hold, a description of the junk after them, and
    their first 540 bytes; None when nothing but zeros follows them, or a member is truncated or
    corrupt."""
    end = total = 0  # the end of the last complete member, and the bytes all members hold
    head = b""
    with open(path, "rb") as raw:
        while True:
            raw.seek(end)
            if raw.read(2) != _GZIP_MAGIC:
                break
            raw.seek(end)
            member = zlib.decompressobj(wbits=31)
            while not member.eof:
                chunk = raw.read(_CHUNK)
                if not chunk:
                    return None  # a member that really is truncated
                try:
                    while chunk:
                        data = member.decompress(chunk, _CHUNK)
                        head += data[: max(0, 540 - len(head))]
                        total += len(data)
                        chunk = member.unconsumed_tail
                except zlib.error:
                    return None  # a member that really is corrupt
            end = raw.tell() - len(member.unused_data)
        raw.seek(end)
        rest = raw.read()
    if end == 0 or not rest.rstrip(b"\0"):
        return None
    return total, f"{len(rest)} bytes that are not gzip data", head


def _gzip_problem(message: str) -> str:
    if message.startswith("CRC check failed"):
        return "CRC check failed"
    if message.startswith("Incorrect length"):
        return "length check failed"
    if message.startswith("Not a gzipped file"):
        return "unexpected bytes in or after the gzip stream"
    return message


def _read_bytes(stream: BinaryIO, count: int, what: str) -> bytes:
    data = stream.read(count)
    if len(data) < count:
        raise VolumeError(f"truncated: the file ends inside {what}")
    return data


def _read_into(stream: BinaryIO, target: memoryview, declared: int) -> None:
    """Fill ``target`` from ``stream``, a few MB at a time.

    A gzip stream decompresses each ``readinto`` request into a temporary bytes object of the
    request's size before copying it: asking for a whole volume at once would hold the volume twice.
    """
    filled = 0
    while filled < len(target):
        count = stream.readinto(target[filled : filled + _CHUNK])  # type: ignore[attr-defined]
        if not count:
            raise VolumeError(
                f"truncated: the header declares {declared} bytes of voxels, the file ends sooner"
            )
        filled += count


def _skip(stream: BinaryIO, count: int | None, what: str) -> None:
    """Read and drop ``count`` bytes (all that is left when None)."""
    left = count
    while left is None or left > 0:
        chunk = stream.read(_CHUNK if left is None else min(left, _CHUNK))
        if not chunk:
            if left is None:
                return
            raise VolumeError(f"truncated: the file ends before {what}")
        if left is not None:
            left -= len(chunk)
