"""Slices without files: the samples ``build_dataset`` writes, served straight from the volumes."""

from .dataset import SliceDataset

__all__ = ["SliceDataset"]
