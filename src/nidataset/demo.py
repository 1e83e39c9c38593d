"""The built-in sample dataset: write a few phantom CT volumes, then extract them.

The demo writes only into an empty (or new) folder, or over an earlier demo's output, which it
recognises by its marker file: it must never overwrite, or extract, a user's own files.
"""

from __future__ import annotations

import os

from .io.atomic import is_temporary_name, make_folder, write_text
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


#: The file that marks a folder as a demo's output, and what it says.
MARKER, MARKER_TEXT = ".nidataset-demo", "written by `nidataset demo`; the demo may write here again\n"


def run_demo(output: str, *, progress: bool | Progress = True) -> RunResult:
    """Write the phantoms to ``<output>/volumes`` and extract all three views to ``<output>/slices``,
    with previews and ``<output>/slices/report.html``.

    Raises ValueError, before writing anything, when ``output`` is a file, or a folder that holds
    anything but an earlier demo's output.
    """
    from .slices import extract_slices_dataset

    check_demo_folder(output)
    make_folder(output)
    write_text(os.path.join(output, MARKER), MARKER_TEXT)
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


def check_demo_folder(output: str) -> None:
    """ValueError unless ``output`` is new, empty, or an earlier demo's output and nothing else.

    An earlier demo's folder holds the marker file (a regular file with the marker's text), and
    beside it only ``volumes`` (the demo's volumes alone) and ``slices``.
    """
    if not os.path.lexists(output):
        return
    if not os.path.isdir(output):
        raise ValueError(f"the demo's folder {output!r} is a file; name a new or empty folder")
    entries = set(os.listdir(output))
    if entries and not _earlier_demo(output, entries):
        raise ValueError(
            f"the demo's folder {output!r} is not empty and is not an earlier demo's output; the demo "
            "would overwrite or extract the files in it: name a new or empty folder"
        )


def _earlier_demo(output: str, entries: set[str]) -> bool:
    marker = os.path.join(output, MARKER)
    if not entries <= {MARKER, "volumes", "slices"} or os.path.islink(marker) or not os.path.isfile(marker):
        return False
    try:
        with open(marker, encoding="utf-8") as handle:
            if handle.read() != MARKER_TEXT:
                return False
    except (OSError, UnicodeDecodeError):
        return False
    for folder in ("volumes", "slices"):
        path = os.path.join(output, folder)
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path)):
            return False
    volumes = os.path.join(output, "volumes")
    ours = {f"{name}.nii.gz" for name, _, _ in DEMO_CASES}
    names = os.listdir(volumes) if os.path.isdir(volumes) else []
    return all(name in ours or is_temporary_name(name) for name in names)
