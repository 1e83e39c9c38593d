"""Pictures of a run: one preview PNG per volume and view, and the HTML report that shows them.

:mod:`~nidataset.viewing.preview` draws a volume's evenly spaced slices in a grid, one window for the
whole volume, at the physical aspect ratio, captioned, with label outlines when a mask is given;
:mod:`~nidataset.viewing.job` writes them for the slice and annotation jobs and for
:func:`preview_dataset` (:mod:`~nidataset.viewing.facade`); :mod:`~nidataset.viewing.report` renders
``report.html``, a static page with no script or font from elsewhere, and
:mod:`~nidataset.viewing.run_report` gathers what it shows of a run's inputs.
"""

from typing import Any

__all__ = ["preview_dataset"]


def __getattr__(name: str) -> Any:
    if name == "preview_dataset":
        from .facade import preview_dataset

        return preview_dataset
    raise AttributeError(f"module 'nidataset.viewing' has no attribute {name!r}")
