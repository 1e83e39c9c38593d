"""The tables of ``build_dataset``: its label formats and its dataset layouts.

Everything else reads these tables: the option checks, the job, the finishers, the CLI's choices
and help. A new label format or layout is one module defining its record
(:class:`~nidataset.training.plugins.LabelFormat`, :class:`~nidataset.training.plugins.Layout`)
plus one line below; a plug-in (or a test) may instead call :func:`register_label_format` /
:func:`register_layout` before building.
"""

from __future__ import annotations

from .coco import COCO
from .huggingface import HF_LAYOUT, HF_MASKS
from .labelfiles import CSV, MASKS, YOLO
from .nnunet import NNUNET_LABELS, NNUNET_LAYOUT
from .plugins import LabelFormat, Layout
from .segments import YOLO_SEG
from .yolo import YOLO_LAYOUT

#: Label formats by name, in the order the help lists them.
LABEL_FORMATS: dict[str, LabelFormat] = {
    item.name: item for item in (MASKS, YOLO, YOLO_SEG, COCO, CSV, NNUNET_LABELS, HF_MASKS)
}

#: Dataset layouts by name; the first is the default.
LAYOUTS: dict[str, Layout] = {item.name: item for item in (YOLO_LAYOUT, NNUNET_LAYOUT, HF_LAYOUT)}


def register_label_format(label_format: LabelFormat) -> None:
    """Add (or replace) a label format: ``labels=`` and ``--labels`` accept it from then on."""
    LABEL_FORMATS[label_format.name] = label_format


def register_layout(layout: Layout) -> None:
    """Add (or replace) a dataset layout: ``layout=`` and ``--layout`` accept it from then on."""
    LAYOUTS[layout.name] = layout


def label_format(name: str) -> LabelFormat:
    return LABEL_FORMATS[name]
