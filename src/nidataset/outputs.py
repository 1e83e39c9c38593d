"""The outputs a dataset run writes besides its images, chosen from the run's flags and plugged into
the dataset flow (:func:`nidataset.batch.flow.run_dataset`), which knows none of them."""

from __future__ import annotations

import functools

from .batch.flow import RunOutput
from .batch.settings import RunOptions
from .manifest import Describe, write_manifests
from .viewing.run_report import write_report


def run_outputs(run: RunOptions, describe: Describe | None = None) -> list[RunOutput]:
    """The manifests (``save_manifest``, with the job's ``describe``) and the report (``save_report``)."""
    outputs: list[RunOutput] = []
    if run.save_manifest and describe is not None:
        outputs.append(functools.partial(write_manifests, describe=describe))
    if run.save_report:
        outputs.append(write_report)
    return outputs
