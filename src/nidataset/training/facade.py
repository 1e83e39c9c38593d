"""``build_dataset``: NIfTI images and masks to a training-ready 2D dataset in YOLO's layout."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import replace

from ..batch.flow import run_dataset
from ..batch.runner import run_files
from ..encoding import refuse_format
from ..io.atomic import write_text
from ..io.volumes import list_volumes
from ..naming import prefix_of
from ..options import (
    MASK_SUFFIXES,
    Bits,
    BuildOptions,
    Compression,
    ImageFormat,
    Orientation,
    RunOptions,
    Spacing,
    View,
    WindowSpec,
    build_options,
    run_options,
)
from ..outputs import run_outputs
from ..progress import Progress
from ..results import Outcome, RunResult
from .job import build_pair, coco_fragment_path, manifest_rows, mask_labels
from .pairing import case_of, pair
from .splits import assign, check_split

__all__ = ["build_dataset"]


def build_dataset(
    images_folder: str,
    masks_folder: str,
    output_path: str,
    *,
    view: View | Sequence[View] = "axial",
    orientation: Orientation = "stored",
    spacing: Spacing = None,
    target_size: tuple[int, int] | None = None,
    pad_value: float = 0.0,
    window: WindowSpec = None,
    bits: Bits = 8,
    image_format: ImageFormat = "tiff",
    compression: Compression | None = None,
    labels: str | Sequence[str] = ("masks", "yolo", "coco"),
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
        skipped with its reason and listed.
    output_path : str
        The dataset's root: ``images/<split>/<name>.<ext>``, ``masks/<split>/<name>.png|.tif``,
        ``labels/<split>/<name>.txt`` (YOLO), ``boxes/<split>/<name>.csv`` (``"csv"``),
        ``annotations_<split>.json`` (COCO), ``data.yaml``, ``split.json``, the manifest and the
        report. Without a split, ``<split>/`` is left out and COCO is ``annotations.json``.
        ``<name>`` is ``<prefix>_<view>_<index>``, the slice's own index.
    view, orientation, spacing, target_size, pad_value, window, bits, image_format, compression
        As in :func:`nidataset.slices.extract_slices_dataset`, for the images; masks and labels go
        through the same frames with nearest neighbour.
    labels : {"masks", "yolo", "coco", "csv"} or a list of them
        ``"masks"``: label slices as images (uint8, or uint16 above 255; PNG beside PNG or JPEG
        images, else TIFF). ``"yolo"``: one line per object, class ids from 0 in label-value order,
        no file for an image without objects. ``"coco"``: ``bbox``, ``area``, ``iscrowd`` 0,
        ``category_id`` (label-value order, from 1), RLE ``segmentation``. ``"csv"``: the annotation
        CSVs' box columns.
    components : bool
        One object per 3D connected component of each label, else one per label value.
    select : "all", "labelled", ("labelled", k) or (start, stop, step)
        Slices holding an object, those within ``k`` slices of one (clipped at the ends), or a range
        of slice indices. Images and labels are always selected together.
    split, seed : (train, val, test) fractions or a mapping file, and the shuffle's seed
        By case (nnU-Net channels of one case stay together), reproducible, written to ``split.json``.
        A mapping file is JSON (``{"train": [cases], ...}`` or ``{case: split}``) or CSV ``case,split``.
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
    options = replace(options, unpaired=tuple(pairing.unpaired_images.items()))
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
    _write_dataset_files(result, options, cases, asked_split, seed)
    return result


def _with_inputs(
    options: BuildOptions, masks: dict[str, str], split: object, seed: int, run: RunOptions
) -> tuple[BuildOptions, dict[str, str]]:
    """The options with the pairs, each image's split and the dataset's classes (its masks' label
    values, read once before the build, in parallel)."""
    paths = sorted(set(masks.values()))
    found = run_files(mask_labels, paths, None, workers=run.workers, executor=run.executor, progress=False)
    classes = sorted({value for outcome in found for value in outcome.labels or ()})
    cases = {name: case_of(prefix_of(name)) for name in masks}
    of_case = assign(list(cases.values()), split, seed) if split is not None else {}
    splits = tuple((name, of_case[case]) for name, case in cases.items() if case in of_case)
    return replace(options, masks=tuple(masks.items()), splits=splits, classes=tuple(classes)), cases


def _write_dataset_files(
    result: RunResult, options: BuildOptions, cases: dict[str, str], split: object, seed: int
) -> None:
    """What spans the dataset: the COCO files, ``data.yaml`` and ``split.json``."""
    splits = dict(options.splits)
    names = sorted(set(splits.values()), key=("train", "val", "test").index) if splits else [None]
    if "coco" in options.labels:
        _write_coco(result, options, names)
    if "yolo" in options.labels:
        _write_data_yaml(options, names)
    if split is not None:
        done = {o.name for o in result.done}
        asked = split if isinstance(split, str) else list(split)  # type: ignore[call-overload]
        listed: dict[str, object] = {"seed": seed, "split": asked}
        for name in ("train", "val", "test"):
            listed[name] = sorted({cases[i] for i, s in splits.items() if s == name and i in done})
        write_text(os.path.join(options.output_path, "split.json"), json.dumps(listed, indent=1) + "\n")


def _write_coco(result: RunResult, options: BuildOptions, names: Sequence[str | None]) -> None:
    categories = [
        {"id": number + 1, "name": f"label_{value}", "supercategory": "label"}
        for number, value in enumerate(options.classes)
    ]
    tables: dict[str | None, dict[str, list[object]]] = {
        name: {"images": [], "annotations": [], "categories": list(categories)} for name in names
    }
    image_id = annotation_id = 0
    for outcome in result.done:
        with open(
            coco_fragment_path(options.output_path, prefix_of(outcome.name)), encoding="utf-8"
        ) as handle:
            fragment = json.load(handle)
        table = tables[fragment["split"]]
        for image in fragment["images"]:
            image_id += 1
            annotations = image.pop("annotations")
            table["images"].append({"id": image_id, **image})
            for annotation in annotations:
                annotation_id += 1
                table["annotations"].append({"id": annotation_id, "image_id": image_id, **annotation})
    for name, table in tables.items():
        filename = f"annotations_{name}.json" if name else "annotations.json"
        write_text(os.path.join(options.output_path, filename), json.dumps(table))


def _write_data_yaml(options: BuildOptions, names: Sequence[str | None]) -> None:
    """YOLO's dataset file: the root, the image folders of the splits, the class names."""
    folders = {name: f"images/{name}" for name in names if name} or {"train": "images"}
    if "val" not in folders:  # YOLO's trainers want a validation set: without one, the training images
        folders["val"] = folders.get("train", next(iter(folders.values())))
    lines = [f"path: {json.dumps(os.path.abspath(options.output_path))}"]
    lines += [f"{key}: {value}" for key, value in folders.items()]
    lines.append("names:")
    lines += [f"  {number}: label_{value}" for number, value in enumerate(options.classes)]
    write_text(os.path.join(options.output_path, "data.yaml"), "\n".join(lines) + "\n")
