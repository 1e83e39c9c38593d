"""How every output file is put in place, and whose problem a failure is.

Every file is written where no reader can see it under its final name, then put in place whole, so an
interrupted run never leaves a truncated file under a final name. Here: a hidden temporary name in the
final folder, renamed (two namespace operations). Each temporary is created new (``O_CREAT |
O_EXCL``, never through a symbolic link) under a name unique to its writer, so two writers of one file
never write into, truncate or roll back each other's temporary. :mod:`nidataset.io.placement` does the
same with one operation per file: unnamed files linked into place (Linux ``O_TMPFILE``), and hidden
staging folders renamed into place whole.

Errors are sorted by whose problem they are: a name the file system refuses, or something else in the
way of a path (a plain file where a folder goes), belongs to one volume (skip it); running out of file
descriptors is the process's problem, never a file's; anything else (disk full, quota, permission,
read-only) is the output location's problem and stops the run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterable

from ..errors import OutputError, VolumeError

_ONE_VOLUME_ERRORS = {errno.ENAMETOOLONG, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}
#: Too many open files: never a file's reason (see :func:`sorted_error`).
DESCRIPTOR_ERRORS = {errno.EMFILE, errno.ENFILE}
#: Create a new file only: never an existing one, never through a symbolic link.
_CREATE_NEW = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
#: Open a reserved temporary to fill it: never create, never through a symbolic link, emptied first.
_REOPEN = (
    os.O_WRONLY
    | os.O_TRUNC
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.partial(\.[A-Za-z0-9.]+)?")
#: Descriptors of the temporaries being written, per thread, for :func:`open_temporary`.
_offered = threading.local()


def write_atomic(path: str, write: Callable[[str], object], suffix: str = "") -> None:
    """Run ``write(temporary)``, then rename; ``suffix`` keeps an extension a writer needs.

    The temporary is created (empty) before ``write`` runs; ``write`` takes its descriptor with
    :func:`open_temporary`, or reopens it by name (it is this writer's alone).
    """
    folder, name = os.path.split(path)
    temporary = None
    try:
        # named before it exists, so that an interruption at any point rolls it back
        temporary = os.path.join(folder, temporary_name(name, suffix))
        temporary, descriptor = create_temporary(folder, name, suffix, first=temporary)
        offered = _offered.__dict__.setdefault("descriptors", {})
        offered[temporary] = descriptor
        try:
            write(temporary)
        finally:
            left = offered.pop(temporary, None)  # None when write took it
            if left is not None:
                os.close(left)
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None:
            remove_files([temporary])
        if isinstance(error, OSError) and not isinstance(error, OutputError):
            raise sorted_error(error, path) from None
        raise


def open_temporary(temporary: str) -> int:
    """A descriptor open for writing ``temporary``; the caller closes it.

    Inside :func:`write_atomic`, the descriptor the temporary was created with; otherwise a new file
    created exclusively (an existing file is never truncated, a symbolic link never followed).
    """
    descriptor = _offered.__dict__.get("descriptors", {}).pop(temporary, None)
    return os.open(temporary, _CREATE_NEW, 0o666) if descriptor is None else descriptor


def create_temporary(
    folder: str, name: str, suffix: str = "", *, first: str | None = None
) -> tuple[str, int]:
    """Create a new, empty temporary file for ``name`` in ``folder``; its path and open descriptor.

    ``first`` is the path to try first (one :func:`temporary_name` gave).
    """
    for attempt in range(100):  # a name taken is practically impossible (48 random bits): try another
        temporary = first if attempt == 0 and first else os.path.join(folder, temporary_name(name, suffix))
        try:
            return temporary, os.open(temporary, _CREATE_NEW, 0o666)
        except FileExistsError:
            continue
    raise OutputError(errno.EEXIST, f"cannot create a temporary file in {folder!r}: every name tried exists")


def reserve_temporary(path: str) -> str:
    """Create now, empty, the hidden temporary that :func:`write_reserved` fills and renames to
    ``path`` later (its path): the file is created where creating is cheap to wait for (a worker),
    and written where its bytes are known (a finisher). Whoever reserves it removes it on a rollback.
    """
    folder, name = os.path.split(path)
    try:
        temporary, descriptor = create_temporary(folder, name)
    except OSError as error:
        raise sorted_error(error, path) from None
    os.close(descriptor)
    return temporary


def write_reserved(temporary: str | None, path: str, data: bytes) -> None:
    """Put ``data`` at ``path`` whole, through ``temporary`` (:func:`reserve_temporary` gave it for
    ``path``) while it is there: opened (never created, never through a link), filled, renamed. A
    temporary already used or removed, or not one for ``path``'s folder, is ignored: a new one is
    created (:func:`write_atomic`)."""
    folder = os.path.dirname(path)
    usable = (
        temporary is not None
        and os.path.dirname(temporary) == folder
        and is_temporary_name(os.path.basename(temporary))
    )
    descriptor = None
    if usable:
        try:
            descriptor = os.open(temporary, _REOPEN)  # type: ignore[arg-type]
        except FileNotFoundError:
            descriptor = None
        except OSError as error:
            raise sorted_error(error, path) from None
    if descriptor is None:
        write_atomic(path, lambda fresh: _write_bytes(open_temporary(fresh), data))
        return
    try:
        _write_bytes(descriptor, data)
        os.replace(temporary, path)  # type: ignore[arg-type]
    except BaseException as error:
        remove_files([temporary])  # type: ignore[list-item]
        if isinstance(error, OSError) and not isinstance(error, OutputError):
            raise sorted_error(error, path) from None
        raise


def _write_bytes(descriptor: int, data: bytes) -> None:
    """Write ``data`` at the descriptor, then close it."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


def write_text(path: str, text: str) -> None:
    """Write a small UTF-8 text file, atomically."""

    def write(temporary: str) -> None:
        with open(open_temporary(temporary), "w", encoding="utf-8") as handle:
            handle.write(text)

    write_atomic(path, write)


def temporary_name(name: str, suffix: str = "") -> str:
    """``.<name>.<12 random hex digits>.partial<suffix>``: hidden, and unique to one writer.

    The temporary name must not be refused where the final name fits (255 bytes on most systems):
    a long ``name`` is replaced by its fixed-length digest.

    >>> import re
    >>> bool(re.fullmatch(r"\\.a\\.tif\\.[0-9a-f]{12}\\.partial", temporary_name("a.tif")))
    True
    """
    token = secrets.token_hex(6)
    temporary = f".{name}.{token}.partial{suffix}"
    if len(os.fsencode(temporary)) <= 255:
        return temporary
    return f".{hashlib.sha1(os.fsencode(name)).hexdigest()}.{token}.partial{suffix}"


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` is one :func:`temporary_name` makes (left behind only by a writer that died).

    >>> is_temporary_name(temporary_name("a.nii.gz", ".nii.gz")), is_temporary_name(".a.partial")
    (True, False)
    """
    return _TEMPORARY.fullmatch(name) is not None


def remove_temporaries(folder: str) -> None:
    """Remove every temporary (files, and staging folders with their contents) under ``folder``: call
    it only while no writer can be at work there."""
    for root, folders, files in os.walk(folder):
        remove_files(os.path.join(root, name) for name in files if is_temporary_name(name))
        for name in folders:
            if is_temporary_name(name) and not os.path.islink(os.path.join(root, name)):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        folders[:] = [
            name
            for name in folders
            if not is_temporary_name(name) and not os.path.islink(os.path.join(root, name))
        ]


def remove_files(paths: Iterable[str]) -> None:
    """Delete files as far as possible (rolling back a failure must not hide the failure itself)."""
    for path in paths:
        with contextlib.suppress(OSError):
            os.remove(path)


def remove_empty_folders(paths: Iterable[str]) -> None:
    """Remove each folder, in the order given, if it exists and is empty."""
    for path in paths:
        with contextlib.suppress(OSError):  # not empty, or already gone
            os.rmdir(path)


def make_folder(path: str) -> None:
    """Create a folder and its parents, sorting a failure like a write failure.

    A file in the way (ENOTDIR, EEXIST) is the problem of the volume whose folder this is.
    """
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        if error.errno in (errno.ENOTDIR, errno.EEXIST):
            shown = os.path.join(*_last_parts(path, 2))
            message = f"cannot create the folder {shown!r}: {error.strerror} (a file is in the way)"
            raise VolumeError(message) from None
        raise sorted_error(error, path) from None


def _last_parts(path: str, count: int) -> list[str]:
    parts = [part for part in os.path.normpath(path).split(os.sep) if part]
    return parts[-count:] or [path]


def sorted_error(error: OSError, path: str) -> Exception:
    """A VolumeError when only this one output's path is refused, else an OutputError.

    A name too long, or a file or folder in the way of the path (ENOTDIR, EEXIST, EISDIR), belongs to
    the volume writing it. Too many open files (EMFILE, ENFILE) is an OutputError whatever the file:
    the runner retries such a file once the others are done (see :mod:`nidataset.batch.runner`).
    """
    if error.errno in _ONE_VOLUME_ERRORS:
        return VolumeError(f"cannot write {os.path.basename(path)!r}: {error.strerror}")
    if error.errno in DESCRIPTOR_ERRORS:
        return OutputError(
            error.errno,
            f"cannot write {path!r}: {error.strerror}; use fewer workers or raise the limit (ulimit -n)",
        )
    return OutputError(error.errno or 0, f"cannot write {path!r}: {error.strerror or error}")
