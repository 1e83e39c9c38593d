"""The per-pair job: one image and its mask become selected slices and each label format's files.

Every output of a slice goes through the same :class:`~nidataset.geometry.frame.SliceFrame` (the
mask's with nearest neighbour), so images, masks, YOLO lines and COCO annotations line up pixel for
pixel whatever the orientation, spacing and padding. Where files go is the layout's
(:attr:`~nidataset.training.plugins.Layout.folder`); what a label format writes is its own
(:mod:`~nidataset.training.tables`). The entries a format leaves for its finisher (COCO's images and
annotations, YOLO's boxes), per view, are kept in one hidden fragment per pair, which the finishers read
(:mod:`~nidataset.training.finish`). A single axial view is read a slab at a time when nothing needs
the whole volume (:func:`streams`); otherwise the image and its mask are read whole."""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from ..annotations.objects import Objects, check_label_dtype, integer_labels, number_objects
from ..batch.flow import fitting_frames
from ..batch.memory import BUDGET
from ..batch.records import FOLDER
from ..batch.resume import Done, Records, run_with_records
from ..errors import VolumeError
from ..geometry.frame import SliceFrame
from ..io.atomic import make_folder, write_text
from ..io.read_ahead import read_ahead
from ..io.readers import Header, VolumeSource, open_volume, read_header
from ..manifest import volume_rows
from ..naming import prefix_of
from ..results import Outcome
from ..slices.job import READ_AHEAD, SLAB_BYTES, by_view
from ..values.dtypes import ValuePlan
from ..values.pixels import Pixels, needs_voxels, pixels_for, recorded_values, value_plan
from ..values.windows import value_counts
from .options import BuildOptions
from .pairing import case_of, channels_per_case
from .tables import LAYOUTS
from .writer import SliceWriter

#: How far a mask's affine may differ from its image's (each entry, in millimetres) and still pair.
AFFINE_TOLERANCE = 1e-3
#: The builder's records live apart from the slice functions' in the same output folder.
KIND = "build"


def build_pair(path: str, options: BuildOptions) -> Outcome:
    """Write one image's selected slices and each label format's files; skip the pair with a reason
    when the image or the mask cannot be used, rolling back what it wrote."""
    name = os.path.basename(path)
    prefix = prefix_of(name)
    mask_path = dict(options.masks).get(name)
    if mask_path is None:
        return Outcome(name, reason=dict(options.unpaired).get(name, "no mask"))
    split = dict(options.splits).get(name)
    picked: list[tuple[int, ...]] = []
    chosen: list[str] = []  # the window an auto window chose for this image
    values: list[int] = []  # the label values the mask holds: the dataset's classes, without a pre-pass

    def work(written: list[str], done: Done) -> tuple[int, ...]:
        counts = _build(path, mask_path, split, options, prefix, written, picked, chosen, values)
        indices = {view: list(i) for view, i in zip(options.views, picked, strict=True)}
        done.details.update(indices=indices, value_map=chosen[0], labels=values)
        return counts

    def files_of(written: list[str]) -> list[list[str]]:
        fragment = [p for p in written if p.endswith(".json")]  # the entries' fragment spans the views
        return [listed + fragment for listed in by_view(written, prefix, options.views)]

    # A pair's own split joins the key, so that adding or removing another case redoes nothing.
    key = f"{options.output_key} split={split!r}"
    result = run_with_records(
        path,
        work,
        Records(options.output_path, options.views, prefix, key, KIND),
        files_of,
        resume=options.resume,
        sources=(path, mask_path),
        what="image and its mask",
        changed="the image or its mask changed while they were read; run again",
        usable=lambda details: _indices(details, options.views) is not None and "labels" in details,
    )
    if result.outcome.skipped:
        return result.outcome
    details = result.details
    return replace(
        result.outcome,
        indices=_indices(details, options.views),
        value_map=str(details.get("value_map")),
        labels=tuple(int(v) for v in details.get("labels", ())),  # type: ignore[attr-defined]
    )


