"""One file's failure, handled the same way by every per-file job: roll back its outputs, say why.

A problem of the file (:class:`~nidataset.errors.VolumeError`, or no memory to hold it) becomes a skip
with a one-line reason; anything else propagates, after the rollback. A rollback removes only what
belongs to that file: the files it wrote and the folders named after it (its case folders). A folder
that other files share (``<output>/<view>/`` in view mode) is never removed, because another worker
may be about to write into it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

from ..errors import OutputError, VolumeError
from ..io.atomic import remove_empty_folders, remove_files
from ..results import Outcome

Options = TypeVar("Options")


def attempt(
    path: str,
    work: Callable[[list[str]], tuple[int, ...]],
    *,
    own_folders: Sequence[str] = (),
    what: str = "volume",
) -> tuple[Outcome, list[str]]:
    """Run ``work(written)``, which appends every path it writes and returns the counts per view.

    Returns the outcome and the paths written (none when the file was skipped). ``own_folders``
    are removed, innermost first, if the rollback leaves them empty.
    """
    name = os.path.basename(path)
    written: list[str] = []
    try:
        counts = work(written)
    except VolumeError as error:
        reason = str(error)
    except MemoryError:
        reason = f"not enough memory to hold the {what}"
    except BaseException:
        roll_back(written, own_folders)
        raise
    else:
        return Outcome(name, counts), written
    roll_back(written, own_folders)
    return Outcome(name, reason=reason), []


def roll_back(written: Sequence[str], own_folders: Sequence[str]) -> None:
    """Remove a failed file's outputs and, when empty, the folders that are its alone."""
    remove_files(written)
    remove_empty_folders(own_folders)


def guarded(job: Callable[[str, Options], Outcome], path: str, options: Options) -> Outcome:
    """Run one job; an exception nobody expected fails only that file."""
    try:
        return job(path, options)
    except (OutputError, KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:
        return crashed(path, error)


def crashed(path: str, error: BaseException) -> Outcome:
    """An error no job expected (a bug, a dead worker process) fails only its file."""
    detail = str(error).splitlines()[0] if str(error) else ""
    return Outcome(os.path.basename(path), reason=f"unexpected {type(error).__name__}: {detail}".rstrip(": "))
