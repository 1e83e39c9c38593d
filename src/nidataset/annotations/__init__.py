"""Annotations from label masks: ``extract_annotations`` and ``extract_annotations_dataset``.

The façade lives in :mod:`~nidataset.annotations.facade`, the per-file job in
:mod:`~nidataset.annotations.job`, the objects of a mask in :mod:`~nidataset.annotations.objects`,
the CSV columns in :mod:`~nidataset.annotations.formats` and the YOLO and COCO labels of one slice's
objects in :mod:`~nidataset.annotations.labels`. Loaded on first use, so that importing the pure
:mod:`~nidataset.annotations.objects` needs neither nibabel nor scipy.
"""

from typing import Any

__all__ = ["extract_annotations", "extract_annotations_dataset"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import facade

        return getattr(facade, name)
    raise AttributeError(f"module 'nidataset.annotations' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
