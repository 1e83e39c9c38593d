"""One writer per output folder: the lock a dataset run holds on ``<output>/.nidataset/lock``.

Two runs writing one folder would overwrite and roll back each other's files. A run takes the lock
after its checks, before it writes anything, and releases it when it ends, whatever the way it ends; a
second run into the same folder meets a usage error naming the holder.

The lock file is created with an exclusive create (``O_CREAT | O_EXCL``): of two runs starting
together, exactly one creates it, on every file system, and the other meets it. The creator then
takes the kernel's lock (``flock``) on it and writes who it is. A lock file that already exists is
held while its kernel lock is: the death of its holder (a crash, ``kill -9``) frees it, and the next
run takes it over in place, after removing the temporaries that holder left half-written.

Where the file system offers no kernel lock (``flock`` fails with ENOLCK, as on some NFS mounts),
the file's content decides: a lock file that is empty (its creator is writing it) or whose holder
may be alive refuses the run; a holder on this host whose process is gone is taken over, by one run
only: the taker first creates ``lock.takeover`` exclusively, checks that the lock file is still the
dead holder's, replaces it, and removes the marker. A marker left by a run killed in that instant
refuses later runs with a message saying to remove it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time

from ..errors import OutputError, VolumeError
from ..io.atomic import make_folder, remove_temporaries

#: The lock file, relative to the output root.
LOCK_PATH = os.path.join(".nidataset", "lock")
_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | _FLAGS
_OPEN = os.O_RDWR | _FLAGS
#: Errors that say the output cannot be written at all, whatever the run does.
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class OutputLock:
    """The lock of one output folder, held by this run until :meth:`release`."""

    def __init__(self, path: str, descriptor: int) -> None:
        self.path, self._descriptor = path, descriptor

    def release(self) -> None:
        """Remove the lock file (if it is still this lock's) and let the lock go; idempotent."""
        if self._descriptor < 0:
            return
        with contextlib.suppress(OSError):
            if _same_file(os.stat(self.path), os.fstat(self._descriptor)):
                os.remove(self.path)
        os.close(self._descriptor)
        self._descriptor = -1
        with contextlib.suppress(OSError):  # not empty (records), or taken again already
            os.rmdir(os.path.dirname(self.path))


def take_lock(output_path: str) -> OutputLock:
    """Create the output folder if needed and take its lock.

    Raises ValueError when ``output_path`` is empty or not a folder, or when another run holds the
    folder (naming its process, host and start time); OutputError when the folder is read-only.
    """
    check_output_root(output_path)
    path = os.path.join(output_path, LOCK_PATH)
    for _ in range(20):  # the lock file can vanish between two steps: its holder released it
        try:
            make_folder(os.path.dirname(path))
            lock = _take(path, output_path)
        except FileNotFoundError:  # the folder was removed by a holder releasing the lock
            continue
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise ValueError(f"{path!r} is a symbolic link; remove it") from None
            if error.errno in _READ_ONLY and not isinstance(error, OutputError):
                raise OutputError(
                    error.errno,
                    f"output_path {output_path!r} is read-only: cannot create the lock {path!r} "
                    f"({error.strerror})",
                ) from None
            raise
        if lock is not None:
            return lock
    raise ValueError(f"cannot take the lock {path!r}: it keeps being replaced by other runs")


def _take(path: str, output_path: str) -> OutputLock | None:
    """The lock, a ValueError when another run holds it, or None to try again."""
    try:
        descriptor = os.open(path, _CREATE, 0o666)
    except FileExistsError:
        return _take_existing(path, output_path)
    try:
        if _kernel_lock(descriptor) is False:  # a run met our empty file and took it first: it holds it
            os.close(descriptor)
            return None
        _write_holder(descriptor)
    except BaseException:
        os.close(descriptor)
        raise
    return OutputLock(path, descriptor)


def check_output_root(output_path: str) -> None:
    """ValueError unless ``output_path`` names a folder, or a path where one can be created."""
    if not output_path:
        raise ValueError("output_path must name a folder; got an empty path")
    if os.path.lexists(output_path) and not os.path.isdir(output_path):
        raise ValueError(f"output_path {output_path!r} is a file, not a folder")
    try:
        make_folder(output_path)
    except VolumeError as error:  # a file in the way of one of its parents
        raise ValueError(f"output_path {output_path!r} cannot be a folder: {error}") from None


def _take_existing(path: str, output_path: str) -> OutputLock | None:
    """Take over a lock file left by a holder that is gone; ValueError while its holder runs."""
    try:
        descriptor = os.open(path, _OPEN)
    except FileNotFoundError:  # released meanwhile
        return None
    try:
        kernel = _kernel_lock(descriptor)
        previous = _holder(descriptor)
        if kernel is False or (kernel is None and (not previous or _alive(previous))):
            # empty, without a kernel lock: its creator is writing who it is
            raise ValueError(_in_use(output_path, path, previous, kernel is None))
        if kernel and not _still(path, descriptor):
            os.close(descriptor)
            return None
        if kernel:
            _write_holder(descriptor)
    except BaseException:
        os.close(descriptor)
        raise
    if kernel is None:
        return _take_over_without_kernel(descriptor, path, output_path)
    if previous:  # its holder died without releasing it: remove what it left half-written
        remove_temporaries(output_path)
    return OutputLock(path, descriptor)


def _take_over_without_kernel(stale: int, path: str, output_path: str) -> OutputLock | None:
    """Replace the lock file of a dead holder, by one run only (``stale`` is closed here)."""
    marker = path + ".takeover"
    try:
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FLAGS, 0o666))
    except FileExistsError:
        raise ValueError(
            f"output_path {output_path!r} is in use by another nidataset run (one taking over the lock "
            f"of a run that has ended); if no run is using the folder, remove {marker!r}"
        ) from None
    try:
        if not _still(path, stale):  # another run replaced it first: look again
            return None
        os.remove(path)
        try:
            descriptor = os.open(path, _CREATE, 0o666)
        except FileExistsError:  # a run starting now created it: it holds the folder
            return None
        try:
            _write_holder(descriptor)
        except BaseException:
            os.close(descriptor)
            raise
    finally:
        os.close(stale)
        with contextlib.suppress(OSError):
            os.remove(marker)
    remove_temporaries(output_path)
    return OutputLock(path, descriptor)


