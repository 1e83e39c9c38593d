"""Slices without files: the samples ``build_dataset`` writes, served straight from the volumes.

- :mod:`nidataset.sliceset.dataset`: :class:`SliceDataset`, the map-style dataset;
- :mod:`nidataset.sliceset.scan`: the up-front pass, the builder's checks and selection per pair;
- :mod:`nidataset.sliceset.samples`: one sample through the builder's per-slice pipeline;
- :mod:`nidataset.sliceset.memory`: the volumes the up-front pass decoded, in memory shared by processes;
- :mod:`nidataset.sliceset.cache`: decoded volumes per process, within a memory budget;
- :mod:`nidataset.sliceset.shared`: decoded volumes shared by worker processes through a folder;
- :mod:`nidataset.sliceset.seekpoints`: random access into a gzip stream;
- :mod:`nidataset.sliceset.slabs`: a few stored slices of a NIfTI file through its seek points.
"""

from .dataset import SliceDataset

__all__ = ["SliceDataset"]
