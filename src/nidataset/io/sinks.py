"""Where the slices of one volume's view go: a folder of files, or one tar shard.

Each sink takes the slices one by one (:meth:`add`), then puts them in place (:meth:`commit`) or drops
them (:meth:`discard`); :attr:`placed` then lists every file in place with its size, for the records.
Each costs the file system at most one namespace operation per slice, and no slice is ever seen
truncated under its final name:

- :class:`StagedFolder` (a folder that is the volume's alone, case mode): the slices are created
  under their own names in a hidden staging folder beside it, renamed into place whole once the view
  is complete, so the view appears whole or not at all.
- :class:`LinkedFiles` (a folder other volumes share, view mode, or one that already holds files):
  each slice is an unnamed file linked into place (Linux), else a hidden temporary renamed.
- :class:`~nidataset.io.shards.TarShard`: one tar file for the whole view, placed once.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from typing import Protocol

from . import images
from .atomic import make_folder, remove_empty_folders, remove_files, sorted_error
from .placement import create_staging, rename_folder, write_new


class Sink(Protocol):
    """Where one view's slices go."""

    placed: list[tuple[str, int]]

    def add(self, name: str, parts: Sequence[bytes | memoryview], row: Mapping[str, object] | None) -> None:
        """Write the slice file ``name`` (its bytes in ``parts``); ``row`` is its manifest row."""

    def commit(self) -> None:
        """Put every slice added in place."""

    def discard(self) -> None:
        """Remove every slice added, in place or not."""


def size_of(parts: Sequence[bytes | memoryview]) -> int:
    return sum(len(part) for part in parts)


class StagedFolder:
    """The slices of a view folder that is one volume's alone, staged hidden and renamed whole."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.staging = create_staging(folder)
        self.placed: list[tuple[str, int]] = []
        self._staged: list[tuple[str, int]] = []

    def add(self, name: str, parts: Sequence[bytes | memoryview], row: Mapping[str, object] | None) -> None:
        try:  # a new file in a folder that is this writer's alone: its own name is safe
            images.write_parts(os.path.join(self.staging, name), parts)
        except OSError as error:
            raise sorted_error(error, os.path.join(self.folder, name)) from None
        self._staged.append((name, size_of(parts)))

    def commit(self) -> None:
        if rename_folder(self.staging, self.folder):
            self.placed = [(os.path.join(self.folder, name), size) for name, size in self._staged]
            return
        make_folder(self.folder)  # it gained files meanwhile, or is a link: file by file, as before
        for name, size in self._staged:
            path = os.path.join(self.folder, name)
            try:
                os.replace(os.path.join(self.staging, name), path)
            except OSError as error:
                raise sorted_error(error, path) from None
            self.placed.append((path, size))
        remove_empty_folders([self.staging])

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        remove_files(path for path, _ in self.placed)
        self.placed = []


class LinkedFiles:
    """The slices of a folder other writers may use: each one placed whole as soon as written."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.placed: list[tuple[str, int]] = []

    def add(self, name: str, parts: Sequence[bytes | memoryview], row: Mapping[str, object] | None) -> None:
        path = os.path.join(self.folder, name)
        write_new(path, lambda temporary: images.write_parts(temporary, parts))
        self.placed.append((path, size_of(parts)))

    def commit(self) -> None:
        pass

    def discard(self) -> None:
        remove_files(path for path, _ in self.placed)
        self.placed = []
