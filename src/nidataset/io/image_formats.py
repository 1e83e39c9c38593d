"""The 2D image formats: one table of records, read by every place that writes, checks or reads images.

The option checks (which format, which compression, what a lossy format needs, how many channels),
the value stage's refusal of dtypes a format cannot hold, the command line's ``--format`` choices and
help, the training set's masks and ``reassemble``'s readers all read :data:`IMAGE_FORMATS`. A new
format is one record (its encoder and decoder) and one :func:`register_image_format` call.

This module imports neither numpy nor an image library: the built-in encoders and decoders
(:mod:`nidataset.io.images`, :mod:`nidataset.io.image_files`) are imported on first use, so that the
command line builds its parser from the table cheaply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Parts of a file, written one after the other (an uncompressed TIFF is its header and the pixels).
Parts = list[bytes | memoryview]


@dataclass(frozen=True)
class ImageFormat:
    """One 2D image format.

    ``extension`` is what is written (no dot); ``dtypes`` the pixel dtypes it holds (None: any
    numeric dtype); ``channels`` the channel counts it holds (None: any); a ``lossy`` format changes
    values, so it takes windowed pixels only. ``compressions`` are the ``compression=`` values it
    accepts, ``needs`` the (compression, module, extra) of those that need an optional package.
    ``encode(image, compression)`` returns the file's bytes in parts; ``decode(path)`` reads one back
    (None: not readable). ``read_extensions`` are further extensions ``decode`` reads (``tiff``).
    ``shape(path)`` is the shape of the array ``decode`` returns, read from the file's header only (None:
    the file is decoded to learn it); it comes last so that records made positionally keep working.
    """

    name: str
    extension: str
    dtypes: tuple[str, ...] | None
    channels: tuple[int, ...] | None
    lossy: bool
    compressions: tuple[str, ...]
    encode: Callable[[np.ndarray, str | None], Parts]
    decode: Callable[[str], np.ndarray] | None = None
    read_extensions: tuple[str, ...] = ()
    needs: tuple[tuple[str, str, str], ...] = ()
    title: str = ""  # its name in messages ("PNG"); the upper-cased name when empty
    #: The depths of RGB images that common readers read as written (None: every depth it holds):
    #: Pillow, and so torchvision's default loader, reads a 16-bit RGB PNG as 8 bits.
    rgb_bits: tuple[int, ...] | None = None
    shape: Callable[[str], tuple[int, ...]] | None = None

    @property
    def label(self) -> str:
        return self.title or self.name.upper()

    @property
    def bits(self) -> tuple[int, ...]:
        """The window depths whose pixels (uint8, uint16) it holds."""
        return tuple(bits for bits in (8, 16) if self.dtypes is None or f"uint{bits}" in self.dtypes)

    @property
    def mask_format(self) -> str:
        """The format of a training set's masks beside images of this format: itself when lossless,
        else PNG (a label must come back exactly)."""
        return "png" if self.lossy else self.name


def _tiff(image: np.ndarray, compression: str | None) -> Parts:
    from .images import tiff_parts

    return tiff_parts(image, compression)


def _png(image: np.ndarray, compression: str | None) -> Parts:
    from .png import png_bytes

    return [png_bytes(image)]


def _jpeg(image: np.ndarray, compression: str | None) -> Parts:
    from .images import jpeg_bytes

    return [jpeg_bytes(image)]


def _read_tiff(path: str) -> np.ndarray:
    from .image_files import read_tiff

    return read_tiff(path)


def _read_pillow(path: str) -> np.ndarray:
    from .image_files import read_pillow

    return read_pillow(path)


def _tiff_shape(path: str) -> tuple[int, ...]:
    from .image_files import tiff_shape

    return tiff_shape(path)


def _pillow_shape(path: str) -> tuple[int, ...]:
    from .image_files import pillow_shape

    return pillow_shape(path)


_CODECS = (("zstd", "imagecodecs", "codecs"), ("lzw", "imagecodecs", "codecs"))

#: The image formats by name; the first is the default.
IMAGE_FORMATS: dict[str, ImageFormat] = {
    "tiff": ImageFormat(
        "tiff",
        "tif",
        None,
        None,
        False,
        ("zlib", "zstd", "lzw"),
        _tiff,
        _read_tiff,
        ("tiff",),
        _CODECS,
        shape=_tiff_shape,
    ),
    "png": ImageFormat(
        "png",
        "png",
        ("uint8", "uint16"),
        (1, 3),
        False,
        (),
        _png,
        _read_pillow,
        rgb_bits=(8,),
        shape=_pillow_shape,
    ),
    "jpeg": ImageFormat(
        "jpeg", "jpg", ("uint8",), (1, 3), True, (), _jpeg, _read_pillow, shape=_pillow_shape
    ),
}


def register_image_format(record: ImageFormat) -> None:
    """Add ``record`` to :data:`IMAGE_FORMATS` (replacing a format of the same name)."""
    IMAGE_FORMATS[record.name] = record


def image_format(name: str) -> ImageFormat:
    """The record of the format ``name`` (a KeyError for an unknown name)."""
    return IMAGE_FORMATS[name]


def format_names() -> tuple[str, ...]:
    """The names of the registered formats, in the table's order."""
    return tuple(IMAGE_FORMATS)


