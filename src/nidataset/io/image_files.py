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
from .image_formats import decoder_for, readable_extensions


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