def _indices(details: dict[str, object], views: tuple[str, ...]) -> tuple[tuple[int, ...], ...] | None:
    """The slices kept per asked view, as the records say (by view: an earlier run may have had
    others); None when a record says nothing of a view (the pair is then redone)."""
    listed = details.get("indices", {})
    if not isinstance(listed, dict) or not all(view in listed for view in views):
        return None
    return tuple(tuple(int(i) for i in listed[view]) for view in views)


def read_labels(path: str) -> tuple[Header, np.ndarray]:
    """A mask's header and integer labels; VolumeError for a mask a mask image cannot hold."""
    with open_volume(path) as reader:
        check_label_dtype(reader.header.dtype)
        return reader.header, _labels_of(reader.volume(), reader.header)


def _labels_of(stored: np.ndarray, header: Header) -> np.ndarray:
    """Integer labels of a mask's stored values (or a slab of them), at most 65535."""
    labels = integer_labels(stored, header.slope, header.inter)
    if labels.dtype.itemsize > 2 and labels.size and int(labels.max()) > 65535:
        raise VolumeError(f"label values up to {int(labels.max())}: a mask image holds at most 65535")
    return labels


def label_values(labels: np.ndarray) -> list[int]:
    """The label values (> 0) an integer mask holds, in order.

    A mask of a few labels is compared with each (a fast pass each, a chunk of voxels at a time,
    looking no further for a value found): counting every voxel's value took 1.3 ms a 512 x 512
    plane, more than writing its mask image (measured 2026-12-06).

    >>> label_values(np.array([[0, 3], [3, 1]], np.uint8)), label_values(np.array([[0, 300]], np.int32))
    ([1, 3], [300])
    """
    flat = labels.ravel(order="K")  # a view of a contiguous mask or slab
    largest = int(flat.max()) if flat.size else 0
    if largest <= 0:
        return []
    if largest <= _FEW_VALUES:
        missing = set(range(1, largest + 1))
        for start in range(0, flat.size, _CHUNK):
            chunk = flat[start : start + _CHUNK]
            missing -= {value for value in missing if np.any(chunk == value)}
        return [value for value in range(1, largest + 1) if value not in missing]
    if labels.dtype.kind == "u" and labels.dtype.itemsize <= 2:
        return [int(v) for v in np.flatnonzero(value_counts(labels)) if v > 0]
    return [int(v) for v in np.unique(labels[labels > 0])]


#: Up to this largest label, :func:`label_values` compares the mask with each value.
_FEW_VALUES = 8
#: Voxels compared at a time (a boolean chunk of 4 MB, not of the volume).
_CHUNK = 1 << 22


@contextlib.contextmanager
def _as_mask(mask_path: str) -> Iterator[None]:
    """A problem of the mask's file named as the mask's (the pair is skipped under the image's name)."""
    try:
        yield
    except VolumeError as error:
        raise VolumeError(f"its mask {os.path.basename(mask_path)}: {error}") from None


@contextlib.contextmanager
def _open_mask(mask_path: str) -> Iterator[VolumeSource]:
    """The mask opened, its header parsed and its voxel type checked, its problems named as its own."""
    with _as_mask(mask_path):
        reader = open_volume(mask_path)
    with reader:
        with _as_mask(mask_path):
            check_label_dtype(reader.header.dtype)
        yield reader


