"""Compare ``extract_annotations_dataset`` with the reference implementation, ``nidataset`` 0.9.1.

One command::

    python tools/compare_annotations.py [--reference-python PATH] [--keep]

It writes label masks whose objects are 3D boxes (distinct labels, some touching the borders, some a
single voxel, several on one slice), runs both implementations in slice mode for every view and
``data_mode``, with and without ``target_size``, and compares every CSV value: the per-slice files
must be the same files holding the same rows, ours with one more column, ``LABEL``. The statistics
must agree on ``FILENAME,NUM_ANNOTATIONS`` (ours adds ``TOTAL_ANNOTATIONS``).

A second dataset, whose objects are not boxes, shows the intended difference: the reference copies
each object's 3D box onto every slice of its range, ours writes the object's extent on that slice.
The reference runs in its own interpreter (see ``benchmarks/reference_env.py``); ours runs in this
process, from this checkout's ``src``. Exit code 0 when the box masks match value for value, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # compare this checkout, whatever is installed
sys.path.insert(0, str(HERE.parent / "benchmarks"))  # reference_env, shared with the benchmarks

from reference_env import ReferenceNotFound, reference_python  # noqa: E402

from nidataset.annotations import extract_annotations_dataset  # noqa: E402

VIEWS = ("axial", "coronal", "sagittal")
DATA_MODES = ("center", "box", "radius")
#: Not square, larger than every slice: a swapped height/width would move every coordinate.
TARGETS = (None, (50, 45))
SHAPES = ((20, 24, 16), (33, 18, 27), (12, 40, 9))

#: Run by the reference's interpreter: one dataset call per setting, its stdout chatter discarded.
REFERENCE_RUNNER = """
import contextlib, io, json, sys
from nidataset.slices import extract_annotations_dataset
jobs = json.loads(sys.argv[1])
for job in jobs:
    job["target_size"] = tuple(job["target_size"]) if job["target_size"] else None
    with contextlib.redirect_stdout(io.StringIO()):
        extract_annotations_dataset(**job)
"""


def box_masks(seed: int = 0) -> dict[str, np.ndarray]:
    """Masks of non-overlapping 3D boxes with distinct labels, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    masks = {}
    for number, shape in enumerate(SHAPES, start=1):
        mask = np.zeros(shape, dtype=np.uint8 if number != 2 else np.int16)
        mask[0:3, 0:2, 0:4] = 1  # touches three borders
        mask[shape[0] - 1, shape[1] - 1, shape[2] - 1] = 2  # a single voxel in the far corner
        label = 3
        for _ in range(200):
            if label > 12:
                break
            low = rng.integers(0, shape)
            high = np.minimum(low + rng.integers(1, 8, size=3), shape)
            box = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
            if not mask[box].any():
                mask[box] = label
                label += 1
        masks[f"boxes_{number:02d}"] = mask
    return masks


def other_masks() -> dict[str, np.ndarray]:
    """Objects that are not boxes: a staircase, and one label in two separate places."""
    stairs = np.zeros((20, 24, 16), dtype=np.uint8)
    for k in range(5):
        stairs[5 + k : 7 + k, 6 + 2 * k : 8 + 2 * k, 3 + k] = 1
    two = np.zeros((20, 24, 16), dtype=np.uint8)
    two[2:5, 2:5, 2:4] = 1
    two[12:16, 15:20, 3:6] = 1
    return {"stairs": stairs, "two_places": two}


def write_masks(folder: Path, masks: dict[str, np.ndarray]) -> None:
    folder.mkdir(parents=True)
    for name, mask in masks.items():
        nib.save(nib.Nifti1Image(mask, np.eye(4)), str(folder / f"{name}.nii.gz"))


def settings() -> list[dict[str, object]]:
    return [
        {"view": v, "data_mode": d, "target_size": t}
        for v, d, t in itertools.product(VIEWS, DATA_MODES, TARGETS)
    ]


def slug(setting: dict[str, object]) -> str:
    target = setting["target_size"]
    return f"{setting['view']}_{setting['data_mode']}_{'pad' if target else 'nopad'}"


