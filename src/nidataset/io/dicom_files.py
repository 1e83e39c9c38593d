"""DICOM files: which files of a folder are DICOM, what each image's header says, how series are named.

Only the headers are parsed here (pydicom, stopping before the pixel data); the voxels are read by
:mod:`nidataset.io.dicom`. pydicom is imported lazily: without the ``dicom`` extra, a folder of DICOM
files is still recognised (by the ``DICM`` marker) and skipped with a reason naming the extra.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ..errors import VolumeError

_MARKER_AT, _MARKER = 128, b"DICM"
_PIXEL_DATA = 0x7FE00010
_UNDEFINED = 0xFFFFFFFF  # the length of encapsulated (compressed) pixel data
_NATIVE_SYNTAXES = {  # transfer syntaxes whose pixel data are plain values: the byte order of each
    "1.2.840.10008.1.2": "<",
    "1.2.840.10008.1.2.1": "<",
    "1.2.840.10008.1.2.1.99": "<",  # deflated: pydicom inflates the data set, pixels included
    "1.2.840.10008.1.2.2": ">",
}
_IMPLICIT = "1.2.840.10008.1.2"
EXTRA = "nidataset[dicom]"
CODECS_EXTRA = "nidataset[dicom-codecs]"


@dataclass(frozen=True)
class DicomImage:
    """What one DICOM file's header says about its image, as far as a volume needs it."""

    path: str
    series_uid: str
    series_number: int | None
    position: tuple[float, ...] | None  # ImagePositionPatient (LPS mm)
    orientation: tuple[float, ...] | None  # ImageOrientationPatient: row, then column direction cosines
    size: tuple[int, int]  # (Columns, Rows)
    pixel_spacing: tuple[float, float] | None  # (between columns, between rows)
    pixel_format: tuple[int, int, int]  # (BitsAllocated, PixelRepresentation, SamplesPerPixel)
    frames: int
    slope: float | None
    inter: float | None
    image_type: tuple[str, ...]
    transfer_syntax: str
    pixel_offset: int | None  # where native pixel values start in the file; None when encapsulated
    modality: str = ""
    description: str = ""
    thickness: float | None = None  # SpacingBetweenSlices, else SliceThickness: for a single slice
    problem: str | None = None  # why its pixels cannot be read (truncated), found with its header
    frame: int | None = None  # its frame in an enhanced multi-frame file; None: a file of one image


def pydicom_module() -> Any:
    """pydicom, or VolumeError naming the extra that installs it."""
    try:
        import pydicom
    except ImportError:
        raise VolumeError(f"a DICOM series needs pydicom: pip install '{EXTRA}'") from None
    return pydicom


def scan_folder(folder: str) -> tuple[list[str], list[str]]:
    """The DICOM files of ``folder`` (``DICM`` at byte 128, any name) and its files named ``.dcm`` that
    are not DICOM, both sorted by name; hidden files are neither."""
    dicom: list[str] = []
    impostors: list[str] = []
    for name in _file_names(folder):
        path = os.path.join(folder, name)
        if has_marker(path):
            dicom.append(path)
        elif name.lower().endswith(".dcm"):
            impostors.append(path)
    return dicom, impostors


def holds_dicom(folder: str) -> bool:
    """Whether ``folder`` holds a DICOM file or a file named ``.dcm`` (stops at the first one)."""
    return any(
        name.lower().endswith(".dcm") or has_marker(os.path.join(folder, name))
        for name in _file_names(folder)
    )


def _file_names(folder: str) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if not e.name.startswith(".") and _is_file(e))
    except OSError:
        return []


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def has_marker(path: str) -> bool:
    """Whether ``path`` has DICOM's ``DICM`` marker after its 128-byte preamble."""
    try:
        with open(path, "rb") as handle:
            handle.seek(_MARKER_AT)
            return handle.read(4) == _MARKER
    except OSError:
        return False


def read_images(path: str) -> list[DicomImage]:
    """The images of one DICOM file: one, one per frame of an enhanced image, or none for an object
    without an image (DICOMDIR, report, RT plan).

    Raises VolumeError, naming the file, when it is truncated or unreadable.
    """
    pydicom = pydicom_module()
    name = os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            data = pydicom.dcmread(handle, stop_before_pixels=True)
            pixels_at = handle.tell()
            element = handle.read(12)
            size = os.fstat(handle.fileno()).st_size
    except Exception as error:  # pydicom raises many kinds on damaged files
        raise VolumeError(f"{name} is not a readable DICOM file ({_short(error)})") from None
    if "Rows" not in data or "Columns" not in data:
        if _is_image_storage(data):  # pydicom stops quietly where a truncated file ends
            raise VolumeError(f"{name} is truncated: it ends before its image's size and pixel data")
        return []
    syntax = str(data.file_meta.get("TransferSyntaxUID", _IMPLICIT))
    try:
        image = _image(path, data, syntax, _pixel_offset(name, data, syntax, pixels_at, element, size))
    except VolumeError as error:  # its series is named by the header: the series is skipped, not the folder
        return [_image(path, data, syntax, None, str(error))]
    from .dicom_enhanced import frame_images, is_enhanced

    return frame_images(image, data) if is_enhanced(data) else [image]


