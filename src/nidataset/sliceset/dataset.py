"""``SliceDataset``: the slices ``build_dataset`` would write, served from the volumes, no file written.

A map-style dataset by shape (``__len__``, ``__getitem__``), with no torch import: it pickles to
DataLoader worker processes without its cache; each process maps the volumes the up-front pass kept
in shared memory (:mod:`nidataset.sliceset.memory`), and opens the files itself for the others,
keeping its own cache of decoded volumes (:mod:`nidataset.sliceset.cache`).
"""

from __future__ import annotations

import functools
import os
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

import numpy as np

from ..batch.flow import check_all_fit, check_all_headers
from ..encoding import refuse_format
from ..io.atomic import make_folder
from ..io.readers import INPUT_FORMATS
from ..io.tables import write_csv
from ..io.volumes import list_volumes
from ..manifest import COLUMNS
from ..naming import manifest_filename
from ..options import (
    INTERPOLATIONS,
    Bits,
    ImageFormat,
    Orientation,
    Spacing,
    View,
    WindowSpec,
    check_choice,
)
from ..results import Outcome
from ..training.classes import Classes
from ..training.job import manifest_rows
from ..training.options import MASK_SUFFIXES, build_options
from ..training.pairing import pair
from ..training.writer import SliceWriter
from ..values.pixels import Pixels
from .cache import VolumeCache, default_budget
from .memory import AVAILABLE, mapped
from .samples import Stacks, load, open_slabs, restack, restacked, sample, slab_sample, slices, writer_for
from .scan import Scanned, keep_plan, scan_all
from .shared import SharedVolumes, remove_folder

__all__ = ["SliceDataset"]

Access = Literal["auto", "volumes", "seek"]
ACCESSES: tuple[str, ...] = get_args(Access)


