"""The files of one view of one pair: images where the layout puts them, then each label format's.

Every output of a slice goes through the view's :class:`~nidataset.geometry.frame.SliceFrame` (the
mask's with nearest neighbour), so images, masks and labels line up pixel for pixel whatever the
orientation, spacing and padding. A writer takes blocks of slices (the whole volume, or the axial
slabs of a streamed pair) and the slice indices to write in them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np

from ..annotations.labels import SliceObject, run_counts, run_extent, slice_objects, value_runs
from ..annotations.objects import Objects
from ..geometry.frame import SliceFrame
from ..io.atomic import make_folder, reserve_temporary
from ..io.image_formats import image_format as image_format_record
from ..io.images import write_image
from ..naming import index_width, slice_filename
from ..values.pixels import Pixels
from .options import BuildOptions
from .plugins import LabelSlice
from .tables import LABEL_FORMATS, LAYOUTS


def plane_objects(labels: np.ndarray) -> list[SliceObject]:
    """One object per label value (> 0) of a label plane, in value order, with its COCO runs: extents
    and runs of every value come from one pass over the plane in column-major order (no pass over
    the volume, numpy alone, and the runs COCO needs are found on the way). Each object holds its
    pixels inside its extent (``shape`` given), not an image-sized mask.

    >>> plane = np.array([[0, 7], [3, 7]], np.int16)
    >>> [(o.label, o.rows, o.cols, o.area, o.counts, o.mask.shape) for o in plane_objects(plane)]
    [(3, (1, 1), (0, 0), 1, [1, 1, 2], (1, 1)), (7, (0, 1), (1, 1), 2, [2, 2], (2, 1))]
    """
    found = []
    shape = (int(labels.shape[0]), int(labels.shape[1]))
    for value, starts, stops in value_runs(labels):
        rows, cols = run_extent(starts, stops, labels.shape[0])
        counts = run_counts(starts, stops, labels.size)
        pixels = labels[rows[0] : rows[1] + 1, cols[0] : cols[1] + 1] == value
        found.append(SliceObject(value, rows, cols, pixels, shape, counts=counts))
    return found


class SliceWriter:
    """The files of one view of one pair: the images where the layout puts them, then each label
    format's files through :class:`~nidataset.training.plugins.LabelSlice`."""

    def __init__(
        self,
        options: BuildOptions,
        split: str | None,
        prefix: str,
        frame: SliceFrame,
        pixels: Pixels,
        written: list[str],
        objects: Callable[[], Objects] | None = None,
    ) -> None:
        self.options, self.split, self.prefix, self.frame, self.pixels = options, split, prefix, frame, pixels
        self.written = written
        self.components = objects  # the 3D components of the mask (components=True), found on first use
        self.layout = LAYOUTS[options.layout]
        self.nearest = replace(frame, method="nearest")
        self.width = index_width(frame.count)
        self._folders: dict[str, str] = {}
        self._found: dict[int, list[SliceObject]] = {}
        self.seen: set[int] = set()  # label values of the planes whose objects were found
        self.planes_seen = 0
        self._id_slices: np.ndarray | None = None
        self._label_of: dict[int, int] = {}

    def folder(self, kind: str) -> str:
        """The folder of a kind of file for this split, created on first use."""
        if kind not in self._folders:
            folder = os.path.join(self.options.output_path, self.layout.folder(kind, self.split))
            make_folder(folder)
            self._folders[kind] = folder
        return self._folders[kind]

    def write(
        self,
        stack: np.ndarray,
        label_slices: np.ndarray,
        first: int,
        indices: Iterable[int],
        entries: dict[str, list[object]],
    ) -> None:
        """Write slices ``indices`` of a block of slices: ``stack`` and ``label_slices`` are the
        block's images and labels as :meth:`~nidataset.geometry.frame.SliceFrame.slices` gives them
        (the whole volume, or an axial slab), ``first`` the slice index of the block's first slice."""
        formats = [LABEL_FORMATS[name] for name in self.options.labels]
        for index in indices:
            stem = slice_filename(self.prefix, self.frame.view, index, self.width, "x")[:-2]
            image_name = self.layout.image_name(stem, self.options.extension)
            image = self._image(stack, index - first)
            self._put(os.path.join(self.folder("images"), image_name), image)
            labels = self._mask(label_slices[index - first])
            for label_format in formats:
                kind = label_format.folder
                item = LabelSlice(
                    stem,
                    image_name,
                    self.split,
                    image.shape[:2],
                    labels,
                    None if kind is None else self.layout.folder(kind, self.split),
                    self.options,
                    self._placer(kind, stem),
                    lambda index=index, labels=labels: self._objects(index, labels),  # type: ignore[misc]
                    self.options.classes,
                    None if kind is None else self._reserver(kind, stem),
                )
                entries[label_format.name].append(label_format.write(item))

    def _placer(self, kind: str | None, stem: str) -> Callable[[str], str]:
        def place(extension: str) -> str:
            if kind is None:
                raise ValueError("a label format without a folder writes no per-slice file")
            path = os.path.join(self.folder(kind), stem + extension)
            self.written.append(path)
            return path

        return place

    def _reserver(self, kind: str, stem: str) -> Callable[[str], str]:
        def reserve(extension: str) -> str:
            temporary = reserve_temporary(os.path.join(self.folder(kind), stem + extension))
            self.written.append(temporary)  # rolled back with the pair; no record lists it
            return f"{self.layout.folder(kind, self.split)}/{os.path.basename(temporary)}"

        return reserve

    def _objects(self, index: int, labels: np.ndarray) -> list[SliceObject]:
        """The objects on slice ``index`` (its label plane ``labels``), computed once per slice and kept
        while it is written: one per label value found on the plane itself, or one per 3D component
        (their ids sliced). The label values met on whole planes are gathered in :attr:`seen`."""
        if index not in self._found:
            if self.components is not None:
                objects = self.components()
                if self._id_slices is None:  # once per view: the items are made as they are listed
                    self._id_slices = self.nearest.slices(objects.ids)
                    self._label_of = {o.id: o.label for o in objects.items}
                plane = self._mask(self._id_slices[index])
                found = slice_objects(plane, self._label_of)
            else:
                found = plane_objects(labels)
                self.seen.update(o.label for o in found)
                self.planes_seen += 1
            self._found = {index: found}  # one slice's object masks at a time: they are whole planes
        return self._found[index]

    def _image(self, stack: np.ndarray, index: int) -> np.ndarray:
        """Slice ``index``, or slices index - context .. index + context as channels (edges repeated)."""
        context, pixels = self.options.context, self.pixels
        if context == 0:
            return pixels.image(np.ascontiguousarray(stack[index]), self.frame)
        around = np.clip(np.arange(index - context, index + context + 1), 0, self.frame.count - 1)
        return np.stack([pixels.image(np.ascontiguousarray(stack[j]), self.frame) for j in around], axis=-1)

    def _mask(self, plane: np.ndarray) -> np.ndarray:
        """A label plane as the formats get it (resampled by nearest neighbour, padded with 0), in its
        memory order: an axial plane of a NIfTI mask is read in place, column by column, the order
        of COCO's runs; the mask images make their own row-major copy
        (:func:`~nidataset.annotations.labels.c_order`). A plane whose columns lie along memory (a
        flipped axial plane, a coronal one) is copied column by column, a sequential read; one scattered
        in memory (sagittal) is gathered row by row, the order its mask image needs."""
        plane = self.nearest.pad(self.nearest.resample(plane), 0)
        if plane.flags.c_contiguous or plane.flags.f_contiguous:
            return plane
        along_columns = abs(plane.strides[0]) == plane.itemsize
        return np.asfortranarray(plane) if along_columns else np.ascontiguousarray(plane)

    def _put(self, path: str, image: np.ndarray) -> None:
        fmt, compression = self.options.image_format, self.options.compression
        write_image(
            path, image, fmt, compression if compression in image_format_record(fmt).compressions else None
        )
        self.written.append(path)
