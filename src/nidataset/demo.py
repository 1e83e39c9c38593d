"""The built-in sample dataset: write a few phantom CT volumes, then extract them."""

from __future__ import annotations

import os

from .io.atomic import make_folder
from .io.images import write_nifti
from .phantoms import DEMO_CASES, ct_affine, ct_phantom
from .progress import Progress
from .results import RunResult


def write_demo_volumes(folder: str) -> list[str]:
    """Write the demo's phantom volumes as ``<folder>/<case>.nii.gz`` and return their paths."""
    make_folder(folder)
    paths = []
    for seed, (name, shape, spacing) in enumerate(DEMO_CASES):
        path = os.path.join(folder, f"{name}.nii.gz")
        write_nifti(path, ct_phantom(shape, seed=seed), ct_affine(spacing))
        paths.append(path)
    return paths


def run_demo(output: str, *, progress: bool | Progress = True) -> RunResult:
    """Write the phantoms to ``<output>/volumes`` and extract all three views to ``<output>/slices``,
    with previews and ``<output>/slices/report.html``."""
    from .slices import extract_slices_dataset

    volumes = os.path.join(output, "volumes")
    write_demo_volumes(volumes)
    return extract_slices_dataset(
        volumes,
        os.path.join(output, "slices"),
        view=["axial", "coronal", "sagittal"],
        saving_mode="case",
        save_stats=True,
        save_failures=True,
        save_preview=True,
        save_report=True,
        progress=progress,
    )
