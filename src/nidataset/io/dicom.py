"""DICOM series as volume sources: one sub-folder of the input folder gives one volume per series.

An input is the series' folder when it holds one series, else ``<folder>_<key>`` beside it (SPEC.md
names the key). :func:`open_series` reads the headers of every file once (cached for the next opening
of the same unchanged folder), orders and checks the images (:mod:`.dicom_geometry`), and returns a
:class:`DicomSeries` that reads the voxels one file per axial slice, so that axial output streams: a
slab of slices reads only the files of that slab.

Values are the stored values, as a NIfTI reader gives them; RescaleSlope and RescaleIntercept become the
header's slope and intercept, rounded to float32 as NIfTI stores them (and dcm2niix writes them), so
that the real values equal those of the NIfTI dcm2niix makes. When the slope or intercept differ from
slice to slice no single pair describes the volume: the voxels are then the real values themselves,
float32 (as dcm2niix writes such a series), and the header has no slope.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

import numpy as np

from ..errors import VolumeError
from .dicom_files import (
    CODECS_EXTRA,
    DicomImage,
    holds_dicom,
    native_order,
    pydicom_module,
    read_images,
    scan_folder,
    series_keys,
    split_series_name,
)
from .dicom_geometry import Arranged, arrange
from .source import SourceBase
from .volumes import Header

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FolderSeries:
    """The images of one folder by series key, and the reasons that spoil the whole folder."""

    series: dict[str, list[DicomImage]]
    problems: tuple[str, ...]


def claims_folder(path: str) -> bool:
    """Whether ``path`` is a DICOM folder (it holds a file with the DICM marker or named ``.dcm``), or
    ``<folder>_<key>`` for one of the several series of the DICOM folder beside it."""
    if os.path.isdir(path):
        return holds_dicom(path)
    parent, name = os.path.split(path)
    split = split_series_name(name)
    folder = os.path.join(parent, split[0]) if split else ""
    if not split or not os.path.isdir(folder) or not holds_dicom(folder):
        return False
    try:
        return split[1] in folder_series(folder).series
    except VolumeError:
        return False


def series_inputs(folder: str) -> list[str]:
    """The inputs of a DICOM folder: the folder itself for one series, else ``<folder>_<key>`` beside it."""
    try:
        keys = list(folder_series(folder).series)
    except VolumeError:  # no pydicom: opening the folder says which extra to install
        keys = []
    if len(keys) <= 1:
        return [folder]
    parent, name = os.path.split(os.path.normpath(folder))
    return [os.path.join(parent, f"{name}_{key}") for key in sorted(keys, key=int)]


def folder_series(folder: str) -> FolderSeries:
    """The series of ``folder``, read once for each state of its files (names, sizes, times)."""
    return _folder_series(folder, _signature(folder))


def _signature(folder: str) -> tuple[tuple[str, int, int], ...]:
    """The (name, size, time) of the files :func:`scan_folder` reads: the series' state."""
    try:
        with os.scandir(folder) as entries:
            return tuple(sorted(stamp for e in entries if (stamp := _stamp(e)) is not None))
    except OSError as error:
        raise VolumeError(f"cannot be listed: {error.strerror or error}") from None


def _stamp(entry: os.DirEntry[str]) -> tuple[str, int, int] | None:
    """A file's (name, size, time); None for what the series does not read: hidden names, folders, and
    entries whose stat fails (a dangling symlink, a file removed since the listing)."""
    if entry.name.startswith("."):
        return None
    try:
        if not entry.is_file():
            return None
        info = entry.stat()
    except OSError:
        return None
    return entry.name, info.st_size, info.st_mtime_ns


