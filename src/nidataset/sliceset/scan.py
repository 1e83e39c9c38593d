"""The up-front pass: every pair read once, checked as ``build_dataset`` checks it, its slices chosen.

:func:`scan_pair` runs the builder's own checks in the builder's order (the mask's labels, the pair's
shape and affine, the target size, the value policy, the whole gzip stream with its CRC), so a volume
that ``build_dataset`` would skip is skipped here with the same reason, before any epoch starts; what
it keeps is a small picklable :class:`Scanned` record: the frames, the pixel values (an auto window is
chosen here, once) and the slice indices per view.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..annotations.objects import check_label_dtype
from ..batch.failures import attempt, crashed
from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET
from ..batch.runner import default_workers
from ..errors import OutputError
from ..geometry.frame import SliceFrame
from ..io.readers import open_volume
from ..io.volumes import read_header
from ..training.job import _check_pair, label_values, read_labels, selected
from ..training.options import BuildOptions
from ..values.pixels import pixels_for, value_plan


@dataclass(frozen=True)
class Scanned:
    """One pair kept: where it is, its header, frames per view, pixel values, chosen slices per view."""

    name: str
    path: str
    mask_path: str | None
    header: Any  # the input's Header
    frames: tuple[SliceFrame, ...]
    pixels: Any  # the value stage's Pixels
    indices: tuple[tuple[int, ...], ...]
    labels: tuple[int, ...] = ()  # the label values (> 0) its mask holds


def scan_pair(path: str, mask_path: str | None, options: BuildOptions) -> Scanned | str:
    """The pair's record, or the reason ``build_dataset`` would give for skipping it."""
    found: list[Scanned] = []

    def work(written: list[str]) -> tuple[int, ...]:
        found.append(_scan(path, mask_path, options))
        return tuple(len(i) for i in found[0].indices)

    try:
        outcome, _ = attempt(path, work, what="image and its mask" if mask_path else "volume")
    except (OutputError, KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # a bug must not stop the scan of the other volumes
        outcome = crashed(path, error)
    return outcome.reason if outcome.skipped else found[0]  # type: ignore[return-value]


def _scan(path: str, mask_path: str | None, options: BuildOptions) -> Scanned:
    """The builder's checks in its order (:func:`nidataset.training.job._build`), the voxels read
    whole (to the end of the stream), the slices chosen."""
    with open_volume(path) as reader:
        header = reader.header
        labels = None
        if mask_path is not None:
            mask_header = read_header(mask_path)
            check_label_dtype(mask_header.dtype)
            _check_pair(header, mask_header, mask_path)
        frames = fitting_frames(header, options)
        plan = value_plan(header, options)
        if mask_path is not None:
            labels = read_labels(mask_path)[1]
        with BUDGET.reserve(2 * header.nbytes, f"shape {header.shape}"):
            volume = reader.volume()  # to its end: a truncated or corrupt stream is caught now
            pixels = pixels_for(plan, options, volume)
            pixels.check(volume)
    indices = tuple(tuple(selected(frame, labels, options.select)) for frame in frames)
    values = () if labels is None else tuple(label_values(labels))
    name = os.path.basename(path)
    return Scanned(name, path, mask_path, header, tuple(frames), pixels, indices, values)


def scan_all(
    pairs: Sequence[tuple[str, str | None]], options: BuildOptions, workers: int | None
) -> list[Scanned | str]:
    """:func:`scan_pair` of every (image, mask) pair, in order, on ``workers`` threads (the
    decompressor releases the GIL)."""
    count = min(len(pairs), workers or default_workers()) or 1
    if count == 1:
        return [scan_pair(image, mask, options) for image, mask in pairs]
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda pair: scan_pair(pair[0], pair[1], options), pairs))
