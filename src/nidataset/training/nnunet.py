"""The ``nnunet`` layout: an nnU-Net v2 raw dataset of 2D slices, as nnU-Net's own checks accept it.

SPEC Part 3 and nnU-Net's ``dataset_format.md``: every slice is a case ``<prefix>_<view>_<index>``;
its image ``imagesTr/<case>_0000.png`` (one file: grey, or RGB with ``context=1`` or three windows,
which nnU-Net's ``NaturalImage2DIO`` reads as three channels), its labels ``labelsTr/<case>.png``:
uint8, the label values renumbered to consecutive integers 0..N in label-value order (nnU-Net
refuses gaps, so ``{1, 3}`` becomes ``{1, 2}``). Test-split cases go to ``imagesTs/`` and
``labelsTs/``. ``dataset.json`` names the channels, the labels (``label_names``), ``numTraining``,
``file_ending`` and the reader; ``splits_final.json`` is one fold, train and val from the case-level
split, so that no patient's slices sit on both sides (nnU-Net's default 5 folds would split slices,
not patients). nnU-Net reads it from ``nnUNet_preprocessed/DatasetXXX_NAME/``: copy it there.
"""

from __future__ import annotations

import json
import os
import warnings

from ..io.atomic import write_text
from .labelfiles import write_label_image
from .plugins import FinishedDataset, LabelFormat, LabelSlice, Layout

NAME = "nnunet"


def nnunet_folder(kind: str, split: str | None) -> str:
    """``imagesTr``/``labelsTr`` for training and validation cases, ``imagesTs``/``labelsTs`` for test.

    >>> nnunet_folder("images", "val"), nnunet_folder("labels", "test")
    ('imagesTr', 'labelsTs')
    """
    return f"{kind}{'Ts' if split == 'test' else 'Tr'}"


def nnunet_image_name(stem: str, extension: str) -> str:
    """The one image file of a case: channel 0000."""
    return f"{stem}_0000.{extension}"


def write_labels(item: LabelSlice) -> dict[str, object]:
    """The slice's labels renumbered 1..N in label-value order (0 stays background), as a PNG."""
    import numpy as np  # here: the CLI reads this module's records for its help, without numpy

    assert item.classes is not None  # needs_classes: the build reads every mask first
    values = np.asarray(item.classes.values)
    labels = np.asarray(item.labels)
    numbers = np.where(labels > 0, np.searchsorted(values, labels) + 1, 0)
    dtype = np.uint8 if len(values) <= 255 else np.uint16
    write_label_image(item.place(".png"), numbers.astype(dtype), "png")
    return {"case": item.stem}


def channel_names(options: object) -> dict[str, str]:
    """R, G, B for an RGB image (context=1 or three windows); else one channel, "CT" under a fixed
    window (nnU-Net then normalises with the foreground's intensity statistics), "image" otherwise
    (z-score per image)."""
    window = getattr(options, "window", None)
    if getattr(options, "context", 0) == 1 or (isinstance(window, tuple) and len(window) == 3):
        return {"0": "R", "1": "G", "2": "B"}
    return {"0": "CT" if window not in (None, "auto") else "image"}


def finish_nnunet(dataset: FinishedDataset) -> list[str]:
    """``dataset.json``, and ``splits_final.json`` when there is a validation split."""
    cases = {
        split: [entry["case"] for entry in entries]  # type: ignore[index]
        for split, entries in dataset.entries.get(NAME, {}).items()
    }
    training = sorted(case for split, listed in cases.items() if split != "test" for case in listed)
    labels = {"background": 0, **{name: n + 1 for n, name in enumerate(dataset.classes.names)}}
    description = {
        "channel_names": channel_names(dataset.options),
        "labels": labels,
        "numTraining": len(training),
        "file_ending": ".png",
        "overwrite_image_reader_writer": "NaturalImage2DIO",
        "name": os.path.basename(os.path.abspath(dataset.output_path)),
        "description": "2D slices by nidataset build_dataset(layout='nnunet'); label values "
        + ", ".join(f"{v} -> {n + 1}" for n, v in enumerate(dataset.classes.values)),
    }
    path = os.path.join(dataset.output_path, "dataset.json")
    write_text(path, json.dumps(description, indent=1) + "\n")
    written = [path]
    if cases.get("val"):
        folds = [{"train": sorted(cases.get("train", [])), "val": sorted(cases["val"])}]
        splits = os.path.join(dataset.output_path, "splits_final.json")
        write_text(splits, json.dumps(folds, indent=1) + "\n")
        written.append(splits)
    else:
        warnings.warn(
            "no validation split: splits_final.json is not written, and nnU-Net's default 5 folds "
            "would put one patient's slices in several folds; pass split= with a val fraction",
            UserWarning,
            stacklevel=2,
        )
    return written


NNUNET_LABELS = LabelFormat(
    NAME,
    "labels",
    write_labels,
    help="nnU-Net labels: uint8 PNG, values renumbered 0..N, labelsTr/ and labelsTs/",
    needs_classes=True,
)
NNUNET_LAYOUT = Layout(
    NAME,
    nnunet_folder,
    default_labels=(NAME,),
    finish=finish_nnunet,
    label_formats=(NAME,),
    image_formats=("png",),
    image_name=nnunet_image_name,
    help="nnU-Net v2 raw 2D dataset: imagesTr/, labelsTr/, imagesTs/, dataset.json, splits_final.json",
)
