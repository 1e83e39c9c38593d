"""The builder's options, validated: one frozen record, the per-pair job's only argument.

The label formats and the layout are checked against their tables (:mod:`.tables`); the pairs, splits
and classes are added once the inputs are read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..options import (
    EXTENSIONS,
    IMAGE_FORMATS,
    ORIENTATIONS,
    _check_image_options,
    check_choice,
    check_flag,
    check_pad_value,
    check_select,
    check_spacing,
    check_target_size,
    check_views,
    check_window,
)
from .classes import Classes, check_label_names
from .tables import LABEL_FORMATS, LAYOUTS

#: Mask names the builder pairs with an image's prefix, besides the same prefix and nnU-Net's.
MASK_SUFFIXES: tuple[str, ...] = ("_seg", "_mask", "_label", "_labels")


@dataclass(frozen=True)
class BuildOptions:
    """What the training-set builder writes, validated; the per-pair job's only argument."""

    output_path: str
    views: tuple[str, ...] = ("axial",)
    orientation: str = "stored"
    spacing: str | float | None = None
    target_size: tuple[int, int] | None = None
    pad_value: float | str = "min"
    window: str | tuple[float, float] | None = None
    bits: int = 8
    image_format: str = "tiff"
    compression: str | None = None
    labels: tuple[str, ...] = ("masks", "yolo", "coco")
    components: bool = False
    select: str | tuple[object, ...] = "all"
    context: int = 0
    resume: bool = False
    layout: str = "yolo"
    label_names: tuple[tuple[int, str], ...] = ()
    masks: tuple[tuple[str, str], ...] = ()  # (image file name, its mask's path)
    unpaired: tuple[tuple[str, str], ...] = ()  # (image file name, why it has no mask)
    splits: tuple[tuple[str, str], ...] = ()  # (image file name, its split)
    classes: Classes | None = None  # only when a chosen format needs them per slice (a pass over the masks)
    dtype: str = "auto"
    interpolation: str = "linear"  # images; masks and labels are always nearest
    slice_sizes: str = ""  # what the report shows: the image sizes per view, from the headers

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.image_format]

    @property
    def mask_extension(self) -> str:
        return "tif" if self.image_format == "tiff" else "png"

    @property
    def saving_mode(self) -> str:
        return "view"  # not used for places: the layout places images, masks and labels

    @property
    def output_key(self) -> str:
        """Everything that changes the outputs of every pair (NaN-safe), for resume; a pair's own
        split joins it in the job, so that adding or removing another case redoes nothing."""
        left_out = ("output_path", "resume", "views", "masks", "unpaired", "splits", "slice_sizes")
        return repr([(k, v) for k, v in self.__dict__.items() if k not in left_out])


def build_options(
    output_path: str | os.PathLike[str],
    view: object,
    *,
    orientation: object,
    spacing: object,
    target_size: object,
    pad_value: object,
    window: object,
    bits: object,
    image_format: object,
    compression: object,
    labels: object,
    components: object,
    select: object,
    context: object,
    resume: object,
    layout: object = "yolo",
    label_names: object = None,
) -> BuildOptions:
    """Check the builder's options (the pairs, splits and classes are added once the inputs are read)."""
    window = check_window(window)
    image_format = check_choice("image_format", image_format, IMAGE_FORMATS)
    _check_image_options(window, bits, image_format, compression)
    layout = check_choice("layout", layout, tuple(LAYOUTS))
    if not isinstance(context, int) or isinstance(context, bool) or context < 0:
        raise ValueError(f"context must be a whole number of slices, 0 or more; got {context!r}")
    check_channels(image_format, context, int(bits))  # type: ignore[call-overload]
    return BuildOptions(
        output_path=os.fspath(output_path),
        views=check_views(view),
        orientation=check_choice("orientation", orientation, ORIENTATIONS),
        spacing=check_spacing(spacing),
        target_size=check_target_size(target_size),
        pad_value=check_pad_value(pad_value),
        window=window,
        bits=int(bits),  # type: ignore[call-overload]
        image_format=image_format,
        compression=compression,  # type: ignore[arg-type]
        labels=check_labels(labels, layout, image_format),
        components=check_flag("components", components),
        select=check_select(select),
        context=context,
        resume=check_flag("resume", resume),
        layout=layout,
        label_names=check_label_names(label_names),
    )


def check_labels(labels: object, layout: str, image_format: str) -> tuple[str, ...]:
    """The label formats, each once: registered, accepted by the layout, no two in one folder;
    None means the layout's default."""
    chosen_layout = LAYOUTS[layout]
    if chosen_layout.image_formats is not None and image_format not in chosen_layout.image_formats:
        allowed = ", ".join(repr(f) for f in chosen_layout.image_formats)
        raise ValueError(f"layout={layout!r} takes image_format {allowed}; got {image_format!r}")
    if labels is None:
        return chosen_layout.default_labels
    chosen = (labels,) if isinstance(labels, str) else tuple(labels) if isinstance(labels, Sequence) else ()
    accepted = chosen_layout.label_formats or tuple(LABEL_FORMATS)
    for name in chosen or ("",):
        check_choice("labels", name, tuple(LABEL_FORMATS))
        if name not in accepted:
            raise ValueError(f"layout={layout!r} takes labels {', '.join(accepted)}; got {name!r}")
    chosen = tuple(dict.fromkeys(chosen))
    folders = [LABEL_FORMATS[name].folder for name in chosen if LABEL_FORMATS[name].folder]
    for folder in dict.fromkeys(f for f in folders if folders.count(f) > 1):
        both = [name for name in chosen if LABEL_FORMATS[name].folder == folder]
        raise ValueError(f"labels {' and '.join(both)} both write {folder}/: choose one")
    return chosen


def check_channels(image_format: str, context: int, bits: int) -> None:
    """What the images of ``2 * context + 1`` channels (SPEC Part 2's 2.5D images) can be.

    Three channels (``context=1``) are an RGB image in every format. Five or more are refused: a
    TIFF holds them, but OpenCV (and so most training loaders) reads at most 4 channels. A 16-bit
    RGB PNG is refused too: Pillow, and so torchvision's default loader, reads it as 8 bits.
    """
    channels = 2 * context + 1
    if channels > 3:
        raise ValueError(
            f"context={context} gives {channels} channels; images hold 1 or 3 (context 0 or 1): "
            "OpenCV and the loaders built on it read at most 4"
        )
    if image_format == "png" and channels == 3 and bits == 16:
        raise ValueError(
            "context=1 with bits=16 is a 16-bit RGB image: Pillow and torchvision's default loader "
            "read a 16-bit RGB PNG as 8 bits; use image_format='tiff' (tifffile and OpenCV read it)"
        )
