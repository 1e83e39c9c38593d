"""Records of each input's outputs: what ``resume`` may trust, and what a rerun must remove first.

One small JSON file per input and view, ``<output>/.nidataset/<view>/<prefix>.json`` (other kinds of
run under ``.nidataset/<kind>/``). It lists the files the input's last run wrote, with their byte
sizes, the input's identity (size, modification time, inode) and the options that shape the outputs.

- ``resume`` trusts a record that says the run completed, whose input and options match, and whose
  files all exist with their recorded sizes (a truncated or emptied file is redone).
- Before an input is written again, and when it is skipped, the files its earlier run listed are
  removed (:func:`begin`): a rerun leaves the tree a fresh run would, whatever the earlier run's slice
  count, index width or format. The record is kept, marked incomplete, until the new outputs are all
  in place, so an interrupted rerun still knows what to remove.

The folder is hidden, so it is never read back as input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from ..io.atomic import make_folder, remove_files, write_text
from ..io.readers import owner_of

FOLDER = ".nidataset"


def record_path(output_path: str, view: str, prefix: str, kind: str = "slices") -> str:
    parts = [view] if kind == "slices" else [kind, view]
    return os.path.join(output_path, FOLDER, *parts, f"{prefix}.json")


def completed(
    identity: Sequence[int] | None,
    output_path: str,
    views: Sequence[str],
    prefix: str,
    output_key: str,
    kind: str = "slices",
) -> tuple[tuple[int, ...], dict[str, object]] | None:
    """(counts per view, the details recorded with them) when a previous run completed this input
    with these options and its files are all there, else None."""
    counts = []
    details: dict[str, object] = {}
    for view in views:
        record = _read(record_path(output_path, view, prefix, kind))
        if (
            record is None
            or record.get("complete") is False
            or identity is None
            or record.get("source") != list(identity)
            or record.get("options") != output_key
            or not _files_intact(output_path, record)
        ):
            return None
        counts.append(int(record.get("count", -1)))  # type: ignore[call-overload]
        details = record.get("details", {})  # type: ignore[assignment]
    return tuple(counts), details


def begin(output_path: str, views: Sequence[str], prefix: str, kind: str = "slices") -> list[str]:
    """Mark this input's records incomplete and return every file they list (to be removed first)."""
    earlier: list[str] = []
    for view in views:
        path = record_path(output_path, view, prefix, kind)
        record = _read(path)
        if record is None:
            continue
        earlier += [os.path.join(output_path, name) for name in record.get("files", [])]  # type: ignore[attr-defined]
        if record.get("complete") is not False:
            write_text(path, json.dumps({**record, "complete": False}))
    return earlier


def remember(
    identity: Sequence[int],
    output_path: str,
    views: Sequence[str],
    prefix: str,
    output_key: str,
    files: Sequence[Sequence[str]],
    counts: Sequence[int],
    details: dict[str, object] | None = None,
    kind: str = "slices",
    *,
    sizes: Mapping[str, int] | None = None,
) -> None:
    """Record that every output of this input is in place (called last): per view, its files (paths),
    their sizes and count; ``details`` are what was learnt from the voxels and a resumed run repeats
    (the auto window, the value range). ``sizes`` are the sizes of files known as written (others are
    asked of the file system)."""
    known = sizes or {}
    for view, paths, count in zip(views, files, counts, strict=True):
        names = [os.path.relpath(p, output_path).replace(os.sep, "/") for p in paths]
        record: dict[str, object] = {
            "source": list(identity),
            "options": output_key,
            "complete": True,
            "count": count,
            "files": names,
            "sizes": [known[p] if p in known else os.path.getsize(p) for p in paths],
        }
        if details:
            record["details"] = details
        path = record_path(output_path, view, prefix, kind)
        make_folder(os.path.dirname(path))
        write_text(path, json.dumps(record))


def listed(output_path: str, views: Sequence[str], prefix: str, kind: str = "slices") -> list[list[str]]:
    """The files each view's record lists, relative to ``output_path`` with ``/`` separators."""
    found = []
    for view in views:
        record = _read(record_path(output_path, view, prefix, kind)) or {}
        files = record.get("files", [])
        found.append([str(name) for name in files] if isinstance(files, list) else [])
    return found


def forget(output_path: str, views: Sequence[str], prefix: str, kind: str = "slices") -> None:
    """Remove this input's records (its outputs are gone)."""
    remove_files(record_path(output_path, view, prefix, kind) for view in views)


def identity_of(path: str) -> tuple[int, int, int] | None:
    """(size, modification time in ns, inode) of a file, or None when it cannot be read."""
    try:
        info = os.stat(owner_of(path))  # one of a DICOM folder's several series: the folder's
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ino


def _read(path: str) -> dict[str, object] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _files_intact(output_path: str, record: dict[str, object]) -> bool:
    files, sizes = record.get("files"), record.get("sizes")
    if not isinstance(files, list) or not isinstance(sizes, list) or len(files) != len(sizes):
        return False
    for name, size in zip(files, sizes, strict=True):
        try:
            if os.path.getsize(os.path.join(output_path, name)) != size:
                return False
        except OSError:
            return False
    return True
