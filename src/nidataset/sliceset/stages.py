"""The builder's stages the dataset reuses, from where this checkout keeps them.

The value stage is moving from ``slices/pixels.py`` to the ``values`` package, the PNG refusal to
the image-format table (``encoding``) and the readers to the input-format table (``io.readers``,
which opens NRRD, MetaImage and DICOM too); until every branch has moved, this is the one module
that knows both places (looked up by name, so that type checkers follow neither).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any


def _first(name: str, *modules: str) -> Any:
    """``name`` from the first of ``modules`` (within nidataset) that has it."""
    for module in modules:
        try:
            return getattr(importlib.import_module(f"nidataset.{module}"), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"none of {', '.join(modules)} has {name}")


def _has(module: str) -> bool:
    return importlib.util.find_spec(f"nidataset.{module}") is not None


Pixels: Any = _first("Pixels", "values.pixels", "slices.pixels")
pixels_for: Any = _first("pixels_for", "values.pixels", "slices.pixels")
value_plan: Any = _first("value_plan", "values.pixels", "slices.pixels")
refuse_format: Any = _first("refuse_format", "encoding", "slices.pixels")
#: ``open_volume(path)``: a reader of any input format (NIfTI alone where there is no format table).
open_volume: Any = (
    _first("open_volume", "io.readers") if _has("io.readers") else _first("VolumeReader", "io.volumes")
)


def is_nifti(header: Any) -> bool:
    """Whether a header is a NIfTI file's (whose voxels lie at ``header.offset``, so seek points apply)."""
    return getattr(header, "format", "nifti") == "nifti"
