"""Putting files in place with one namespace operation each: unnamed files linked into place, and
staging folders renamed into place whole (see :mod:`nidataset.io.atomic` for the guarantees).

A namespace operation creates, renames, links or removes a name. On a cluster file system (NFS,
Lustre, GPFS) each is a round trip to a metadata server, a millisecond or more, while writing the
bytes is not; :func:`~nidataset.io.atomic.write_atomic` takes two per file (create a temporary name,
rename it), these take one.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

from ..errors import OutputError
from .atomic import (
    _offered,
    create_temporary,
    remove_files,
    sorted_error,
    temporary_name,
)

#: Folders where ``O_TMPFILE`` was refused (a file system without it): not asked again.
_NO_UNNAMED: set[str] = set()
_UNNAMED_REFUSED = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL, errno.ENOSYS}


def _can_link_unnamed() -> bool:
    """Linux: ``O_TMPFILE`` exists, and ``/proc/self/fd`` names a descriptor for ``linkat``."""
    return hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")


_UNNAMED = _can_link_unnamed()


def create_unnamed(folder: str) -> int | None:
    """A descriptor of a new file without a name in ``folder`` (``O_TMPFILE``), or None where the
    platform or the file system has none (NFS, FUSE, macOS, Windows)."""
    if not _UNNAMED or folder in _NO_UNNAMED:
        return None
    try:
        return os.open(folder, os.O_TMPFILE | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as error:
        if error.errno not in _UNNAMED_REFUSED:
            raise
        _NO_UNNAMED.add(folder)
        return None


def link_unnamed(descriptor: int, path: str) -> None:
    """Give the unnamed file ``descriptor`` the name ``path``: one ``linkat``, which never replaces a
    name; an existing ``path`` is replaced by a hidden temporary name renamed over it.

    ``os.link`` links the file a ``/proc/self/fd`` entry points to only through ``linkat`` with
    ``AT_SYMLINK_FOLLOW``, which it calls when a ``src_dir_fd`` is given (an absolute source path
    ignores it).
    """
    source = f"/proc/self/fd/{descriptor}"
    try:
        os.link(source, path, src_dir_fd=descriptor, follow_symlinks=True)
        return
    except FileExistsError:
        pass
    folder, name = os.path.split(path)
    for _ in range(100):
        temporary = os.path.join(folder, temporary_name(name))
        try:
            os.link(source, temporary, src_dir_fd=descriptor, follow_symlinks=True)
            break
        except FileExistsError:
            continue
    else:
        raise OutputError(errno.EEXIST, f"cannot link a temporary in {folder!r}: every name tried exists")
    try:
        os.replace(temporary, path)
    except BaseException:
        remove_files([temporary])
        raise


class NewFile:
    """A new file for ``path``, invisible until :meth:`place` puts it there whole.

    Unnamed where the platform allows (Linux ``O_TMPFILE`` on ext4, XFS, Btrfs, tmpfs): placing it
    is one ``linkat``. Elsewhere a hidden temporary in the final folder, unique to this writer and
    renamed into place, as :func:`write_atomic` does. :attr:`temporary` is a path that names the
    file while it is written (``/proc/self/fd/N`` for an unnamed one), for :func:`open_temporary`.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        folder, name = os.path.split(path)
        self._named = False
        descriptor = create_unnamed(folder)
        if descriptor is None:
            self.temporary = os.path.join(folder, temporary_name(name))  # named first: rolled back
            self._named = True
            self.temporary, descriptor = create_temporary(folder, name, first=self.temporary)
        else:
            self.temporary = f"/proc/self/fd/{descriptor}"
        self.descriptor: int | None = descriptor

    def offer(self) -> None:
        """Let the next :func:`open_temporary` of :attr:`temporary` in this thread take a descriptor."""
        assert self.descriptor is not None
        given = os.dup(self.descriptor) if not self._named else self.descriptor
        if self._named:
            self.descriptor = None  # the writer closes it
        _offered.__dict__.setdefault("descriptors", {})[self.temporary] = given

    def place(self) -> None:
        """Put the complete file under its final name: one link or one rename."""
        self._withdraw()
        if self._named:
            os.replace(self.temporary, self.path)
            self._named = False  # nothing left to roll back
        else:
            assert self.descriptor is not None
            link_unnamed(self.descriptor, self.path)
        self.close()

    def discard(self) -> None:
        """Forget the file (an unnamed one vanishes with its descriptor)."""
        self._withdraw()
        self.close()
        if self._named:
            remove_files([self.temporary])

    def close(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None

    def _withdraw(self) -> None:
        left = _offered.__dict__.get("descriptors", {}).pop(self.temporary, None)
        if left is not None:  # the writer never took it
            os.close(left)


def write_new(path: str, write: Callable[[str], object]) -> None:
    """Like :func:`write_atomic`, with one namespace operation where the platform allows it
    (:class:`NewFile`); ``write(temporary)`` takes its descriptor with :func:`open_temporary`."""
    new = None
    try:
        new = NewFile(path)
        new.offer()
        write(new.temporary)
        new.place()
    except BaseException as error:
        if new is not None:
            new.discard()
        if isinstance(error, OSError) and not isinstance(error, OutputError):
            raise sorted_error(error, path) from None
        raise


def create_staging(folder: str) -> str:
    """Create a new hidden folder beside ``folder``, unique to this writer, to be renamed into its place
    by :func:`rename_folder`: ``.<name>.<12 hex digits>.partial``, a temporary name."""
    parent, name = os.path.split(folder)
    for _ in range(100):
        staging = os.path.join(parent, temporary_name(name))
        try:
            os.mkdir(staging)
            return staging
        except FileExistsError:
            continue
        except OSError as error:
            raise sorted_error(error, folder) from None
    raise OutputError(errno.EEXIST, f"cannot create a staging folder in {parent!r}: every name tried exists")


def is_vacant(folder: str) -> bool:
    """Whether ``folder`` does not exist, or is a real (not linked) folder holding nothing: a staging
    folder may then be renamed into its place."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False


#: Errors of a rename that says a folder cannot take the staging folder's place as a whole.
_NOT_RENAMED = {errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.EBUSY, errno.EXDEV}


def rename_folder(staging: str, folder: str) -> bool:
    """Rename ``staging`` to ``folder`` (which an empty ``folder`` takes atomically); False when
    ``folder`` cannot be replaced so (it meanwhile holds files, or is a link): move the files one by one.
    """
    try:
        os.rename(staging, folder)
    except OSError as error:
        if error.errno not in _NOT_RENAMED:
            raise sorted_error(error, folder) from None
        return False
    return True
