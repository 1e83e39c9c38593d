"""Completion records: which volumes a previous run finished, so that ``resume=True`` skips them.

One small JSON file per volume and view, ``<output>/.nidataset/<view>/<prefix>.json``, written after
every slice of the volume is in place. It records the input's size and modification time and the
options that shape the output bytes; a volume counts as complete only when its record matches all of
them and every slice file it lists exists. The folder is hidden, so it is never read back as input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from ..io.atomic import make_folder, remove_files, write_text
from ..naming import index_width, output_folder, slice_filename

FOLDER = ".nidataset"


def record_path(output_path: str, view: str, prefix: str) -> str:
    return os.path.join(output_path, FOLDER, view, f"{prefix}.json")


def completed(
    input_path: str,
    output_path: str,
    views: Sequence[str],
    prefix: str,
    output_key: str,
    saving_mode: str,
    extension: str = "tif",
) -> tuple[tuple[int, ...], dict[str, object]] | None:
    """(slice counts per view, the details recorded with them) when a previous run completed this
    volume with these options, else None.

    A record whose details list its ``files`` (relative paths: outputs that are not one file per
    slice, as the training-set builder writes) is complete when they all exist.
    """
    counts = []
    details: dict[str, object] = {}
    try:
        source = _source(input_path)
    except OSError:
        return None
    for view in views:
        try:
            with open(record_path(output_path, view, prefix), encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            return None
        if record.get("source") != source or record.get("options") != output_key:
            return None
        count = int(record.get("slices", -1))
        details = record.get("details", {})
        files = details.get("files") if isinstance(details, dict) else None
        if isinstance(files, list):
            present = all(os.path.isfile(os.path.join(output_path, name)) for name in files)
        else:
            present = _slices_exist(output_path, prefix, view, count, saving_mode, extension)
        if count < 0 or not present:
            return None
        counts.append(count)
    return tuple(counts), details


def forget(output_path: str, views: Sequence[str], prefix: str) -> None:
    """Remove a volume's records before it is rewritten: until it completes again, it is not complete."""
    remove_files(record_path(output_path, view, prefix) for view in views)


def remember(
    input_path: str,
    output_path: str,
    views: Sequence[str],
    prefix: str,
    output_key: str,
    counts: Sequence[int],
    details: dict[str, object] | None = None,
) -> None:
    """Record that every slice of this volume is written (called last, after the slices).

    ``details`` are what was learnt from the voxels and a resumed run must repeat without reading
    them again (the window chosen for this volume alone, its value range), kept only when given.
    """
    source = _source(input_path)
    for view, count in zip(views, counts, strict=True):
        path = record_path(output_path, view, prefix)
        make_folder(os.path.dirname(path))
        record: dict[str, object] = {"source": source, "options": output_key, "slices": count}
        if details:
            record["details"] = details
        write_text(path, json.dumps(record))


def _source(input_path: str) -> list[int]:
    info = os.stat(input_path)
    return [info.st_size, info.st_mtime_ns]


def _slices_exist(
    output_path: str, prefix: str, view: str, count: int, saving_mode: str, extension: str
) -> bool:
    folder = output_folder(output_path, prefix, view, saving_mode)
    width = index_width(count)
    names = (slice_filename(prefix, view, i, width, extension) for i in range(count))
    return all(os.path.isfile(os.path.join(folder, name)) for name in names)
