"""The per-pair job: one image and its mask become selected slices and each label format's files.

Every output of a slice goes through the same :class:`~nidataset.geometry.frame.SliceFrame` (the
mask's with nearest neighbour), so images, masks, YOLO lines and COCO annotations line up pixel for
pixel whatever the orientation, spacing and padding. Where files go is the layout's
(:attr:`~nidataset.training.plugins.Layout.folder`); what a label format writes is its own
(:mod:`~nidataset.training.tables`). The entries a format leaves for its finisher (COCO's images and
annotations) are kept in one hidden fragment per pair, which the façade gathers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from ..annotations.labels import SliceObject, slice_objects
from ..annotations.objects import Objects, check_label_dtype, integer_labels, number_objects
from ..batch.failures import attempt
from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET
from ..batch.records import FOLDER, begin, completed, forget, identity_of, remember
from ..errors import VolumeError
from ..geometry.frame import SliceFrame
from ..io.atomic import make_folder, remove_files, write_text
from ..io.images import write_image
from ..io.volumes import Header, VolumeReader, read_header
from ..manifest import volume_rows
from ..naming import index_width, prefix_of, slice_filename
from ..results import Outcome
from ..slices.job import by_view
from ..slices.pixels import Pixels, pixels_for, recorded_values, value_plan
from ..windows import value_counts
from .options import BuildOptions
from .plugins import LabelSlice
from .tables import LABEL_FORMATS, LAYOUTS

#: How far a mask's affine may differ from its image's (each entry, in millimetres) and still pair.
AFFINE_TOLERANCE = 1e-3
#: The builder's records live apart from the slice functions' in the same output folder.
KIND = "build"


def build_pair(path: str, options: BuildOptions) -> Outcome:
    """Write one image's selected slices and each label format's files; skip the pair with a reason
    when the image or the mask cannot be used, rolling back what it wrote."""
    name = os.path.basename(path)
    prefix = prefix_of(name)
    if name not in dict(options.masks):
        return Outcome(name, reason=dict(options.unpaired).get(name, "no mask"))
    mask_path = dict(options.masks)[name]
    split = dict(options.splits).get(name)
    key, output = f"{options.output_key} split={split!r}", options.output_path
    identity = _pair_identity(path, mask_path)
    if options.resume:
        done = completed(identity, output, options.views, prefix, key, KIND)
        if done is not None:
            details = done[1]
            return Outcome(
                name,
                done[0],
                reused=True,
                indices=_indices(details),
                value_map=str(details.get("value_map")),
                labels=tuple(int(v) for v in details.get("labels", ())),  # type: ignore[attr-defined]
            )
    picked: list[tuple[int, ...]] = []
    chosen: list[str] = []  # the window an auto window chose for this image
    values: list[int] = []  # the label values the mask holds: the dataset's classes, without a pre-pass

    def work(written: list[str]) -> tuple[int, ...]:
        remove_files(begin(output, options.views, prefix, KIND))  # the earlier run's outputs
        counts = _build(path, mask_path, split, options, prefix, written, picked, chosen, values)
        if _pair_identity(path, mask_path) != identity or identity is None:
            raise VolumeError("the image or its mask changed while they were read; run again")
        files = by_view(written, prefix, options.views)
        files[0] += [p for p in written if p.endswith(".json")]  # the entries' fragment spans the views
        details: dict[str, object] = {
            "indices": [list(i) for i in picked],
            "value_map": chosen[0],
            "labels": values,
        }
        remember(identity, output, options.views, prefix, key, files, counts, details, KIND)
        return counts

    outcome, _ = attempt(path, work, what="image and its mask")
    if outcome.skipped:
        forget(output, options.views, prefix, KIND)
        return outcome
    return replace(outcome, indices=tuple(picked), value_map=chosen[0], labels=tuple(values))


def _pair_identity(image: str, mask: str) -> tuple[int, ...] | None:
    first, second = identity_of(image), identity_of(mask)
    return None if first is None or second is None else (*first, *second)


def _indices(details: dict[str, object]) -> tuple[tuple[int, ...], ...]:
    listed = details.get("indices", [])
    return tuple(tuple(int(i) for i in view) for view in listed)  # type: ignore[attr-defined]


def read_labels(path: str) -> tuple[Header, np.ndarray]:
    """A mask's header and integer labels; VolumeError for a mask a mask image cannot hold."""
    with VolumeReader(path) as reader:
        check_label_dtype(reader.header.dtype)
        labels = integer_labels(reader.volume(), reader.header.slope, reader.header.inter)
    if labels.size and int(labels.max()) > 65535:
        raise VolumeError(f"label values up to {int(labels.max())}: a mask image holds at most 65535")
    return reader.header, labels