def run_reference(python: str, masks: Path, root: Path) -> None:
    jobs = [
        {
            "nii_folder": str(masks),
            "output_path": str(root / slug(s)),
            "saving_mode": "case",
            "extraction_mode": "slice",
            "save_stats": True,
            **s,
        }
        for s in settings()
    ]
    # -I: neither PYTHONPATH nor the current folder may put our nidataset in front of the reference
    done = subprocess.run(
        [python, "-I", "-c", REFERENCE_RUNNER, json.dumps(jobs)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the reference failed:\n{done.stderr[-2000:]}")


def run_ours(masks: Path, root: Path) -> None:
    for s in settings():
        with contextlib.redirect_stderr(io.StringIO()):
            extract_annotations_dataset(
                str(masks),
                str(root / slug(s)),
                s["view"],  # type: ignore[arg-type]
                "case",
                "slice",
                s["data_mode"],  # type: ignore[arg-type]
                s["target_size"],  # type: ignore[arg-type]
                save_stats=True,
                progress=False,
            )


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def csv_files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*.csv"))}


def compare_setting(ref_root: Path, our_root: Path) -> tuple[int, int, list[str]]:
    """(CSV files compared, rows compared, problems) for one setting's two output trees."""
    ref, ours = csv_files(ref_root), csv_files(our_root)
    problems = [f"only the reference wrote {name}" for name in sorted(set(ref) - set(ours))]
    problems += [f"only ours wrote {name}" for name in sorted(set(ours) - set(ref))]
    rows = 0
    for name in sorted(set(ref) & set(ours)):
        theirs, mine = read_csv(ref[name]), read_csv(ours[name])
        if name.endswith("_annotations_stats.csv"):
            mine = [r[:2] for r in mine]  # ours adds the running TOTAL_ANNOTATIONS column
        else:
            if mine[0][-1] != "LABEL":
                problems.append(f"{name}: no LABEL column in ours")
            mine = [r[:-1] for r in mine]
            rows += len(theirs) - 1
        if theirs != mine:
            problems.append(f"{name}: reference {theirs} != ours {mine}")
    return len(ref), rows, problems


def differing_rows(ref_root: Path, our_root: Path) -> list[str]:
    """Rows of the same slice file that differ (the non-box dataset), as readable lines."""
    ref, ours = csv_files(ref_root), csv_files(our_root)
    lines = []
    for name in sorted(set(ref) | set(ours)):
        theirs = read_csv(ref[name])[1:] if name in ref else []
        mine = [r[:-1] for r in read_csv(ours[name])[1:]] if name in ours else []
        if theirs != mine and not name.endswith("_stats.csv"):
            lines.append(f"    {name}: reference {theirs or 'no file'}, ours {mine or 'no file'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-python", help="an interpreter with nidataset 0.9.1")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print it")
    args = parser.parse_args(argv)
    try:
        python = reference_python(args.reference_python)
    except ReferenceNotFound as error:
        print(error, file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="nidataset-annotations-"))
    try:
        return compare(python, root)
    finally:
        if args.keep:
            print(f"outputs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def compare(python: str, root: Path) -> int:
    write_masks(root / "boxes", box_masks())
    write_masks(root / "other", other_masks())
    for dataset in ("boxes", "other"):
        run_reference(python, root / dataset, root / "ref" / dataset)
        run_ours(root / dataset, root / "ours" / dataset)
    print(f"3D-box masks {', '.join(str(s) for s in SHAPES)}: slice mode, every view, data_mode and padding")
    failures = 0
    for s in settings():
        files, rows, problems = compare_setting(
            root / "ref" / "boxes" / slug(s), root / "ours" / "boxes" / slug(s)
        )
        verdict = "identical (ours + LABEL column)" if not problems else f"{len(problems)} DIFFERENCES"
        print(f"  {slug(s):26s} {files:4d} CSV files, {rows:4d} rows: {verdict}")
        for problem in problems[:5]:
            print(f"      {problem}")
        failures += bool(problems)
    print("\nObjects that are not 3D boxes (axial, box, no padding): intended differences")
    setting = slug({"view": "axial", "data_mode": "box", "target_size": None})
    for line in differing_rows(root / "ref" / "other" / setting, root / "ours" / "other" / setting):
        print(line)
    print(f"\n{'all box settings match' if not failures else f'{failures} settings differ'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