def _mask_slabs(mask_reader: VolumeSource, per_slab: int) -> Iterator[np.ndarray]:
    """The mask's integer labels a slab at a time, a problem of its file named as the mask's."""
    with _as_mask(mask_reader.path):
        for slab in mask_reader.slabs(per_slab):
            yield _labels_of(slab, mask_reader.header)


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
    """What the writing of one pair gathers: its files, the slices it kept per view, the entries of the
    label formats, the label values its mask holds."""

    options: BuildOptions
    split: str | None
    prefix: str
    written: list[str]
    picked: list[tuple[int, ...]]
    values: list[int]
    entries: dict[str, dict[str, list[object]]] = field(default_factory=dict)  # view -> format -> entries

    def of_view(self, view: str) -> dict[str, list[object]]:
        return self.entries.setdefault(view, {name: [] for name in self.options.labels})

    def writer(
        self, frame: SliceFrame, pixels: Pixels, objects: Callable[[], Objects] | None = None
    ) -> SliceWriter:
        return SliceWriter(self.options, self.split, self.prefix, frame, pixels, self.written, objects)


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
    pair = _Pair(options, split, prefix, written, picked, values)
    with open_volume(path) as reader, _open_mask(mask_path) as mask_reader:
        _check_pair(reader.header, mask_reader.header, mask_path)
        frames = fitting_frames(reader.header, options)
        plan = value_plan(reader.header, options)
        if streams(frames, options):
            pixels = pixels_for(plan, options)
            counts = _stream(reader, mask_reader, frames[0], pixels, pair)
        else:
            pixels, counts = _whole(reader, mask_reader, frames, plan, pair)
    chosen.append(pixels.value_map)
    kept = {
        view: {name: listed for name, listed in by_format.items() if any(e is not None for e in listed)}
        for view, by_format in pair.entries.items()
    }
    if any(kept.values()):
        fragment_path = entries_path(options.output_path, prefix)
        make_folder(os.path.dirname(fragment_path))
        write_text(fragment_path, json.dumps({"split": split, "entries": kept}))
        written.append(fragment_path)
    return counts


def streams(frames: list[SliceFrame], options: BuildOptions) -> bool:
    """Whether the pair can be read a slab at a time (a few MB), as the slice functions read an axial
    view: one view across the last stored axis, and nothing that needs the whole volume first (an
    auto window, padding with its minimum, 3D components, neighbours as channels, a reach around the
    labelled slices)."""
    select = options.select
    reach = isinstance(select, tuple) and select[0] == "labelled" and select[1] != 0
    return (
        len(frames) == 1
        and frames[0].axis == 2
        and not needs_voxels(options)
        and not options.components
        and options.context == 0
        and not reach
    )


