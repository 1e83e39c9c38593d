"""Write DICOM series from NIfTI volumes with pydicom, as a scanner would: for the input tests.

The geometry is derived from the NIfTI affine alone (nibabel's), never from nidataset: slices are the
planes across one voxel axis of the volume, rows and columns run along the two others (optionally
reversed, as DICOM's top-down rows usually are), and ImagePositionPatient / ImageOrientationPatient
are the LPS positions and directions of those voxels.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

import numpy as np

pydicom = __import__("pytest").importorskip("pydicom")
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, generate_uid  # noqa: E402

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass
class Acquisition:
    """How to cut a volume into DICOM images: the voxel axis across the slices, the axis along a row
    (columns), the axis down a column (rows), and which of them run backwards."""

    slice_axis: int = 2
    column_axis: int = 0
    row_axis: int = 1
    flip_rows: bool = True  # rows from the volume's last index to its first
    flip_slices: bool = False
    modality: str = "MR"
    slope: float | None = None  # RescaleSlope written (stored values unchanged)
    inter: float | None = None
    offset: int = 0  # what the caller added to the stored values (a CT's +1024), for inter to take back
    series_number: int | None = 1
    series_uid: str = field(default_factory=generate_uid)
    description: str = "test series"
    extension: str = ".dcm"


def voxel_grid(acq: Acquisition, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Voxel index ranges of the columns, rows and slices, in DICOM order."""
    cols = np.arange(shape[acq.column_axis])
    rows = np.arange(shape[acq.row_axis])[:: -1 if acq.flip_rows else 1]
    slices = np.arange(shape[acq.slice_axis])[:: -1 if acq.flip_slices else 1]
    return cols, rows, slices


def write_series(
    data: np.ndarray, affine: np.ndarray, folder: str, acq: Acquisition, *, shuffle: int | None = 0
) -> list[str]:
    """Write one file per slice of ``data`` (stored values, integers) into ``folder``; their paths."""
    os.makedirs(folder, exist_ok=True)
    lps = LPS @ affine
    cols, rows, slices = voxel_grid(acq, data.shape)
    study = generate_uid()
    step_col = lps[:3, acq.column_axis]
    step_row = lps[:3, acq.row_axis] * (-1 if acq.flip_rows else 1)
    paths = []
    order = list(range(len(slices)))
    if shuffle is not None:
        random.Random(shuffle).shuffle(order)  # files named in an order that is not the slices'
    for n, s in enumerate(slices):
        index = np.zeros(3, dtype=int)
        index[acq.slice_axis], index[acq.column_axis], index[acq.row_axis] = s, cols[0], rows[0]
        position = lps[:3, :3] @ index + lps[:3, 3]
        plane = _plane(data, acq, cols, rows, s)
        name = f"IM{order[n]:04d}{acq.extension}"
        path = os.path.join(folder, name)
        _dataset(plane, position, step_col, step_row, acq, study, n + 1).save_as(
            path, enforce_file_format=True
        )
        paths.append(path)
    return paths


def _plane(data: np.ndarray, acq: Acquisition, cols: np.ndarray, rows: np.ndarray, s: int) -> np.ndarray:
    """The (rows, columns) image of slice ``s``."""
    moved = np.moveaxis(data, (acq.row_axis, acq.column_axis, acq.slice_axis), (0, 1, 2))
    return moved[np.ix_(rows, cols, [s])][:, :, 0]


def _dataset(plane, position, step_col, step_row, acq, study, number) -> Dataset:  # type: ignore[no-untyped-def]
    meta = FileMetaDataset()
    sop_class = CT_STORAGE if acq.modality == "CT" else MR_STORAGE
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientName, ds.PatientID = acq.modality, "Test^Volume", "TEST"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, acq.series_uid
    ds.StudyDate, ds.SeriesDate, ds.StudyTime, ds.AcquisitionTime = "20260101", "20260101", "120000", "120000"
    if acq.series_number is not None:
        ds.SeriesNumber = acq.series_number
    ds.SeriesDescription = acq.description
    ds.InstanceNumber = number
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.FrameOfReferenceUID = generate_uid()
    ds.ImagePositionPatient = [_ds(v) for v in position]
    ds.ImageOrientationPatient = [_ds(v) for v in (*_unit(step_col), *_unit(step_row))]
    ds.PixelSpacing = [_ds(np.linalg.norm(step_row)), _ds(np.linalg.norm(step_col))]
    ds.SliceThickness = "1"
    ds.Rows, ds.Columns = plane.shape
    signed = plane.dtype.kind == "i"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit, ds.PixelRepresentation = 15, int(signed)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    if acq.slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = _ds(acq.slope), _ds(acq.inter or 0), "US"
    ds.PixelData = np.ascontiguousarray(plane.astype("<i2" if signed else "<u2")).tobytes()
    return ds


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _ds(value: float) -> str:
    """A decimal string of at most 16 characters (DICOM's DS), as precise as that allows."""
    for digits in range(16, 0, -1):
        text = f"{float(value):.{digits}g}"
        if len(text) <= 16:
            return text
    raise ValueError(value)


ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"


def write_enhanced(data: np.ndarray, affine: np.ndarray, path: str, acq: Acquisition) -> None:
    """The same slices as :func:`write_series`, as the frames of one enhanced MR file."""
    from pydicom.sequence import Sequence

    lps = LPS @ affine
    cols, rows, slices = voxel_grid(acq, data.shape)
    step_col = lps[:3, acq.column_axis]
    step_row = lps[:3, acq.row_axis] * (-1 if acq.flip_rows else 1)
    planes, frames = [], []
    for s in slices:
        index = np.zeros(3, dtype=int)
        index[acq.slice_axis], index[acq.column_axis], index[acq.row_axis] = s, cols[0], rows[0]
        planes.append(_plane(data, acq, cols, rows, s))
        position, content = Dataset(), Dataset()
        position.ImagePositionPatient = [_ds(v) for v in lps[:3, :3] @ index + lps[:3, 3]]
        content.InStackPositionNumber, content.StackID = len(frames) + 1, "1"
        frame = Dataset()
        frame.PlanePositionSequence, frame.FrameContentSequence = Sequence([position]), Sequence([content])
        frames.append(frame)
    ds = _dataset(planes[0], lps[:3, 3], step_col, step_row, acq, generate_uid(), 1)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = ENHANCED_MR_STORAGE
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness"):
        delattr(ds, keyword)
    orientation, measures, shared = Dataset(), Dataset(), Dataset()
    orientation.ImageOrientationPatient = [_ds(v) for v in (*_unit(step_col), *_unit(step_row))]
    measures.PixelSpacing = [_ds(np.linalg.norm(step_row)), _ds(np.linalg.norm(step_col))]
    measures.SliceThickness = "1"
    shared.PlaneOrientationSequence, shared.PixelMeasuresSequence = (
        Sequence([orientation]),
        Sequence([measures]),
    )
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.NumberOfFrames = len(planes)
    ds.PixelData = np.ascontiguousarray(np.stack(planes).astype("<u2")).tobytes()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
