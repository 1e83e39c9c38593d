"""``reassemble``'s options: the record its per-source job receives, and its checks."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from ..checks import check_path


@dataclass(frozen=True)
class ReassemblyOptions:
    """What one reassembly run reads and writes, validated; the per-source job's only argument
    besides the source's name. The manifest travels as its path: each worker reads it once."""

    slices_folder: str
    output_path: str
    manifest: str
    suffix: str = ""
    fill: float = 0.0


def reassembly_options(
    slices_folder: object, output_path: object, manifest: object, *, suffix: object = "", fill: object = 0.0
) -> ReassemblyOptions:
    """Check ``reassemble``'s options; the manifest's contents are checked when it is read.

    >>> reassembly_options("slices", "volumes", "slices/axial_manifest.csv", suffix="_pred").fill
    0.0
    >>> reassembly_options("slices", "volumes", "m.csv", suffix="pred/x")
    Traceback (most recent call last):
    ...
    ValueError: suffix must be text to put before the extension, without a slash or backslash; got 'pred/x'
    """
    if not isinstance(suffix, str) or any(c in suffix for c in "/\\\0"):
        raise ValueError(
            f"suffix must be text to put before the extension, without a slash or backslash; got {suffix!r}"
        )
    if isinstance(fill, bool) or not isinstance(fill, numbers.Real):
        raise ValueError(f"fill must be a number; got {fill!r}")
    return ReassemblyOptions(
        slices_folder=check_path("slices_folder", slices_folder),
        output_path=check_path("output_path", output_path),
        manifest=check_path("manifest", manifest),
        suffix=suffix,
        fill=float(fill),
    )