def _stream(
    reader: VolumeSource, mask_reader: VolumeSource, frame: SliceFrame, pixels: Pixels, pair: _Pair
) -> tuple[int, ...]:
    """Read the image and its mask a slab at a time, in step, and write each slab's selected slices;
    the next slabs are decompressed on a thread meanwhile, as the slice functions do (two more slabs
    of each held; one worker, idle two-core machine, CT set: 5.8 -> 4.6 s, 2026-12-06)."""
    x, y, z = reader.header.shape
    plane_bytes = x * y * (reader.header.dtype.itemsize + mask_reader.header.dtype.itemsize)
    per_slab = max(1, min(z, SLAB_BYTES // plane_bytes))  # image and mask together: the slice job's MB
    itemsize = max(reader.header.dtype.itemsize, pixels.stack_dtype.itemsize, 4)
    ahead = READ_AHEAD and per_slab < z  # one slab: nothing to overlap
    writer, nearest = pair.writer(frame, pixels), replace(frame, method="nearest")
    select = pair.options.select
    wanted = None if select in ("labelled", ("labelled", 0)) else set(selected(frame, None, select))
    found: set[int] = set()
    kept: list[int] = []
    done = 0
    both = zip(reader.slabs(per_slab), _mask_slabs(mask_reader, per_slab), strict=True)
    held = (6 * x * y * itemsize + 2 * ahead * plane_bytes) * per_slab
    with (
        BUDGET.reserve(held, f"shape {reader.header.shape}"),
        read_ahead(both) if ahead else contextlib.nullcontext(both) as slabs,
    ):
        for slab, labels in slabs:
            pixels.check(slab)
            count = slab.shape[2]
            first = frame.slice_index(done + count - 1 if frame.reversed else done)
            if wanted is None:
                present = np.flatnonzero(np.any(labels > 0, axis=(0, 1)))
                indices = sorted(frame.slice_index(done + int(i)) for i in present)
            else:
                indices = [i for i in range(first, first + count) if i in wanted]
            planes = writer.planes_seen  # below: a plane "labelled" leaves out holds no label
            stack = frame.stack(slab, pixels.stack_dtype)  # one cache-friendly copy
            # the labels are read in place: each format copies what it needs, in the order it needs
            writer.write(stack, nearest.slices(labels), first, indices, pair.of_view(frame.view))
            if writer.planes_seen - planes < (len(indices) if wanted is None else count) or frame.resampled:
                found.update(label_values(labels))
            kept += indices
            done += count
    pair.values += sorted(found | writer.seen)
    pair.picked.append(tuple(sorted(kept)))
    return (len(kept),)


def _whole(
    reader: VolumeSource, mask_reader: VolumeSource, frames: list[SliceFrame], plan: ValuePlan, pair: _Pair
) -> tuple[Pixels, tuple[int, ...]]:
    """Read the image and its mask whole (other views, or what needs every voxel first)."""
    header = reader.header
    with _as_mask(mask_reader.path):
        labels = _labels_of(mask_reader.volume(), mask_reader.header)
    pair.values += label_values(labels)
    with BUDGET.reserve(2 * header.nbytes, f"shape {header.shape}"):
        volume = reader.volume()
        pixels = pixels_for(plan, pair.options, volume)
        pixels.check(volume)
        components = functools.cache(lambda: number_objects(labels, components=True))
        counts = []
        for frame in frames:
            indices = selected(frame, labels, pair.options.select)
            pair.picked.append(tuple(indices))
            if indices:
                writer = pair.writer(frame, pixels, components if pair.options.components else None)
                label_slices = replace(frame, method="nearest").slices(labels)
                writer.write(frame.slices(volume), label_slices, 0, indices, pair.of_view(frame.view))
            counts.append(len(indices))
    return pixels, tuple(counts)


def entries_path(output_path: str, prefix: str) -> str:
    """Where one pair's entries for the finishers (COCO's images and annotations) wait for them."""
    return os.path.join(output_path, FOLDER, KIND, "entries", f"{prefix}.json")


def selected(frame: SliceFrame, labels: np.ndarray | None, select: object) -> list[int]:
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
    assert labels is not None
    other = tuple(a for a in range(3) if a != frame.axis)
    present = np.flatnonzero(np.any(labels > 0, axis=other))
    held = sorted(frame.slice_index(int(i)) for i in present)
    reach = int(select[1]) if isinstance(select, tuple) else 0  # type: ignore[arg-type]
    return sorted({j for i in held for j in range(max(0, i - reach), min(frame.count, i + reach + 1))})


def manifest_rows(path: str | Header, outcome: Outcome, options: BuildOptions) -> list[list[list[object]]]:
    """The manifest rows of a pair's images, per view, from its header (or path's) and the slices it kept."""
    header = read_header(path) if isinstance(path, str) else path  # a Header already read: not again
    dtype, value_map = recorded_values(header, options, outcome.value_map)
    split = dict(options.splits).get(outcome.name)
    folder = LAYOUTS[options.layout].folder("images", split)
    frames = fitting_frames(header, options)
    tables = volume_rows(
        frames,
        header.affine,
        source=outcome.name,
        folders=[folder] * len(frames),
        indices=outcome.indices or (),
        extension=options.extension,
        dtype=dtype,
        value_map=value_map,
        codes=header.codes,
    )
    source = case_source(outcome.name, options)
    name = LAYOUTS[options.layout].image_name  # the file's own name (nnU-Net adds a channel suffix)
    return [[[_named(row[0], name, options.extension), source, *row[2:]] for row in rows] for rows in tables]


def _named(path: object, image_name: Callable[[str, str], str], extension: str) -> str:
    """A manifest ``path`` ``<folder>/<stem>.<extension>`` with the file name the layout writes."""
    folder, _, base = str(path).rpartition("/")
    name = image_name(base[: -len(extension) - 1], extension)
    return f"{folder}/{name}" if folder else name


def case_source(name: str, options: BuildOptions) -> str:
    """The manifest's ``source`` of an image: its case (``case_000.nii.gz`` for ``case_000_0000``), so
    that volumes reassembled from predictions are named like the case and its mask; the image's own
    name when its case has several channels (each channel then reassembles to its own volume)."""
    prefix = prefix_of(name)
    case = case_of(prefix)
    channels = channels_per_case(options.masks)[case]
    return case + name[len(prefix) :] if case != prefix and channels == 1 else name
