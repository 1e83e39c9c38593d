"""Writing previews: from a volume in memory (the slice job's), or from an image and its mask.

:func:`write_previews` is shared by every path that draws previews; :func:`preview_volume` is the
per-file job of :func:`~nidataset.viewing.facade.preview_dataset`: it reads an image, the mask with the
same prefix if a masks folder is given, and writes one preview per view.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..batch.failures import attempt
from ..batch.memory import BUDGET
from ..errors import VolumeError
from ..io.atomic import make_folder, write_atomic
from ..io.images import write_parts
from ..io.readers import Header, open_volume
from ..io.volumes import find_volume
from ..naming import PREVIEWS, prefix_of, preview_filename
from ..options import PreviewOptions
from ..results import Outcome
from ..values.labels import check_label_dtype, integer_labels
from ..values.windows import Window
from .preview import PreviewPlanes, preview_frames, preview_window, render


def write_previews(
    volume: np.ndarray,
    header: Header,
    output_path: str,
    prefix: str,
    views: Sequence[str],
    *,
    orientation: str = "stored",
    window: str | tuple[float, float] | Window | None = None,
    labels: np.ndarray | None = None,
    written: list[str],
) -> None:
    """``<output>/previews/<prefix>_<view>_preview.png`` of a volume (its stored array) per view."""
    planes = PreviewPlanes(header.shape, preview_frames(header.shape, header.affine, views, orientation))
    planes.take(volume)
    write_planes(planes, header, output_path, prefix, window=window, labels=labels, written=written)


def write_planes(
    planes: PreviewPlanes,
    header: Header,
    output_path: str,
    prefix: str,
    *,
    window: str | tuple[float, float] | Window | None = None,
    labels: np.ndarray | None = None,
    written: list[str],
) -> None:
    """The previews of the planes a volume left in ``planes`` (whole, or as it streamed by)."""
    folder = os.path.join(output_path, PREVIEWS)
    make_folder(folder)
    real = (header.slope, header.inter or 0.0)
    shown = preview_window(planes.sample(), window, *real)
    for frame in planes.frames:
        data = render(planes.tiles[frame.view], frame, shown, real, labels)
        path = os.path.join(folder, preview_filename(prefix, frame.view))
        write_atomic(path, lambda temporary, data=data: write_parts(temporary, [data]))  # type: ignore[misc]
        written.append(path)


def preview_volume(path: str, options: PreviewOptions) -> Outcome:
    """The previews of one image volume, with its mask's outlines when there is one."""
    notes: list[str] = []

    def work(written: list[str]) -> tuple[int, ...]:
        with (
            open_volume(path) as reader,
            BUDGET.reserve(reader.header.nbytes, f"shape {reader.header.shape}"),
        ):
            volume = reader.volume()
        labels = _mask_of(path, reader.header, options.masks_folder, notes)
        write_previews(
            volume,
            reader.header,
            options.output_path,
            prefix_of(os.path.basename(path)),
            options.views,
            orientation=options.orientation,
            window=options.window,
            labels=labels,
            written=written,
        )
        return (1,) * len(options.views)

    outcome, _ = attempt(path, work)
    return outcome if outcome.skipped or not notes else _noted(outcome, notes[0])


def _noted(outcome: Outcome, note: str) -> Outcome:
    from dataclasses import replace

    return replace(outcome, note=note)


def _mask_of(path: str, header: Header, masks_folder: str | None, notes: list[str]) -> np.ndarray | None:
    """The integer labels of the mask with the image's prefix, or None (with a note when unusable)."""
    if masks_folder is None:
        return None
    name = os.path.basename(path)
    mask_path = find_volume(masks_folder, prefix_of(name))
    if mask_path is None:
        notes.append(f"{name}: no mask with its prefix in {masks_folder}; preview without outlines")
        return None
    try:
        with open_volume(mask_path) as reader:
            check_label_dtype(reader.header.dtype)
            if reader.header.shape != header.shape:
                raise VolumeError(f"its shape {reader.header.shape} is not the image's {header.shape}")
            return integer_labels(reader.volume(), reader.header.slope, reader.header.inter)
    except VolumeError as error:
        notes.append(f"{name}: mask {os.path.basename(mask_path)} not drawn: {error}")
        return None