def plane_objects(labels: np.ndarray) -> list[SliceObject]:
    """One object per label value (> 0) of a label plane, in value order: no pass over the volume,
    and numpy alone (4x faster than scipy's find_objects with its array-API dispatch, and no scipy
    import in the workers).

    >>> [(o.label, o.rows, o.cols, o.area) for o in plane_objects(np.array([[0, 7], [3, 7]], np.int16))]
    [(3, (1, 1), (0, 0), 1), (7, (0, 1), (1, 1), 2)]
    """
    if labels.dtype.kind == "u" and labels.dtype.itemsize <= 2:
        values = np.flatnonzero(np.bincount(labels.ravel()))
    else:
        values = np.unique(labels)
    found = []
    for value in values[values > 0]:
        mask = labels == value
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        found.append(
            SliceObject(int(value), (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1])), mask)
        )
    return found


def label_values(labels: np.ndarray) -> list[int]:
    """The label values (> 0) an integer mask holds, in order."""
    if labels.dtype.kind == "u" and labels.dtype.itemsize <= 2:
        return [int(v) for v in np.flatnonzero(value_counts(labels)) if v > 0]
    return [int(v) for v in np.unique(labels[labels > 0])]


def _check_pair(image: Header, mask: Header, mask_path: str) -> None:
    mask_name = os.path.basename(mask_path)
    if image.shape != mask.shape:
        raise VolumeError(f"its mask {mask_name} has shape {mask.shape}, the image {image.shape}")
    if image.affine is not None and mask.affine is not None:
        difference = float(np.abs(image.affine - mask.affine).max())
        if difference > AFFINE_TOLERANCE:
            raise VolumeError(
                f"its mask {mask_name}'s affine differs from the image's by {difference:.3g} "
                f"(more than {AFFINE_TOLERANCE:g})"
            )


@dataclass
class _Pair:
    """What every view of one pair shares: the voxels, the labels, their objects (found on first use)."""

    volume: np.ndarray
    labels: np.ndarray
    pixels: Pixels
    components: bool

    @cached_property
    def objects(self) -> Objects:
        return number_objects(self.labels, components=self.components)


def _build(
    path: str,
    mask_path: str,
    split: str | None,
    options: BuildOptions,
    prefix: str,
    written: list[str],
    picked: list[tuple[int, ...]],
    chosen: list[str],
    values: list[int],
) -> tuple[int, ...]:
    mask_header, labels = read_labels(mask_path)
    values += label_values(labels)
    reader = VolumeReader(path)
    header = reader.header
    _check_pair(header, mask_header, mask_path)
    frames = fitting_frames(header, options)
    plan = value_plan(header, options)
    entries: dict[str, list[object]] = {name: [] for name in options.labels}
    with reader, BUDGET.reserve(2 * header.nbytes, f"shape {header.shape}"):
        volume = reader.volume()
        pixels = pixels_for(plan, options, volume)
        chosen.append(pixels.value_map)
        pixels.check(volume)
        pair = _Pair(volume, labels, pixels, options.components)
        counts = []
        for frame in frames:
            indices = selected(frame, labels, options.select)
            picked.append(tuple(indices))
            if indices:
                _SliceWriter(options, split, prefix, frame, pair, written).write(indices, entries)
            counts.append(len(indices))
    kept = {name: listed for name, listed in entries.items() if any(e is not None for e in listed)}
    if kept:
        fragment_path = entries_path(options.output_path, prefix)
        make_folder(os.path.dirname(fragment_path))
        write_text(fragment_path, json.dumps({"split": split, "entries": kept}))
        written.append(fragment_path)
    return tuple(counts)


def entries_path(output_path: str, prefix: str) -> str:
    """Where one pair's entries for the finishers (COCO's images and annotations) wait for them."""
    return os.path.join(output_path, FOLDER, KIND, "entries", f"{prefix}.json")


