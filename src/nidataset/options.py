"""The frozen option records of each command, and the builders that check them.

The façades only gather their arguments and call the builders here, which raise ``ValueError`` naming
the parameter and what is allowed, before anything is read or written. The checks they share live in
:mod:`nidataset.checks` (the image formats' own in :mod:`nidataset.io.image_formats`), the run's record
in :mod:`nidataset.batch.settings` (re-exported here) and ``reassemble``'s in
:mod:`nidataset.reassembly.options`. The records are frozen and
small, so that a per-file job receives them whole and they pickle to any executor.

>>> slice_options("out", "axial", "case", (64, 64), -1024).views
('axial',)
>>> slice_options("out", ["axial", "coronal"], None, None, 0.0, single=True)
Traceback (most recent call last):
...
ValueError: view must be one view for a single volume; got ['axial', 'coronal']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from .batch.settings import RunOptions as RunOptions
from .batch.settings import run_options as run_options
from .checks import VIEWS as VIEWS
from .checks import View as View
from .checks import (
    check_choice,
    check_flag,
    check_folder,
    check_image_options,
    check_pad_value,
    check_select,
    check_spacing,
    check_target_size,
    check_views,
    check_window,
)
from .checks import (
    check_shard_prefixes as check_shard_prefixes,
)
from .io.image_formats import (
    check_channels,
    format_names,
)
from .io.image_formats import image_format as image_format_record

if TYPE_CHECKING:
    pass

SavingMode = Literal["case", "view"]
DtypeMode = Literal["auto", "float32"]
ExtractionMode = Literal["slice", "volume"]
DataMode = Literal["center", "box", "radius"]
Orientation = Literal["stored", "radiological", "neurological"]
Interpolation = Literal["linear", "nearest"]
#: A name of the image-format table (:data:`nidataset.io.image_formats.IMAGE_FORMATS`): "tiff",
#: "png", "jpeg", or one registered since.
ImageFormat = str
#: A compression some image format accepts (TIFF: "zlib", "zstd", "lzw").
Compression = str
Bits = Literal[8, 16]
#: "files": one file per slice; "webdataset": one tar shard per volume and view.
Container = Literal["files", "webdataset"]
#: None (values untouched), a preset name, (center, width), or "auto" (per volume).
WindowSpec = str | tuple[float, float] | None
#: None (one pixel per voxel), "isotropic", or square pixels of that many millimetres.
Spacing = Literal["isotropic"] | float | None

SAVING_MODES: tuple[str, ...] = get_args(SavingMode)
DTYPE_MODES: tuple[str, ...] = get_args(DtypeMode)
EXTRACTION_MODES: tuple[str, ...] = get_args(ExtractionMode)
DATA_MODES: tuple[str, ...] = get_args(DataMode)
ORIENTATIONS: tuple[str, ...] = get_args(Orientation)
INTERPOLATIONS: tuple[str, ...] = get_args(Interpolation)
CONTAINERS: tuple[str, ...] = get_args(Container)

#: The single-volume functions write straight into ``output_path``: an internal third saving mode,
#: never accepted from a caller.
FLAT = "flat"


@dataclass(frozen=True)
class SliceOptions:
    """What one slice extraction writes, validated; the per-file job's only argument besides the path."""

    output_path: str
    views: tuple[str, ...] = ("axial",)
    saving_mode: str = "case"  # "case", "view", or FLAT
    target_size: tuple[int, int] | None = None
    pad_value: float = 0.0
    dtype: str = "auto"
    resume: bool = False  # skip volumes whose completion records match (batch/records.py)
    orientation: str = "stored"
    spacing: str | float | None = None
    interpolation: str = "linear"
    window: str | tuple[float, float] | None = None
    bits: int = 8
    image_format: str = "tiff"
    compression: str | None = None
    save_preview: bool = False  # <output>/previews/<prefix>_<view>_preview.png
    measure_range: bool = False  # each volume's value range, for the report
    container: str = "files"  # or "webdataset": <folder of the view's slices>/<prefix>.tar

    @property
    def extension(self) -> str:
        return image_format_record(self.image_format).extension

    @property
    def sharded(self) -> bool:
        return self.container == "webdataset"

    @property
    def output_key(self) -> str:
        """The options that change output bytes or places, as a comparable string (NaN-safe).

        Options added after Part 1 join it only when they differ from their defaults, so records
        of earlier default runs still match.
        """
        key = repr((self.saving_mode, self.target_size, self.pad_value, self.dtype))
        extras = {
            name: value
            for name, value, default in [
                ("orientation", self.orientation, "stored"),
                ("spacing", self.spacing, None),
                ("interpolation", self.interpolation, "linear"),
                ("window", self.window, None),
                ("bits", self.bits, 8),
                ("image_format", self.image_format, "tiff"),
                ("compression", self.compression, None),
                ("save_preview", self.save_preview, False),
                ("measure_range", self.measure_range, False),
                ("container", self.container, "files"),
            ]
            if value != default
        }
        return key + (f" {extras!r}" if extras else "")

    @property
    def keeps_records(self) -> bool:
        """Dataset runs record completed volumes; ``extract_slices`` writes only slices."""
        return self.saving_mode != FLAT


