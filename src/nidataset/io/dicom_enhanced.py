"""Enhanced (multi-frame) DICOM images: each frame becomes an image record of its own.

An enhanced CT or MR file holds every slice as a frame, with each frame's position, and the
orientation, pixel spacing and rescale shared or per frame, in its functional groups. Once split
into one :class:`~nidataset.io.dicom_files.DicomImage` per frame, the frames are ordered, checked
and read exactly as the files of a classic series are (a frame of native pixel data is read at its
offset; a compressed one is decoded alone by pydicom).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .dicom_files import DicomImage, floats_of

_PER_FRAME = "PerFrameFunctionalGroupsSequence"
_SHARED = "SharedFunctionalGroupsSequence"


def is_enhanced(data: Any) -> bool:
    """Whether the data set describes its frames in functional groups (an enhanced image)."""
    return _PER_FRAME in data and int(data.get("NumberOfFrames", 1) or 1) > 1


def frame_images(image: DicomImage, data: Any) -> list[DicomImage]:
    """One record per frame of an enhanced image, with the frame's own geometry and rescale."""
    shared = data[_SHARED][0] if data.get(_SHARED) else None
    frames = data[_PER_FRAME]
    size = image.size[0] * image.size[1] * image.pixel_format[0] // 8 * image.pixel_format[2]
    records = []
    for index, group in enumerate(frames):
        found = _Groups(group, shared)
        spacing = found.floats("PixelMeasuresSequence", "PixelSpacing")
        thickness = found.floats("PixelMeasuresSequence", "SpacingBetweenSlices") or found.floats(
            "PixelMeasuresSequence", "SliceThickness"
        )
        slope = found.floats("PixelValueTransformationSequence", "RescaleSlope")
        inter = found.floats("PixelValueTransformationSequence", "RescaleIntercept")
        records.append(
            dataclasses.replace(
                image,
                position=found.floats("PlanePositionSequence", "ImagePositionPatient"),
                orientation=found.floats("PlaneOrientationSequence", "ImageOrientationPatient"),
                pixel_spacing=(spacing[1], spacing[0]) if spacing and len(spacing) == 2 else None,
                thickness=thickness[0] if thickness else None,
                slope=slope[0] if slope else image.slope,
                inter=inter[0] if inter else image.inter,
                frames=1,
                frame=index,
                pixel_offset=None if image.pixel_offset is None else image.pixel_offset + index * size,
            )
        )
    return records


@dataclasses.dataclass(frozen=True)
class _Groups:
    """A frame's functional groups, falling back to the shared ones."""

    frame: Any
    shared: Any

    def floats(self, sequence: str, keyword: str) -> tuple[float, ...] | None:
        for groups in (self.frame, self.shared):
            if groups is not None and groups.get(sequence):
                values = floats_of(groups[sequence][0], keyword)
                if values:
                    return values
        return None
