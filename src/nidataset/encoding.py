"""The encoding stage's check of a volume: can the chosen image format hold its pixels?

Joins the value stage (:mod:`nidataset.values.pixels`: which dtype a volume's pixels are) and the
image-format table (:mod:`nidataset.io.image_formats`: which dtypes a format holds); the dataset flow
calls it on every header before anything is written.
"""

from __future__ import annotations

import numpy as np

from .io.image_formats import refused_dtype
from .values.pixels import Header, PixelOptions, value_plan


def refuse_format(header: Header, options: PixelOptions) -> tuple[str, str] | None:
    """A volume whose pixels would be a dtype the image format cannot hold (PNG: uint8 and uint16
    only) is refused, from its header; a window's pixels are uint8 or uint16."""
    if options.window is not None:
        dtype = np.dtype(np.uint8 if options.bits == 8 else np.uint16)
    else:
        dtype = value_plan(header, options).output
    reason = refused_dtype(options.image_format, dtype.name)
    return None if reason is None else (f"its values would be {dtype.name}", reason)
