"""The common NIfTI headers read without nibabel: ``import nibabel`` is about a third of a run's start.

nibabel's package import loads every format it knows (and pydicom when installed, for the DICOM
extensions of NIfTI files): 0.07-0.17 s of a command's 0.3 s start-up (issue 23). Headers that say what
nearly every file says (a single-file magic, a plain numeric datatype, an sform, a finite or absent
scaling) give here exactly the values nibabel's header methods give; :func:`plain_fields` returns None
for any other, which :mod:`nidataset.io.nifti` then reads through nibabel as before.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

#: NIfTI datatype codes read here, as nibabel maps them (``nibabel.nifti1.data_type_codes``).
PLAIN_DTYPES = {
    2: "u1",
    4: "i2",
    8: "i4",
    16: "f4",
    64: "f8",
    256: "i1",
    512: "u2",
    768: "u4",
    1024: "i8",
    1280: "u8",
}
#: NIFTI_INTENT_CONNECTIVITY_*: CIFTI-2 matrices, not volumes (both header readers refuse them).
CIFTI_INTENTS = range(3000, 3100)


@dataclass(frozen=True)
class _Layout:
    """Where one header version keeps its fields (struct formats without the byte order)."""

    magic: tuple[int, bytes]  # offset, the single-file magic
    datatype: tuple[int, str]
    dim: tuple[int, str]
    pixdim: tuple[int, str]
    vox_offset: tuple[int, str]
    scaling: tuple[int, str]  # scl_slope, scl_inter
    codes: tuple[int, str]  # qform_code, sform_code
    srows: tuple[int, str]  # srow_x, srow_y, srow_z
    intent_code: tuple[int, str]


_LAYOUTS = {
    348: _Layout((344, b"n+1\0"), (70, "h"), (40, "8h"), (76, "8f"), (108, "f"), (112, "2f"), (252, "2h"),
                 (280, "12f"), (68, "h")),
    540: _Layout((4, b"n+2\0"), (12, "h"), (16, "8q"), (104, "8d"), (168, "q"), (176, "2d"),
                 (344, "2i"), (400, "12d"), (504, "i")),
}  # fmt: skip


@dataclass(frozen=True)
class PlainFields:
    """What :mod:`nidataset.io.nifti` takes from a header, as nibabel's header methods give it."""

    dim: tuple[int, ...]
    dtype: np.dtype
    slope: float | None
    inter: float | None
    vox_offset: float
    affine: np.ndarray  # the sform, as ``get_best_affine()`` gives it when sform_code is not 0
    zooms: tuple[float, ...]  # ``get_zooms()``
    codes: tuple[int, int]  # qform_code, sform_code


def plain_fields(block: bytes, endianness: str) -> PlainFields | None:
    """The fields of a NIfTI-1 or NIfTI-2 header ``block`` in byte order ``endianness`` ("<" or ">"),
    or None when the header is not one of the common kind this module reads (see the module's note)."""
    layout = _LAYOUTS.get(len(block))
    if layout is None or block[layout.magic[0] : layout.magic[0] + len(layout.magic[1])] != layout.magic[1]:
        return None

    def read(field: tuple[int, str]) -> tuple[int | float, ...]:
        return struct.unpack_from(endianness + field[1], block, field[0])

    code = int(read(layout.datatype)[0])
    qform_code, sform_code = (int(c) for c in read(layout.codes))
    if code not in PLAIN_DTYPES or sform_code == 0 or int(read(layout.intent_code)[0]) in CIFTI_INTENTS:
        return None  # other dtypes, the qform or the base affine, CIFTI refusals: nibabel's path
    dim = tuple(int(d) for d in read(layout.dim))
    slope, inter = (float(v) for v in read(layout.scaling))
    if slope == 0 or not math.isfinite(slope):
        slope = inter = None  # type: ignore[assignment]  # nibabel: no valid scaling
    elif not math.isfinite(inter):
        return None  # nibabel refuses it, with its own words
    ndim = dim[0]
    pixdim = read(layout.pixdim)
    return PlainFields(
        dim,
        np.dtype(PLAIN_DTYPES[code]).newbyteorder(endianness),  # type: ignore[arg-type]  # "<" or ">"
        slope,
        inter,
        float(read(layout.vox_offset)[0]),
        _sform(read(layout.srows)),
        (1.0,) if ndim == 0 else tuple(float(p) for p in pixdim[1 : ndim + 1]),
        (qform_code, sform_code),
    )


def _sform(rows: tuple[int | float, ...]) -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :] = np.array(rows, dtype=np.float64).reshape(3, 4)
    return affine
