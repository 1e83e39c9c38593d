"""Reading 2D images back (predictions, or the slices themselves): the image formats' decoders, and NPY.

The extensions looked for, and the decoder of each, come from the image-format table
(:mod:`~nidataset.io.image_formats`); NumPy's ``.npy`` is always read too. TIFF is read with tifffile
and NPY with numpy (both dependencies); PNG and JPEG need Pillow, which is not: it is imported only
when such an image is read, and its absence fails that volume with a reason that says how to install
it. Every problem of one image becomes a :class:`~nidataset.errors.VolumeError`.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import VolumeError
from .image_formats import ImageFormat, decoder_for, readable_extensions, reader_for


def image_extensions() -> tuple[str, ...]:
    """The extensions an image may have, in the order they are looked for: the table's, then ``.npy``."""
    return tuple(dict.fromkeys((*readable_extensions(), ".npy")))


def find_image(folder: str, stem: str) -> str | None:
    """The one image ``<folder>/<stem><extension>``, None if there is none.

    Two images for one slice (``x.tif`` beside ``x.png``) are a VolumeError: which one is meant
    cannot be guessed.
    """
    candidates = (os.path.join(folder, stem + e) for e in image_extensions())
    found = [path for path in candidates if os.path.isfile(path)]
    if len(found) > 1:
        raise VolumeError(
            f"{len(found)} images for one slice: {', '.join(os.path.basename(p) for p in found)}"
        )
    return found[0] if found else None


def image_shape(path: str) -> tuple[int, ...]:
    """The shape of an image's array, from its header only (no pixel is decoded).

    NPY: its header; otherwise the ``shape`` of the format that reads the extension (the same lookup
    as :func:`read_image`'s): the first series' shape for TIFF (tifffile), Pillow's size and bands for
    PNG and JPEG. A file of the wrong size can then be refused before decoding it, whatever its
    compressed size. A format without a ``shape`` is decoded to learn it.
    """
    name = os.path.basename(path)
    extension = os.path.splitext(path)[1]
    record = reader_for(extension)
    if record is None and extension.lower() != ".npy":
        raise VolumeError(f"cannot read {name}: no image format reads {extension or 'it'}")
    try:
        return (
            _npy_shape(path) if record is None or extension.lower() == ".npy" else _table_shape(record, path)
        )
    except VolumeError:
        raise
    except Exception as error:  # each reader has its own exceptions; all mean "this file is unusable"
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise VolumeError(f"cannot read {name}: {detail}") from None


def _table_shape(record: ImageFormat, path: str) -> tuple[int, ...]:
    if record.shape is not None:
        return tuple(int(n) for n in record.shape(path))
    decode = record.decode
    return tuple(int(n) for n in np.shape(decode(path))) if decode is not None else ()


def _npy_shape(path: str) -> tuple[int, ...]:
    with open(path, "rb") as handle:
        major, _ = np.lib.format.read_magic(handle)
        if major == 1:
            shape = np.lib.format.read_array_header_1_0(handle)[0]
        else:
            shape = np.lib.format.read_array_header_2_0(handle)[0]
    return tuple(int(n) for n in shape)


def tiff_shape(path: str) -> tuple[int, ...]:
    """A TIFF file's first series' shape (tifffile), from its header."""
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        return tuple(int(n) for n in tiff.series[0].shape)


def pillow_shape(path: str) -> tuple[int, ...]:
    """A PNG or JPEG file's shape (Pillow's size and bands), from its header."""
    try:
        from PIL import Image
    except ImportError:
        kind = os.path.splitext(path)[1].lstrip(".").upper()
        raise VolumeError(f"reading {kind} images needs Pillow: pip install pillow") from None
    with Image.open(path) as image:
        bands = len(image.getbands())
        return (image.height, image.width) if bands == 1 else (image.height, image.width, bands)


def read_image(path: str) -> np.ndarray:
    """The array of one image file, in its own dtype (byte order made native)."""
    name = os.path.basename(path)
    extension = os.path.splitext(path)[1]
    decode = decoder_for(extension) or (_read_npy if extension.lower() == ".npy" else None)
    if decode is None:
        raise VolumeError(f"cannot read {name}: no image format reads {extension or 'it'}")
    try:
        data = decode(path)
    except (VolumeError, MemoryError):
        raise
    except Exception as error:  # each reader has its own exceptions; all mean "this file is unusable"
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise VolumeError(f"cannot read {name}: {detail}") from None
    data = np.asarray(data)
    if data.dtype.kind not in "biuf":
        raise VolumeError(f"{name} holds {data.dtype} values; images of numbers are needed")
    return data.astype(data.dtype.newbyteorder("="), copy=False)


def read_tiff(path: str) -> np.ndarray:
    """A TIFF file's first image (tifffile)."""
    import tifffile

    return np.asarray(tifffile.imread(path))


def read_pillow(path: str) -> np.ndarray:
    """A PNG or JPEG file's pixels (Pillow, an optional dependency)."""
    try:
        from PIL import Image
    except ImportError:
        kind = os.path.splitext(path)[1].lstrip(".").upper()
        raise VolumeError(f"reading {kind} images needs Pillow: pip install pillow") from None
    with Image.open(path) as image:
        return np.asarray(image)


def _read_npy(path: str) -> np.ndarray:
    return np.asarray(np.load(path, allow_pickle=False))
