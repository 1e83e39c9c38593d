"""nidataset: turn folders of 3D medical volumes into 2D slice datasets, and back.

>>> import nidataset as nid
>>> callable(nid.extract_slices_dataset)
True

The public functions are imported on first use, so ``import nidataset`` stays cheap. Skipped files
are logged on the ``nidataset`` logger (level WARNING) as well as shown by the progress display.
"""

import logging
from typing import Any

__version__ = "1.0.0"  # equal to pyproject.toml's (tests/test_docs.py)
__all__ = [
    "SliceDataset",
    "boxes_to_volume",
    "build_dataset",
    "extract_annotations",
    "extract_annotations_dataset",
    "extract_slices",
    "extract_slices_dataset",
    "preview_dataset",
    "reassemble",
]

# A library leaves handlers to its caller; the progress display shows skips while a run lasts.
logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    if name == "build_dataset":
        from . import training

        return training.build_dataset
    if name == "preview_dataset":
        from . import viewing

        return viewing.preview_dataset
    if name in ("reassemble", "boxes_to_volume"):
        from . import reassembly

        return getattr(reassembly, name)
    if name == "SliceDataset":
        from .sliceset import SliceDataset

        return SliceDataset
    if name in __all__:
        from . import slices

        return getattr(slices, name)
    raise AttributeError(f"module 'nidataset' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
