"""One frozen record per stage of a run, each with its checks, shared by every command that has it.

* :class:`Geometry`: which slices, and their shape: views, orientation, spacing, interpolation,
  target size, padding (slices, annotations, build, preview);
* :class:`Values`: what the pixels hold: dtype, window, bits (slices, build, preview's window);
* :class:`Encoding`: how an image is stored: format, compression (slices, build);
* :class:`Placement`: where the files go: saving mode, container (slices, annotations, preview).

The run's own record (workers, executor, progress, the run's side outputs) is
:class:`nidataset.batch.settings.RunOptions`. The command records (:mod:`nidataset.options`,
:mod:`nidataset.training.options`) compose these and add what only they have; :class:`Staged`
gives them each stage's fields by name (``options.views``), and :func:`flat` all their options,
from which the resume key and the report's settings are derived. Each ``checked`` raises
``ValueError`` naming the parameter and what is allowed.

>>> Geometry.checked(["axial", "coronal"], target_size=(64, 64)).views
('axial', 'coronal')
>>> Placement.checked("case", single=True).saving_mode
'flat'
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

from .checks import (
    check_choice,
    check_pad_value,
    check_spacing,
    check_target_size,
    check_views,
    check_window,
    several_windows,
)
from .io.image_formats import (
    check_channels,
    check_compression,
    check_depth,
    check_rgb_depth,
    compression_names,
    format_names,
)
from .io.image_formats import image_format as image_format_record

SavingMode = Literal["case", "view"]
DtypeMode = Literal["auto", "float32"]
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

#: The annotation functions' own choices: one CSV per slice or per mask, and what each row holds.
ExtractionMode = Literal["slice", "volume"]
DataMode = Literal["center", "box", "radius"]

SAVING_MODES: tuple[str, ...] = get_args(SavingMode)
DTYPE_MODES: tuple[str, ...] = get_args(DtypeMode)
ORIENTATIONS: tuple[str, ...] = get_args(Orientation)
INTERPOLATIONS: tuple[str, ...] = get_args(Interpolation)
BITS: tuple[int, ...] = get_args(Bits)
CONTAINERS: tuple[str, ...] = get_args(Container)
EXTRACTION_MODES: tuple[str, ...] = get_args(ExtractionMode)
DATA_MODES: tuple[str, ...] = get_args(DataMode)

#: The single-volume functions write straight into ``output_path``: an internal third saving mode,
#: never accepted from a caller.
FLAT = "flat"


@dataclass(frozen=True)
class Geometry:
    """Which slices a run cuts and the shape it gives them (:class:`nidataset.geometry.SliceFrame`)."""

    views: tuple[str, ...] = ("axial",)
    orientation: str = "stored"
    spacing: str | float | None = None
    interpolation: str = "linear"  # masks and labels are always resampled by nearest neighbour
    target_size: tuple[int, int] | None = None
    pad_value: float | str = 0.0  # or "min": each volume's smallest real value

    @classmethod
    def checked(
        cls,
        view: object,
        *,
        orientation: object = "stored",
        spacing: object = None,
        interpolation: object = "linear",
        target_size: object = None,
        pad_value: object = 0.0,
        single: str = "",
    ) -> Geometry:
        """The checked geometry; ``single`` names what a single-file function reads (one view)."""
        views = check_views(view)
        if single and len(views) != 1:
            raise ValueError(f"view must be one view for a single {single}; got {view!r}")
        return cls(
            views=views,
            orientation=check_choice("orientation", orientation, ORIENTATIONS),
            spacing=check_spacing(spacing),
            interpolation=check_choice("interpolation", interpolation, INTERPOLATIONS),
            target_size=check_target_size(target_size),
            pad_value=check_pad_value(pad_value),
        )


@dataclass(frozen=True)
class Values:
    """What the pixels hold: the volume's values (``dtype``), or a window's grey levels of ``bits``."""

    dtype: str = "auto"
    window: str | tuple[float, float] | None = None
    bits: int = 8

    @classmethod
    def checked(
        cls, *, dtype: object = "auto", window: object = None, bits: object = 8, several: bool = True
    ):
        """The checked values; ``several`` allows three windows (the channels of an RGB image)."""
        checked_window = check_window(window, several)
        if bits not in BITS or isinstance(bits, bool):
            raise ValueError(f"bits must be 8 or 16; got {bits!r}")
        if checked_window is None and bits != 8:
            raise ValueError(
                f"bits={bits!r} needs a window, whose output's depth it sets: add window='soft_tissue' "
                "(CT) or window='auto' (MRI)"
            )
        return cls(dtype=check_choice("dtype", dtype, DTYPE_MODES), window=checked_window, bits=int(bits))

    @property
    def channels(self) -> bool:
        """Three windows: the channels of one RGB image."""
        return several_windows(self.window)


@dataclass(frozen=True)
class Encoding:
    """How each image is stored: a format of the image-format table and one of its compressions."""

    image_format: str = "tiff"
    compression: str | None = None

    @classmethod
    def checked(cls, image_format: object, compression: object, values: Values) -> Encoding:
        """The checked encoding of these values (the dtype is checked per header, by the format)."""
        name = check_choice("image_format", image_format, format_names())
        check_depth(name, values.window is not None, values.bits)
        if values.channels:
            check_channels(name, 3, 0)
            check_rgb_depth(name, values.bits, "window= with three windows")
        if compression is not None:
            check_compression(name, check_choice("compression", compression, compression_names()))
        return cls(image_format=name, compression=compression)  # type: ignore[arg-type]

    @property
    def extension(self) -> str:
        return image_format_record(self.image_format).extension


@dataclass(frozen=True)
class Placement:
    """Where the files go: one folder per case or per view (or FLAT), as files or as shards."""

    saving_mode: str = "case"  # "case", "view", or FLAT
    container: str = "files"  # or "webdataset": <folder of the view's slices>/<prefix>.tar

    @classmethod
    def checked(cls, saving_mode: object, container: object = "files", *, single: bool = False) -> Placement:
        """The checked placement; ``single`` (a single-file function) writes FLAT."""
        mode = FLAT if single else check_choice("saving_mode", saving_mode, SAVING_MODES)
        return cls(saving_mode=mode, container=check_choice("container", container, CONTAINERS))


STAGES = (Geometry, Values, Encoding, Placement)


def flat(record: object) -> dict[str, Any]:
    """A command record's options by name: its own fields and the fields of its stage records."""
    found: dict[str, Any] = {}
    for field in fields(record):  # type: ignore[arg-type]
        value = getattr(record, field.name)
        if isinstance(value, STAGES):
            found.update((f.name, getattr(value, f.name)) for f in fields(value))
        else:
            found[field.name] = value
    return found


