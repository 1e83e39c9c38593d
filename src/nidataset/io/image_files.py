"""Reading 2D images back (predictions, or the slices themselves): TIFF, PNG and NumPy files.

TIFF is read with tifffile and NPY with numpy (both dependencies); PNG needs Pillow, which is not:
it is imported only when a PNG is read, and its absence fails that volume with a reason that says
how to install it. Every problem of one image becomes a :class:`~nidataset.errors.VolumeError`.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import VolumeError

#: The extensions an image may have, in the order they are looked for.
IMAGE_EXTENSIONS: tuple[str, ...] = (".tif", ".tiff", ".png", ".npy")


def find_image(folder: str, stem: str) -> str | None:
    """The one image ``<folder>/<stem><extension>``, None if there is none.

    Two images for one slice (``x.tif`` beside ``x.png``) are a VolumeError: which one is meant
    cannot be guessed.
    """
    found = [p for p in (os.path.join(folder, stem + e) for e in IMAGE_EXTENSIONS) if os.path.isfile(p)]
    if len(found) > 1:
        raise VolumeError(
            f"{len(found)} images for one slice: {', '.join(os.path.basename(p) for p in found)}"
        )
    return found[0] if found else None


def image_shape(path: str) -> tuple[int, ...]:
    """The shape of an image's array, from its header only (no pixel is decoded).

    TIFF: the first series' shape (tifffile); PNG: Pillow's size and bands; NPY: its header. A file
    of the wrong size can then be refused before decoding it, whatever its compressed size.
    """
    name = os.path.basename(path)
    try:
        if path.endswith(".npy"):
            with open(path, "rb") as handle:
                major, _ = np.lib.format.read_magic(handle)
                if major == 1:
                    shape = np.lib.format.read_array_header_1_0(handle)[0]
                else:
                    shape = np.lib.format.read_array_header_2_0(handle)[0]
            return tuple(int(n) for n in shape)
        if path.endswith(".png"):
            return _png_shape(path)
        import tifffile

        with tifffile.TiffFile(path) as tiff:
            return tuple(int(n) for n in tiff.series[0].shape)
    except VolumeError:
        raise
    except Exception as error:  # each reader has its own exceptions; all mean "this file is unusable"
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise VolumeError(f"cannot read {name}: {detail}") from None


def _png_shape(path: str) -> tuple[int, ...]:
    try:
        from PIL import Image
    except ImportError:
        raise VolumeError("reading PNG images needs Pillow: pip install pillow") from None
    with Image.open(path) as image:
        bands = len(image.getbands())
        return (image.height, image.width) if bands == 1 else (image.height, image.width, bands)


def read_image(path: str) -> np.ndarray:
    """The array of one image file, in its own dtype (byte order made native)."""
    name = os.path.basename(path)
    try:
        if path.endswith(".npy"):
            data = np.load(path, allow_pickle=False)
        elif path.endswith(".png"):
            data = _read_png(path)
        else:
            import tifffile

            data = tifffile.imread(path)
    except (VolumeError, MemoryError):
        raise
    except Exception as error:  # each reader has its own exceptions; all mean "this file is unusable"
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise VolumeError(f"cannot read {name}: {detail}") from None
    data = np.asarray(data)
    if data.dtype.kind not in "biuf":
        raise VolumeError(f"{name} holds {data.dtype} values; images of numbers are needed")
    return data.astype(data.dtype.newbyteorder("="), copy=False)


def _read_png(path: str) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise VolumeError("reading PNG images needs Pillow: pip install pillow") from None
    with Image.open(path) as image:
        return np.asarray(image)
