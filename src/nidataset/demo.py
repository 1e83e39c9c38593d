"""The built-in sample dataset: phantom CT volumes with label masks, their slices, a training set.

What the demo writes is what a model would take, so that every command can be tried on it:

* ``volumes/`` and ``masks/``: the phantoms (int16 Hounsfield-like values) and their label masks
  (uint8: 1 lungs, 2 heart), one ``.nii.gz`` each, named alike;
* ``slices/``: the volumes' slices in three views, radiological, through the soft-tissue window
  as 8-bit PNG, with statistics, manifests (for ``reassemble``), previews and ``report.html``;
* ``dataset/``: a training set from :func:`nidataset.training.build_dataset` (images, masks,
  YOLO labels, COCO), with its own report;
* ``README.txt``: the same, and the commands to try next.

The demo writes only into an empty (or new) folder, or over an earlier demo's output, which it
recognises by its marker file: it must never overwrite, or extract, a user's own files.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

from .io.atomic import is_temporary_name, make_folder, write_text
from .io.images import write_nifti
from .phantoms import DEMO_CASES, LABEL_NAMES, ct_affine, ct_labels, ct_phantom
from .progress import Progress
from .results import RunResult

#: The slices' options: what a CNN takes (radiological, windowed, PNG), all three views.
WINDOW, VIEWS = "soft_tissue", ("axial", "coronal", "sagittal")
#: The demo's folders, and the files beside them.
VOLUMES, MASKS, SLICES, DATASET, README = "volumes", "masks", "slices", "dataset", "README.txt"
#: Where the next steps it prints write: the demo never reads or writes there, so it may exist.
TRIED = "tried"


@dataclass(frozen=True)
class DemoResult:
    """What the demo's two runs returned: the slices, and the training set."""

    slices: RunResult
    dataset: RunResult


def write_demo_volumes(folder: str, masks: str | None = None) -> list[str]:
    """Write the demo's phantom volumes as ``<folder>/<case>.nii.gz``, and their label masks as
    ``<masks>/<case>.nii.gz`` when ``masks`` is given; return the volumes' paths."""
    make_folder(folder)
    if masks is not None:
        make_folder(masks)
    paths = []
    for seed, (name, shape, spacing) in enumerate(DEMO_CASES):
        path = os.path.join(folder, f"{name}.nii.gz")
        write_nifti(path, ct_phantom(shape, seed=seed), ct_affine(spacing))
        if masks is not None:
            write_nifti(os.path.join(masks, f"{name}.nii.gz"), ct_labels(shape), ct_affine(spacing))
        paths.append(path)
    return paths


#: The file that marks a folder as a demo's output, and what it says.
MARKER, MARKER_TEXT = ".nidataset-demo", "written by `nidataset demo`; the demo may write here again\n"


def run_demo(output: str, *, progress: bool | Progress = True) -> DemoResult:
    """Write the phantoms and their masks, their slices (``<output>/slices``) and a training set
    (``<output>/dataset``), each with its report; see the module's docstring for what each holds.

    Raises ValueError, before writing anything, when ``output`` is empty, a file, or a folder that
    holds anything but an earlier demo's output.
    """
    from .slices import extract_slices_dataset
    from .training import build_dataset

    check_demo_folder(output)
    make_folder(output)
    write_text(os.path.join(output, MARKER), MARKER_TEXT)
    volumes, masks = os.path.join(output, VOLUMES), os.path.join(output, MASKS)
    write_demo_volumes(volumes, masks)
    slices = extract_slices_dataset(
        volumes,
        os.path.join(output, SLICES),
        view=list(VIEWS),
        saving_mode="case",
        save_stats=True,
        orientation="radiological",
        window=WINDOW,
        image_format="png",
        save_failures=True,
        save_manifest=True,
        save_preview=True,
        save_report=True,
        progress=progress,
    )
    dataset = build_dataset(
        volumes,
        masks,
        os.path.join(output, DATASET),
        orientation="radiological",
        window=WINDOW,
        image_format="png",
        label_names=LABEL_NAMES,
        split=(0.67, 0.33, 0.0),  # two cases to train on and one to validate: what YOLO needs
        progress=progress,
    )
    write_text(os.path.join(output, README), "\n".join([*contents(output), "", *next_steps(output)]) + "\n")
    _describe(os.path.join(output, SLICES, "report.html"), contents(output))
    return DemoResult(slices, dataset)