@functools.lru_cache(maxsize=16)
def _folder_series(folder: str, signature: tuple[tuple[str, int, int], ...]) -> FolderSeries:
    pydicom_module()  # without it, one reason naming the extra rather than one per file
    paths, impostors = scan_folder(folder)
    problems = [f"{os.path.basename(p)} is named .dcm but is not DICOM (no DICM marker)" for p in impostors]
    images: list[DicomImage] = []
    for path in paths:
        try:
            images += read_images(path)  # none from a DICOMDIR, report or plan: not part of a volume
        except VolumeError as error:
            problems.append(str(error))
        except Exception as error:  # values pydicom parsed that make no sense (Rows "abc")
            problems.append(
                f"{os.path.basename(path)} has an invalid header ({type(error).__name__}: {error})"
            )
    keys = series_keys(images)
    series: dict[str, list[DicomImage]] = {}
    for image in images:
        series.setdefault(keys[image.series_uid], []).append(image)
    return FolderSeries(series, tuple(problems))


def open_series(path: str) -> DicomSeries:
    """The series at ``path``: a folder of one series, or ``<folder>_<key>`` for one of several."""
    folder, key = path, None
    if not os.path.isdir(path):
        parent, name = os.path.split(path)
        split = split_series_name(name)
        if split is None or not os.path.isdir(os.path.join(parent, split[0])):
            raise VolumeError("neither a DICOM folder nor <folder>_<series> of one")
        folder, key = os.path.join(parent, split[0]), split[1]
    found = folder_series(folder)
    if found.problems:
        shown = "; ".join(found.problems[:3]) + ("; ..." if len(found.problems) > 3 else "")
        raise VolumeError(f"{len(found.problems)} bad file(s) in the folder: {shown}")
    return DicomSeries(path, arrange(_chosen(found, key)))


def _chosen(found: FolderSeries, key: str | None) -> list[DicomImage]:
    if not found.series:
        raise VolumeError("holds DICOM files but no image")
    if key is None:
        if len(found.series) > 1:
            raise VolumeError(f"holds {len(found.series)} series; each is an input of its own")
        return next(iter(found.series.values()))
    if key not in found.series:
        raise VolumeError(f"has no series {key} (it holds {', '.join(sorted(found.series))})")
    return found.series[key]


class DicomSeries(SourceBase):
    """One DICOM series opened for a single front-to-back read, one file per axial slice."""

    def __init__(self, path: str, arranged: Arranged) -> None:
        self.path = path
        self._images = arranged.images
        self._notes = arranged.notes  # logged once, when the voxels are read (not on a header look)
        self._varying = len({(i.slope, i.inter) for i in self._images}) > 1
        self._dtype = _stored_dtype(self._images, self._varying)
        _check_decoders(self._images)
        first = self._images[0]
        self.header = Header(
            shape=(first.size[0], first.size[1], len(self._images)),
            dtype=self._dtype,
            slope=None if self._varying else _float32(first.slope, 1.0, first.inter),
            inter=None if self._varying else _float32(first.inter, 0.0, first.slope),
            offset=0,
            affine=arranged.affine,
            spacing=arranged.spacing,
            format="dicom",
            details=_details(first, arranged),
        )
        self._plane_bytes = first.size[0] * first.size[1] * self._dtype.itemsize
        self._next = 0  # the next slice to read
        self._left = memoryview(b"")  # what is left of a slice read in part

    def close(self) -> None:
        """Nothing stays open between reads: each slice's file is opened and closed by its read."""

    def finish(self) -> None:
        """Each file's length was checked when its header was read; nothing is left to check."""

    def read(self, voxels: int, into: np.ndarray | None = None) -> np.ndarray:
        """The next ``voxels`` voxels, 1D, in the stored dtype (in the uint8 buffer ``into`` if given)."""
        size = voxels * self._dtype.itemsize
        buffer = np.empty(size, dtype=np.uint8) if into is None else into[:size]
        filled = 0
        while filled < size:
            if not self._left and size - filled >= self._plane_bytes:  # a whole slice: read in place
                self._read_plane(self._take(), buffer[filled : filled + self._plane_bytes])
                filled += self._plane_bytes
                continue
            if not self._left:
                plane = np.empty(self._plane_bytes, dtype=np.uint8)
                self._read_plane(self._take(), plane)
                self._left = memoryview(plane.data)
            count = min(len(self._left), size - filled)
            buffer[filled : filled + count] = self._left[:count]
            self._left, filled = self._left[count:], filled + count
        return buffer.view(self._dtype)

    def _take(self) -> DicomImage:
        if self._next >= len(self._images):
            raise VolumeError(f"read past the last of {len(self._images)} slices")
        if self._next == 0:
            for note in self._notes:
                logger.info("%s: %s", self.path, note)
        self._next += 1
        return self._images[self._next - 1]

    def _read_plane(self, image: DicomImage, target: np.ndarray) -> None:
        order = native_order(image)
        if order is not None and not self._varying:
            _read_native(image, target)
            if _image_dtype(image, order) != self._dtype:  # a file of the other byte order
                target.view(self._dtype).byteswap(inplace=True)
            return
        values = _decoded(image) if order is None else _native_values(image)
        if self._varying:
            scaled = values.astype(np.float64) * (image.slope or 1.0) + (image.inter or 0.0)
            values = scaled.astype(np.float32)
        target[:] = np.ascontiguousarray(values.astype(self._dtype, copy=False)).reshape(-1).view(np.uint8)


