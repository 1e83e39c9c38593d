"""A few stored slices of a volume file without decoding the rest of it.

Slices across the last stored axis (the axial view of most volumes) are contiguous in a NIfTI file:
slices ``k .. k + n`` are one run of bytes, read through the file's gzip seek points
(:mod:`~nidataset.sliceset.seekpoints`) or, uncompressed, by seeking.
"""

from __future__ import annotations

import numpy as np

from ..annotations.objects import integer_labels
from ..errors import VolumeError
from ..io.streams import GZIP_MAGIC
from ..io.volumes import read_header
from .seekpoints import GzipIndex


class SlabReader:
    """Runs of stored slices along the last axis of the volume file ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.header = read_header(path)
        with open(path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
        self.index = GzipIndex(path) if compressed else None

    @property
    def nbytes(self) -> int:
        return 0 if self.index is None else self.index.nbytes

    def slab(self, first: int, count: int) -> np.ndarray:
        """Stored slices ``first .. first + count - 1`` along the last axis: (X, Y, count), stored dtype."""
        x, y, _ = self.header.shape
        plane = x * y * self.header.dtype.itemsize
        start, size = self.header.offset + first * plane, count * plane
        if self.index is not None:
            data = self.index.read(start, size)
        else:
            with open(self.path, "rb") as raw:
                raw.seek(start)
                data = raw.read(size)
        if len(data) < size:
            raise VolumeError("truncated: the file ends before its voxels do (it changed since it was read)")
        return np.frombuffer(data, dtype=self.header.dtype).reshape((x, y, count), order="F")

    def labels(self, first: int, count: int) -> np.ndarray:
        """:meth:`slab` as the mask images hold it: integer labels, at least 0."""
        header = self.header
        labels = integer_labels(self.slab(first, count), header.slope, header.inter)
        return labels if labels.dtype.kind in "ub" else np.maximum(labels, 0)
