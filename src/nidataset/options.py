"""Every option check and the frozen option records, in one place.

The façades only gather their arguments and call the builders here, which raise ``ValueError`` naming
the parameter and what is allowed, before anything is read or written. The records are frozen and
small, so that a per-file job receives them whole and they pickle to any executor.

>>> slice_options("out", "axial", "case", (64, 64), -1024).views
('axial',)
>>> slice_options("out", ["axial", "coronal"], None, None, 0.0, single=True)
Traceback (most recent call last):
...
ValueError: view must be one view for a single volume; got ['axial', 'coronal']
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from .progress import Progress

View = Literal["axial", "coronal", "sagittal"]
SavingMode = Literal["case", "view"]
DtypeMode = Literal["auto", "float32"]
ExtractionMode = Literal["slice", "volume"]
DataMode = Literal["center", "box", "radius"]
Orientation = Literal["stored", "radiological", "neurological"]
Interpolation = Literal["linear", "nearest"]
ImageFormat = Literal["tiff", "png", "jpeg"]
Compression = Literal["zlib", "zstd", "lzw"]
Bits = Literal[8, 16]
#: "files": one file per slice; "webdataset": one tar shard per volume and view.
Container = Literal["files", "webdataset"]
#: None (values untouched), a preset name, (center, width), or "auto" (per volume).
WindowSpec = str | tuple[float, float] | None
#: None (one pixel per voxel), "isotropic", or square pixels of that many millimetres.
Spacing = Literal["isotropic"] | float | None

VIEWS: tuple[str, ...] = get_args(View)
SAVING_MODES: tuple[str, ...] = get_args(SavingMode)
DTYPE_MODES: tuple[str, ...] = get_args(DtypeMode)
EXTRACTION_MODES: tuple[str, ...] = get_args(ExtractionMode)
DATA_MODES: tuple[str, ...] = get_args(DataMode)
ORIENTATIONS: tuple[str, ...] = get_args(Orientation)
INTERPOLATIONS: tuple[str, ...] = get_args(Interpolation)
IMAGE_FORMATS: tuple[str, ...] = get_args(ImageFormat)
COMPRESSIONS: tuple[str, ...] = get_args(Compression)
CONTAINERS: tuple[str, ...] = get_args(Container)
#: The file extension of each image format.
EXTENSIONS: dict[str, str] = {"tiff": "tif", "png": "png", "jpeg": "jpg"}

#: The single-volume functions write straight into ``output_path``: an internal third saving mode,
#: never accepted from a caller.
FLAT = "flat"

_F32_MAX = 3.4028234663852886e38  # float(np.finfo(np.float32).max), without importing numpy here


@dataclass(frozen=True)
class SliceOptions:
    """What one slice extraction writes, validated; the per-file job's only argument besides the path."""

    output_path: str
    views: tuple[str, ...] = ("axial",)
    saving_mode: str = "case"  # "case", "view", or FLAT
    target_size: tuple[int, int] | None = None
    pad_value: float | str = 0.0  # or "min": each volume's smallest real value
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
        return EXTENSIONS[self.image_format]

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

    @property
    def output_key(self) -> str:
        """What shapes one view's outputs (NaN-safe), for the records: not the views asked together."""
        return repr(sorted((k, v) for k, v in self.__dict__.items() if k not in ("output_path", "views")))

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


@dataclass(frozen=True)
class RunOptions:
    """How a dataset run is carried out and reported; never sent to a worker."""

    workers: int | None = None
    executor: Executor | None = None
    progress: bool | Progress = True
    save_stats: bool = False
    save_failures: bool = False
    save_manifest: bool = False
    save_report: bool = False


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
    image_format = check_choice("image_format", image_format, IMAGE_FORMATS)
    _check_image_options(checked_window, bits, image_format, compression)
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


def check_shard_prefixes(names: Sequence[str]) -> None:
    """WebDataset takes a sample's key up to the first dot of a member's name: a prefix with a dot
    would split one slice into a wrong key and field. ValueError naming such inputs.

    >>> check_shard_prefixes(["case_001.nii.gz"])
    >>> check_shard_prefixes(["case.v2.nii.gz"])
    Traceback (most recent call last):
    ...
    ValueError: container='webdataset' needs input names without a dot before .nii.gz / .nii (webdataset \
takes a sample's key up to the first dot of its file names); rename case.v2.nii.gz, or use container='files'
    """
    from .naming import prefix_of

    dotted = [os.path.basename(name) for name in names if "." in prefix_of(os.path.basename(name))]
    if dotted:
        shown = ", ".join(dotted[:5]) + (f" and {len(dotted) - 5} more" if len(dotted) > 5 else "")
        raise ValueError(
            "container='webdataset' needs input names without a dot before .nii.gz / .nii (webdataset "
            f"takes a sample's key up to the first dot of its file names); rename {shown}, "
            "or use container='files'"
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
        images_folder=_folder("images_folder", images_folder),
    )