def _stored_dtype(images: tuple[DicomImage, ...], varying: bool) -> np.dtype:
    if varying:
        return np.dtype(np.float32)
    order = next((o for o in map(native_order, images) if o is not None), "<")
    return _image_dtype(images[0], order)


def _image_dtype(image: DicomImage, order: str) -> np.dtype:
    bits, signed, _ = image.pixel_format
    return np.dtype(f"{order}{'i' if signed else 'u'}{bits // 8}")


def _float32(value: float | None, default: float, other: float | None) -> float | None:
    """A rescale value as NIfTI's float32 field holds it; None when neither slope nor intercept is given."""
    if value is None and other is None:
        return None
    return float(np.float32(default if value is None else value))


def _read_native(image: DicomImage, target: np.ndarray) -> None:
    try:
        with open(image.path, "rb") as handle:
            handle.seek(image.pixel_offset or 0)
            count = handle.readinto(target.data)
    except OSError as error:
        raise VolumeError(f"{os.path.basename(image.path)}: read error: {error.strerror or error}") from None
    if count != len(target):
        raise VolumeError(
            f"{os.path.basename(image.path)} is truncated (it changed while the series was read)"
        )


def _native_values(image: DicomImage) -> np.ndarray:
    dtype = _image_dtype(image, native_order(image) or "<")
    plane = np.empty(image.size[0] * image.size[1] * dtype.itemsize, dtype=np.uint8)
    _read_native(image, plane)
    return plane.view(dtype)


def _decoded(image: DicomImage) -> np.ndarray:
    """The pixel values of a compressed image, decoded by pydicom's installed decoder."""
    pydicom_module()
    from pydicom.pixels import pixel_array

    try:  # a frame of an enhanced image is decoded alone
        values = pixel_array(image.path, index=image.frame)
    except Exception as error:  # decoders raise many kinds on damaged data
        raise VolumeError(f"{os.path.basename(image.path)}: pixel data cannot be decoded ({error})") from None
    if values.shape != (image.size[1], image.size[0]):
        raise VolumeError(
            f"{os.path.basename(image.path)}: decoded shape {values.shape} is not rows x columns"
        )
    return values


def _check_decoders(images: tuple[DicomImage, ...]) -> None:
    """Refuse, naming the extra, a compressed series that no installed decoder reads."""
    syntaxes = {i.transfer_syntax for i in images if native_order(i) is None}
    if not syntaxes:
        return
    from pydicom.pixels import get_decoder  # pydicom>=3
    from pydicom.uid import UID

    for syntax in sorted(syntaxes):
        try:
            available = get_decoder(syntax).is_available
        except (NotImplementedError, ValueError):
            raise VolumeError(
                f"pixel data in transfer syntax {syntax}, which pydicom cannot decode"
            ) from None
        if not available:
            raise VolumeError(
                f"pixel data compressed as {UID(syntax).name}: no decoder installed; "
                f"pip install '{CODECS_EXTRA}'"
            )


def _details(first: DicomImage, arranged: Arranged) -> tuple[tuple[str, str], ...]:
    facts = [("modality", first.modality), ("series description", first.description)]
    facts += [("left out", note) for note in arranged.notes]
    return tuple((key, value) for key, value in facts if value)
