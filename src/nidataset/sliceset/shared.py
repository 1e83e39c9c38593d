"""Decoded volumes shared by the worker processes of one dataset, as files in a folder they all see.

Each worker process otherwise decodes every volume it meets: with ``n`` DataLoader workers, a random
epoch decompresses the dataset ``n`` times. Given a folder (``/dev/shm`` shares memory pages), the
first worker to need a volume decodes it and writes it there as ``.npy`` (under a lock file, put in
place by a rename: never seen half written); the others map it read-only, so the pages exist once. The
folder holds at most the cache budget; beyond that, or when a write fails (a full ``/dev/shm``),
workers keep their own copy as without a folder. The dataset that made the folder removes it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterable

import numpy as np

#: How long a worker waits for another one's volume before decoding it itself.
WAIT_SECONDS = 60.0
_POLL = 0.01


#: A view's decoded image and labels; how to decode them; the other volumes one may decode meanwhile.
Arrays = tuple[np.ndarray, np.ndarray | None]
Load = Callable[[], Arrays]
Spare = Callable[[], Iterable[tuple[str, Load]]]


class SharedVolumes:
    """``.npy`` files of decoded arrays in ``folder``, written once and mapped by every process."""

    def __init__(self, folder: str, budget: int) -> None:
        self.folder, self.budget = folder, budget
        #: Spare volumes this process will not decode again while waiting: they did not fit the folder,
        #: or their decoding failed (the sample's own ``get`` decodes it and names the problem).
        self._given_up: set[str] = set()

    def get(self, key: str, load: Load, spare: Spare | None = None) -> tuple[Arrays, bool]:
        """The arrays of ``key`` and whether they are shared (mapped), else loaded privately.

        While another process decodes ``key``, this one decodes a volume of ``spare()`` that nobody
        has claimed yet rather than wait idle (a random epoch's workers first meet the same volumes).
        """
        found = self._mapped(key)
        if found is not None:
            return found, True
        os.makedirs(self.folder, exist_ok=True)
        if not self._claim(key):
            return self._wait(key, load, spare)
        try:
            arrays = load()
            return arrays, self._put(key, arrays)
        finally:
            os.remove(self._lock(key))

    def _lock(self, key: str) -> str:
        return os.path.join(self.folder, f"{key}.lock")

    def _claim(self, key: str) -> bool:
        """Take ``key``'s lock, naming this process in it; False when another process holds it."""
        try:
            handle = os.open(self._lock(key), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(handle, str(os.getpid()).encode())
        os.close(handle)
        return True

    def _help(self, spare: Spare) -> bool:
        """Decode and share one volume of ``spare()`` that is neither shared nor claimed yet."""
        if self._used() >= self.budget:
            return False
        for key, load in spare():
            if key in self._given_up or os.path.exists(os.path.join(self.folder, f"{key}.image.npy")):
                continue
            if os.path.exists(self._lock(key)) or not self._claim(key):
                continue
            try:
                if not self._put(key, load()):
                    self._given_up.add(key)
            except Exception:  # another sample's problem, not this one's: named when that one is read
                self._given_up.add(key)
            finally:
                os.remove(self._lock(key))
            return True
        return False

    def _put(self, key: str, arrays: Arrays) -> bool:
        """Write the arrays if the folder has room; whether they were written."""
        size = sum(a.nbytes for a in arrays if a is not None)
        if self._used() + size > self.budget:
            return False
        written: list[str] = []
        try:
            for name, array in zip(("labels", "image"), arrays[::-1], strict=True):  # image last: the mark
                if array is None:
                    continue
                path = os.path.join(self.folder, f"{key}.{name}.npy")
                temporary = f"{path}.{os.getpid()}.tmp"
                written.append(temporary)
                with open(temporary, "wb") as handle:
                    np.save(handle, array)
                os.replace(temporary, path)
                written[-1] = path
        except OSError:  # a full /dev/shm: keep the arrays to this process
            for path in written:
                with contextlib.suppress(OSError):
                    os.remove(path)
            return False
        return True

    def _mapped(self, key: str) -> Arrays | None:
        image = os.path.join(self.folder, f"{key}.image.npy")
        if not os.path.exists(image):
            return None
        labels = os.path.join(self.folder, f"{key}.labels.npy")
        mapped = np.load(labels, mmap_mode="r") if os.path.exists(labels) else None
        return np.load(image, mmap_mode="r"), mapped

    def _wait(self, key: str, load: Load, spare: Spare | None) -> tuple[Arrays, bool]:
        """Another process is decoding ``key``: map its files when they appear, else decode too."""
        lock = self._lock(key)
        deadline = time.monotonic() + WAIT_SECONDS
        while os.path.exists(lock) and time.monotonic() < deadline and _holder_alive(lock):
            if spare is None or not self._help(spare):
                time.sleep(_POLL)
        found = self._mapped(key)
        return (found, True) if found is not None else (load(), False)

    def _used(self) -> int:
        with os.scandir(self.folder) as entries:
            return sum(e.stat().st_size for e in entries if e.name.endswith(".npy"))


def _holder_alive(lock: str) -> bool:
    """Whether the process named in ``lock`` still runs (a killed worker's lock is stale)."""
    try:
        with open(lock) as handle:
            pid = int(handle.read() or 0)
    except (OSError, ValueError):
        return True  # being written, or just removed: look again
    if not pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_folder(folder: str, owner: int) -> None:
    """Remove the shared folder, from the process that made it only (a forked worker inherits the
    dataset, and must not remove what the others still map)."""
    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)