def _folder(name: str, value: object) -> str | None:
    """None, or an existing folder's path."""
    if value is None:
        return None
    path = os.fspath(value)  # type: ignore[call-overload]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{name} {path!r} does not exist or is not a folder")
    return str(path)


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
        masks_folder=_folder("masks_folder", masks_folder),
    )


def run_options(
    workers: object,
    executor: object,
    progress: object,
    *,
    save_stats: object,
    save_failures: object,
    save_manifest: object = False,
    save_report: object = False,
) -> RunOptions:
    """Check how a dataset run is carried out: worker count, executor, and the flags."""
    from .progress import Progress

    if workers is not None and not _is_positive_int(workers):
        raise ValueError(f"workers must be None (all cores) or a positive integer; got {workers!r}")
    if workers is not None:
        _check_worker_limit(int(workers))  # type: ignore[call-overload]
    if executor is not None and not (isinstance(executor, Executor) or hasattr(executor, "submit")):
        raise ValueError(f"executor must be a concurrent.futures.Executor; got {type(executor).__name__}")
    if not isinstance(progress, bool | Progress):
        raise ValueError(f"progress must be True, False or a nidataset.progress.Progress; got {progress!r}")
    return RunOptions(
        workers=None if workers is None else int(workers),  # type: ignore[call-overload]
        executor=executor,  # type: ignore[arg-type]
        progress=progress,
        save_stats=check_flag("save_stats", save_stats),
        save_failures=check_flag("save_failures", save_failures),
        save_manifest=check_flag("save_manifest", save_manifest),
        save_report=check_flag("save_report", save_report),
    )


def _check_worker_limit(workers: int) -> None:
    """Refuse more workers than the open-file limit allows (each holds a few files), or than 1024."""
    from .batch.runner import FILES_PER_WORKER, MOST_WORKERS, max_workers, open_file_limit

    most = max_workers()
    if workers <= most:
        return
    limit = open_file_limit()
    if most < MOST_WORKERS and limit is not None:
        raise ValueError(
            f"workers must be at most {most} with this process's open-file limit of {limit} (ulimit -n; "
            f"each worker holds up to {FILES_PER_WORKER} files open); got {workers}"
        )
    raise ValueError(f"workers must be at most {MOST_WORKERS}; got {workers}")


def _saving_mode(saving_mode: object, single: bool) -> str:
    return FLAT if single else check_choice("saving_mode", saving_mode, SAVING_MODES)


def _views_for(view: object, single: bool, what: str) -> tuple[str, ...]:
    """The views of a run; the single-file functions take exactly one."""
    views = check_views(view)
    if single and len(views) != 1:
        raise ValueError(f"view must be one view for a single {what}; got {view!r}")
    return views


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed``, else a ValueError that lists them."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def check_flag(name: str, value: object) -> bool:
    """True or False (numpy booleans too), nothing that merely looks truthy."""
    if type(value).__name__ not in ("bool", "bool_"):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_views(view: object) -> tuple[str, ...]:
    """One view, or a list of distinct views, as a tuple.

    >>> check_views("axial"), check_views(["coronal", "axial"])
    (('axial',), ('coronal', 'axial'))
    """
    views = (view,) if isinstance(view, str) or not isinstance(view, Sequence) else tuple(view)
    if not views:
        raise ValueError("view must name at least one of 'axial', 'coronal', 'sagittal'; got an empty list")
    for one in views:
        check_choice("view", one, VIEWS)
    if len(set(views)) != len(views):
        raise ValueError(f"view lists a view twice: {list(views)!r}")
    return views  # type: ignore[return-value]


def check_window(window: object) -> str | tuple[float, float] | None:
    """None, a preset name, "auto", or (center, width) with a finite center and a width of at least 1.

    >>> check_window("brain"), check_window((40, 80)), check_window("auto")
    ('brain', (40.0, 80.0), 'auto')
    """
    from .windows import PRESETS

    if window is None or window == "auto" or (isinstance(window, str) and window in PRESETS):
        return window  # type: ignore[return-value]
    if isinstance(window, str):
        names = ", ".join(repr(name) for name in ("auto", *PRESETS))
        raise ValueError(f"window must be None, (center, width), or one of {names}; got {window!r}")
    if (
        not isinstance(window, Sequence)
        or len(window) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in window)
        or not all(math.isfinite(float(v)) for v in window)
        or float(window[1]) < 1
    ):
        raise ValueError(f"window must be (center, width) with finite numbers and width >= 1; got {window!r}")
    return float(window[0]), float(window[1])