def _still(path: str, descriptor: int) -> bool:
    """Whether ``path`` is still the file open as ``descriptor``."""
    try:
        return _same_file(os.stat(path), os.fstat(descriptor))
    except FileNotFoundError:
        return False


def _same_file(one: os.stat_result, other: os.stat_result) -> bool:
    return (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino)


def _kernel_lock(descriptor: int) -> bool | None:
    """True if taken, False if another process holds it, None when there is no kernel lock here."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as error:
        if error.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):  # some network file systems
            return None
        raise
    return True


def _holder(descriptor: int) -> dict[str, object]:
    """What the lock file says of its holder (empty when nothing, or nothing readable)."""
    try:
        text = os.pread(descriptor, 4096, 0)
        holder = json.loads(text.decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _write_holder(descriptor: int) -> None:
    started = time.strftime("%Y-%m-%d %H:%M:%S %z")
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(holder).encode("utf-8") + b"\n", 0)


def _alive(holder: dict[str, object]) -> bool:
    """Whether the holder may still run: always, unless it ran on this host and its process is gone."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, as another user
        return True
    return True


def _in_use(output_path: str, path: str, holder: dict[str, object], by_content: bool) -> str:
    if holder:
        who = f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started')}"
        if not _alive(holder):
            who += "; that process has ended, but processes it started still hold the folder"
    else:
        who = "a run that is starting"
    advice = f"; if no run is using the folder, remove {path!r}" if by_content else ""
    return (
        f"output_path {output_path!r} is in use by another nidataset run ({who}): one output folder "
        f"takes one run at a time; wait for that run to end, or write to another folder{advice}"
    )
