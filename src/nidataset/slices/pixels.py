"""Pixel values: how the stored voxels of one volume become the pixels of its images.

Shared by the slice job and the training-set builder: the dtype policy's plan (:mod:`nidataset.dtypes`)
or a window on the real values (:mod:`nidataset.windows`); resampling and padding come from each
view's :class:`~nidataset.geometry.frame.SliceFrame`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from ..dtypes import ValuePlan, check_values, output_slice, plan_values, real_values
from ..geometry.frame import SliceFrame
from ..io.volumes import Header
from ..windows import Window, auto_window, unsigned, window_for


class PixelOptions(Protocol):
    """The options pixel values depend on."""

    @property
    def target_size(self) -> tuple[int, int] | None: ...

    @property
    def pad_value(self) -> float | str: ...

    @property
    def dtype(self) -> str: ...

    @property
    def window(self) -> str | tuple[float, float] | None: ...

    @property
    def bits(self) -> int: ...

    @property
    def image_format(self) -> str: ...


@dataclass(frozen=True)
class Pixels:
    """How the stored voxels of one volume become the pixels written: the dtype policy's plan, or a
    window on the real values; resampling and padding come from each view's frame."""

    plan: ValuePlan
    window: Window | None
    pad_value: float

    @property
    def dtype(self) -> np.dtype:
        return self.plan.output if self.window is None else self.window.dtype

    @property
    def value_map(self) -> str:
        return "identity" if self.window is None else self.window.description

    @property
    def stack_dtype(self) -> np.dtype:
        return stack_dtype(self.plan, self.window is not None)

    def check(self, block: np.ndarray) -> None:
        """Refuse values the dtype policy cannot write (a window takes any value)."""
        if self.window is None:
            check_values(block, self.plan)

    def image(self, stored: np.ndarray, frame: SliceFrame) -> np.ndarray:
        """One slice of the stack as written."""
        if self.window is None:
            return frame.pad(frame.resample(output_slice(stored, self.plan)), self.pad_value)
        pad = self.window.apply(np.array([self.pad_value]))[0]
        table = None if frame.resampled or stored.dtype != self.plan.stored else self.lookup
        if table is not None:  # the same formula on the same values, once per possible value
            return frame.pad(np.take(table, stored.view(unsigned(stored.dtype))), pad)
        real = frame.resample(real_values(stored, self.plan), np.dtype(np.float64))
        return frame.pad(self.window.apply(real), pad)

    @cached_property
    def lookup(self) -> np.ndarray | None:
        """The windowed pixel of every stored value of an 8- or 16-bit integer volume, indexed by its
        bits read as unsigned: 30x faster on a CT slice than windowing its float64 values, and equal
        to them by construction. None for other dtypes (and without a window)."""
        stored = self.plan.stored
        if self.window is None or stored.kind not in "iu" or stored.itemsize > 2 or not stored.isnative:
            return None
        codes = np.arange(1 << (8 * stored.itemsize), dtype=unsigned(stored)).view(stored)
        return self.window.apply(real_values(codes, self.plan))


def stack_dtype(plan: ValuePlan, windowed: bool) -> np.dtype:
    """The slice-major copy's dtype: a window maps the stored values themselves, never a rounding."""
    return plan.stored if windowed else plan.stack_dtype


def value_plan(header: Header, options: PixelOptions) -> ValuePlan:
    """The dtype policy's plan for a volume (from its header alone)."""
    pad = options.pad_value if options.target_size is not None else None
    if isinstance(pad, str):  # "min", a value of the volume: whatever holds the volume holds it
        pad = None
    return plan_values(header.dtype, header.slope, header.inter, pad, options.dtype)


def pixels_for(plan: ValuePlan, options: PixelOptions, volume: np.ndarray | None = None) -> Pixels:
    """The pixels of a volume; ``window="auto"`` and ``pad_value="min"`` need its voxels (``volume``)."""
    window = None if options.window is None else window_for(options.window, options.bits)
    if options.window == "auto":
        assert volume is not None
        window = auto_window(volume, options.bits, plan.slope, plan.inter)
    pad = options.pad_value
    if pad == "min":
        pad = 0.0 if volume is None or options.target_size is None else smallest_value(volume, plan)
    return Pixels(plan, window, float(pad))


def needs_voxels(options: PixelOptions) -> bool:
    """Whether the pixels depend on the whole volume's voxels (read it before the first slice)."""
    return options.window == "auto" or (options.pad_value == "min" and options.target_size is not None)


def smallest_value(volume: np.ndarray, plan: ValuePlan) -> float:
    """The volume's smallest real value (NaN ignored; NaN when there is none): ``pad_value="min"``.

    >>> from nidataset.dtypes import plan_values
    >>> smallest_value(np.array([3, -2, 7], np.int16), plan_values(np.dtype(np.int16), -2.0, 1.0, None))
    -13.0
    """
    if volume.size == 0:
        return float("nan")
    ends = np.array([np.nanmin(volume), np.nanmax(volume)]) if volume.dtype.kind == "f" else None
    if ends is None:
        ends = np.array([volume.min(), volume.max()])
    return float(np.nanmin(real_values(ends, plan))) if not np.all(np.isnan(ends)) else float("nan")


def refuse_format(header: Header, options: PixelOptions) -> tuple[str, str] | None:
    """PNG holds uint8 and uint16 only: a volume whose values would be another dtype is refused."""
    if options.image_format != "png" or options.window is not None:
        return None
    dtype = value_plan(header, options).output
    if dtype in (np.dtype(np.uint8), np.dtype(np.uint16)):
        return None
    return (
        f"its values would be {dtype.name}",
        "image_format='png' holds uint8 or uint16 pixels: pass window= (8 or 16 bits), "
        "or keep image_format='tiff', which holds the values as they are",
    )


def recorded_values(header: Header, options: PixelOptions, chosen: str | None) -> tuple[str, str]:
    """(dtype, value_map) the manifest records for a volume's images, from its header; ``chosen``
    is the window an auto window chose for it (kept in its outcome)."""
    if options.window == "auto":
        return ("uint8" if options.bits == 8 else "uint16"), chosen or ""
    pixels = pixels_for(value_plan(header, options), options)
    return pixels.dtype.name, pixels.value_map