def selected(frame: SliceFrame, labels: np.ndarray, select: object) -> list[int]:
    """The slice indices ``select`` keeps: all, those holding an object (and ``k`` around them,
    clipped at the ends), or a range; in slice order.

    >>> from nidataset.geometry.frame import SliceFrame
    >>> labels = np.zeros((2, 2, 9), dtype=np.uint8); labels[0, 0, 4] = 1
    >>> frame = SliceFrame((2, 2, 9), "axial")
    >>> [selected(frame, labels, select) for select in ("labelled", ("labelled", 2), (0, 9, 4))]
    [[4], [2, 3, 4, 5, 6], [0, 4, 8]]
    """
    if select == "all":
        return list(range(frame.count))
    if isinstance(select, tuple) and len(select) == 3:
        return list(range(frame.count))[slice(*select)]  # type: ignore[misc]
    other = tuple(a for a in range(3) if a != frame.axis)
    present = np.flatnonzero(np.any(labels > 0, axis=other))
    held = sorted(frame.slice_index(int(i)) for i in present)
    reach = int(select[1]) if isinstance(select, tuple) else 0  # type: ignore[arg-type]
    return sorted({j for i in held for j in range(max(0, i - reach), min(frame.count, i + reach + 1))})


class _SliceWriter:
    """The files of one view of one pair: the images where the layout puts them, then each label
    format's files through :class:`~nidataset.training.plugins.LabelSlice`."""

    def __init__(
        self,
        options: BuildOptions,
        split: str | None,
        prefix: str,
        frame: SliceFrame,
        pair: _Pair,
        written: list[str],
    ) -> None:
        self.options, self.split, self.prefix, self.frame, self.pair = options, split, prefix, frame, pair
        self.written = written
        self.layout = LAYOUTS[options.layout]
        self.nearest = replace(frame, method="nearest")
        self.width = index_width(frame.count)
        self._folders: dict[str, str] = {}
        self._found: dict[int, list[SliceObject]] = {}
        self._id_slices: np.ndarray | None = None

    def folder(self, kind: str) -> str:
        """The folder of a kind of file for this split, created on first use."""
        if kind not in self._folders:
            folder = os.path.join(self.options.output_path, self.layout.folder(kind, self.split))
            make_folder(folder)
            self._folders[kind] = folder
        return self._folders[kind]

    def write(self, indices: list[int], entries: dict[str, list[object]]) -> None:
        stack = self.frame.slices(self.pair.volume)
        label_slices = self.nearest.slices(self.pair.labels)
        formats = [LABEL_FORMATS[name] for name in self.options.labels]
        for index in indices:
            stem = slice_filename(self.prefix, self.frame.view, index, self.width, "x")[:-2]
            image_name = self.layout.image_name(stem, self.options.extension)
            image = self._image(stack, index)
            self._put(os.path.join(self.folder("images"), image_name), image)
            labels = self._mask(label_slices[index])
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

    def _objects(self, index: int, labels: np.ndarray) -> list[SliceObject]:
        """The objects on slice ``index`` (its label plane ``labels``), computed once per slice: one per
        label value found on the plane itself, or one per 3D component (their ids sliced)."""
        if index not in self._found:
            if self.options.components:
                objects = self.pair.objects
                if self._id_slices is None:
                    self._id_slices = self.nearest.slices(objects.ids)
                plane = self._mask(self._id_slices[index])
                self._found[index] = slice_objects(plane, {o.id: o.label for o in objects.items})
            else:
                self._found[index] = plane_objects(labels)
        return self._found[index]

    def _image(self, stack: np.ndarray, index: int) -> np.ndarray:
        """Slice ``index``, or slices index - context .. index + context as channels (edges repeated)."""
        context, pixels = self.options.context, self.pair.pixels
        if context == 0:
            return pixels.image(np.ascontiguousarray(stack[index]), self.frame)
        around = np.clip(np.arange(index - context, index + context + 1), 0, self.frame.count - 1)
        return np.stack([pixels.image(np.ascontiguousarray(stack[j]), self.frame) for j in around], axis=-1)

    def _mask(self, plane: np.ndarray) -> np.ndarray:
        return self.nearest.pad(self.nearest.resample(np.ascontiguousarray(plane)), 0)

    def _put(self, path: str, image: np.ndarray) -> None:
        fmt = self.options.image_format
        write_image(path, image, fmt, self.options.compression if fmt == "tiff" else None)
        self.written.append(path)


def manifest_rows(path: str, outcome: Outcome, options: BuildOptions) -> list[list[list[object]]]:
    """The manifest rows of a pair's images, per view, from its header and the slices it kept."""
    header = read_header(path)
    dtype, value_map = recorded_values(header, options, outcome.value_map)
    split = dict(options.splits).get(outcome.name)
    folder = LAYOUTS[options.layout].folder("images", split)
    frames = fitting_frames(header, options)
    return volume_rows(
        frames,
        header.affine,
        source=outcome.name,
        folders=[folder] * len(frames),
        indices=outcome.indices or (),
        extension=options.extension,
        dtype=dtype,
        value_map=value_map,
    )