@dataclass(frozen=True)
class AnnotationOptions:
    """What one annotation run writes, validated."""

    output_path: str
    views: tuple[str, ...] = ("axial",)
    saving_mode: str = "case"  # "case", "view", or FLAT
    extraction_mode: str = "slice"
    data_mode: str = "center"
    target_size: tuple[int, int] | None = None
    components: bool = False
    orientation: str = "stored"
    spacing: str | float | None = None
    images_folder: str | None = None  # previews of these images with the masks' outlines
    resume: bool = False  # skip masks whose completion records match (batch/records.py)

    @property
    def output_key(self) -> str:
        """What shapes one view's outputs (NaN-safe), for the records: not the views asked together."""
        kept = [(k, v) for k, v in self.__dict__.items() if k not in ("output_path", "views", "resume")]
        return repr(sorted(kept))

    @property
    def interpolation(self) -> str:
        """Labels are resampled by nearest neighbour: an interpolated label is another label."""
        return "nearest"


@dataclass(frozen=True)
class PreviewOptions:
    """What a preview run draws, validated."""

    output_path: str
    views: tuple[str, ...] = ("axial",)
    orientation: str = "stored"  # previews show "stored" as radiological
    window: str | tuple[float, float] | None = None
    masks_folder: str | None = None
    target_size: None = None  # the dataset flow's fit check has nothing to check
    spacing: None = None
    interpolation: str = "linear"

    @property
    def saving_mode(self) -> str:
        return "view"


def slice_options(
    output_path: str | os.PathLike[str],
    view: object,
    saving_mode: object,
    target_size: object,
    pad_value: object,
    dtype: object = "auto",
    *,
    resume: object = False,
    orientation: object = "stored",
    spacing: object = None,
    interpolation: object = "linear",
    window: object = None,
    bits: object = 8,
    image_format: object = "tiff",
    compression: object = None,
    save_preview: object = False,
    measure_range: bool = False,
    container: object = "files",
    single: bool = False,
) -> SliceOptions:
    """Check the slice functions' options; ``single`` (one view, FLAT) is ``extract_slices``."""
    checked_window = check_window(window)
    image_format = check_choice("image_format", image_format, format_names())
    check_image_options(checked_window, bits, image_format, compression)
    return SliceOptions(
        output_path=os.fspath(output_path),
        views=_views_for(view, single, "volume"),
        saving_mode=_saving_mode(saving_mode, single),
        target_size=check_target_size(target_size),
        pad_value=check_pad_value(pad_value),
        dtype=check_choice("dtype", dtype, DTYPE_MODES),
        resume=check_flag("resume", resume),
        orientation=check_choice("orientation", orientation, ORIENTATIONS),
        spacing=check_spacing(spacing),
        interpolation=check_choice("interpolation", interpolation, INTERPOLATIONS),
        window=checked_window,
        bits=int(bits),  # type: ignore[call-overload]
        image_format=image_format,
        compression=compression,  # type: ignore[arg-type]
        save_preview=check_flag("save_preview", save_preview),
        measure_range=measure_range,
        container=check_choice("container", container, CONTAINERS),
    )


