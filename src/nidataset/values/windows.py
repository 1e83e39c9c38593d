"""Display windows (SPEC Part 2): the DICOM linear VOI function, its presets, and "auto".

Pure numpy. A window ``(center, width)`` maps real values (scaling applied) to ``0 .. max`` with
``max`` 255 (``bits=8``) or 65535 (``bits=16``), as DICOM PS3.3 C.11.2.1.2.1 writes it::

    x <= c - 0.5 - (w - 1) / 2   ->  0
    x >  c - 0.5 + (w - 1) / 2   ->  max
    otherwise                    ->  ((x - (c - 0.5)) / (w - 1) + 0.5) * max

rounded to the nearest integer (halves up). NaN maps to 0. ``"auto"`` takes, per volume, the 0.5 and
99.5 percentiles of the finite values as the two bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: SPEC Part 2's presets, (center, width) in the volume's real units (Hounsfield units for CT). They
#: are these numbers, not clinical advice.
PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40, 80),
    "subdural": (75, 215),
    "stroke": (40, 40),
    "bone": (480, 2500),
    "soft_tissue": (50, 350),
    "lung": (-600, 1500),
    "liver": (60, 160),
    "mediastinum": (50, 350),
}
AUTO_PERCENTILES = (0.5, 99.5)


@dataclass(frozen=True)
class Window:
    """A window ready to apply: center, width (at least 1) and output bits."""

    center: float
    width: float
    bits: int = 8

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.bits == 8 else np.uint16)

    @property
    def maximum(self) -> int:
        return (1 << self.bits) - 1

    @property
    def bounds(self) -> tuple[float, float]:
        """(lower, upper): values at or below lower give 0, above upper give the maximum."""
        half = (self.width - 1) / 2
        return self.center - 0.5 - half, self.center - 0.5 + half

    @property
    def description(self) -> str:
        """As the manifest's ``value_map`` records it, e.g. ``window c=40 w=80 uint8``."""
        return f"window c={self.center:g} w={self.width:g} {self.dtype.name}"

    def apply(self, values: np.ndarray) -> np.ndarray:
        """The windowed image of real ``values``, in :attr:`dtype`.

        >>> Window(40, 80).apply(np.array([-1.0, 0.5, 40.0, 79.0, 79.5, np.nan])).tolist()
        [0, 2, 129, 255, 255, 0]
        """
        lower, upper = self.bounds
        x = np.asarray(values, dtype=np.float64)
        if self.width <= 1:  # both bounds are c - 0.5: a step
            scaled = np.where(x > upper, float(self.maximum), 0.0)
        else:
            scaled = ((x - (self.center - 0.5)) / (self.width - 1) + 0.5) * self.maximum
            scaled = np.floor(np.clip(scaled, 0, self.maximum) + 0.5)
            scaled[x <= lower] = 0
            scaled[x > upper] = self.maximum
        scaled[np.isnan(x)] = 0
        return scaled.astype(self.dtype)


def auto_window(volume: np.ndarray, bits: int = 8, slope: float | None = None, inter: float = 0.0) -> Window:
    """The window whose bounds are the 0.5 and 99.5 percentiles of the volume's finite real values.

    >>> auto_window(np.arange(1001.0)).bounds
    (5.0, 995.0)
    """
    values = np.asarray(volume)
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    if values.size == 0:
        return Window(0.5, 1.0, bits)
    low, high = percentiles(values, AUTO_PERCENTILES)
    if slope is not None:
        low, high = sorted((low * slope + inter, high * slope + inter))
    width = max(float(high - low) + 1, 1.0)
    return Window(float(low + high) / 2 + 0.5, width, bits)


def percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(values, qs)`` (linear interpolation between order statistics), exactly.

    Integers of at most 16 bits are counted in one pass instead of partitioned: on a 512 x 512 x 160
    int16 volume 0.14 s instead of 0.34 s, which matters when every volume gets an auto window.

    >>> values = np.array([5, -3, 7, 7, 100, 0], dtype=np.int16)
    >>> percentiles(values, (0.5, 50, 99.5)) == np.percentile(values, (0.5, 50, 99.5)).tolist()
    True
    """
    if values.dtype.kind not in "iub" or values.dtype.itemsize > 2:
        return [float(v) for v in np.percentile(values, qs)]
    offset = 0 if values.dtype.kind in "ub" else 1 << (8 * values.dtype.itemsize - 1)
    cumulative = np.cumsum(value_counts(values))
    found = []
    for q in qs:
        rank = (values.size - 1) * q / 100
        below, above = int(np.floor(rank)), int(np.ceil(rank))
        low = int(np.searchsorted(cumulative, below, side="right")) - offset
        high = int(np.searchsorted(cumulative, above, side="right")) - offset
        found.append(low + (high - low) * (rank - below))
    return found


def value_counts(values: np.ndarray) -> np.ndarray:
    """How many times each value of an integer array of at most 16 bits occurs, indexed by the value
    (signed dtypes: by the value plus 2**(bits - 1)).

    Counted 1 M values at a time: bincount converts to 8-byte integers, and one conversion of a whole
    CT volume (336 MB, fresh pages) took 1.2 s against 0.09 s in chunks.

    >>> value_counts(np.array([[-1, 1], [1, 1]], dtype=np.int8))[[127, 129]].tolist()
    [1, 3]
    """
    assert values.dtype.kind in "iub" and values.dtype.itemsize <= 2, values.dtype
    signed = values.dtype.kind == "i"
    counts = np.zeros(1 << (8 * values.dtype.itemsize), dtype=np.int64)
    flat = values.ravel(order="K")  # a view of any contiguous volume: the order does not matter
    flat = flat.view(unsigned(values.dtype))  # signed: two's complement, rotated below
    for start in range(0, flat.size, 1 << 20):
        counts += np.bincount(flat[start : start + (1 << 20)], minlength=counts.size)
    return np.roll(counts, counts.size // 2) if signed else counts


def unsigned(dtype: np.dtype) -> np.dtype:
    """The unsigned integer dtype of ``dtype``'s width: its bits read as indices of a table."""
    return np.dtype(f"u{dtype.itemsize}")


def window_for(window: str | tuple[float, float], bits: int) -> Window | None:
    """The fixed window a preset or ``(center, width)`` names; None for ``"auto"`` (per volume)."""
    if window == "auto":
        return None
    center, width = PRESETS[window] if isinstance(window, str) else window
    return Window(float(center), float(width), bits)
