"""The builder's options, validated: one frozen record, the per-pair job's only argument.

The label formats and the layout are checked against their tables (:mod:`.tables`); the pairs, splits
and classes are added once the inputs are read.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..checks import check_choice, check_flag, check_select, check_window_channels
from ..io.image_formats import check_channels as table_check_channels
from ..io.image_formats import check_rgb_depth
from ..io.image_formats import image_format as image_format_record
from ..stages import Encoding, Geometry, HasEncoding, HasGeometry, HasValues, Listed, Values
from .classes import Classes, check_label_names
from .segments import COCO_SEGMENTATIONS
from .tables import LABEL_FORMATS, LAYOUTS

#: Mask names the builder pairs with an image's prefix, besides the same prefix and nnU-Net's.
MASK_SUFFIXES: tuple[str, ...] = ("_seg", "_mask", "_label", "_labels")


@dataclass(frozen=True)
class BuildOptions(HasGeometry, HasValues, HasEncoding, Listed):
    """What the training-set builder writes, validated; the per-pair job's only argument. Its images
    keep the volume's dtype (``values.dtype`` is "auto"); masks and labels are always resampled by
    nearest neighbour, whatever ``geometry.interpolation`` says of the images."""

    output_path: str
    geometry: Geometry = field(default_factory=lambda: Geometry(pad_value="min"))
    values: Values = field(default_factory=Values)
    encoding: Encoding = field(default_factory=Encoding)
    labels: tuple[str, ...] = ("masks", "yolo", "coco")
    components: bool = False
    select: str | tuple[object, ...] = "all"
    context: int = 0
    resume: bool = False
    layout: str = "yolo"
    label_names: tuple[tuple[int, str], ...] = ()
    coco_segmentation: str = "rle"  # or "polygon" (training/segments.py)
    masks: tuple[tuple[str, str], ...] = ()  # (image file name, its mask's path)
    unpaired: tuple[tuple[str, str], ...] = ()  # (image file name, why it has no mask)
    splits: tuple[tuple[str, str], ...] = ()  # (image file name, its split)
    classes: Classes | None = None  # only when a chosen format needs them per slice (a pass over the masks)
    slice_sizes: str = ""  # what the report shows: the image sizes per view, from the headers

    ORDER = (
        *("output_path", "views", "orientation", "spacing", "target_size", "pad_value", "window", "bits"),
        *("image_format", "compression", "labels", "components", "select", "context", "resume", "layout"),
        *("label_names", "coco_segmentation", "masks", "unpaired", "splits", "classes", "dtype"),
        *("interpolation", "slice_sizes"),
    )

    @property
    def mask_format(self) -> str:
        """Masks are written lossless: in the image format, or PNG beside a lossy one."""
        return image_format_record(self.image_format).mask_format

    @property
    def mask_extension(self) -> str:
        return image_format_record(self.mask_format).extension

    @property
    def saving_mode(self) -> str:
        return "view"  # not used for places: the layout places images, masks and labels

    @property
    def output_key(self) -> str:
        """Everything that changes the outputs of every pair (NaN-safe), for resume; a pair's own
        split joins it in the job, so that adding or removing another case redoes nothing."""
        left_out = ("output_path", "resume", "views", "masks", "unpaired", "splits", "slice_sizes")
        return repr([(name, value) for name, value, _ in self.listed() if name not in left_out])


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
    coco_segmentation: object = "rle",
) -> BuildOptions:
    """Check the builder's options (the pairs, splits and classes are added once the inputs are read)."""
    values = Values.checked(window=window, bits=bits)
    encoding = Encoding.checked(image_format, compression, values)
    layout = check_choice("layout", layout, tuple(LAYOUTS))
    for module, install in LAYOUTS[layout].requires:
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"layout={layout!r} needs {module}: {install}")
    if not isinstance(context, int) or isinstance(context, bool) or context < 0:
        raise ValueError(f"context must be a whole number of slices, 0 or more; got {context!r}")
    check_channels(encoding.image_format, context, values.bits)
    check_window_channels(values.window, context)
    return BuildOptions(
        output_path=os.fspath(output_path),
        geometry=Geometry.checked(
            view, orientation=orientation, spacing=spacing, target_size=target_size, pad_value=pad_value
        ),
        values=values,
        encoding=encoding,
        labels=check_labels(labels, layout, encoding.image_format),
        components=check_flag("components", components),
        select=check_select(select),
        context=context,
        resume=check_flag("resume", resume),
        layout=layout,
        label_names=check_label_names(label_names),
        coco_segmentation=check_choice("coco_segmentation", coco_segmentation, tuple(COCO_SEGMENTATIONS)),
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

    Three channels (``context=1``) are an RGB image in every format that holds them. Five or more
    are refused: a TIFF holds them, but OpenCV (and so most training loaders) reads at most 4
    channels. An RGB image the format's common readers misread is refused (a 16-bit RGB PNG).
    """
    channels = 2 * context + 1
    if channels > 3:
        raise ValueError(
            f"context={context} gives {channels} channels; images hold 1 or 3 (context 0 or 1): "
            "OpenCV and the loaders built on it read at most 4"
        )
    table_check_channels(image_format, channels, context)
    if channels == 3:
        check_rgb_depth(image_format, bits, f"context={context}")
