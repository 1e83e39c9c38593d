"""The input formats: one table of readers, chosen by suffix, each returning a :class:`VolumeSource`.

Everything that finds, names or opens an input reads :data:`INPUT_FORMATS`: which names are inputs
and their prefixes (:func:`prefix_of`, re-exported by :mod:`nidataset.naming`), the folders' listings
(:mod:`nidataset.io.volumes`) and :func:`open_volume`. A new input format is one module with a reader
and one :func:`register_input_format` line; nothing else changes.

This module imports neither numpy nor nibabel: a format's ``open`` imports its reader on first use.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..errors import VolumeError

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Header:
    """What a volume's header says about the voxels :meth:`VolumeSource.read` returns.

    ``shape`` is (X, Y, Z) after SPEC.md's dimension rules, ``dtype`` the dtype of what ``read``
    returns (with its byte order), ``slope``/``inter`` the scaling to real values (None: none),
    ``offset`` the byte offset of the voxels in the file (NIfTI's vox_offset; 0 where it means nothing).
    """

    shape: tuple[int, int, int]
    dtype: np.dtype
    slope: float | None
    inter: float | None
    offset: int = 0
    #: The voxel-to-world affine (as ``nib.load(path).affine`` for NIfTI); None when unusable.
    affine: np.ndarray | None = field(default=None, compare=False)
    #: Voxel sizes along the three stored axes, in the header's units (usually mm).
    spacing: tuple[float, float, float] | None = None
    #: The name of the input format that read it (a key of :data:`INPUT_FORMATS`).
    format: str = "nifti"
    #: Extra facts a report may show, as (name, value) pairs, e.g. ``(("modality", "CT"),)``.
    details: tuple[tuple[str, str], ...] = ()
    #: The header's space codes ``(qform_code, sform_code)``, which reassembly writes back (None:
    #: the format has none; reassembly then writes an aligned sform).
    codes: tuple[int, int] | None = field(default=None, compare=False)

    @property
    def nbytes(self) -> int:
        """Bytes of the whole volume in ``dtype``."""
        return math.prod(self.shape) * self.dtype.itemsize


class VolumeSource(Protocol):
    """One input volume opened for a single front-to-back read; what every input format returns.

    Every problem of the input is a :class:`~nidataset.errors.VolumeError` with a one-line reason.
    """

    path: str
    header: Header

    def read(self, voxels: int, into: np.ndarray | None = None) -> np.ndarray:
        """The next ``voxels`` voxels in Fortran (X fastest) order, 1D, in ``header.dtype``.

        ``into`` is a uint8 buffer the reader may read into and return a view of.
        """
        ...

    def volume(self, into: np.ndarray | None = None) -> np.ndarray:
        """The whole volume, (X, Y, Z) in Fortran order, in ``header.dtype``; then :meth:`finish`."""
        ...

    def slabs(self, slices_per_slab: int, buffers: Sequence[np.ndarray] = ()) -> Iterator[np.ndarray]:
        """Consecutive (X, Y, k) Fortran-ordered blocks of axial slices, read into ``buffers`` (uint8)
        in turn when given; :meth:`finish` after the last."""
        ...

    def finish(self) -> None:
        """Check what is left of the input (a gzip CRC, a length), once everything has been read."""
        ...

    def close(self) -> None:
        """Release the input's files."""
        ...

    def __enter__(self) -> VolumeSource: ...

    def __exit__(self, *exc: object) -> None: ...


@dataclass(frozen=True)
class InputFormat:
    """One input format: its name, the suffixes of its files, and how to open one.

    ``suffixes`` are matched in any case; ``open(path)`` returns a :class:`VolumeSource`.
    ``claims_folder(path)`` says whether a folder is one input of this format (a DICOM series), or
    whether a path without a registered suffix is one of the inputs ``folder_inputs(folder)`` lists
    for a claimed folder holding several (``<folder>_<key>`` beside it); None for formats whose
    inputs are files. ``named`` says whether the run report names the format of a volume read in it
    (every format but NIfTI, the one the slice functions were written for). ``seek_points`` says
    whether a compressed file of this format is one gzip stream of the voxels after a header, which
    :class:`~nidataset.SliceDataset` can index to read a slab without decompressing the whole file.
    """

    name: str
    suffixes: tuple[str, ...]
    open: Callable[[str], VolumeSource]
    claims_folder: Callable[[str], bool] | None = None
    folder_inputs: Callable[[str], list[str]] | None = None
    named: bool = True
    seek_points: bool = False


def _open_nifti(path: str) -> VolumeSource:
    from .nifti import NiftiReader  # numpy and nibabel are imported when a volume is opened

    return NiftiReader(path)


def _open_nrrd(path: str) -> VolumeSource:
    from .nrrd_volume import open_nrrd

    return open_nrrd(path)


def _open_metaimage(path: str) -> VolumeSource:
    from .metaimage import open_metaimage

    return open_metaimage(path)


def _open_dicom(path: str) -> VolumeSource:
    from .dicom import open_series

    return open_series(path)


def _claims_dicom(path: str) -> bool:
    from .dicom import claims_folder  # reads a few bytes of each file; pydicom only for a series path

    return claims_folder(path)


def _dicom_inputs(folder: str) -> list[str]:
    from .dicom import series_inputs

    return series_inputs(folder)


#: The input formats by name, in the order they are tried; NIfTI first (the default for any name).
INPUT_FORMATS: dict[str, InputFormat] = {
    "nifti": InputFormat("nifti", (".nii.gz", ".nii"), _open_nifti, named=False, seek_points=True),
    "nrrd": InputFormat("nrrd", (".nrrd", ".nhdr"), _open_nrrd),
    "metaimage": InputFormat("metaimage", (".mha", ".mhd"), _open_metaimage),
    "dicom": InputFormat("dicom", (), _open_dicom, _claims_dicom, _dicom_inputs),
}


def register_input_format(record: InputFormat) -> None:
    """Add ``record`` to :data:`INPUT_FORMATS` (replacing a format of the same name)."""
    INPUT_FORMATS[record.name] = record


def input_suffixes() -> tuple[str, ...]:
    """Every registered suffix, longest first, so that ``a.nii.gz`` loses ``.nii.gz`` and not ``.gz``."""
    suffixes = {suffix.lower() for record in INPUT_FORMATS.values() for suffix in record.suffixes}
    return tuple(sorted(suffixes, key=lambda suffix: (-len(suffix), suffix)))


def describe_inputs() -> str:
    """What an input is, for a message: ``.nii.gz or .nii file`` (and the formats that claim folders).

    >>> describe_inputs()
    '.nii.gz, .nii, .nrrd, .nhdr, .mha or .mhd file and no DICOM folder'
    """
    suffixes = [suffix for record in INPUT_FORMATS.values() for suffix in record.suffixes]
    folders = [record.name.upper() for record in INPUT_FORMATS.values() if record.claims_folder is not None]
    files = f"{_either(suffixes)} file" if suffixes else ""
    return " and no ".join(part for part in (files, f"{_either(folders)} folder" if folders else "") if part)


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def prefix_of(filename: str) -> str:
    """The file name without its input suffix, in any case: the prefix of every output name.

    A name with no registered suffix (a folder claimed by a format) is its own prefix.

    >>> prefix_of("case_001.nii.gz"), prefix_of("case_001.nii"), prefix_of("Case_001.NII.GZ")
    ('case_001', 'case_001', 'Case_001')
    """
    lowered = filename.lower()
    for suffix in input_suffixes():
        if lowered.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return filename


def is_input_name(filename: str) -> bool:
    """Whether a file of a dataset folder is an input: a registered suffix, not hidden.

    Hidden files, such as macOS ``._case.nii.gz``, are not inputs.

    >>> is_input_name("case_001.nii.gz"), is_input_name("._case_001.nii.gz"), is_input_name(".nii")
    (True, False, False)
    """
    return not filename.startswith(".") and prefix_of(filename) != filename


def claimed_folder(path: str) -> InputFormat | None:
    """The format that claims the folder ``path`` as one input, or None (a folder no format claims)."""
    for record in INPUT_FORMATS.values():
        if record.claims_folder is not None and record.claims_folder(path):
            return record
    return None


def folder_inputs(path: str) -> list[str]:
    """The inputs of a claimed folder: the folder itself, or the several its format lists."""
    record = claimed_folder(path) if os.path.isdir(path) else None
    if record is None or record.folder_inputs is None:
        return [path]
    return record.folder_inputs(path)


def owner_of(path: str) -> str:
    """The path whose state (size, time) stands for an input: itself, or for one of a folder's several
    inputs (``<folder>_<key>``, which does not exist) that folder."""
    if os.path.exists(path):
        return path
    head = path.rpartition("_")[0]
    return head if head and os.path.isdir(head) and claimed_folder(path) else path


def format_of(path: str) -> InputFormat:
    """The format that opens ``path``: the one claiming it as a folder, else by its longest matching
    suffix, else the first (NIfTI, whose reader then says what the file is not)."""
    claimed = claimed_folder(path)
    if claimed is not None:
        return claimed
    lowered = os.path.basename(path).lower()
    by_suffix = [(suffix.lower(), record) for record in INPUT_FORMATS.values() for suffix in record.suffixes]
    for suffix, record in sorted(by_suffix, key=lambda pair: -len(pair[0])):
        if lowered.endswith(suffix):
            return record
    return next(iter(INPUT_FORMATS.values()))


def open_volume(path: str) -> VolumeSource:
    """``path`` opened by its format's reader, the header parsed; a context manager.

    >>> import tempfile, numpy as np, nibabel as nib
    >>> path = tempfile.mkdtemp() + "/v.nii.gz"
    >>> nib.save(nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4)), path)
    >>> with open_volume(path) as source:
    ...     volume = source.volume()
    >>> volume.shape, int(volume[1, 2, 3]), source.header.format
    ((2, 3, 4), 23, 'nifti')
    """
    try:
        return format_of(path).open(path)
    except VolumeError:
        raise
    except (ValueError, OverflowError) as error:  # a header value a reader could not use: int("two")
        raise VolumeError(_invalid_header(error)) from None


def _invalid_header(error: Exception) -> str:
    """One line for a value a format's reader could not use (``int("two")``), naming what failed."""
    detail = str(error).splitlines()[0] if str(error) else ""
    return f"has an invalid header ({type(error).__name__}{': ' + detail if detail else ''})"


def read_header(path: str) -> Header:
    """Only the header of ``path`` (for NIfTI a few hundred bytes, whatever vox_offset says)."""
    with open_volume(path) as source:
        return source.header
