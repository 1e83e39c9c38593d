"""What every volume source shares: the whole volume and axial slabs from ``read``, and use as a
context manager. A reader (:class:`~nidataset.io.readers.VolumeSource`) implements ``read`` and, where
it has something to check or release, ``finish`` and ``close``."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TypeVar

import numpy as np

from .readers import Header

_S = TypeVar("_S", bound="SourceBase")


class SourceBase:
    """What every source here shares: the whole volume, axial slabs, and use as a context manager."""

    path: str
    header: Header

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what the source holds."""

    def finish(self) -> None:
        """Check what is left of the input, once everything has been read."""

    def read(self, voxels: int, into: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def volume(self, into: np.ndarray | None = None) -> np.ndarray:
        """The whole volume, (X, Y, Z) in Fortran order, stored dtype."""
        data = self.read(math.prod(self.header.shape), into).reshape(self.header.shape, order="F")
        self.finish()
        return data

    def slabs(self, slices_per_slab: int) -> Iterator[np.ndarray]:
        """Consecutive (X, Y, k) blocks of axial slices."""
        x, y, z = self.header.shape
        for start in range(0, z, slices_per_slab):
            count = min(slices_per_slab, z - start)
            yield self.read(x * y * count).reshape((x, y, count), order="F")
        self.finish()
