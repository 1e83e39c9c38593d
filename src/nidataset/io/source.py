"""What every volume source shares: the whole volume and axial slabs from ``read``, and use as a
context manager. A reader (:class:`~nidataset.io.readers.VolumeSource`) implements ``read`` and, where
it has something to check or release, ``finish`` and ``close``."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TypeVar

import numpy as np

from ..errors import VolumeError
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

    def slabs(self, slices_per_slab: int, buffers: Sequence[np.ndarray] = ()) -> Iterator[np.ndarray]:
        """Consecutive (X, Y, k) blocks of axial slices, read into ``buffers`` in turn when given (uint8,
        a slab's bytes each; the caller is done with a slab before its buffer comes round again): a
        fresh array per slab would cost its first-touch page faults every time."""
        x, y, z = self.header.shape
        for number, start in enumerate(range(0, z, slices_per_slab)):
            count = min(slices_per_slab, z - start)
            into = buffers[number % len(buffers)] if buffers else None
            yield self.read(x * y * count, into).reshape((x, y, count), order="F")
        self.finish()


def volume_shape(sizes: list[int], what: str = "") -> tuple[int, int, int]:
    """SPEC.md's dimension rules for every format: trailing 1s dropped, 2D as (X, Y, 1), else 3D only;
    ``what`` names the format in the reason ("the NRRD header"; NIfTI's says "the header").

    >>> volume_shape([4, 5, 6, 1], "NRRD"), volume_shape([4, 5], "NRRD")
    ((4, 5, 6), (4, 5, 1))
    """
    shape = [int(s) for s in sizes]
    if not shape or min(shape) <= 0:
        raise VolumeError(
            f"empty or invalid dimensions {tuple(shape)} in the {what + ' ' if what else ''}header"
        )
    while len(shape) > 3 and shape[-1] == 1:
        shape.pop()
    if len(shape) == 2:
        shape.append(1)
    if len(shape) != 3:
        raise VolumeError(f"{len(shape)}D image of shape {tuple(shape)}; only 3D volumes are sliced")
    return shape[0], shape[1], shape[2]