def contents(output: str) -> list[str]:
    """What the demo's folders hold, one line each."""
    names = ", ".join(f"{value} {name}" for value, name in LABEL_NAMES.items())
    join = os.path.join
    return [
        f"{join(output, VOLUMES)}: {len(DEMO_CASES)} phantom CT volumes, int16 Hounsfield-like values "
        "(air -1000, lungs -850, soft tissue 40, heart 90, bone 700)",
        f"{join(output, MASKS)}: their label masks, uint8 ({names}), named like the volumes",
        f"{join(output, SLICES)}: their slices in {', '.join(VIEWS)} views, radiological orientation "
        f"(as 3D Slicer shows them), 8-bit PNG through the {WINDOW} window; statistics, manifests "
        "(<view>_manifest.csv, for reassemble), previews and report.html",
        f"{join(output, DATASET)}: a training set built from volumes and masks (axial, the same window): "
        "images, masks, YOLO labels, COCO, data.yaml and report.html",
    ]


def next_steps(output: str) -> list[str]:
    """Commands to try on the demo's outputs: every other command has an input here."""
    join = os.path.join
    volumes, masks, slices = join(output, VOLUMES), join(output, MASKS), join(output, SLICES)
    tried = join(output, TRIED)
    return [
        "next, try:",
        f"  nidataset annotations {masks} {join(tried, 'annotations')} --data-mode box --images {volumes}",
        f"  nidataset preview {volumes} {masks} {join(tried, 'previews')}",
        f"  nidataset build {volumes} {masks} {join(tried, 'dataset')} --view coronal --window {WINDOW} "
        "--format png",
        f"  nidataset reassemble {slices} {join(tried, 'reassembled')} "
        f"--manifest {join(slices, 'axial_manifest.csv')}",
    ]


def _describe(report: str, lines: list[str]) -> None:
    """Put what the files hold at the top of the slices' report, under its title."""
    if not os.path.isfile(report):
        return
    with open(report, encoding="utf-8") as handle:
        page = handle.read()
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    section = f"<h2>What the demo wrote</h2><ul>{items}</ul>"
    at = page.find("</h1>")
    at = at + len("</h1>") if at >= 0 else page.find("</body>")
    if at >= 0:
        write_text(report, page[:at] + "\n" + section + page[at:])


def check_demo_folder(output: str) -> None:
    """ValueError unless ``output`` is new, empty, or an earlier demo's output and nothing else.

    An earlier demo's folder holds the marker file (a regular file with the marker's text), and
    beside it only the demo's folders (``volumes`` and ``masks`` holding the demo's cases alone),
    its README, and ``tried``, where the commands it suggests write (never read or written by it).
    """
    if not output:
        raise ValueError("the demo's folder must be named; got an empty path")
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
    if not entries <= {MARKER, README, VOLUMES, MASKS, SLICES, DATASET, TRIED}:
        return False
    if os.path.islink(marker) or not os.path.isfile(marker):
        return False
    try:
        with open(marker, encoding="utf-8") as handle:
            if handle.read() != MARKER_TEXT:
                return False
    except (OSError, UnicodeDecodeError):
        return False
    for folder in (VOLUMES, MASKS, SLICES, DATASET):
        path = os.path.join(output, folder)
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path)):
            return False
    ours = {f"{name}.nii.gz" for name, _, _ in DEMO_CASES}
    for folder in (VOLUMES, MASKS):
        path = os.path.join(output, folder)
        names = os.listdir(path) if os.path.isdir(path) else []
        if not all(name in ours or is_temporary_name(name) for name in names):
            return False
    return True
