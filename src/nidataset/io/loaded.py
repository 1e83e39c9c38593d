"""Volume sources for formats read by other libraries or in one stream: NRRD and MetaImage.

A raw or compressed (gzip, zlib) volume is read as one stream from its first voxel, a few MB at a
time, as NIfTI is (:class:`StreamedVolume`): axial slabs need no more memory than with NIfTI. An
encoding only a library decodes (NRRD's bzip2 or ASCII) is decoded in one piece when first read
(:class:`LoadedVolume`). Either way the header is parsed when the source opens, the voxels only when
they are first asked for, so that a header-only look costs a few hundred bytes.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

from ..errors import VolumeError
from .source import SourceBase
from .streams import CHUNK, read_into, skip, translated
from .volumes import Header

#: The volume's voxels as an (X, Y, Z) array in any memory order.
Loader = Callable[[], np.ndarray]
#: A stream of the voxels' bytes, decompressed, from the first voxel, and whether to read it to its
#: end when done (a compressed stream's checksum is there).
Opener = Callable[[], tuple[BinaryIO, bool]]


class StreamedVolume(SourceBase):
    """A source reading its voxels front to back from ``open_voxels()``'s stream."""

    def __init__(self, path: str, header: Header, open_voxels: Opener) -> None:
        self.path = path
        self.header = header
        self._open = open_voxels
        self._stream: BinaryIO | None = None
        self._check_end = False

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def finish(self) -> None:
        """Read a compressed stream to its end, so that its checksum is checked."""
        if self._stream is not None and self._check_end:
            translated(skip, self._stream, None, "")

    def read(self, voxels: int, into: np.ndarray | None = None) -> np.ndarray:
        """The next ``voxels`` voxels, 1D, in the stored dtype (in the uint8 buffer ``into`` if given)."""
        if self._stream is None:
            self._stream, self._check_end = translated(self._open)
        size = voxels * self.header.dtype.itemsize
        buffer = np.empty(size, dtype=np.uint8) if into is None else into[:size]
        translated(read_into, self._stream, buffer.data, self.header.nbytes)
        return buffer.view(self.header.dtype)


class LoadedVolume(SourceBase):
    """A source whose voxels come from ``load()`` in one piece, served as the protocol's reads."""

    def __init__(self, path: str, header: Header, load: Loader) -> None:
        self.path = path
        self.header = header
        self._load = load
        self._flat: np.ndarray | None = None  # the voxels in Fortran order, 1D
        self._at = 0  # the next voxel to read

    def close(self) -> None:
        """Drop the voxels."""
        self._flat = None

    def read(self, voxels: int, into: np.ndarray | None = None) -> np.ndarray:
        """The next ``voxels`` voxels, 1D, in the stored dtype (in the uint8 buffer ``into`` if given)."""
        flat = self._voxels()
        if self._at + voxels > flat.size:
            raise VolumeError(f"read past the end of the volume's {flat.size} voxels")
        part = flat[self._at : self._at + voxels]
        self._at += voxels
        if into is None:
            return np.array(part)  # a copy: the caller may keep it after close()
        target = into[: part.nbytes].view(self.header.dtype)
        target[:] = part
        return target

    def _voxels(self) -> np.ndarray:
        if self._flat is None:
            data = self._load()
            if data.size != math.prod(self.header.shape):
                raise VolumeError(f"holds {data.size} voxels, its header declares {self.header.shape}")
            self._flat = data.astype(self.header.dtype, copy=False).reshape(-1, order="F")
        return self._flat


class ZlibStream:
    """A zlib (RFC 1950) stream read as a file: MetaImage's ``CompressedData``."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj()
        self._pending = b""

    def readinto(self, target: memoryview) -> int:
        while not self._pending and not self._inflate.eof:
            chunk = self._inflate.unconsumed_tail or self._raw.read(CHUNK)
            if not chunk:
                raise EOFError("the compressed data end before their end marker")
            self._pending = self._inflate.decompress(chunk, max(len(target), 1 << 16))
        count = min(len(target), len(self._pending))
        target[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def read(self, size: int = -1) -> bytes:
        buffer = bytearray(CHUNK if size is None or size < 0 else size)
        count = self.readinto(memoryview(buffer))
        return bytes(buffer[:count])

    def close(self) -> None:
        self._raw.close()


def open_at(path: str, offset: int) -> BinaryIO:
    """``path`` opened for reading from byte ``offset``."""
    handle = open(path, "rb")  # noqa: SIM115 - closed by the source through its stream
    handle.seek(offset)
    return handle


def data_file(header_path: str, name: str) -> str:
    """The path of a detached data file named in a header, refused with its name when missing."""
    path = name if os.path.isabs(name) else os.path.join(os.path.dirname(header_path), name)
    if not os.path.isfile(path):
        raise VolumeError(f"its data file {name!r} is missing (looked for {path!r})")
    return path


def ras_affine(directions: np.ndarray, origin: np.ndarray, flips: tuple[float, float, float]) -> np.ndarray:
    """Voxel to RAS mm from axis vectors (columns, in the format's space) and an origin; ``flips`` turns
    that space into RAS (LPS: ``(-1, -1, 1)``).

    >>> ras_affine(np.diag([0.5, 0.5, 2.0]), np.array([10.0, 20.0, 30.0]), (-1.0, -1.0, 1.0))[:3].tolist()
    [[-0.5, 0.0, 0.0, -10.0], [0.0, -0.5, 0.0, -20.0], [0.0, 0.0, 2.0, 30.0]]
    """
    affine = np.eye(4)
    affine[:3, :3] = directions
    affine[:3, 3] = origin
    return np.diag([*flips, 1.0]) @ affine


def spacing_of(affine: np.ndarray) -> tuple[float, float, float]:
    """The voxel sizes: the lengths of the affine's axis vectors."""
    x, y, z = (float(v) for v in np.linalg.norm(affine[:3, :3], axis=0))
    return x, y, z
