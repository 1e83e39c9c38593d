"""WebDataset shards: one tar file per volume and view, written in one pass and put in place whole.

A shard holds, for each slice, its image (the member named as the slice file would be,
``<prefix>_<view>_<index>.tif``) followed by ``<prefix>_<view>_<index>.json``, the slice's manifest row
as one JSON object. WebDataset groups a shard's members into samples by their name up to the first
dot (the key ``<prefix>_<view>_<index>``, with the fields ``tif`` and ``json``). The members are
plain POSIX tar (pax) entries with fixed metadata (mode 0644, owner 0, time 0), so the same slices
give the same bytes; the archive ends as Python's ``tarfile`` ends one (two zero blocks, then zeros
to a multiple of 10240 bytes). Every reader of tar files reads it; nothing is compressed (the images
are already in their own format).

The shard is written as a new file without a name (or under a hidden temporary name where the
platform has no unnamed files) and linked or renamed into place once its last member is written:
it is never seen truncated under its final name.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Mapping, Sequence

from .atomic import sorted_error
from .images import write_all
from .placement import NewFile

#: Fixed member metadata: the same slices always give the same shard.
MODE, MTIME = 0o644, 0
_ZEROS = bytes(tarfile.RECORDSIZE)


def shard_filename(prefix: str) -> str:
    """``<prefix>.tar``: the shard of one volume's view, in the folder its slice files would be in.

    >>> shard_filename("case_001")
    'case_001.tar'
    """
    return f"{prefix}.tar"


def member_header(name: str, size: int) -> bytes:
    """The tar header block(s) of a regular file ``name`` of ``size`` bytes (pax where needed).

    >>> len(member_header("case_axial_000.tif", 10))
    512
    """
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, MODE, MTIME
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def sample_json(row: Mapping[str, object]) -> bytes:
    """A manifest row as the bytes of a sample's ``.json`` member (UTF-8, one line)."""
    return json.dumps(dict(row), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class TarShard:
    """One shard being written to ``path``; :meth:`commit` puts it in place, :meth:`discard` drops it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.placed: list[tuple[str, int]] = []
        self._size = 0
        try:
            self._file = NewFile(path)
        except OSError as error:
            raise sorted_error(error, path) from None

    def add(self, name: str, parts: Sequence[bytes | memoryview], row: Mapping[str, object] | None) -> None:
        """Append the member ``name`` holding ``parts``, then its ``.json`` sample row if given."""
        self._member(name, parts)
        if row is not None:
            self._member(name.rsplit(".", 1)[0] + ".json", [sample_json(row)])

    def commit(self) -> None:
        """End the archive and put it in place: one link or rename."""
        end = 2 * tarfile.BLOCKSIZE
        end += -(self._size + end) % tarfile.RECORDSIZE
        self._write([_ZEROS[:end]])
        try:
            self._file.place()
        except OSError as error:
            raise sorted_error(error, self.path) from None
        self.placed = [(self.path, self._size)]

    def discard(self) -> None:
        self._file.discard()

    def _member(self, name: str, parts: Sequence[bytes | memoryview]) -> None:
        size = sum(len(part) for part in parts)
        padding = -size % tarfile.BLOCKSIZE
        self._write([member_header(name, size), *parts, _ZEROS[:padding]])

    def _write(self, parts: Sequence[bytes | memoryview]) -> None:
        assert self._file.descriptor is not None
        try:
            write_all(self._file.descriptor, [part for part in parts if len(part)])
        except OSError as error:
            raise sorted_error(error, self.path) from None
        self._size += sum(len(part) for part in parts)
