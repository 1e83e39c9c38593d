"""How every output file is put in place, and whose problem a failure is.

Every file is written under a hidden temporary name in its final folder, then renamed, so an
interrupted run never leaves a truncated file under a final name. Errors are sorted by whose problem
they are: a name the file system refuses belongs to one volume (skip it); anything else (disk full,
quota, permission, read-only) is the output location's problem and stops the run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Callable, Iterable

from ..errors import OutputError, VolumeError

_ONE_VOLUME_ERRORS = {errno.ENAMETOOLONG}


def write_atomic(path: str, write: Callable[[str], object], suffix: str = "") -> None:
    """Run ``write(temporary)``, then rename; ``suffix`` keeps an extension a writer needs."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, temporary_name(name, suffix))
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException as error:
        remove_files([temporary])
        if isinstance(error, OSError) and not isinstance(error, OutputError):
            raise sorted_error(error, path) from None
        raise


def write_text(path: str, text: str) -> None:
    """Write a small UTF-8 text file, atomically."""

    def write(temporary: str) -> None:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)

    write_atomic(path, write)


def temporary_name(name: str, suffix: str = "") -> str:
    """``.<name>.partial<suffix>``; a fixed-length digest of ``name`` when that would be too long.

    The temporary name must not be refused where the final name fits (255 bytes on most systems).
    """
    temporary = f".{name}.partial{suffix}"
    if len(os.fsencode(temporary)) <= 255:
        return temporary
    return f".{hashlib.sha1(os.fsencode(name)).hexdigest()}.partial{suffix}"


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
    """Create a folder and its parents, sorting a failure like a write failure."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise sorted_error(error, path) from None


def sorted_error(error: OSError, path: str) -> Exception:
    """A VolumeError when only this one output's name is refused, else an OutputError."""
    if error.errno in _ONE_VOLUME_ERRORS:
        return VolumeError(f"cannot write {os.path.basename(path)!r}: {error.strerror}")
    return OutputError(error.errno or 0, f"cannot write {path!r}: {error.strerror or error}")