def _check_image_options(window: object, bits: object, image_format: str, compression: object) -> None:
    """What the formats can hold, decided from the options alone (the dtype is checked per header)."""
    if bits not in (8, 16) or isinstance(bits, bool):
        raise ValueError(f"bits must be 8 or 16; got {bits!r}")
    if window is None and bits != 8:
        raise ValueError("bits chooses the depth of a window's output: pass window= as well")
    if image_format == "jpeg" and (window is None or bits != 8):
        raise ValueError("image_format='jpeg' is lossy and 8-bit: it needs window= with bits=8")
    if compression is None:
        return
    check_choice("compression", compression, COMPRESSIONS)
    if image_format != "tiff":
        raise ValueError(f"compression applies to TIFF; image_format={image_format!r} compresses by itself")
    if compression in ("zstd", "lzw") and not _has_imagecodecs():
        raise ValueError(
            f"compression={compression!r} needs imagecodecs: pip install 'nidataset[codecs]' "
            "(or use compression='zlib')"
        )


def _has_imagecodecs() -> bool:
    import importlib.util

    return importlib.util.find_spec("imagecodecs") is not None


def check_spacing(spacing: object) -> str | float | None:
    """None, "isotropic", or a positive finite number of millimetres.

    >>> check_spacing("isotropic"), check_spacing(0.5), check_spacing(None)
    ('isotropic', 0.5, None)
    """
    if spacing is None or spacing == "isotropic":
        return spacing  # type: ignore[return-value]
    if (
        isinstance(spacing, bool)
        or not isinstance(spacing, numbers.Real)
        or not math.isfinite(float(spacing))
        or float(spacing) <= 0
    ):
        raise ValueError(
            f"spacing must be None, 'isotropic' or a positive number of millimetres; got {spacing!r}"
        )
    return float(spacing)


def check_target_size(target_size: object) -> tuple[int, int] | None:
    """None, or (height, width) as two positive integers."""
    if target_size is None:
        return None
    if (
        not isinstance(target_size, Sequence)
        or isinstance(target_size, str)
        or len(target_size) != 2
        or not all(_is_positive_int(n) for n in target_size)
    ):
        raise ValueError(
            f"target_size must be None or (height, width), two positive integers; got {target_size!r}"
        )
    return int(target_size[0]), int(target_size[1])


def _is_positive_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) > 0


def check_pad_value(pad_value: object) -> float | str:
    """A real number that float32 can hold (NaN and infinities allowed, finite overflow not), or
    "min": each volume's minimum real value (SPEC Part 3)."""
    if pad_value == "min":
        return "min"
    if isinstance(pad_value, bool) or not isinstance(pad_value, numbers.Real):
        raise ValueError(f'pad_value must be a number or "min"; got {pad_value!r}')
    value = float(pad_value)
    if math.isfinite(value) and abs(value) > _F32_MAX:
        raise ValueError(
            f"pad_value must fit float32 (at most {_F32_MAX:.4g} in magnitude); got {pad_value!r}"
        )
    return value


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
        slices_folder=_path("slices_folder", slices_folder),
        output_path=_path("output_path", output_path),
        manifest=_path("manifest", manifest),
        suffix=suffix,
        fill=float(fill),
    )


def _path(name: str, value: object) -> str:
    """A path given as text or an ``os.PathLike``."""
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        raise ValueError(f"{name} must be a path (str or os.PathLike); got {value!r}")
    return os.fsdecode(os.fspath(value))


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
    pad_value: float | str = 0.0
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
        return EXTENSIONS[self.image_format]

    @property
    def mask_extension(self) -> str:
        return "tif" if self.image_format == "tiff" else "png"

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
    image_format = check_choice("image_format", image_format, IMAGE_FORMATS)
    _check_image_options(window, bits, image_format, compression)
    chosen = (labels,) if isinstance(labels, str) else tuple(labels) if isinstance(labels, Sequence) else ()
    for name in chosen or ("",):
        check_choice("labels", name, LABEL_FORMATS)
    if not isinstance(context, int) or isinstance(context, bool) or context < 0:
        raise ValueError(f"context must be a whole number of slices, 0 or more; got {context!r}")
    channels = 2 * context + 1
    if image_format == "png" and channels not in (1, 3):
        raise ValueError(f"context={context} gives {channels} channels; PNG holds 1 or 3: use TIFF")
    if image_format == "jpeg" and channels not in (1, 3):
        raise ValueError(f"context={context} gives {channels} channels; JPEG holds 1 or 3: use TIFF")
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


def check_select(select: object) -> str | tuple[object, ...]:
    """Select "all", "labelled", ("labelled", k) with k >= 0, or (start, stop, step) with step >= 1.

    >>> check_select(("labelled", 2)), check_select((10, 50, 5))
    (('labelled', 2), (10, 50, 5))
    """
    if select in ("all", "labelled"):
        return select  # type: ignore[return-value]
    if isinstance(select, Sequence) and not isinstance(select, str):
        items = tuple(select)
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in items[1:])
        if len(items) == 2 and items[0] == "labelled" and whole and items[1] >= 0:  # type: ignore[operator]
            return items
        if len(items) == 3 and whole and isinstance(items[0], int) and items[2] >= 1:  # type: ignore[operator]
            return items
    raise ValueError(
        "select must be 'all', 'labelled', ('labelled', k) with k >= 0, or (start, stop, step) with "
        f"step >= 1; got {select!r}"
    )
