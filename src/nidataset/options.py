"""The frozen option records of each command, composed of the stage records of
:mod:`nidataset.stages`, and the builders that check them.

The façades only gather their arguments and call the builders here, which raise ``ValueError`` naming
the parameter and what is allowed, before anything is read or written. Each stage's checks live with
its record in :mod:`nidataset.stages`, the shared single checks in :mod:`nidataset.checks` (the image
formats' own in :mod:`nidataset.io.image_formats`), the run's record in
:mod:`nidataset.batch.settings` (re-exported here) and ``reassemble``'s in
:mod:`nidataset.reassembly.options`. The records are frozen and small, so that a per-file job
receives them whole and they pickle to any executor.

>>> slice_options("out", "axial", "case", (64, 64), -1024).views
('axial',)
>>> slice_options("out", ["axial", "coronal"], None, None, 0.0, single=True)
Traceback (most recent call last):
...
ValueError: view must be one view for a single volume; got ['axial', 'coronal']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .batch.settings import RunOptions, run_options
from .checks import VIEWS, View, check_choice, check_flag, check_folder, check_shard_prefixes
from .stages import (
    BITS,
    CONTAINERS,
    DATA_MODES,
    DTYPE_MODES,
    EXTRACTION_MODES,
    FLAT,
    INTERPOLATIONS,
    ORIENTATIONS,
    SAVING_MODES,
    Bits,
    Compression,
    Container,
    DataMode,
    DtypeMode,
    Encoding,
    ExtractionMode,
    Geometry,
    HasEncoding,
    HasGeometry,
    HasPlacement,
    HasValues,
    ImageFormat,
    Interpolation,
    Listed,
    Orientation,
    Placement,
    SavingMode,
    Spacing,
    Values,
    WindowSpec,
)

#: Re-exported here, where the façades and users have always found them.
__all__ = [
    "BITS",
    "CONTAINERS",
    "DATA_MODES",
    "DTYPE_MODES",
    "EXTRACTION_MODES",
    "FLAT",
    "INTERPOLATIONS",
    "ORIENTATIONS",
    "SAVING_MODES",
    "VIEWS",
    "AnnotationOptions",
    "Bits",
    "Compression",
    "Container",
    "DataMode",
    "DtypeMode",
    "Encoding",
    "ExtractionMode",
    "Geometry",
    "ImageFormat",
    "Interpolation",
    "Orientation",
    "Placement",
    "PreviewOptions",
    "RunOptions",
    "SavingMode",
    "SliceOptions",
    "Spacing",
    "Values",
    "View",
    "WindowSpec",
    "annotation_options",
    "check_shard_prefixes",
    "preview_options",
    "run_options",
    "slice_options",
]


@dataclass(frozen=True)
class SliceOptions(HasGeometry, HasValues, HasEncoding, HasPlacement, Listed):
    """What one slice extraction writes, validated; the per-file job's only argument besides the path."""

    output_path: str
    geometry: Geometry = field(default_factory=Geometry)
    values: Values = field(default_factory=Values)
    encoding: Encoding = field(default_factory=Encoding)
    placement: Placement = field(default_factory=Placement)
    resume: bool = False  # skip volumes whose completion records match (batch/records.py)
    save_preview: bool = False  # <output>/previews/<prefix>_<view>_preview.png
    measure_range: bool = False  # each volume's value range, for the report

    ORDER = (
        *("output_path", "views", "saving_mode", "target_size", "pad_value", "dtype", "resume"),
        *("orientation", "spacing", "interpolation", "window", "bits", "image_format", "compression"),
        *("save_preview", "measure_range", "container"),
    )

    @property
    def output_key(self) -> str:
        """The options that change output bytes or places, as a comparable string (NaN-safe).

        Options added after Part 1 join it only when they differ from their defaults, so records
        of earlier default runs still match.
        """
        listed = {name: (value, default) for name, value, default in self.listed()}
        first = ("saving_mode", "target_size", "pad_value", "dtype")
        key = repr(tuple(listed[name][0] for name in first))
        extras = {
            name: value
            for name, (value, default) in listed.items()
            if name not in (*first, "output_path", "views", "resume") and value != default
        }
        return key + (f" {extras!r}" if extras else "")

    @property
    def keeps_records(self) -> bool:
        """Dataset runs record completed volumes; ``extract_slices`` writes only slices."""
        return self.saving_mode != FLAT


@dataclass(frozen=True)
class AnnotationOptions(HasGeometry, HasPlacement, Listed):
    """What one annotation run writes, validated. Labels are resampled by nearest neighbour (an
    interpolated label is another label): the builder's geometry says so."""

    output_path: str
    geometry: Geometry = field(default_factory=lambda: Geometry(interpolation="nearest"))
    placement: Placement = field(default_factory=Placement)
    extraction_mode: str = "slice"
    data_mode: str = "center"
    components: bool = False
    images_folder: str | None = None  # previews of these images with the masks' outlines
    resume: bool = False  # skip masks whose completion records match (batch/records.py)

    ORDER = (
        *("output_path", "views", "saving_mode", "extraction_mode", "data_mode", "target_size"),
        *("components", "orientation", "spacing", "images_folder", "resume"),
    )

    @property
    def output_key(self) -> str:
        """What shapes one view's outputs (NaN-safe), for the records: not the views asked together."""
        left_out = ("output_path", "views", "resume")
        return repr(sorted((name, value) for name, value, _ in self.listed() if name not in left_out))


@dataclass(frozen=True)
class PreviewOptions(HasGeometry, HasValues, HasPlacement, Listed):
    """What a preview run draws, validated: one window, no target size nor spacing (the dataset
    flow's fit check has nothing to check), one folder per view."""

    output_path: str
    geometry: Geometry = field(default_factory=Geometry)
    values: Values = field(default_factory=Values)
    placement: Placement = field(default_factory=lambda: Placement(saving_mode="view"))
    masks_folder: str | None = None

    ORDER = (
        *("output_path", "views", "orientation", "window", "masks_folder", "target_size", "spacing"),
        "interpolation",
    )


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
    values = Values.checked(dtype=dtype, window=window, bits=bits)
    return SliceOptions(
        output_path=os.fspath(output_path),
        values=values,
        encoding=Encoding.checked(image_format, compression, values),
        geometry=Geometry.checked(
            view,
            orientation=orientation,
            spacing=spacing,
            interpolation=interpolation,
            target_size=target_size,
            pad_value=pad_value,
            single="volume" if single else "",
        ),
        placement=Placement.checked(saving_mode, container, single=single),
        resume=check_flag("resume", resume),
        save_preview=check_flag("save_preview", save_preview),
        measure_range=measure_range,
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
        geometry=Geometry.checked(
            view,
            orientation=orientation,
            spacing=spacing,
            interpolation="nearest",
            target_size=target_size,
            single="mask" if single else "",
        ),
        placement=Placement.checked(saving_mode, single=single),
        extraction_mode=check_choice("extraction_mode", extraction_mode, EXTRACTION_MODES),
        data_mode=check_choice("data_mode", data_mode, DATA_MODES),
        components=check_flag("components", components),
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
        geometry=Geometry.checked(view, orientation=orientation),
        values=Values.checked(window=window, several=False),  # a preview shows one window
        masks_folder=check_folder("masks_folder", masks_folder),
    )
