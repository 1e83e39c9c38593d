"""The TIFF dtype policy of SPEC.md: the narrowest dtype that holds every value exactly.

Pure numpy. :func:`plan_values` decides the output dtype from the header alone;
:func:`check_values` looks at the voxels and refuses what cannot be written without changing a value;
:func:`output_slice` applies the scaling. Nothing here rescales, clips or windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import VolumeError

_F32_MAX = float(np.finfo(np.float32).max)
_F32_EXACT_INT = 2**24  # every integer up to this magnitude is exact in float32

#: Stored dtypes written as they are; the rest map to the narrowest TIFF dtype Pillow opens.
_KEPT = {np.dtype(t) for t in ("uint8", "int16", "uint16", "int32", "float32")}
_WIDENED: dict[np.dtype, np.dtype] = {
    np.dtype("bool"): np.dtype("uint8"),
    np.dtype("int8"): np.dtype("int16"),
}
_NARROWED_INT = {np.dtype(t) for t in ("uint32", "int64", "uint64")}  # to int32 when values fit


@dataclass(frozen=True)
class ValuePlan:
    """How stored voxels become TIFF pixels.

    ``stored`` is the native-byte-order stored dtype, ``output`` the TIFF dtype; ``slope`` is None
    when the header asks for no scaling.
    """

    stored: np.dtype
    output: np.dtype
    slope: float | None = None
    inter: float = 0.0
    exact: bool = True  # False in "float32" mode: the user asked for float32 rounding

    @property
    def stack_dtype(self) -> np.dtype:
        """Dtype of the slice-major copy: the output, or the stored values when scaling follows."""
        return self.stored if self.slope is not None else self.output


def plan_values(
    stored: np.dtype,
    slope: float | None,
    inter: float | None,
    pad_value: float | None,
    mode: str = "auto",
) -> ValuePlan:
    """Choose the TIFF dtype for a volume from its header; raise VolumeError if none can hold it.

    ``pad_value`` is None when no padding is asked for.

    >>> plan_values(np.dtype(">i2"), None, None, None).output
    dtype('int16')
    >>> plan_values(np.dtype("uint8"), None, None, -1024.0).output
    dtype('float32')
    """
    native = stored.newbyteorder("=")
    refuse_unsupported(native, "a TIFF slice holds one real value per pixel")
    exact = mode != "float32"
    unscaled = slope is None or (slope, inter or 0.0) == (1.0, 0.0)
    output = _float32 if (mode == "float32" or not unscaled) else _auto_dtype(native)
    if pad_value is not None and not _holds(output, pad_value):
        output = _float32
    if slope is None or unscaled:
        return ValuePlan(native, output, exact=exact)
    return ValuePlan(native, output, float(slope), float(inter or 0.0), exact=exact)


_float32 = np.dtype("float32")


def refuse_unsupported(dtype: np.dtype, why: str) -> None:
    """Raise VolumeError for voxels that are not real scalars; ``why`` ends the reason.

    >>> refuse_unsupported(np.dtype("complex64"), "annotations need integer labels")
    Traceback (most recent call last):
    ...
    nidataset.errors.VolumeError: complex voxels (complex64); annotations need integer labels
    """
    if dtype.fields is not None or dtype.kind == "V":
        raise VolumeError(f"RGB or structured voxels ({dtype}); {why}")
    if dtype.kind == "c":
        raise VolumeError(f"complex voxels ({dtype}); {why}")
    if dtype.kind not in "biuf":
        raise VolumeError(f"unsupported voxel type {dtype}; {why}")


def _auto_dtype(dtype: np.dtype) -> np.dtype:
    if dtype in _KEPT:
        return dtype
    if dtype in _WIDENED:
        return _WIDENED[dtype]
    if dtype in _NARROWED_INT:
        return np.dtype("int32")
    return _float32  # float16, float64, longdouble


def _holds(dtype: np.dtype, value: float) -> bool:
    """Whether ``value`` is exactly representable in ``dtype``."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return float(value).is_integer() and info.min <= value <= info.max
    return True  # float32 is as wide as any TIFF slice gets; rounding is accepted there


def check_values(block: np.ndarray, plan: ValuePlan) -> None:
    """Raise VolumeError if some voxel of ``block`` (stored dtype) cannot be written under ``plan``."""
    if block.size == 0:
        return
    if plan.slope is not None:
        _check_scaled(block, plan.slope, plan.inter)
    elif np.can_cast(plan.stored, plan.output):
        return
    elif plan.output.kind in "iu":
        _check_int_range(block, plan.output)
    elif plan.stored.kind == "f":
        _check_float_range(block)
    elif plan.exact:
        _check_exact_in_float32(block)


def _check_int_range(block: np.ndarray, output: np.dtype) -> None:
    low, high = int(block.min()), int(block.max())
    info = np.iinfo(output)
    if low < info.min or high > info.max:
        raise VolumeError(
            f"values from {low} to {high} do not fit {output}, the widest integer TIFF that Pillow opens"
        )


def _finite_bounds(block: np.ndarray) -> tuple[float, float] | None:
    finite = block[np.isfinite(block)] if block.dtype.kind == "f" else block
    if finite.size == 0:
        return None
    return float(finite.min()), float(finite.max())


def _check_float_range(block: np.ndarray) -> None:
    bounds = _finite_bounds(block)
    if bounds and max(abs(bounds[0]), abs(bounds[1])) > _F32_MAX:
        raise VolumeError(f"finite values up to {max(map(abs, bounds)):.6g} exceed float32's range")


def _check_scaled(block: np.ndarray, slope: float, inter: float) -> None:
    bounds = _finite_bounds(block)
    if bounds is None:
        return
    ends = [bound * slope + inter for bound in bounds]
    if max(abs(end) for end in ends) > _F32_MAX:
        raise VolumeError(f"scaled values up to {max(map(abs, ends)):.6g} exceed float32's range")


def _check_exact_in_float32(block: np.ndarray) -> None:
    low, high = int(block.min()), int(block.max())
    if max(-low, high) <= _F32_EXACT_INT:
        return
    if not np.array_equal(block.astype(np.float32).astype(np.float64), block.astype(np.float64)):
        raise VolumeError(
            f"integers up to {max(-low, high)} cannot be held exactly by float32 "
            "(float32 is needed for the pad_value or asked for)"
        )


def real_values(stacked: np.ndarray, plan: ValuePlan) -> np.ndarray:
    """The real values of stacked voxels in float64, scaling applied: what a window maps."""
    values = stacked.astype(np.float64)
    if plan.slope is not None:
        values = values * plan.slope + plan.inter
    return values


def output_slice(stacked: np.ndarray, plan: ValuePlan) -> np.ndarray:
    """One slice in its TIFF dtype. ``stacked`` is already in ``plan.output`` unless scaled.

    Scaling is computed in float64, then rounded to float32: the float32 of nibabel's ``get_fdata()``.
    """
    if plan.slope is None:
        return stacked
    return (stacked.astype(np.float64) * plan.slope + plan.inter).astype(np.float32)
