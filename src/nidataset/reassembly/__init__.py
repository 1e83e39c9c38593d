"""Back to 3D: ``reassemble`` (slice images to volumes) and ``boxes_to_volume`` (2D boxes to 3D).

Both read a manifest written with ``save_manifest=True`` and need neither the source volumes nor
anything else. The façade lives in :mod:`~nidataset.reassembly.facade`, its options in
:mod:`~nidataset.reassembly.options`, the per-source job in :mod:`~nidataset.reassembly.job`, reading
a manifest back in :mod:`~nidataset.reassembly.manifests`, the pure sampling from pixels back to
voxels in :mod:`~nidataset.geometry.sampling`, and the boxes in :mod:`~nidataset.reassembly.boxes`.
Loaded on first use.
"""

from typing import Any

__all__ = ["boxes_to_volume", "reassemble"]


def __getattr__(name: str) -> Any:
    if name == "reassemble":
        from .facade import reassemble

        return reassemble
    if name == "boxes_to_volume":
        from .boxes import boxes_to_volume

        return boxes_to_volume
    raise AttributeError(f"module 'nidataset.reassembly' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
