"""What a label format and a dataset layout of ``build_dataset`` are: the records of their tables.

The tables themselves are in :mod:`~nidataset.training.tables`; adding a format or a layout is one
module defining its record plus one line there (or :func:`~nidataset.training.tables.register_label_format`
/ :func:`~nidataset.training.tables.register_layout` at run time, for plug-ins and tests).

How a build uses them, per pair (in a worker) then once per dataset (in the calling process):

1. For each selected slice, the job writes the image where the layout places it
   (``layout.folder("images", split)`` / ``layout.image_name(stem, extension)``), then calls each chosen
   label format's :attr:`LabelFormat.write` with a :class:`LabelSlice`. A writer puts its files with
   ``item.place(extension)`` (the path in the format's :attr:`~LabelFormat.folder`, placed by the layout
   per split; every placed path is recorded, so reruns and failures remove it) and may return a
   JSON-able *entry* for its finisher (COCO returns the slice's image and annotations, YOLO its
   boxes: their class ids are known once every mask has been read).
2. The entries of a pair are kept in one hidden fragment file per pair; once every pair is done, each
   chosen format's :attr:`LabelFormat.finish` then the layout's :attr:`Layout.finish` get a
   :class:`FinishedDataset` (splits that exist, classes, cases, every format's entries of the pairs
   done) and return the dataset files they wrote. Dataset files are recorded too: a rerun removes
   those the new run does not write again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .classes import Classes

if TYPE_CHECKING:  # numpy for annotations only: the CLI reads these records for its help
    import numpy as np

    from ..annotations.labels import SliceObject


@dataclass
class LabelSlice:
    """One selected slice of one pair, as a label format's per-slice writer gets it.

    The dataset's classes are known once every mask has been read, so a format whose files depend on
    class ids (YOLO, COCO) returns entries that hold label values, and its finisher writes the files
    with the ids: each mask is read once. A format that needs the classes per slice sets
    :attr:`LabelFormat.needs_classes`; the build then reads every mask once more, before the pairs.

    ``labels`` is the mask slice (label values, 0 background) in the image's pixel frame (same
    orientation, resampling by nearest neighbour and padding with 0); ``objects`` its objects (one per
    label value, or per 3D connected component with ``components=True``), computed on first use.
    """

    stem: str  # "<prefix>_<view>_<index>": the image's name without its extension
    image_name: str  # the image's file name as written, relative to its folder
    split: str | None
    shape: tuple[int, int]  # the image's (height, width)
    labels: np.ndarray
    folder: str | None  # the format's folder for this split, relative to the dataset's root
    options: Any  # the build's BuildOptions
    place: Callable[[str], str]  # place(".txt") -> this slice's path in the format's folder, recorded
    find_objects: Callable[[], list[SliceObject]] = field(repr=False, default=list)
    #: The dataset's classes, only for a format with ``needs_classes`` (it costs a pass over the masks).
    classes: Classes | None = None
    #: ``reserve(".txt")``: create now, empty, the hidden temporary of this slice's file in the
    #: format's folder, for the finisher to fill (:func:`~nidataset.io.atomic.write_reserved`); its
    #: path relative to the dataset's root. Creating files is the workers' then, in parallel, and a
    #: failed pair's temporaries are rolled back with its files.
    reserve: Callable[[str], str] | None = field(repr=False, default=None)

    @cached_property
    def objects(self) -> list[SliceObject]:
        return self.find_objects()


#: ``write(item)``: write one slice's files through ``item.place``; return an entry (JSON-able) for the
#: format's finisher, or None.
SliceWriter = Callable[[LabelSlice], object]


@dataclass(frozen=True)
class FinishedDataset:
    """What the finishers get once every pair is done.

    ``splits`` are the splits that hold a case, in train, val, test order, or ``(None,)`` without a
    split; ``cases`` the cases done per split; ``entries[format][split]`` a format's entries of the
    pairs done (pair order, then slice order), an iterable read from the pairs' fragments each time
    it is iterated (never all in memory); ``empty_splits`` the asked splits that hold no case.
    """

    output_path: str
    layout: Layout
    splits: tuple[str | None, ...]
    classes: Classes
    cases: Mapping[str | None, Sequence[str]]
    entries: Mapping[str, Mapping[str | None, Iterable[object]]]
    options: Any  # the build's BuildOptions
    empty_splits: tuple[str, ...] = ()


#: ``finish(dataset)``: write the dataset files; return their paths (absolute).
Finisher = Callable[[FinishedDataset], list[str]]


@dataclass(frozen=True)
class LabelFormat:
    """A label format: where its per-slice files go, how one slice is written, how the dataset ends.

    ``folder`` is the kind of folder its per-slice files go in (``"labels"``, ``"masks"``); the layout
    turns it into a path per split. Two chosen formats may not share a folder (``yolo`` and
    ``yolo-seg`` both write ``labels/<stem>.txt``). None: it writes no per-slice file (COCO).
    """

    name: str
    folder: str | None
    write: SliceWriter
    finish: Finisher | None = None
    help: str = ""
    needs_classes: bool = False


def _image_name(stem: str, extension: str) -> str:
    return f"{stem}.{extension}"


@dataclass(frozen=True)
class Layout:
    """A dataset layout: where each kind of file of a split goes, and what spans the dataset.

    ``folder(kind, split)`` is the folder, relative to the dataset's root, of the images
    (``kind="images"``) or of a label format's files (its :attr:`LabelFormat.folder`) for a split
    (None without a split). ``label_formats`` are the formats it accepts (None: all registered),
    ``default_labels`` what ``labels=None`` means, ``image_formats`` the image formats it accepts
    (None: all).
    """

    name: str
    folder: Callable[[str, str | None], str]
    default_labels: tuple[str, ...]
    finish: Finisher | None = None
    label_formats: tuple[str, ...] | None = None
    image_formats: tuple[str, ...] | None = None
    image_name: Callable[[str, str], str] = _image_name
    help: str = ""
    #: (module, how to install it): modules the layout imports when it finishes, checked up front.
    requires: tuple[tuple[str, str], ...] = ()
