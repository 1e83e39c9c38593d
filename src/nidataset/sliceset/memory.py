"""Decoded volumes kept by the up-front pass in anonymous shared memory that worker processes map.

The up-front pass decodes every volume once to check it; keeping what it decoded (within the cache
budget) spares every worker process its own decompression of the whole dataset in each epoch (a
random epoch in ``n`` workers otherwise decodes it ``n`` times). The memory is one ``memfd`` per
dataset (Linux): a file with no name in any file system, so it neither fills ``/dev/shm`` (64 MB in a
default Docker container, and DataLoader's own channel) nor outlives its process, even one killed by
``SIGKILL``: the kernel frees it when the last process that maps it ends. Another process maps it
read-only through ``/proc/<pid>/fd/<fd>`` of the process that made it (same user), after checking it
is that very file (device and inode). Where that fails (another platform or machine, a restricted
``/proc``, the dataset gone), the process decodes the volumes itself, as without shared memory.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import weakref
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

#: Whether this platform has anonymous shared memory files.
AVAILABLE = hasattr(os, "memfd_create")
#: Arrays start on cache lines.
ALIGN = 64
#: Bytes written at a time (a write gives at most about 2 GB).
_CHUNK = 1 << 30


class SharedMemory:
    """``size`` bytes of anonymous shared memory (pages are taken as they are written), by handle: it
    pickles as its maker's process id and file descriptor, and is mapped once per process.

    >>> import pickle
    >>> memory = SharedMemory(64)
    >>> shared = memory.put(0, np.arange(6, dtype=np.int16).reshape(2, 3, order="F"))
    >>> copy = pickle.loads(pickle.dumps(shared))
    >>> copy.array().tolist(), copy.array().flags.writeable, copy.nbytes
    ([[0, 2, 4], [1, 3, 5]], False, 12)
    >>> memory.close()
    """

    def __init__(self, size: int) -> None:
        self.pid, self.size = os.getpid(), max(1, size)  # mmap refuses a length of 0
        self.fd = os.memfd_create("nidataset-slices", os.MFD_CLOEXEC)
        try:
            os.ftruncate(self.fd, self.size)
            self._memory: mmap.mmap | None = mmap.mmap(self.fd, self.size)
            stat = os.fstat(self.fd)
        except BaseException:
            os.close(self.fd)
            raise
        self.identity = (stat.st_dev, stat.st_ino)  # the file, not one that reuses the descriptor
        self._failed = False
        # The descriptor goes with the last reference to this object (the dataset's records hold it),
        # in the process that made it; a copy unpickled elsewhere has none to close.
        self._closer: weakref.finalize | None = weakref.finalize(self, _close, self.fd)

    def put(self, offset: int, array: np.ndarray) -> SharedArray:
        """A copy of ``array`` at ``offset`` (its memory order kept), by this process only."""
        assert self._memory is not None and self.pid == os.getpid()
        fortran = array.flags.f_contiguous and not array.flags.c_contiguous  # a volume as read
        order: Literal["C", "F"] = "F" if fortran else "C"
        kept = np.ndarray(array.shape, array.dtype, buffer=self._memory, offset=offset, order=order)
        if array.flags.c_contiguous or array.flags.f_contiguous:  # written, not faulted in page by page
            data = memoryview(array.ravel(order="K").view(np.uint8))  # type: ignore[arg-type]
            for start in range(0, len(data), _CHUNK):
                self._write(data[start : start + _CHUNK], offset + start)
        else:
            kept[...] = array
        return SharedArray(self, offset, kept.dtype.str, tuple(kept.shape), tuple(kept.strides), array.nbytes)

    def _write(self, data: memoryview, offset: int) -> None:
        while data:
            written = os.pwrite(self.fd, data, offset)
            data, offset = data[written:], offset + written

    def memory(self) -> mmap.mmap | None:
        """The memory, mapped read-only on first use in this process; None when it cannot be."""
        if self._memory is None and not self._failed:
            self._memory = self._map()
            self._failed = self._memory is None
        return self._memory

    def _map(self) -> mmap.mmap | None:
        try:
            fd = os.open(f"/proc/{self.pid}/fd/{self.fd}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # its maker has ended or closed it, another machine, a /proc not ours to read
            return None
        try:
            stat = os.fstat(fd)
            if (stat.st_dev, stat.st_ino) != self.identity or stat.st_size != self.size:
                return None  # a descriptor number reused for another file
            return mmap.mmap(fd, self.size, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)

    def close(self) -> None:
        """Let the memory go in the process that made it (arrays mapped elsewhere stay valid)."""
        if self._closer is not None and self.pid == os.getpid():
            self._closer()
            self._memory = None  # the map itself goes with the last array made on it
            self._failed = True

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_memory": None, "_failed": False, "_closer": None}


@dataclass(eq=False)
class SharedArray:
    """An array in a :class:`SharedMemory`, read-only, mapped in the process that uses it."""

    memory: SharedMemory
    offset: int
    dtype: str
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    nbytes: int
    _array: np.ndarray | None = field(default=None, repr=False)

    def array(self) -> np.ndarray | None:
        """The array, or None when its memory cannot be mapped in this process."""
        if self._array is None:
            memory = self.memory.memory()
            if memory is None:
                return None
            array = np.ndarray(self.shape, np.dtype(self.dtype), memory, self.offset, self.strides)
            array.flags.writeable = False
            self._array = array
        return self._array

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None}


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def slots(sizes: list[int | None], budget: int) -> tuple[list[int | None], int]:
    """The offset of each size kept (the first ones, in order, that fit ``budget`` together; None for
    None), and the bytes they span.

    >>> slots([100, None, 50, 30], 200)
    ([0, None, 128, None], 178)
    """
    offsets: list[int | None] = []
    end = 0
    for size in sizes:
        start = -(-end // ALIGN) * ALIGN
        fits = size is not None and start + size <= budget
        offsets.append(start if fits else None)
        end = start + size if fits and size is not None else end
    return offsets, end


def mapped(
    decoded: tuple[SharedArray, SharedArray | None] | None,
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The (volume, labels) of shared handles, mapped; None when there are none or one cannot be."""
    if decoded is None:
        return None
    image, labels = decoded
    volume, mask = image.array(), None if labels is None else labels.array()
    if volume is None or (labels is not None and mask is None):
        return None
    return volume, mask
