"""The per-pair job: one image and its mask become selected slices, mask slices and labels.

Every output of a slice goes through the same :class:`~nidataset.geometry.frame.SliceFrame` (the
mask's with nearest neighbour), so images, masks, YOLO lines and COCO annotations line up pixel for
pixel whatever the orientation, spacing and padding. The COCO annotations of a pair are kept in a
hidden fragment file; the façade merges the fragments into one file per split.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from ..annotations.formats import columns, measures
from ..annotations.labels import SliceObject, coco_annotation, slice_objects, yolo_line
from ..annotations.objects import Objects, check_label_dtype, integer_labels, number_objects
from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET
from ..batch.records import FOLDER
from ..batch.resume import Done, Records, run_with_records
from ..errors import VolumeError
from ..geometry.frame import SliceFrame
from ..io.atomic import make_folder, write_text
from ..io.image_formats import image_format as image_format_record
from ..io.images import write_image
from ..io.readers import Header, open_volume, read_header
from ..io.tables import write_csv
from ..manifest import volume_rows
from ..naming import index_width, prefix_of, slice_filename
from ..options import BuildOptions
from ..results import Outcome
from ..slices.job import by_view
from ..values.pixels import Pixels, pixels_for, recorded_values, value_plan
from ..values.windows import value_counts

#: How far a mask's affine may differ from its image's (each entry, in millimetres) and still pair.
AFFINE_TOLERANCE = 1e-3


def mask_labels(path: str, options: object) -> Outcome:
    """The label values (> 0) a mask holds: the classes, gathered before the build."""
    name = os.path.basename(path)
    try:
        labels = _read_labels(path)[1]
    except VolumeError as error:
        return Outcome(name, reason=str(error))
    small = labels.dtype.kind == "u" and labels.dtype.itemsize <= 2
    values = np.flatnonzero(value_counts(labels)) if small else np.unique(labels[labels > 0])
    return Outcome(name, labels=tuple(int(v) for v in values if v > 0))


def build_pair(path: str, options: BuildOptions) -> Outcome:
    """Write one image's selected slices and its mask's slices and labels; skip the pair with a
    reason when the image or the mask cannot be used, rolling back what it wrote."""
    name = os.path.basename(path)
    prefix = prefix_of(name)
    if name not in dict(options.masks):
        return Outcome(name, reason=dict(options.unpaired).get(name, "no mask"))
    mask_path = dict(options.masks)[name]
    split = dict(options.splits).get(name)
    picked: list[tuple[int, ...]] = []
    chosen: list[str] = []  # the window an auto window chose for this image

    def work(written: list[str], done: Done) -> tuple[int, ...]:
        counts = _build(path, mask_path, split, options, prefix, written, picked, chosen)
        done.details.update(indices=[list(i) for i in picked], value_map=chosen[0])
        return counts

    def files_of(written: list[str]) -> list[list[str]]:
        files = by_view(written, prefix, options.views)
        files[0] += [p for p in written if p.endswith(".json")]  # the COCO fragment spans the views
        return files

    result = run_with_records(
        path,
        work,
        Records(options.output_path, options.views, prefix, options.output_key, KIND),
        files_of,
        resume=options.resume,
        sources=(path, mask_path),
        what="image and its mask",
        changed="the image or its mask changed while they were read; run again",
    )
    if result.outcome.skipped:
        return result.outcome
    value_map = result.details.get("value_map")
    return replace(result.outcome, indices=_indices(result.details), value_map=str(value_map))


#: The builder's records live apart from the slice functions' in the same output folder.
KIND = "build"


def _indices(details: dict[str, object]) -> tuple[tuple[int, ...], ...]:
    listed = details.get("indices", [])
    return tuple(tuple(int(i) for i in view) for view in listed)  # type: ignore[attr-defined]


def _read_labels(path: str) -> tuple[Header, np.ndarray]:
    with open_volume(path) as reader:
        check_label_dtype(reader.header.dtype)
        labels = integer_labels(reader.volume(), reader.header.slope, reader.header.inter)
    if labels.size and int(labels.max()) > 65535:
        raise VolumeError(f"label values up to {int(labels.max())}: a mask image holds at most 65535")
    return reader.header, labels


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


def _build(
    path: str,
    mask_path: str,
    split: str | None,
    options: BuildOptions,
    prefix: str,
    written: list[str],
    picked: list[tuple[int, ...]],
    chosen: list[str],
) -> tuple[int, ...]:
    mask_header, labels = _read_labels(mask_path)
    reader = open_volume(path)
    header = reader.header
    _check_pair(header, mask_header, mask_path)
    frames = fitting_frames(header, options)
    plan = value_plan(header, options)
    with reader, BUDGET.reserve(2 * header.nbytes, f"shape {header.shape}"):
        volume = reader.volume()
        pixels = pixels_for(plan, options, volume)
        chosen.append(pixels.value_map)
        pixels.check(volume)
        objects = number_objects(labels, components=options.components)
        fragment: list[dict[str, object]] = []
        counts = []
        for frame in frames:
            indices = selected(frame, labels, options.select)
            picked.append(tuple(indices))
            writer = _SliceWriter(options, split, prefix, frame, pixels, written)
            writer.write(volume, labels, objects, indices, fragment)
            counts.append(len(indices))
    if "coco" in options.labels:
        fragment_path = coco_fragment_path(options.output_path, prefix)
        make_folder(os.path.dirname(fragment_path))
        write_text(fragment_path, json.dumps({"split": split, "images": fragment}))
        written.append(fragment_path)
    return tuple(counts)


def coco_fragment_path(output_path: str, prefix: str) -> str:
    """Where one pair's COCO images and annotations wait for the façade to merge them."""
    return os.path.join(output_path, FOLDER, "coco", f"{prefix}.json")


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
    """The files of one view of one pair: images, mask images, YOLO lines, box CSVs, COCO entries."""

    def __init__(
        self,
        options: BuildOptions,
        split: str | None,
        prefix: str,
        frame: SliceFrame,
        pixels: Pixels,
        written: list[str],
    ) -> None:
        self.options, self.prefix, self.frame, self.pixels, self.written = (
            options,
            prefix,
            frame,
            pixels,
            written,
        )
        self.nearest = replace(frame, method="nearest")
        self.split = split
        self.width = index_width(frame.count)

    def folder(self, kind: str) -> str:
        folder = os.path.join(self.options.output_path, kind, *([self.split] if self.split else []))
        make_folder(folder)
        return folder

    def write(
        self,
        volume: np.ndarray,
        labels: np.ndarray,
        objects: Objects,
        indices: Iterable[int],
        fragment: list[dict[str, object]],
    ) -> None:
        stack = self.frame.slices(volume)
        id_slices, label_slices = self.nearest.slices(objects.ids), self.nearest.slices(labels)
        label_of = {o.id: o.label for o in objects.items}
        images, kinds = self.folder("images"), set(self.options.labels)
        for index in indices:
            stem = slice_filename(self.prefix, self.frame.view, index, self.width, "x")[:-2]
            image = self._image(stack, index)
            self._put(os.path.join(images, f"{stem}.{self.options.extension}"), image)
            found = slice_objects(self._mask(id_slices[index]), label_of)
            if "masks" in kinds:
                self._put_mask(stem, self._mask(label_slices[index]))
            if "yolo" in kinds and found:
                self._put_yolo(stem, found, image.shape[:2])
            if "csv" in kinds and found:
                self._put_csv(stem, found)
            if "coco" in kinds:
                fragment.append(self._coco(stem, found, image.shape[:2]))

    def _image(self, stack: np.ndarray, index: int) -> np.ndarray:
        """Slice ``index``, or slices index - context .. index + context as channels (edges repeated)."""
        context = self.options.context
        if context == 0:
            return self.pixels.image(np.ascontiguousarray(stack[index]), self.frame)
        around = np.clip(np.arange(index - context, index + context + 1), 0, self.frame.count - 1)
        return np.stack(
            [self.pixels.image(np.ascontiguousarray(stack[j]), self.frame) for j in around], axis=-1
        )

    def _mask(self, plane: np.ndarray) -> np.ndarray:
        return self.nearest.pad(self.nearest.resample(np.ascontiguousarray(plane)), 0)

    def _put(self, path: str, image: np.ndarray, image_format: str | None = None) -> None:
        fmt = image_format or self.options.image_format
        compression = self.options.compression
        write_image(
            path, image, fmt, compression if compression in image_format_record(fmt).compressions else None
        )
        self.written.append(path)

    def _put_mask(self, stem: str, plane: np.ndarray) -> None:
        values = np.maximum(plane, 0)
        dtype = np.uint8 if values.size == 0 or int(values.max()) <= 255 else np.uint16
        self._put(
            os.path.join(self.folder("masks"), f"{stem}.{self.options.mask_extension}"),
            values.astype(dtype),
            self.options.mask_format,
        )

    def _put_yolo(self, stem: str, found: list[SliceObject], shape: tuple[int, int]) -> None:
        class_of = {value: number for number, value in enumerate(self.options.classes)}
        lines = [yolo_line(item, class_of[item.label], shape) for item in found]
        path = os.path.join(self.folder("labels"), f"{stem}.txt")
        write_text(path, "\n".join(lines) + "\n")
        self.written.append(path)

    def _put_csv(self, stem: str, found: list[SliceObject]) -> None:
        rows = [[*measures("box", (o.cols[0], o.rows[0]), (o.cols[1], o.rows[1])), o.label] for o in found]
        path = os.path.join(self.folder("boxes"), f"{stem}.csv")
        write_csv(path, [columns("box", ("X", "Y")), *rows])
        self.written.append(path)

    def _coco(self, stem: str, found: list[SliceObject], shape: tuple[int, int]) -> dict[str, object]:
        category_of = {value: number + 1 for number, value in enumerate(self.options.classes)}
        return {
            "file_name": f"{stem}.{self.options.extension}",
            "height": int(shape[0]),
            "width": int(shape[1]),
            "annotations": [coco_annotation(item, category_of[item.label]) for item in found],
        }


def manifest_rows(path: str, outcome: Outcome, options: BuildOptions) -> list[list[list[object]]]:
    """The manifest rows of a pair's images, per view, from its header and the slices it kept."""
    header = read_header(path)
    dtype, value_map = recorded_values(header, options, outcome.value_map)
    split = dict(options.splits).get(outcome.name)
    folder = "/".join(["images", *([split] if split else [])])
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