def _is_image_storage(data: Any) -> bool:
    """Whether the SOP class is one of images (CT Image Storage, ...), not a DICOMDIR or report."""
    from pydicom.uid import UID

    sop = data.file_meta.get("MediaStorageSOPClassUID") or data.get("SOPClassUID")
    return sop is not None and "Image Storage" in UID(str(sop)).name


def _image(path: str, data: Any, syntax: str, offset: int | None, problem: str | None = None) -> DicomImage:
    spacing = floats_of(data, "PixelSpacing")
    thickness = floats_of(data, "SpacingBetweenSlices") or floats_of(data, "SliceThickness")
    number = data.get("SeriesNumber")
    return DicomImage(
        path=path,
        series_uid=str(data.get("SeriesInstanceUID", "")),
        series_number=int(number) if number not in (None, "") else None,
        position=floats_of(data, "ImagePositionPatient"),
        orientation=floats_of(data, "ImageOrientationPatient"),
        size=(int(data.Columns), int(data.Rows)),
        pixel_spacing=(spacing[1], spacing[0]) if spacing and len(spacing) == 2 else None,
        pixel_format=(int(data.get("BitsAllocated", 0)), int(data.get("PixelRepresentation", 0)),
                      int(data.get("SamplesPerPixel", 1))),
        frames=int(data.get("NumberOfFrames", 1) or 1),
        slope=_number(data, "RescaleSlope"),
        inter=_number(data, "RescaleIntercept"),
        image_type=tuple(str(v).upper() for v in _values(data.get("ImageType"))),
        transfer_syntax=syntax,
        pixel_offset=offset,
        modality=str(data.get("Modality", "")),
        description=str(data.get("SeriesDescription", "")),
        thickness=thickness[0] if thickness else None,
        problem=problem,
    )  # fmt: skip


def _pixel_offset(name: str, data: Any, syntax: str, at: int, element: bytes, size: int) -> int | None:
    """Where the native pixel values start, checking that the file holds all of them; None when they
    are encapsulated (compressed: the decoder checks them)."""
    if len(element) < 8:
        raise VolumeError(f"{name} is truncated: it ends before its pixel data")
    order = ">" if syntax == "1.2.840.10008.1.2.2" else "<"
    group, elem = (int.from_bytes(element[i : i + 2], "big" if order == ">" else "little") for i in (0, 2))
    if (group << 16 | elem) != _PIXEL_DATA:
        raise VolumeError(f"{name} holds no pixel data (element {group:04X},{elem:04X} where it should be)")
    explicit = syntax != _IMPLICIT
    raw = element[8:12] if explicit else element[4:8]
    length = int.from_bytes(raw, "big" if order == ">" else "little")
    if length == _UNDEFINED:
        return None
    start = at + (12 if explicit else 8)
    bits, _, samples = (int(data.get(k, d)) for k, d in (("BitsAllocated", 0), ("PixelRepresentation", 0),
                                                          ("SamplesPerPixel", 1)))  # fmt: skip
    needed = (
        int(data.Rows) * int(data.Columns) * samples * int(data.get("NumberOfFrames", 1) or 1) * bits // 8
    )
    if start + needed > size or length < needed:
        held = min(size - start, length)
        raise VolumeError(f"{name} is truncated: its pixel data hold {max(held, 0)} of {needed} bytes")
    return start


def floats_of(data: Any, keyword: str) -> tuple[float, ...] | None:
    try:
        values = tuple(float(v) for v in _values(data.get(keyword)))
    except (TypeError, ValueError):
        return None
    return values or None


def _number(data: Any, keyword: str) -> float | None:
    values = floats_of(data, keyword)
    return values[0] if values else None


def _values(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def native_order(image: DicomImage) -> str | None:
    """The byte order of native pixel values (``<`` or ``>``), None for an encapsulated syntax."""
    return _NATIVE_SYNTAXES.get(image.transfer_syntax) if image.pixel_offset is not None else None


def series_keys(images: list[DicomImage]) -> dict[str, str]:
    """Each SeriesInstanceUID's name within its folder: its SeriesNumber, or ``1..n`` in UID text order
    for every series of the folder when numbers repeat or are missing (SPEC.md).

    >>> def image(uid, number):
    ...     return DicomImage("f", uid, number, None, None, (1, 1), None, (16, 0, 1), 1,
    ...                       None, None, (), "", 0)
    >>> series_keys([image("1.2.9", 5), image("1.2.10", 7)])
    {'1.2.10': '7', '1.2.9': '5'}
    >>> series_keys([image("1.2.9", 5), image("1.2.10", 5)])
    {'1.2.10': '1', '1.2.9': '2'}
    """
    numbers: dict[str, int | None] = {}
    for image in images:
        numbers.setdefault(image.series_uid, image.series_number)
    uids = sorted(numbers)
    given = [numbers[uid] for uid in uids]
    if any(n is None or n < 0 for n in given) or len(set(given)) < len(given):  # "_-1" is no name
        return {uid: str(n) for n, uid in enumerate(uids, start=1)}
    return {uid: str(numbers[uid]) for uid in uids}


def split_series_name(name: str) -> tuple[str, str] | None:
    """The folder and series key of ``<folder>_<key>``: a key has no underscore, so the last one splits.

    >>> split_series_name("ct_head_3"), split_series_name("ct_head")
    (('ct_head', '3'), None)
    """
    match = re.fullmatch(r"(.+)_(\d+)", name)
    return (match.group(1), match.group(2)) if match else None


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:160]