class HasGeometry:
    """A command record composing a :class:`Geometry`: its fields by name, for the jobs and the flow."""

    geometry: Geometry

    @property
    def views(self) -> tuple[str, ...]:
        return self.geometry.views

    @property
    def orientation(self) -> str:
        return self.geometry.orientation

    @property
    def spacing(self) -> str | float | None:
        return self.geometry.spacing

    @property
    def interpolation(self) -> str:
        return self.geometry.interpolation

    @property
    def target_size(self) -> tuple[int, int] | None:
        return self.geometry.target_size

    @property
    def pad_value(self) -> float | str:
        return self.geometry.pad_value


class HasValues:
    """A command record composing :class:`Values`: its fields by name."""

    values: Values

    @property
    def dtype(self) -> str:
        return self.values.dtype

    @property
    def window(self) -> str | tuple[float, float] | None:
        return self.values.window

    @property
    def bits(self) -> int:
        return self.values.bits


class HasEncoding:
    """A command record composing an :class:`Encoding`: its fields by name."""

    encoding: Encoding

    @property
    def image_format(self) -> str:
        return self.encoding.image_format

    @property
    def compression(self) -> str | None:
        return self.encoding.compression

    @property
    def extension(self) -> str:
        return self.encoding.extension


class HasPlacement:
    """A command record composing a :class:`Placement`: its fields by name."""

    placement: Placement

    @property
    def saving_mode(self) -> str:
        return self.placement.saving_mode

    @property
    def container(self) -> str:
        return self.placement.container

    @property
    def sharded(self) -> bool:
        return self.placement.container == "webdataset"


class Listed:
    """A command record whose options are listed in ``ORDER``: the order its resume records and
    reports have always used (before the stage records), so that earlier runs' records still match."""

    ORDER: tuple[str, ...] = ()

    def listed(self) -> list[tuple[str, Any, Any]]:
        """``(name, value, default)`` of each option in ``ORDER``; the defaults are a bare record's."""
        mine, bare = flat(self), flat(type(self)(""))  # type: ignore[call-arg]
        return [(name, mine[name], bare[name]) for name in self.ORDER]
