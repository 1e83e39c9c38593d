"""Random access into a gzip stream through seek points, each a copy of the decompressor's state.

zlib's ``zran.c`` keeps at each point the 32 KiB window and the bit offset inside a byte, restored with
``inflateSetDictionary`` and ``inflatePrime``, and places points at deflate block boundaries found
with ``Z_BLOCK``. Python's :mod:`zlib` exposes neither ``inflatePrime`` nor ``Z_BLOCK``; it does expose
``Decompress.copy()``: a point here is a copy of the whole decompressor (window and bit buffer
included) taken between two inputs, so resuming from it needs no priming and works at any byte. Points
live in the memory of the process that built them (a copy cannot be saved): one pass through the
stream builds them, about 45 KB per point, one point per :data:`SPACING` bytes of voxels (4% of a
volume's decoded size). Reading forward from where the last read ended continues that read's own
decompressor, so slices read in order decompress the stream once.
"""

from __future__ import annotations

import bisect
import zlib
from dataclasses import dataclass

from ..io.streams import GZIP_MAGIC

#: Uncompressed bytes between points: a read decompresses at most this much before its first byte.
SPACING = 1 << 20
#: Bytes of output per decompression call (bounds a point's distance past its mark, and memory).
_STEP = 1 << 16
_INPUT = 1 << 16  # compressed bytes read from the file at a time
#: What one point holds: zlib's inflate state (about 7 KB) and its 32 KiB window, rounded up.
POINT_BYTES = 45_000


@dataclass
class _Position:
    """A decompressor that has consumed ``compressed`` bytes of the file and produced ``produced``."""

    state: zlib._Decompress
    compressed: int
    produced: int

    def copy(self) -> _Position:
        return _Position(self.state.copy(), self.compressed, self.produced)


class GzipIndex:
    """Seek points into the gzip file ``path`` (one member or several, as ``bgzip`` writes them).

    >>> import gzip, tempfile
    >>> path = tempfile.mkdtemp() + "/data.gz"
    >>> data = bytes(range(256)) * 40_000
    >>> with gzip.open(path, "wb") as handle:
    ...     _ = handle.write(data)
    >>> index = GzipIndex(path, spacing=100_000)
    >>> len(index.points), index.size == len(data), index.read(5_000_003, 7) == data[5_000_003:5_000_010]
    (103, True, True)
    """

    def __init__(self, path: str, spacing: int = SPACING) -> None:
        self.path, self.spacing = path, spacing
        self.points: list[_Position] = []
        self._cursor: _Position | None = None  # where the last read ended, to go on from
        start = _Position(zlib.decompressobj(31), 0, 0)
        self.size = self._walk(start, None, self._mark)
        self._starts = [point.produced for point in self.points]

    @property
    def nbytes(self) -> int:
        return len(self.points) * POINT_BYTES

    def read(self, offset: int, size: int) -> bytes:
        """``size`` decompressed bytes from ``offset`` (fewer only at the end of the stream)."""
        cursor = self._cursor
        if cursor is None or not cursor.produced <= offset < cursor.produced + self.spacing:
            cursor = self.points[bisect.bisect_right(self._starts, offset) - 1].copy()
        out = bytearray()

        def keep(position: _Position, data: bytes) -> None:
            begin = position.produced - len(data)
            out.extend(data[max(0, offset - begin) : max(0, offset + size - begin)])

        self._walk(cursor, offset + size, keep)
        self._cursor = cursor
        return bytes(out)

    def _mark(self, position: _Position, data: bytes) -> None:
        if position.produced >= len(self.points) * self.spacing:  # the first position past each mark
            self.points.append(position.copy())

    def _walk(self, position: _Position, end: int | None, seen) -> int:  # type: ignore[no-untyped-def]
        """Decompress from ``position`` (advanced in place) until ``end`` bytes are produced (None: to
        the end), calling ``seen(position, data)`` after each output; return the bytes produced."""
        if end is None:
            self._mark(position, b"")
        with open(self.path, "rb") as raw:
            raw.seek(position.compressed)
            pending = b""
            while end is None or position.produced < end:
                if not pending:
                    pending = raw.read(_INPUT)
                    if not pending:
                        break
                data = position.state.decompress(pending, _STEP)
                # At a member's end the input left over is unused_data (unconsumed_tail may repeat it).
                left = position.state.unused_data if position.state.eof else position.state.unconsumed_tail
                position.compressed += len(pending) - len(left)
                pending = left
                position.produced += len(data)
                ended = position.state.eof
                if ended:  # a member ends: what follows is another member, or padding
                    if len(pending) < 2:
                        pending += raw.read(_INPUT)
                    if pending.startswith(GZIP_MAGIC):
                        position.state = zlib.decompressobj(31)
                seen(position, data)
                if ended and position.state.eof:
                    break
        return position.produced
