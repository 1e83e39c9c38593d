"""The public API: ``from nidataset.slices import extract_slices_dataset`` and the other three.

The slice façade lives in :mod:`~nidataset.slices.facade`, its per-file job in
:mod:`~nidataset.slices.job` and the slices' manifest rows in :mod:`~nidataset.slices.rows`; the
annotation functions, from :mod:`nidataset.annotations`, are
exported here too, as the seed documentation imports them. Loaded on first use, so that importing a
pure submodule stays cheap.

>>> from nidataset.slices import extract_slices_dataset
>>> extract_slices_dataset.__module__
'nidataset.slices.facade'
"""

from typing import Any

__all__ = ["extract_annotations", "extract_annotations_dataset", "extract_slices", "extract_slices_dataset"]


def __getattr__(name: str) -> Any:
    if name in ("extract_slices", "extract_slices_dataset"):
        from . import facade

        return getattr(facade, name)
    if name in ("extract_annotations", "extract_annotations_dataset"):
        from ..annotations import facade as annotations

        return getattr(annotations, name)
    raise AttributeError(f"module 'nidataset.slices' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
