"""A DICOM series' images in slice order, checked, and the affine dcm2niix writes for them.

Pure numpy on the headers of :mod:`nidataset.io.dicom_files`. Nothing is guessed: a series whose
images do not make one regular volume raises VolumeError with the reason, and the only images left out
are recognisable localizers, which the notes name.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..errors import VolumeError
from .dicom_files import DicomImage

_ORIENTATION_DECIMALS = 4  # direction cosines equal to 1e-4 are one orientation (scanners round them)
_SPACING_TOLERANCE = 0.01  # SPEC.md: slice spacing varying by more than 1% is a missing slice
_TILT_TOLERANCE = 1e-3  # tan of ~0.06 degrees: the slices' offset across the normal per mm along it
_LOCALIZER_IMAGES = 3  # a localizer has one to three images per plane
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class Arranged:
    """A series ready to read: its images in slice order, and their geometry."""

    images: tuple[DicomImage, ...]
    affine: np.ndarray  # voxel (column, row, slice) -> RAS mm, as nibabel's affine
    spacing: tuple[float, float, float]
    notes: tuple[str, ...] = ()  # what was left out, for the log


def arrange(images: list[DicomImage]) -> Arranged:
    """Order ``images`` along the normal of their orientation and check they make one volume.

    >>> from nidataset.io.dicom_files import DicomImage
    >>> def image(z):
    ...     return DicomImage("f", "1", 1, (0.0, 0.0, z), (1.0, 0, 0, 0, 1.0, 0), (4, 3), (0.5, 0.7),
    ...                       (16, 1, 1), 1, None, None, (), "1.2.840.10008.1.2.1", 0)
    >>> arranged = arrange([image(2.0), image(0.0), image(4.0)])
    >>> [i.position[2] for i in arranged.images], arranged.spacing
    ([0.0, 2.0, 4.0], (0.5, 0.7, 2.0))
    """
    _check_readable(images)
    kept, notes = _without_localizers(images)
    _check_same(kept, "sizes")
    ordered = sorted(kept, key=lambda i: float(np.dot(np.asarray(i.position), _normal(i.orientation))))
    steps = _steps(ordered)
    affine = _affine(ordered[0], steps)
    if not np.all(np.isfinite(affine)):
        raise VolumeError("positions, orientation or spacing that are not finite numbers")
    spacing = float(np.linalg.norm(affine[:3, 2]))
    first = ordered[0].pixel_spacing
    assert first is not None  # checked by _check_readable
    return Arranged(tuple(ordered), affine, (first[0], first[1], spacing), tuple(notes))


def _check_readable(images: list[DicomImage]) -> None:
    for image in images:
        if image.problem:
            raise VolumeError(image.problem)
    image = images[0]
    if image.frames > 1:
        raise VolumeError(
            f"{_name(image)} is a multi-frame DICOM image of {image.frames} frames without per-frame "
            "positions (not an enhanced CT or MR image)"
        )
    if image.pixel_format[2] != 1:
        raise VolumeError(f"{_name(image)} holds colour images ({image.pixel_format[2]} samples per pixel)")
    if min(image.size) < 1:
        raise VolumeError(
            f"{_name(image)} has an empty image ({image.size[1]} rows, {image.size[0]} columns)"
        )
    if image.pixel_format[0] not in (8, 16, 32):
        raise VolumeError(f"{_name(image)} has {image.pixel_format[0]} bits per pixel (8, 16 or 32 are read)")
    for image in images:
        missing = [k for k, v in (("ImagePositionPatient", image.position),
                                  ("ImageOrientationPatient", image.orientation),
                                  ("PixelSpacing", image.pixel_spacing)) if v is None]  # fmt: skip
        if missing or len(image.position or ()) != 3 or len(image.orientation or ()) != 6:
            raise VolumeError(f"{_name(image)} has no usable {' or '.join(missing) or 'position'}")


def _without_localizers(images: list[DicomImage]) -> tuple[list[DicomImage], list[str]]:
    """Leave out images typed LOCALIZER, then a few images whose orientation differs from the rest's."""
    kept = [i for i in images if "LOCALIZER" not in i.image_type]
    notes = [f"left out {len(images) - len(kept)} LOCALIZER image(s)"] if len(kept) < len(images) else []
    if not kept:
        raise VolumeError("the series holds only localizer images")
    groups = Counter(_rounded(i.orientation, _ORIENTATION_DECIMALS) for i in kept)
    (main, count), *others = groups.most_common()
    if others:
        few = all(n <= _LOCALIZER_IMAGES for _, n in others) and count > sum(n for _, n in others)
        if not few or count < 2:
            raise VolumeError(f"mixed orientations: {_describe(groups)}")
        notes.append(f"left out {len(kept) - count} image(s) of another orientation (localizers)")
        kept = [i for i in kept if _rounded(i.orientation, _ORIENTATION_DECIMALS) == main]
    return kept, notes


