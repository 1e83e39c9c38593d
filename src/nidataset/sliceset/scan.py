"""The up-front pass: every pair read once, checked as ``build_dataset`` checks it, its slices chosen.

:func:`scan_pair` runs the builder's own checks in the builder's order (the mask's labels, the pair's
shape and affine, the target size, the value policy, the whole gzip stream with its CRC), so a volume
that ``build_dataset`` would skip is skipped here with the same reason, before any epoch starts; what
it keeps is a small picklable :class:`Scanned` record: the frames, the pixel values (an auto window is
chosen here, once) and the slice indices per view.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..batch.failures import attempt, crashed
from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET
from ..batch.runner import default_workers
from ..errors import OutputError
from ..geometry.frame import SliceFrame
from ..io.readers import open_volume
from ..io.volumes import read_header
from ..training.job import _as_mask, _check_pair, _labels_of, _open_mask, label_values, selected
from ..training.options import BuildOptions
from ..values.pixels import pixels_for, value_plan
from .memory import ALIGN, SharedArray, SharedMemory, slots


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
    #: The volume and its mask's labels (as :func:`mask_labels` gives them) as the pass decoded them,
    #: kept in shared memory; None when not kept.
    decoded: tuple[SharedArray, SharedArray | None] | None = None


#: Where the pass keeps a pair's decoded arrays: shared memory and (offset, bytes) in it; None: not kept.
Keep = tuple[SharedMemory, tuple[int, int]] | None


def scan_pair(path: str, mask_path: str | None, options: BuildOptions, keep: Keep = None) -> Scanned | str:
    """The pair's record, or the reason ``build_dataset`` would give for skipping it; ``keep``: with
    its decoded arrays kept there (:mod:`~nidataset.sliceset.memory`)."""
    found: list[Scanned] = []

    def work(written: list[str]) -> tuple[int, ...]:
        found.append(_scan(path, mask_path, options, keep))
        return tuple(len(i) for i in found[0].indices)

    try:
        outcome, _ = attempt(path, work, what="image and its mask" if mask_path else "volume")
    except (OutputError, KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # a bug must not stop the scan of the other volumes
        outcome = crashed(path, error)
    return outcome.reason if outcome.skipped else found[0]  # type: ignore[return-value]


def _scan(path: str, mask_path: str | None, options: BuildOptions, keep: Keep) -> Scanned:
    """The builder's checks in its order (:func:`nidataset.training.job._build`), the voxels read
    whole (to the end of the stream), the slices chosen."""
    mask_opened = contextlib.nullcontext() if mask_path is None else _open_mask(mask_path)
    with open_volume(path) as reader, mask_opened as mask_reader:  # the mask's problems named as its own
        header = reader.header
        labels = None
        if mask_reader is not None:
            _check_pair(header, mask_reader.header, mask_reader.path)
        frames = fitting_frames(header, options)
        plan = value_plan(header, options)
        if mask_reader is not None:
            with _as_mask(mask_reader.path):
                labels = _labels_of(mask_reader.volume(), mask_reader.header)
        with BUDGET.reserve(2 * header.nbytes, f"shape {header.shape}"):
            volume = reader.volume()  # to its end: a truncated or corrupt stream is caught now
            pixels = pixels_for(plan, options, volume)
            pixels.check(volume)
    indices = tuple(tuple(selected(frame, labels, options.select)) for frame in frames)
    values = () if labels is None else tuple(label_values(labels))
    name = os.path.basename(path)
    decoded = None if keep is None else _kept(volume, labels, *keep)  # last: a pair skipped keeps none
    return Scanned(name, path, mask_path, header, tuple(frames), pixels, indices, values, decoded)


def _kept(
    volume: np.ndarray, labels: np.ndarray | None, memory: SharedMemory, slot: tuple[int, int]
) -> tuple[SharedArray, SharedArray | None] | None:
    """Shared copies of the decoded arrays in their slot; None when they do not fit it, or the memory
    cannot be had (the samples are then decoded when read: no reason to skip the pair)."""
    offset, size = slot
    kept = None if labels is None else mask_labels(labels)
    after = offset + -(-volume.nbytes // ALIGN) * ALIGN
    if (after if kept is None else after + kept.nbytes) > offset + size:
        return None
    try:
        return memory.put(offset, volume), None if kept is None else memory.put(after, kept)
    except OSError:
        return None


def mask_labels(labels: np.ndarray) -> np.ndarray:
    """A mask's labels (:func:`~nidataset.training.job.read_labels`) as the mask images hold them:
    at least 0, uint8 or uint16 (no copy when they are so already)."""
    if labels.dtype.kind in "ub" and labels.dtype.itemsize <= 2:
        return labels
    labels = np.maximum(labels, 0)
    return labels.astype(np.uint8 if labels.size == 0 or labels.max() <= 255 else np.uint16)


def scan_all(
    pairs: Sequence[tuple[str, str | None]],
    options: BuildOptions,
    workers: int | None,
    keep: Sequence[Keep] | None = None,
) -> list[Scanned | str]:
    """:func:`scan_pair` of every (image, mask) pair, in order, on ``workers`` threads (the
    decompressor releases the GIL); ``keep[i]``: where the ``i``-th pair's decoded arrays go."""
    count = min(len(pairs), workers or default_workers()) or 1
    jobs = [(image, mask, None if keep is None else keep[i]) for i, (image, mask) in enumerate(pairs)]
    if count == 1:
        return [scan_pair(image, mask, options, kept) for image, mask, kept in jobs]
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda job: scan_pair(job[0], job[1], options, job[2]), jobs))


def keep_plan(pairs: Sequence[tuple[str, str | None]], budget: int) -> list[Keep]:
    """Where the pass keeps each pair's decoded arrays: the first pairs, in file-name order, whose
    image and labels fit ``budget`` together (sizes from the headers), in one shared memory; none
    when it cannot be had."""
    sizes = [_pair_bytes(image, mask) for image, mask in pairs]
    offsets, total = slots(sizes, budget)
    if not total:
        return [None] * len(pairs)
    try:
        memory = SharedMemory(total)
    except OSError:  # no memory to be had: every process decodes what it reads
        return [None] * len(pairs)
    return [
        None if offset is None or size is None else (memory, (offset, size))
        for offset, size in zip(offsets, sizes, strict=True)
    ]


def _pair_bytes(image: str, mask: str | None) -> int | None:
    """The bytes of a pair's volume and labels as the pass keeps them, at most (labels as
    :func:`mask_labels` gives them: uint8, or uint16 from wider stored values, whose largest label the
    header does not tell); None for a file the pass will name."""
    try:
        size = -(-read_header(image).nbytes // ALIGN) * ALIGN
        if mask is None:
            return size
        header = read_header(mask)
    except Exception:
        return None
    return size + int(np.prod(header.shape)) * min(2, header.dtype.itemsize)
