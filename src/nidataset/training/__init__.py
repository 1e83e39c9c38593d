"""From NIfTI images and masks to a training-ready 2D dataset, in one call that keeps them aligned.

:mod:`~nidataset.training.facade` (``build_dataset``) pairs images with masks
(:mod:`~nidataset.training.pairing`), assigns cases to splits (:mod:`~nidataset.training.splits`),
runs the per-pair job (:mod:`~nidataset.training.job`, writing through
:mod:`~nidataset.training.writer`) and finishes the dataset (:mod:`~nidataset.training.finish`).
What is written comes from two tables (:mod:`~nidataset.training.tables`, records in
:mod:`~nidataset.training.plugins`): the label formats (:mod:`~nidataset.training.labelfiles`,
:mod:`~nidataset.training.coco`) and the layouts (:mod:`~nidataset.training.yolo`). Options are
checked in :mod:`~nidataset.training.options`, class names in :mod:`~nidataset.training.classes`.
"""

from typing import Any

__all__ = ["build_dataset"]


def __getattr__(name: str) -> Any:
    if name == "build_dataset":
        from .facade import build_dataset

        return build_dataset
    raise AttributeError(f"module 'nidataset.training' has no attribute {name!r}")
