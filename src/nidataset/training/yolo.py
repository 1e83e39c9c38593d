"""The ``yolo`` layout (the default): Ultralytics' tree, which COCO tools read as well.

SPEC Part 3: ``images/<split>/``, ``labels/<split>/`` (YOLO ``.txt``, an empty one for a background
image), ``masks/<split>/``, ``boxes/<split>/``; without a split, ``<split>/`` is left out. When a format
writes into ``labels/``, ``data.yaml`` (no ``path:`` key, so Ultralytics resolves the image folders
against the yaml's own folder and a copied dataset still opens; only the splits that hold a case;
``names`` a mapping from class id) and ``labels/classes.txt`` (the class names, one a line, in class-id
order) are written.
"""

from __future__ import annotations

import json
import os
import warnings

from ..io.atomic import make_folder, write_text
from .plugins import FinishedDataset, Layout


def yolo_folder(kind: str, split: str | None) -> str:
    """``<kind>/<split>``, or ``<kind>`` without a split."""
    return f"{kind}/{split}" if split else kind


def finish_yolo(dataset: FinishedDataset) -> list[str]:
    """``data.yaml`` and ``labels/classes.txt``, when a chosen label format writes ``labels/``."""
    from .tables import label_format

    if not any(label_format(name).folder == "labels" for name in dataset.options.labels):
        return []
    for split in dataset.empty_splits:
        warnings.warn(
            f"the {split} split holds no case: data.yaml leaves it out (Ultralytics' trainers need a "
            "val split)",
            UserWarning,
            stacklevel=2,
        )
    folders = [(split or "train", yolo_folder("images", split)) for split in dataset.splits]
    lines = [f"{key}: {folder}" for key, folder in folders]
    lines.append("names:")
    lines += [f"  {number}: {json.dumps(name)}" for number, name in enumerate(dataset.classes.names)]
    data_yaml = os.path.join(dataset.output_path, "data.yaml")
    write_text(data_yaml, "\n".join(lines) + "\n")
    classes = os.path.join(dataset.output_path, "labels", "classes.txt")
    make_folder(os.path.dirname(classes))
    write_text(classes, "".join(f"{name}\n" for name in dataset.classes.names))
    return [data_yaml, classes]


YOLO_LAYOUT = Layout(
    "yolo",
    yolo_folder,
    default_labels=("masks", "yolo", "coco"),
    finish=finish_yolo,
    help="images/, labels/, masks/ per split, data.yaml, COCO files (Ultralytics, COCO tools)",
)