def _check_same(images: list[DicomImage], what: str) -> None:
    """Refuse images of different sizes, pixel spacings or pixel formats: they make no one volume."""
    groups = Counter((i.size, _rounded(i.pixel_spacing, 6), i.pixel_format) for i in images)
    if len(groups) > 1:
        raise VolumeError(f"mixed {what}: {_describe(groups)}")


def _steps(ordered: list[DicomImage]) -> np.ndarray:
    """The mean step from slice to slice (LPS mm), after checking the positions make a regular stack."""
    image = ordered[0]
    normal = _normal(image.orientation)
    if len(ordered) == 1:
        return normal * (image.thickness or 1.0)
    positions = np.array([i.position for i in ordered], dtype=np.float64)
    along = positions @ normal
    gaps = np.diff(along)
    if gaps.min() < 1e-3:
        raise VolumeError("several images share one slice position (a 4D, multi-echo or duplicated series)")
    middle = float(np.median(gaps))
    if gaps.max() - gaps.min() > _SPACING_TOLERANCE * middle:
        raise VolumeError(
            f"slice spacing varies from {gaps.min():.4g} to {gaps.max():.4g} mm (a missing slice?)"
        )
    travel = positions[-1] - positions[0]
    across = travel - np.dot(travel, normal) * normal
    if np.linalg.norm(across) > _TILT_TOLERANCE * (along[-1] - along[0]):
        degrees = np.degrees(np.arctan2(np.linalg.norm(across), along[-1] - along[0]))
        raise VolumeError(f"gantry tilt of {degrees:.2f} degrees (slices offset across their normal)")
    return travel / (len(ordered) - 1)


def _affine(first: DicomImage, step: np.ndarray) -> np.ndarray:
    """Voxel (i = column, j = row, k = slice) to RAS mm: DICOM's LPS with x and y negated."""
    orientation = np.asarray(first.orientation, dtype=np.float64)
    assert first.pixel_spacing is not None and first.position is not None
    affine = np.eye(4)
    affine[:3, 0] = orientation[:3] * first.pixel_spacing[0]  # along a row: from column to column
    affine[:3, 1] = orientation[3:] * first.pixel_spacing[1]  # down a column: from row to row
    affine[:3, 2] = step
    affine[:3, 3] = first.position
    return _LPS_TO_RAS @ affine


def _normal(orientation: tuple[float, ...] | None) -> np.ndarray:
    cosines = np.asarray(orientation, dtype=np.float64)
    normal = np.cross(cosines[:3], cosines[3:])
    length = np.linalg.norm(normal)
    if not length > 0.5:  # not two orthogonal unit vectors
        raise VolumeError(f"invalid ImageOrientationPatient {tuple(cosines)}")
    return normal / length


def _rounded(values: tuple[float, ...] | None, decimals: int) -> tuple[float, ...] | None:
    return None if values is None else tuple(round(v, decimals) + 0.0 for v in values)


def _describe(groups: Counter) -> str:  # type: ignore[type-arg]
    return ", ".join(f"{key} ({count} files)" for key, count in groups.most_common(4))


def _name(image: DicomImage) -> str:
    return os.path.basename(image.path)