class SliceDataset:
    """The slices, masks and manifest rows ``build_dataset`` would write, read from the volumes.

    Parameters
    ----------
    images_folder : str
        The image volumes, as for :func:`nidataset.build_dataset`.
    masks_folder : str, optional
        Their label masks, paired as ``build_dataset`` pairs them (``mask_suffixes``); without one,
        every image is used and ``mask`` is None (``select`` cannot be ``"labelled"`` then).
    view, orientation, spacing, interpolation, target_size, pad_value, window, bits, select, context
        As for :func:`nidataset.build_dataset`: the arrays equal, bit for bit, the images and masks it
        writes with the same options, decoded.
    layout, label_names
        As for :func:`nidataset.build_dataset`: the layout names the files in ``meta["path"]``; the
        names are :attr:`label_names`'s (the masks hold label values).
    image_format : {"tiff", "png", "jpeg"}
        Only names the files in ``meta["path"]`` and refuses what ``build_dataset`` would refuse for
        that format; the arrays never go through an encoder.
    cache_bytes : int, optional
        Memory for decoded volumes: what the up-front pass keeps for every process (``shared_memory``),
        and again per process for the others (each DataLoader worker has its own cache); default a
        quarter of the memory available to the process (machine or container), at most 1 GiB.
    access : {"auto", "volumes", "seek"}
        How a slice is read: ``"volumes"`` decodes its whole volume (kept in the cache while the
        budget allows); ``"seek"`` decompresses only its own bytes through the file's gzip seek points
        (built on the volume's first use, kept in the cache, about 4% of its decoded size), for views
        whose slices are contiguous in the file (across the last stored axis: the axial view of most
        volumes), others reading whole volumes. ``"auto"``: whole volumes when all of them fit the
        budget, else seek points where they apply.
    shared_memory : bool
        Whether the up-front pass keeps the volumes it decodes (as many as ``cache_bytes`` holds, in
        file-name order) in anonymous shared memory that every worker process maps instead of
        decoding them again (Linux; elsewhere, or where a process cannot map it, it decodes them).
        The memory is freed with the dataset, and with its process however that ends.
    share_folder : str, optional
        A folder every worker process sees (``/dev/shm`` shares memory), where the first worker to
        decode a volume leaves it for the others to map, so that ``n`` workers decode the dataset
        once rather than ``n`` times; it holds at most the cache budget, and the dataset removes what
        it put there when it is deleted. Default: each process decodes what it reads.
    workers : int, optional
        Threads for the up-front pass that reads and checks every pair once.

    Attributes
    ----------
    failures : list of (str, str)
        The inputs skipped, with the reasons ``build_dataset`` gives, found before the first sample.

    Examples
    --------
    >>> import tempfile, nibabel as nib
    >>> folder = tempfile.mkdtemp()
    >>> nib.save(nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4)),
    ...          folder + "/case.nii.gz")
    >>> ds = SliceDataset(folder, view="axial")
    >>> len(ds), ds[1]["image"].tolist(), ds[1]["meta"]["path"]
    (4, [[1, 5, 9], [13, 17, 21]], 'images/case_axial_001.tif')
    """

    def __init__(
        self,
        images_folder: str | os.PathLike[str],
        masks_folder: str | os.PathLike[str] | None = None,
        *,
        view: View | Sequence[View] = "axial",
        orientation: Orientation = "stored",
        spacing: Spacing = None,
        interpolation: str = "linear",
        target_size: tuple[int, int] | None = None,
        pad_value: float | str = "min",
        window: WindowSpec = None,
        bits: Bits = 8,
        image_format: ImageFormat = "tiff",
        select: str | tuple[object, ...] = "all",
        context: int = 0,
        layout: str = "yolo",
        label_names: dict[int, str] | str | os.PathLike[str] | None = None,
        mask_suffixes: Sequence[str] = MASK_SUFFIXES,
        cache_bytes: int | None = None,
        access: Access = "auto",
        shared_memory: bool = True,
        share_folder: str | os.PathLike[str] | None = None,
        workers: int | None = None,
    ) -> None:
        options = build_options(
            "",
            view,
            orientation=orientation,
            spacing=spacing,
            target_size=target_size,
            pad_value=pad_value,
            window=window,
            bits=bits,
            image_format=image_format,
            compression=None,
            labels=None,
            components=False,
            select=select,
            context=context,
            resume=False,
            layout=layout,
            label_names=label_names,
        )
        chosen_interpolation = check_choice("interpolation", interpolation, INTERPOLATIONS)
        geometry = replace(options.geometry, interpolation=chosen_interpolation)
        self._options = replace(options, geometry=geometry)
        chosen = self._options.select
        if masks_folder is None and (
            chosen == "labelled" or (isinstance(chosen, tuple) and len(chosen) == 2)
        ):
            raise ValueError(f"select={select!r} needs the masks: pass masks_folder")
        if cache_bytes is not None and (not isinstance(cache_bytes, int) or cache_bytes < 0):
            raise ValueError(f"cache_bytes must be a number of bytes, 0 or more; got {cache_bytes!r}")
        self.cache_bytes = cache_bytes
        self.access = check_choice("access", access, ACCESSES)
        pairs, self.failures = _pairs(os.fspath(images_folder), masks_folder, tuple(mask_suffixes))
        masks = tuple((os.path.basename(image), mask) for image, mask in pairs if mask is not None)
        self._options = replace(self._options, masks=masks)  # the manifest's source names the case
        check_all_fit([image for image, _ in pairs], self._options)
        check_all_headers([image for image, _ in pairs], self._options, refuse_format)
        self._records: list[Scanned] = []
        shares = shared_memory and self.access != "seek" and AVAILABLE
        keep = keep_plan(pairs, self._budget) if shares else None
        for (image, _), found in zip(pairs, scan_all(pairs, self._options, workers, keep), strict=True):
            if isinstance(found, str):
                self.failures.append((os.path.basename(image), found))
            else:
                self._records.append(found)
        self._records = _shared_pixels(self._records)
        kept = [array for record in self._records for array in record.decoded or () if array is not None]
        #: Bytes of decoded volumes kept in shared memory by the up-front pass.
        self.shared_bytes = sum(array.nbytes for array in kept)
        values = {value for record in self._records for value in record.labels}
        classes = Classes.of(values, dict(self._options.label_names))
        #: Every label value the masks hold (and those ``label_names`` names) with its class name.
        self.label_names: dict[int, str] = dict(zip(classes.values, classes.names, strict=True))
        self.failures.sort(key=lambda failure: failure[0])
        self._starts, self._blocks = _blocks(self._records, len(self._options.views))
        self._cache: VolumeCache | None = None
        self._total: int | None = None
        self._memo: OrderedDict[tuple[int, int], _Block] = OrderedDict()
        self._mapped: dict[tuple[int, int], Stacks] = {}
        self._shared: SharedVolumes | None = None
        self.share_folder = None if share_folder is None else os.fspath(share_folder)
        if self.share_folder is not None:
            self._share_path = os.path.join(self.share_folder, f"nidataset-slices-{uuid.uuid4().hex}")
            weakref.finalize(self, remove_folder, self._share_path, os.getpid())

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, item: int) -> dict[str, Any]:
        """``{"image", "mask", "meta"}`` of sample ``item``, in the manifest's order."""
        view, number, position = self._locate(item)
        record, block = self._records[number], self._block(number, view)
        index = record.indices[view][position]
        if record.decoded is None and self._seeks(record, view):
            readers = self.cache.get(("seek", number), lambda: open_slabs(record))
            image, mask = slab_sample(block.writer, index, readers, self._options.context)  # type: ignore[arg-type]
        else:
            stacks = self._stacks(number, view, record, block.writer)
            image, mask = sample(block.writer, slices(block.writer, stacks), index)  # type: ignore[arg-type]
        return {"image": image, "mask": mask, "meta": dict(zip(COLUMNS, block.rows[position], strict=True))}

    def _stacks(self, number: int, view: int, record: Scanned, writer: SliceWriter) -> Stacks:
        """The view's arrays: from those the up-front pass kept in shared memory, else read."""
        decoded = mapped(record.decoded)
        if decoded is None:
            return self._arrays(number, view, lambda: load(record, writer))
        if not restacked(writer.frame):
            return decoded  # mapped, not copied: its pages are shared by the processes
        return self.cache.get((number, view), lambda: restack(writer, decoded))  # type: ignore[return-value]

    def _arrays(self, number: int, view: int, load: Callable[[], Stacks]) -> Stacks:
        """The view's decoded arrays: mapped from the shared folder, kept by this process, or read."""
        key = (number, view)
        if key in self._mapped:
            return self._mapped[key]
        if self.share_folder is None or key in self.cache:
            return self.cache.get(key, load)  # type: ignore[return-value]
        if self._shared is None:
            self._shared = SharedVolumes(self._share_path, self.cache.budget)
        arrays, shared = self._shared.get(f"{number}-{view}", load, self._unshared)
        if shared:
            self._mapped[key] = arrays
            return arrays
        return self.cache.get(key, lambda: arrays)  # type: ignore[return-value]

    def _unshared(self) -> Iterator[tuple[str, Callable[[], Stacks]]]:
        """The views read whole that this process has not met yet, from a place of its own in the
        list (so that workers helping each other start apart)."""
        start = os.getpid() % max(1, len(self._blocks))
        for view, number in self._blocks[start:] + self._blocks[:start]:
            record = self._records[number]
            if (number, view) in self._mapped or record.decoded or self._seeks(record, view):
                continue
            writer = writer_for(record, view, self._options)  # no manifest rows: maybe never sampled
            yield f"{number}-{view}", functools.partial(load, record, writer)

    def _block(self, number: int, view: int) -> _Block:
        """The builder's writer and the manifest rows of one pair's view, kept for the next samples
        (a row alone costs as much as the pixels of a small slice)."""
        key = (number, view)
        if key not in self._memo:
            record = self._records[number]
            rows = self._rows(record, view, record.indices[view])
            self._memo[key] = _Block(writer_for(record, view, self._options), rows)
            while len(self._memo) > _BLOCKS_KEPT:
                self._memo.popitem(last=False)
        self._memo.move_to_end(key)
        return self._memo[key]

    @property
    def _budget(self) -> int:
        return default_budget() if self.cache_bytes is None else self.cache_bytes

    @property
    def cache(self) -> VolumeCache:
        """This process's decoded volumes (made on first use: a worker process starts without)."""
        if self._cache is None:
            self._cache = VolumeCache(self._budget)
        return self._cache

    def _seeks(self, record: Scanned, view: int) -> bool:
        """Whether the pair's slices of ``view`` are read through seek points, not whole volumes
        (only for formats whose table record says their voxels are one stream at a known offset)."""
        if record.frames[view].axis != 2 or self.access == "volumes" or not _indexable(record):
            return False
        if self.access == "seek":
            return True
        if self._total is None:  # the decoded pairs, labels counted as uint8 (most masks)
            self._total = sum(
                r.header.nbytes + (r.mask_path is not None) * r.header.nbytes // r.header.dtype.itemsize
                for r in self._records
            )
        return self._total > self.cache.budget

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"], state["_memo"] = None, OrderedDict()  # a worker reads its own volumes
        state["_mapped"], state["_shared"] = {}, None
        state["_records"] = _shared_pixels(self._records, fresh=True)  # lookup tables are rebuilt there
        return state

    def manifest(self, folder: str | os.PathLike[str]) -> list[str]:
        """Write ``<folder>/<view>_manifest.csv`` for each view, the rows of :meth:`__getitem__`'s
        ``meta`` (as ``build_dataset`` writes them), so that :func:`nidataset.reassemble` and
        :func:`nidataset.boxes_to_volume` work on predictions saved under ``folder`` by ``meta["path"]``."""
        folder = os.fspath(folder)
        make_folder(folder)
        written = []
        for view_number, view in enumerate(self._options.views):
            rows: list[Sequence[object]] = [list(COLUMNS)]
            for record in self._records:
                rows.extend(self._rows(record, view_number, record.indices[view_number]))
            path = os.path.join(folder, manifest_filename(view))
            write_csv(path, rows)
            written.append(path)
        return written

    def _locate(self, item: int) -> tuple[int, int, int]:
        """(view, pair, position among the pair's chosen slices) of sample ``item``."""
        if not isinstance(item, (int, np.integer)) or isinstance(item, bool):
            raise TypeError(f"SliceDataset indices are whole numbers; got {item!r}")
        size = len(self)
        position = int(item) + size if item < 0 else int(item)
        if not 0 <= position < size:
            raise IndexError(f"sample {item} of a dataset of {size}")
        block = int(np.searchsorted(self._starts, position, side="right")) - 1
        view, number = self._blocks[block]
        return view, number, position - int(self._starts[block])

    def _rows(self, record: Scanned, view: int, indices: Sequence[int]) -> list[list[object]]:
        """The builder's manifest rows of the pair's view (no split), for the slices ``indices``."""
        chosen = tuple(tuple(indices) if number == view else () for number in range(len(record.frames)))
        outcome = Outcome(record.name, indices=chosen, value_map=record.pixels.value_map)
        return manifest_rows(record.header, outcome, self._options)[view]  # the header the pass read


