"""``build_dataset``: NIfTI images and masks to a training-ready 2D dataset in a chosen layout."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import replace

from ..batch.flow import frames_of, run_dataset
from ..batch.lock import take_lock
from ..batch.runner import run_files
from ..encoding import refuse_format
from ..errors import VolumeError
from ..io.volumes import list_volumes, read_header
from ..naming import prefix_of
from ..options import (
    Bits,
    Compression,
    ImageFormat,
    Orientation,
    RunOptions,
    Spacing,
    View,
    WindowSpec,
    run_options,
)
from ..outputs import run_outputs
from ..progress import Progress
from ..results import Outcome, RunResult
from .classes import Classes
from .finish import finish_dataset
from .job import build_pair, label_values, manifest_rows, read_labels
from .options import MASK_SUFFIXES, BuildOptions, build_options
from .pairing import case_of, pair
from .splits import assign, check_split
from .tables import LABEL_FORMATS

__all__ = ["build_dataset"]


def build_dataset(
    images_folder: str,
    masks_folder: str,
    output_path: str,
    *,
    layout: str = "yolo",
    view: View | Sequence[View] = "axial",
    orientation: Orientation = "stored",
    spacing: Spacing = None,
    target_size: tuple[int, int] | None = None,
    pad_value: float | str = "min",
    window: WindowSpec = None,
    bits: Bits = 8,
    image_format: ImageFormat = "tiff",
    compression: Compression | None = None,
    labels: str | Sequence[str] | None = None,
    label_names: dict[int, str] | str | os.PathLike[str] | None = None,
    coco_segmentation: str = "rle",
    components: bool = False,
    select: str | tuple[object, ...] = "all",
    split: tuple[float, float, float] | str | os.PathLike[str] | None = None,
    seed: int = 0,
    context: int = 0,
    mask_suffixes: Sequence[str] = MASK_SUFFIXES,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool | Progress = True,
    resume: bool = False,
    save_manifest: bool = True,
    save_report: bool = True,
    save_failures: bool = True,
) -> RunResult:
    """Build a 2D training set from image volumes and their label masks, aligned pixel for pixel.

    Parameters
    ----------
    images_folder, masks_folder : str
        Folders of ``.nii.gz`` / ``.nii`` volumes. A mask belongs to the image with the same prefix,
        to an nnU-Net image ``<case>_0000`` as ``<case>``, or with one of ``mask_suffixes``
        (``case_seg``). Its shape must equal the image's and its affine agree within 1e-3 in every
        entry. An image without a mask, a mask without an image, or a pair that disagrees is
        skipped with its reason and listed. The two folders and ``output_path`` must differ, and the
        output may not lie inside either.
    output_path : str
        The dataset's root. With ``layout="yolo"`` (the default): ``images/<split>/<name>.<ext>``,
        ``masks/<split>/<name>.png|.tif``, ``labels/<split>/<name>.txt`` (YOLO, an empty file for a
        background image) and ``labels/classes.txt``, ``boxes/<split>/<name>.csv`` (``"csv"``),
        ``annotations/instances_<split>.json`` (COCO), ``data.yaml`` (no ``path:`` key: it opens
        wherever the dataset is copied), ``split.json``, the manifest and the report. Without a split,
        ``<split>/`` is left out and COCO is ``annotations/instances.json``. ``<name>`` is
        ``<prefix>_<view>_<index>``, the slice's own index. A rerun leaves exactly the tree a fresh
        run writes (nothing of a pair now skipped, removed or in another split).
    layout : str
        A key of :data:`nidataset.training.tables.LAYOUTS` (``"yolo"``).
    view, orientation, spacing, target_size, window, bits, image_format, compression
        As in :func:`nidataset.slices.extract_slices_dataset`, for the images; masks and labels go
        through the same frames with nearest neighbour. Slices of volumes of different shapes differ
        in size: a training batch of more than one image needs ``target_size`` (the report lists the
        sizes written). ``context=1`` with ``bits=16`` is a 16-bit RGB image: refused for PNG, which
        Pillow and torchvision read as 8 bits; use TIFF.
    pad_value : float or "min"
        The value of the padding ``target_size`` adds; ``"min"`` (default here) is each volume's
        smallest real value (air in CT, background in MRI), windowed like the voxels.
    labels : str, list of them, or None
        Keys of :data:`nidataset.training.tables.LABEL_FORMATS`; None: the layout's default
        (``("masks", "yolo", "coco")``). ``"masks"``: label slices as images (uint8, or uint16 above
        255; PNG beside PNG or JPEG images, else TIFF). ``"yolo"``: one line per object, class ids
        from 0 in label-value order. ``"coco"``: ``bbox``, ``area``, ``iscrowd`` 0, ``category_id``
        (label-value order, from 1), RLE ``segmentation``. ``"csv"``: the annotation CSVs' box
        columns.
    label_names : mapping, JSON file path, or None
        ``{1: "liver", 2: "tumour"}``: the class names of data.yaml, classes.txt and COCO categories.
        A named value no mask holds is kept as a class; an unnamed value is ``label_<value>``.
    coco_segmentation : {"rle", "polygon"}
        How COCO annotations hold the mask: uncompressed RLE (exact), or one polygon per 2D
        connected component traced on pixel edges (holes not represented).
    components : bool
        One object per 3D connected component of each label, else one per label value.
    select : "all", "labelled", ("labelled", k) or (start, stop, step)
        Slices holding an object, those within ``k`` slices of one (clipped at the ends), or a range
        of slice indices. Images and labels are always selected together; a pair with no selected
        slice writes nothing and counts 0.
    split, seed : (train, val, test) fractions or a mapping file, and the shuffle's seed
        By case (nnU-Net channels of one case stay together), reproducible, written to ``split.json``.
        A mapping file is JSON (``{"train": [cases], ...}`` or ``{case: split}``) or CSV ``case,split``
        (UTF-8, with or without a BOM); a case named twice, or a case the inputs do not have, is
        refused.
    context : int
        Each image holds slices ``index - context .. index + context`` as channels, edge slices
        repeated; ``context=1`` with an 8-bit window is an RGB PNG.
    workers, executor, progress, resume, save_manifest, save_report, save_failures
        As for the slice functions (the manifest lists the images).

    Returns
    -------
    RunResult
        ``what="images"``: images written per view per pair, or why a pair was skipped.
    """
    _check_folders(images_folder, masks_folder, output_path)
    options = build_options(
        output_path,
        view,
        orientation=orientation,
        spacing=spacing,
        target_size=target_size,
        pad_value=pad_value,
        window=window,
        bits=bits,
        image_format=image_format,
        compression=compression,
        labels=labels,
        components=components,
        select=select,
        context=context,
        resume=resume,
        layout=layout,
        label_names=label_names,
        coco_segmentation=coco_segmentation,
    )
    asked_split = check_split(split)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be a whole number; got {seed!r}")
    run = run_options(
        workers,
        executor,
        progress,
        save_stats=False,
        save_failures=save_failures,
        save_manifest=save_manifest,
        save_report=save_report,
    )
    pairing = pair(list_volumes(images_folder), list_volumes(masks_folder), tuple(mask_suffixes))
    options, cases = _with_inputs(options, pairing.masks, asked_split, seed, run)
    options = replace(
        options,
        unpaired=tuple(pairing.unpaired_images.items()),
        slice_sizes=slice_sizes(images_folder, options),
    )
    orphans = [
        Outcome(name, reason="a mask without an image of its prefix") for name in pairing.unpaired_masks
    ]
    result = run_dataset(
        build_pair,
        options,
        images_folder,
        run,
        what="images",
        outputs=run_outputs(run, manifest_rows),
        refuse=refuse_format,
        unrun=orphans,
    )
    lock = take_lock(options.output_path)  # the dataset files, like the pairs, are one run's at a time
    try:
        finish_dataset(result, options, cases, asked_split, seed, run.save_manifest)
    finally:
        lock.release()
    return result


def slice_sizes(images_folder: str, options: BuildOptions) -> str:
    """The image sizes (rows x columns) each view writes, from the paired images' headers, for the
    report: volumes of different shapes give slices of different sizes, which a batch of more than one
    image cannot stack without ``target_size``."""
    sizes: dict[str, Counter[str]] = {view: Counter() for view in options.views}
    for name, _ in options.masks:
        try:
            frames = frames_of(read_header(os.path.join(images_folder, name)), options)
        except VolumeError:
            continue
        for frame in frames:
            sizes[frame.view]["x".join(map(str, frame.image_shape))] += 1
    parts = [
        f"{view} " + ", ".join(f"{size} ({count} volumes)" for size, count in counted.most_common())
        for view, counted in sizes.items()
    ]
    several = any(len(counted) > 1 for counted in sizes.values())
    return "; ".join(parts) + ("; a batch of more than one image needs target_size" if several else "")


def _check_folders(images_folder: str, masks_folder: str, output_path: str) -> None:
    """Refuse an output that is an input folder, lies inside one or holds one, and one folder for both
    inputs."""
    images, masks, output = (
        os.path.realpath(os.fspath(p)) for p in (images_folder, masks_folder, output_path)
    )
    if images == masks:
        raise ValueError(f"images_folder and masks_folder are the same folder {os.fspath(images_folder)!r}")
    for name, folder in (("images_folder", images), ("masks_folder", masks)):
        if output == folder or output.startswith(folder.rstrip(os.sep) + os.sep):
            raise ValueError(
                f"output_path {os.fspath(output_path)!r} is inside {name} {folder!r}: "
                "choose an output folder outside the inputs"
            )
        if folder.startswith(output.rstrip(os.sep) + os.sep):  # dataset/images would get images/<split>
            raise ValueError(
                f"{name} {folder!r} is inside output_path {os.fspath(output_path)!r}, where the dataset's "
                "own folders go: choose an output folder outside the inputs"
            )


def mask_labels(path: str, options: object) -> Outcome:
    """The label values (> 0) a mask holds, for formats that need the classes before the build. A mask
    that cannot be read gives none: its pair's own skip line says why (once)."""
    try:
        return Outcome(os.path.basename(path), labels=tuple(label_values(read_labels(path)[1])))
    except VolumeError:
        return Outcome(os.path.basename(path), labels=())


def _with_inputs(
    options: BuildOptions, masks: dict[str, str], split: object, seed: int, run: RunOptions
) -> tuple[BuildOptions, dict[str, str]]:
    """The options with the pairs and each image's split; with the dataset's classes only when a
    chosen label format needs them per slice (then every mask is read once before the build)."""
    classes = None
    if any(LABEL_FORMATS[name].needs_classes for name in options.labels):
        paths = sorted(set(masks.values()))
        found = run_files(
            mask_labels, paths, None, workers=run.workers, executor=run.executor, progress=False
        )
        values = {v for outcome in found for v in outcome.labels or ()}
        classes = Classes.of(values, dict(options.label_names))
    cases = {name: case_of(prefix_of(name)) for name in masks}
    of_case = assign(list(cases.values()), split, seed) if split is not None else {}
    splits = tuple((name, of_case[case]) for name, case in cases.items() if case in of_case)
    return replace(options, masks=tuple(masks.items()), splits=splits, classes=classes), cases