def compression_names() -> tuple[str, ...]:
    """Every compression some format accepts, in the table's order."""
    return tuple(dict.fromkeys(c for record in IMAGE_FORMATS.values() for c in record.compressions))


def describe_formats() -> str:
    """One line for a command's help: each format with its extension and what it holds."""
    return "; ".join(
        f"{record.name} (.{record.extension}{_holds(record)})" for record in IMAGE_FORMATS.values()
    )


def describe_compressions() -> str:
    """One line for a command's help: which formats take a compression, and what needs an extra."""
    takers = " or ".join(r.label for r in IMAGE_FORMATS.values() if r.compressions)
    needs: dict[tuple[str, str], list[str]] = {
        (module, extra): [] for r in IMAGE_FORMATS.values() for _, module, extra in r.needs
    }
    for record in IMAGE_FORMATS.values():
        for compression, module, extra in record.needs:
            needs[module, extra].append(compression)
    notes = "; ".join(
        f"{' and '.join(c)} need {module} (the {extra} extra)" for (module, extra), c in needs.items()
    )
    return f"lossless {takers} compression (default: none){'; ' + notes if notes else ''}"


def _holds(record: ImageFormat) -> str:
    if record.lossy:
        return ", lossy, needs --window"
    return f", {' or '.join(record.dtypes)} only" if record.dtypes is not None else ", any values"


def check_depth(name: str, windowed: bool, bits: int) -> None:
    """A lossy format takes windowed pixels of a depth it holds (it would change the values)."""
    record = IMAGE_FORMATS[name]
    if record.lossy and (not windowed or bits not in record.bits):
        depths = " or ".join(str(b) for b in record.bits)
        raise ValueError(
            f"image_format={name!r} needs an {depths}-bit window ({name.upper()} is lossy and "
            f"{depths}-bit): add window='soft_tissue' (CT) or window='auto' (MRI) with "
            f"bits={record.bits[0]}, or use image_format='png'"
        )


def check_compression(name: str, compression: str) -> None:
    """``compression`` (a known one) must be accepted by the format, and its module installed."""
    record = IMAGE_FORMATS[name]
    if compression not in record.compressions:
        takers = " or ".join(r.label for r in IMAGE_FORMATS.values() if compression in r.compressions)
        raise ValueError(f"compression applies to {takers}; image_format={name!r} compresses by itself")
    for wanted, module, extra in record.needs:
        if wanted == compression and not _installed(module):
            plain = [c for c in record.compressions if c not in {n[0] for n in record.needs}]
            instead = f" (or use compression={plain[0]!r})" if plain else ""
            raise ValueError(
                f"compression={compression!r} needs {module}: pip install {module} "
                f"(the {extra} extra){instead}"
            )


def check_channels(name: str, channels: int, context: int) -> None:
    """The format must hold ``channels`` channels (``2 * context + 1`` slices side by side)."""
    record = IMAGE_FORMATS[name]
    if record.channels is not None and channels not in record.channels:
        held = " or ".join(str(c) for c in record.channels)
        raise ValueError(
            f"context={context} gives {channels} channels; {record.label} holds {held}: use TIFF"
        )


def check_rgb_depth(name: str, bits: int, what: str) -> None:
    """An RGB image (``what`` makes it: ``context=1``, three windows) of ``bits`` must be one the
    format's common readers read as written."""
    record = IMAGE_FORMATS[name]
    if record.rgb_bits is not None and bits not in record.rgb_bits:
        raise ValueError(
            f"{what} with bits={bits} is a {bits}-bit RGB image: Pillow and torchvision's default loader "
            f"read a {bits}-bit RGB {record.label} as 8 bits; use image_format='tiff' (tifffile and "
            "OpenCV read it)"
        )


def refused_dtype(name: str, dtype: str) -> str | None:
    """Why the format cannot hold pixels of ``dtype`` (what to do instead), or None when it can."""
    record = IMAGE_FORMATS[name]
    if record.dtypes is None or dtype in record.dtypes:
        return None
    depths = "- or ".join(str(b) for b in record.bits)
    return (
        f"image_format={name!r} needs {depths}-bit pixels: add window='soft_tissue' (CT) or "
        "window='auto' (MRI), or keep image_format='tiff', which holds the values as they are"
    )


def readable_extensions() -> tuple[str, ...]:
    """The extensions (with a dot) of the formats that can be read back, in the table's order."""
    found = [
        f".{extension}"
        for record in IMAGE_FORMATS.values()
        if record.decode is not None
        for extension in (record.extension, *record.read_extensions)
    ]
    return tuple(dict.fromkeys(found))


def decoder_for(extension: str) -> Callable[[str], np.ndarray] | None:
    """The decoder of the format that reads files ending in ``extension`` (with its dot), or None."""
    record = reader_for(extension)
    return record.decode if record is not None else None


def reader_for(extension: str) -> ImageFormat | None:
    """The record of the format that reads files ending in ``extension`` (with its dot), or None."""
    for record in IMAGE_FORMATS.values():
        if record.decode is not None and extension.lower().lstrip(".") in (
            record.extension,
            *record.read_extensions,
        ):
            return record
    return None


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