#: Per process, the (pair, view) blocks whose writer and manifest rows are kept.
_BLOCKS_KEPT = 64


@dataclass
class _Block:
    writer: SliceWriter
    rows: list[list[object]]


def _pairs(
    images_folder: str, masks_folder: str | os.PathLike[str] | None, suffixes: tuple[str, ...]
) -> tuple[list[tuple[str, str | None]], list[tuple[str, str]]]:
    """(image, mask or None) pairs in file-name order, and the inputs that have no partner, with why."""
    images = list_volumes(images_folder)
    if masks_folder is None:
        return [(image, None) for image in images], []
    pairing = pair(images, list_volumes(os.fspath(masks_folder)), suffixes)
    pairs: list[tuple[str, str | None]] = []
    failures = [(name, "a mask without an image of its prefix") for name in pairing.unpaired_masks]
    for image in images:
        name = os.path.basename(image)
        if name in pairing.masks:
            pairs.append((image, pairing.masks[name]))
        else:
            failures.append((name, pairing.unpaired_images[name]))
    return pairs, failures


def _shared_pixels(records: list[Scanned], fresh: bool = False) -> list[Scanned]:
    """The records with one :class:`Pixels` per distinct value stage, so that volumes of one dtype
    and window share one lookup table; ``fresh``: without the tables computed so far."""
    shared: dict[Pixels, Pixels] = {}
    for record in records:
        pixels = record.pixels
        shared.setdefault(pixels, Pixels(pixels.plan, pixels.window, pixels.pad_value) if fresh else pixels)
    return [replace(record, pixels=shared[record.pixels]) for record in records]


def _blocks(records: list[Scanned], views: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The first sample of each (view, pair) block, view by view as the manifests list them."""
    blocks = [(view, number) for view in range(views) for number in range(len(records))]
    sizes = [len(records[number].indices[view]) for view, number in blocks]
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]), blocks


def _indexable(record: Scanned) -> bool:
    """Whether the input-format table says the pair's image can be indexed by seek points."""
    entry = INPUT_FORMATS.get(record.header.format)
    return entry is not None and entry.seek_points