def annotation_options(
    output_path: str | os.PathLike[str],
    view: object,
    saving_mode: object,
    extraction_mode: object,
    data_mode: object,
    target_size: object,
    *,
    components: object = False,
    orientation: object = "stored",
    spacing: object = None,
    images_folder: object = None,
    resume: object = False,
    single: bool = False,
) -> AnnotationOptions:
    """Check the annotation functions' options; ``single`` (one view, FLAT) is ``extract_annotations``."""
    return AnnotationOptions(
        output_path=os.fspath(output_path),
        views=_views_for(view, single, "mask"),
        saving_mode=_saving_mode(saving_mode, single),
        extraction_mode=check_choice("extraction_mode", extraction_mode, EXTRACTION_MODES),
        data_mode=check_choice("data_mode", data_mode, DATA_MODES),
        target_size=check_target_size(target_size),
        components=check_flag("components", components),
        orientation=check_choice("orientation", orientation, ORIENTATIONS),
        spacing=check_spacing(spacing),
        images_folder=check_folder("images_folder", images_folder),
        resume=check_flag("resume", resume),
    )


def preview_options(
    output_path: str | os.PathLike[str],
    view: object,
    *,
    orientation: object = "radiological",
    window: object = None,
    masks_folder: object = None,
) -> PreviewOptions:
    """Check the preview options; a masks folder must exist."""
    return PreviewOptions(
        output_path=os.fspath(output_path),
        views=check_views(view),
        orientation=check_choice("orientation", orientation, ORIENTATIONS),
        window=check_window(window),
        masks_folder=check_folder("masks_folder", masks_folder),
    )


def _saving_mode(saving_mode: object, single: bool) -> str:
    return FLAT if single else check_choice("saving_mode", saving_mode, SAVING_MODES)


def _views_for(view: object, single: bool, what: str) -> tuple[str, ...]:
    """The views of a run; the single-file functions take exactly one."""
    views = check_views(view)
    if single and len(views) != 1:
        raise ValueError(f"view must be one view for a single {what}; got {view!r}")
    return views


LABEL_FORMATS: tuple[str, ...] = ("masks", "yolo", "coco", "csv")
SPLITS: tuple[str, ...] = ("train", "val", "test")
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
    pad_value: float = 0.0
    window: str | tuple[float, float] | None = None
    bits: int = 8
    image_format: str = "tiff"
    compression: str | None = None
    labels: tuple[str, ...] = ("masks", "yolo", "coco")
    components: bool = False
    select: str | tuple[object, ...] = "all"
    context: int = 0
    resume: bool = False
    masks: tuple[tuple[str, str], ...] = ()  # (image file name, its mask's path)
    unpaired: tuple[tuple[str, str], ...] = ()  # (image file name, why it has no mask)
    splits: tuple[tuple[str, str], ...] = ()  # (image file name, its split)
    classes: tuple[int, ...] = ()  # every label value of the dataset, in order: class ids 0, 1, ...
    dtype: str = "auto"
    interpolation: str = "linear"  # images; masks and labels are always nearest

    @property
    def extension(self) -> str:
        return image_format_record(self.image_format).extension

    @property
    def mask_format(self) -> str:
        """Masks are written lossless: in the image format, or PNG beside a lossy one."""
        return image_format_record(self.image_format).mask_format

    @property
    def mask_extension(self) -> str:
        return image_format_record(self.mask_format).extension

    @property
    def saving_mode(self) -> str:
        return "view"  # not used for places: the builder lays out images/, labels/, masks/

    @property
    def output_key(self) -> str:
        """Everything that changes the outputs of one pair (NaN-safe), for resume."""
        fields = [(k, v) for k, v in self.__dict__.items() if k not in ("output_path", "resume", "views")]
        return repr(fields)


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
) -> BuildOptions:
    """Check the builder's options (the pairs, splits and classes are added once the inputs are read)."""
    window = check_window(window)
    image_format = check_choice("image_format", image_format, format_names())
    check_image_options(window, bits, image_format, compression)
    chosen = (labels,) if isinstance(labels, str) else tuple(labels) if isinstance(labels, Sequence) else ()
    for name in chosen or ("",):
        check_choice("labels", name, LABEL_FORMATS)
    if not isinstance(context, int) or isinstance(context, bool) or context < 0:
        raise ValueError(f"context must be a whole number of slices, 0 or more; got {context!r}")
    check_channels(image_format, 2 * context + 1, context)
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
        labels=tuple(dict.fromkeys(chosen)),
        components=check_flag("components", components),
        select=check_select(select),
        context=context,
        resume=check_flag("resume", resume),
    )
