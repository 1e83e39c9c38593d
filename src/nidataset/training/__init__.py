"""From NIfTI images and masks to a training-ready 2D dataset, in one call that keeps them aligned.

:mod:`~nidataset.training.pairing` pairs images with masks, :mod:`~nidataset.training.splits` assigns
cases to train/val/test, :mod:`~nidataset.training.job` writes one pair's selected slices, masks and
labels, and :mod:`~nidataset.training.facade` (``build_dataset``) runs it and writes what spans the
dataset: COCO files, ``data.yaml``, ``split.json``.
"""

from typing import Any

__all__ = ["build_dataset"]


def __getattr__(name: str) -> Any:
    if name == "build_dataset":
        from .facade import build_dataset

        return build_dataset
    raise AttributeError(f"module 'nidataset.training' has no attribute {name!r}")
