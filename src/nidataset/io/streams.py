"""Byte streams of input files: opened through the fastest gzip decompressor, read in chunks.

Shared by the input formats (:mod:`nidataset.io.nifti` and any other whose files may be gzipped):
a file whose first bytes say gzip is decompressed whatever its name, through ``isal`` when installed
(about 3x faster than zlib), and every decompression or I/O error becomes a one-line
:class:`~nidataset.errors.VolumeError`.
"""

from __future__ import annotations

import gzip
import os
import stat
import types
import zlib
from typing import BinaryIO

from ..errors import OutputError, VolumeError
from .atomic import DESCRIPTOR_ERRORS

_gzip_module: types.ModuleType
try:  # isal decompresses about 3x faster than zlib and releases the GIL while doing it
    from isal import igzip as _gzip_module
    from isal.igzip_lib import IsalError
except ImportError:  # pragma: no cover - depends on the platform
    _gzip_module = gzip
    IsalError = zlib.error  # type: ignore[assignment,misc]

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 22  # bytes per read: large enough for speed, small enough not to double memory


def open_stream(path: str) -> BinaryIO:
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
    if raw.read(2) != GZIP_MAGIC:
        raw.seek(0)
        return raw
    raw.seek(0)
    return gzip_stream(raw, owned=True)


def gzip_stream(raw: BinaryIO, owned: bool = False) -> BinaryIO:
    """The decompressed bytes of the gzip data that ``raw`` reads from where it stands; closing the
    stream closes ``raw`` too when it is ``owned`` (GzipFile closes only the files it opened itself:
    the descriptor would otherwise stay open until garbage collection)."""
    stream = _gzip_module.GzipFile(fileobj=raw, mode="rb")
    if owned:
        stream.myfileobj = raw  # what GzipFile.close() closes
    return stream  # type: ignore[no-any-return]


def translated(function, *args):  # type: ignore[no-untyped-def]
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


def complete_members(path: str) -> tuple[int, str, bytes] | None:
    """The bytes the complete gzip members of ``path`` hold, a description of the junk after them, and
    their first 540 bytes; None when nothing but zeros follows them, or a member is truncated or
    corrupt."""
    end = total = 0  # the end of the last complete member, and the bytes all members hold
    head = b""
    with open(path, "rb") as raw:
        while True:
            raw.seek(end)
            if raw.read(2) != GZIP_MAGIC:
                break
            raw.seek(end)
            member = zlib.decompressobj(wbits=31)
            while not member.eof:
                chunk = raw.read(CHUNK)
                if not chunk:
                    return None  # a member that really is truncated
                try:
                    while chunk:
                        data = member.decompress(chunk, CHUNK)
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


def read_bytes(stream: BinaryIO, count: int, what: str) -> bytes:
    data = stream.read(count)
    if len(data) < count:
        raise VolumeError(f"truncated: the file ends inside {what}")
    return data


def read_into(stream: BinaryIO, target: memoryview, declared: int) -> None:
    """Fill ``target`` from ``stream``, a few MB at a time.

    A gzip stream decompresses each ``readinto`` request into a temporary bytes object of the
    request's size before copying it: asking for a whole volume at once would hold the volume twice.
    """
    filled = 0
    while filled < len(target):
        count = stream.readinto(target[filled : filled + CHUNK])  # type: ignore[attr-defined]
        if not count:
            raise VolumeError(
                f"truncated: the header declares {declared} bytes of voxels, the file ends sooner"
            )
        filled += count


def skip(stream: BinaryIO, count: int | None, what: str) -> None:
    """Read and drop ``count`` bytes (all that is left when None)."""
    left = count
    while left is None or left > 0:
        chunk = stream.read(CHUNK if left is None else min(left, CHUNK))
        if not chunk:
            if left is None:
                return
            raise VolumeError(f"truncated: the file ends before {what}")
        if left is not None:
            left -= len(chunk)
