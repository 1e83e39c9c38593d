"""Prove that two versions of ``src/`` write byte-identical outputs through the public API.

One command, from the repository root, with the project's virtual environment::

    .venv/bin/python tools/compare_trees.py --base REV [--head PATH_OR_REV] [--full] [--keep]

* ``--base REV``: any git revision; its ``src/`` is extracted with ``git archive`` into a temporary
  folder (the repository itself is not touched).
* ``--head``: a folder (a ``src/`` folder, or a checkout holding one) or a git revision; by default the
  working tree's ``src/``. A folder is first copied to a snapshot, so edits made while the comparison
  runs do not mix two states of the code in one run.
* ``--python``: the interpreter of both sides (default: the one running this script), which needs
  numpy, nibabel and the package's dependencies.

The script builds small input datasets once (int16 CT-like volumes of several shapes with a truncated
``.nii.gz`` and a non-NIfTI ``bad.nii``; one volume per stored dtype, including NaN, scaled, and
big-endian voxels; label masks; a volume of 1001 slices for 4-digit names), then runs the same matrix
of calls to ``nidataset.slices`` (``extract_slices``, ``extract_slices_dataset``, ``extract_annotations``,
``extract_annotations_dataset``) once per side, each side in a fresh interpreter whose ``nidataset`` is
verified to come from that side's ``src/``. Every call writes into its own output folder, named after
its parameters. The matrix covers every view (and the list of all three) against every value of every
other option, and every pair of option values within each view: 155 calls, 10 to 15 s per side
(``--full``: every combination, 828 calls, about 35 s per side). Resume runs call twice into the same
folder, then a third time after one slice file is deleted. Calls that must raise (a target too small,
a bad view, an empty folder, an unreadable file) are part of the matrix.

Compared, call by call: the SHA-256 and permission bits of every file under the output folder
(hidden ``.nidataset/`` completion records included) and every folder; the return value, normalised
(``RunResult.summary()`` and ``(name, counts, reason, reused)`` per outcome, or the returned paths made
relative to the output folder); the exception's type and message, if any; and what the call printed.
Paths of the temporary folders are replaced by ``<in>`` and ``<out>`` in messages. One thing is
compared as sorted lines rather than verbatim: stderr of calls with ``workers > 1``, whose skip lines
come in completion order, which is not deterministic.

Prints ``IDENTICAL: N files in M calls`` and exits 0. Otherwise the calls that differ are run again
(``--reruns`` times on each side, when at most ``--rerun-limit`` calls differ), to tell a real
difference from non-determinism: a call differs for real when no run of base equals a run of head. It
then lists, per call, every missing, extra and differing path and every differing return value, keeps
the temporary folder for inspection, and exits 1 on a real difference, or 3 when the only differences
are non-deterministic (each printed under ``NON-DETERMINISTIC:``, never silently dropped). Exit code 2:
a side could not run at all (an ImportError in a half-done refactor, say), with its traceback.
``--base HEAD --head HEAD`` runs the same code twice: any difference it reports is non-determinism.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIEWS: list[str | list[str]] = ["axial", "coronal", "sagittal", ["axial", "coronal", "sagittal"]]
FITS = (64, 64)  # larger than every slice of every input but the long volume
LONG_FITS = (8, 1008)  # the long volume's slices are at most 4 x 1001
SHORT = {
    "extract_slices": "s1",
    "extract_slices_dataset": "sd",
    "extract_annotations": "a1",
    "extract_annotations_dataset": "ad",
}

# ---------------------------------------------------------------------------------------------------
# Inputs


def write_nifti(path: Path, data: np.ndarray, *, endian: str = "<", slope: float = 1.0, inter: float = 0.0):
    """A single-file NIfTI-1 with exactly these voxels and scaling (nibabel would recompute scaling)."""
    import nibabel as nib

    header = nib.Nifti1Header(endianness=endian)
    header.set_data_dtype(data.dtype.newbyteorder("="))
    header.set_data_shape(data.shape)
    header.set_slope_inter(slope, inter)
    header.set_data_offset(352)
    affine = np.diag([0.8, 0.9, 2.5, 1.0])
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=1)
    header.set_xyzt_units("mm", "sec")
    raw = io.BytesIO()
    header.write_to(raw)
    raw.write(b"\0" * (352 - raw.tell()))
    raw.write(data.astype(header.get_data_dtype(), copy=False).tobytes(order="F"))
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(raw.getvalue(), mtime=0))
    else:
        path.write_bytes(raw.getvalue())


def ct_like(rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
    """Air around a soft-tissue ellipsoid holding a bright bone core, with noise: int16 HU."""
    grid = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij")
    radius = sum(axis**2 for axis in grid)
    volume = np.where(radius < 0.8, 40.0, -1000.0)
    volume[radius < 0.15] = 900.0
    return (volume + rng.normal(0, 8, shape)).round().astype(np.int16)


def build_ct(folder: Path, rng: np.random.Generator) -> None:
    folder.mkdir(parents=True)
    write_nifti(folder / "ct_a.nii.gz", ct_like(rng, (40, 36, 20)))
    write_nifti(folder / "ct_b.nii.gz", ct_like(rng, (33, 41, 17)))
    write_nifti(folder / "ct_c.nii", ct_like(rng, (28, 22, 31)))
    whole = folder / "truncated.nii.gz"
    write_nifti(whole, ct_like(rng, (30, 30, 30)))
    whole.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    (folder / "bad.nii").write_text("this is not a NIfTI file\n" * 40)


def build_dtypes(folder: Path, rng: np.random.Generator) -> None:
    folder.mkdir(parents=True)
    write_nifti(folder / "u8.nii.gz", rng.integers(0, 256, (20, 18, 12)).astype(np.uint8))
    with_nan = rng.normal(0, 100, (17, 23, 9)).astype(np.float32)
    with_nan[3:6, 4:9, 2] = np.nan
    write_nifti(folder / "f32_nan.nii.gz", with_nan)
    write_nifti(folder / "f64.nii.gz", rng.normal(5, 1e3, (19, 15, 11)))
    scaled = rng.integers(-2000, 2000, (21, 16, 10)).astype(np.int16)
    write_nifti(folder / "i16_scaled.nii.gz", scaled, slope=0.5, inter=-3.0)
    write_nifti(folder / "i16_big.nii.gz", ct_like(rng, (18, 25, 13)), endian=">")
    write_nifti(folder / "i8.nii.gz", rng.integers(-128, 128, (15, 14, 8)).astype(np.int8))
    write_nifti(folder / "u16.nii", rng.integers(0, 65536, (22, 19, 7)).astype(np.uint16))


def label_mask(shape: tuple[int, int, int], boxes: Sequence[tuple[int, tuple[slice, ...]]]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for label, box in boxes:
        mask[box] = label
    return mask


def build_masks(folder: Path) -> None:
    folder.mkdir(parents=True)
    s = np.s_
    boxes_a = [
        (1, s[5:12, 6:15, 3:9]),
        (2, s[1:4, 1:4, 1:3]),  # label 2: two separate blobs
        (2, s[30:35, 25:33, 12:19]),
        (3, s[20:30, 2:8, 10:18]),
        (4, s[0:3, 30:36, 17:20]),  # touches three borders
        (5, s[15:16, 20:21, 5:6]),  # a single voxel
    ]
    write_nifti(folder / "mask_a.nii.gz", label_mask((40, 36, 20), boxes_a))
    boxes_b = [(2, s[2:9, 3:7, 0:4]), (2, s[20:31, 30:40, 8:16]), (7, s[10:18, 10:25, 5:12])]
    write_nifti(folder / "mask_b.nii.gz", label_mask((33, 41, 17), boxes_b))
    write_nifti(folder / "mask_empty.nii.gz", np.zeros((12, 10, 8), np.uint8))
    fractional = np.zeros((10, 11, 6), np.float32)
    fractional[2:4, 3:5, 1:3] = 1.5  # not a whole number: the mask is skipped
    write_nifti(folder / "mask_fractional.nii.gz", fractional)


def build_inputs(root: Path) -> dict[str, str]:
    """Every input folder and file the calls use, by name."""
    rng = np.random.default_rng(20240611)
    build_ct(root / "ct", rng)
    build_dtypes(root / "dtypes", rng)
    build_masks(root / "masks")
    (root / "long").mkdir()
    write_nifti(root / "long" / "long.nii.gz", np.arange(4 * 3 * 1001, dtype=np.int16).reshape(4, 3, 1001))
    (root / "empty").mkdir()
    return {name: str(root / name) for name in ("ct", "dtypes", "masks", "long", "empty")}


# ---------------------------------------------------------------------------------------------------
# The matrix of calls: each call is a name (its output folder) and steps sharing that folder.


def all_pairs(factors: dict[str, list], rotate: int = 0) -> list[dict]:
    """A few rows in which every pair of values of two factors appears (greedy, deterministic)."""
    names = list(factors)
    candidates = [dict(zip(names, row, strict=True)) for row in itertools.product(*factors.values())]
    candidates = candidates[rotate % len(candidates) :] + candidates[: rotate % len(candidates)]

    def pairs(row: dict) -> set:
        return {(a, repr(row[a]), b, repr(row[b])) for a, b in itertools.combinations(names, 2)}

    missing = set().union(*(pairs(row) for row in candidates))
    rows = []
    while missing:
        best = max(candidates, key=lambda row: len(pairs(row) & missing))
        rows.append(best)
        missing -= pairs(best)
    return rows


def option_rows(factors: dict[str, list[Any]], rotate: int, full: bool) -> list[dict[str, Any]]:
    """Every combination (``--full``), or a covering set of all pairs (the default)."""
    if full:
        return [dict(zip(factors, row, strict=True)) for row in itertools.product(*factors.values())]
    return all_pairs(factors, rotate)


def label(value: object) -> str:
    if isinstance(value, list):
        return "+".join(v[:3] for v in value) if len(value) < 3 else "all"
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def call(function: str, source: str, **kwargs: object) -> dict:
    """One call: its output folder's name is made of the function, the input and every parameter."""
    parts = [SHORT[function], Path(source).name] + [f"{k}={label(v)}" for k, v in kwargs.items()]
    step = {"function": function, "source": source, "kwargs": kwargs}
    return {"name": "__".join(parts), "steps": [step]}


SLICE_OPTIONS: dict[str, list[Any]] = {
    "saving_mode": ["case", "view"],
    "target_size": [None, FITS],
    "pad_value": [0.0, -1024.0, 0.5],
    "dtype": ["auto", "float32"],
    "workers": [1, 2],
}
COMMON = {"save_stats": True, "save_failures": True, "progress": False}


def slice_dataset_calls(inputs: dict[str, str], full: bool) -> list[dict]:
    calls = []
    for number, view in enumerate(VIEWS):
        for folder in ("ct", "dtypes"):
            for row in option_rows(SLICE_OPTIONS, 7 * number, full):
                calls.append(call("extract_slices_dataset", inputs[folder], view=view, **row, **COMMON))
        for row in ({"target_size": None, "dtype": "auto"}, {"target_size": LONG_FITS, "dtype": "float32"}):
            kwargs = {"saving_mode": "view", "target_size": row["target_size"], "pad_value": -1.0}
            kwargs |= {"dtype": row["dtype"], "workers": 2}
            calls.append(call("extract_slices_dataset", inputs["long"], view=view, **kwargs, **COMMON))
    order = ["sagittal", "axial"]  # a list in another order than the views' own
    calls.append(call("extract_slices_dataset", inputs["dtypes"], view=order, target_size=FITS, **COMMON))
    return calls


def resume_calls(inputs: dict[str, str]) -> list[dict]:
    """Run, run again with resume=True (everything reused), delete one slice, resume (one redone)."""
    calls = []
    for view, mode in itertools.product(VIEWS, ("case", "view")):
        kwargs = {"view": view, "saving_mode": mode, "target_size": FITS, "pad_value": -1024.0}
        first = call("extract_slices_dataset", inputs["ct"], **kwargs, workers=2, **COMMON)
        again = dict(first["steps"][0], kwargs={**first["steps"][0]["kwargs"], "resume": True})
        first["name"] = "resume__" + first["name"]
        first["steps"] += [again, {"action": "delete_first_slice"}, again]
        calls.append(first)
    return calls


def single_slice_calls(inputs: dict[str, str]) -> list[dict]:
    """``extract_slices`` on one volume per view: int16 (gz and not), scaled, uint8, NaN, 1001 slices."""
    volumes: list[tuple[str, dict[str, Any]]] = [
        ("ct/ct_a.nii.gz", {}),
        ("ct/ct_c.nii", {"target_size": FITS}),
        ("dtypes/i16_scaled.nii.gz", {"target_size": FITS, "pad_value": 0.5, "dtype": "auto"}),
        ("dtypes/u8.nii.gz", {"target_size": FITS, "pad_value": -1024.0}),
        ("dtypes/f32_nan.nii.gz", {"dtype": "float32"}),
        ("long/long.nii.gz", {"target_size": LONG_FITS}),
    ]
    root = Path(inputs["ct"]).parent
    return [
        call("extract_slices", str(root / volume), view=view, **kwargs)
        for view in VIEWS[:3]
        for volume, kwargs in volumes
    ]


ANNOTATION_OPTIONS: dict[str, list[Any]] = {
    "saving_mode": ["case", "view"],
    "extraction_mode": ["slice", "volume"],
    "data_mode": ["center", "box", "radius"],
    "target_size": [None, FITS],
    "components": [False, True],
    "workers": [1, 2],
}


def annotation_calls(inputs: dict[str, str], full: bool) -> list[dict]:
    calls = []
    for number, view in enumerate(VIEWS):
        for row in option_rows(ANNOTATION_OPTIONS, 11 * number, full):
            calls.append(call("extract_annotations_dataset", inputs["masks"], view=view, **row, **COMMON))
    modes = ANNOTATION_OPTIONS["extraction_mode"], ANNOTATION_OPTIONS["data_mode"]
    for view, extraction, data in itertools.product(VIEWS[:3], *modes):
        kwargs = {"view": view, "extraction_mode": extraction, "data_mode": data}
        target = FITS if data != "center" else None
        components = data == "box"
        path = f"{inputs['masks']}/mask_a.nii.gz"
        calls.append(call("extract_annotations", path, **kwargs, target_size=target, components=components))
    return calls


def error_calls(inputs: dict[str, str]) -> list[dict]:
    """Calls that raise: the exception's type and message are compared too."""
    ct, masks = inputs["ct"], inputs["masks"]
    return [
        call("extract_slices_dataset", ct, view="coronal", target_size=(16, 16), progress=False),
        call("extract_slices_dataset", ct, view="frontal", progress=False),
        call("extract_slices_dataset", inputs["empty"], progress=False),
        call("extract_slices", f"{ct}/truncated.nii.gz"),
        call("extract_slices", f"{ct}/bad.nii"),
        call("extract_annotations", f"{masks}/mask_fractional.nii.gz"),
        call("extract_annotations_dataset", masks, view="axial", target_size=(8, 8), progress=False),
    ]


def plan_calls(inputs: dict[str, str], full: bool = False) -> list[dict]:
    calls = [
        *slice_dataset_calls(inputs, full),
        *resume_calls(inputs),
        *single_slice_calls(inputs),
        *annotation_calls(inputs, full),
        *error_calls(inputs),
    ]
    names = [c["name"] for c in calls]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SystemExit(f"two calls share an output folder: {sorted(duplicates)}")
    return calls


# ---------------------------------------------------------------------------------------------------
# The child: runs every call with one side's nidataset (python compare_trees.py --child SPEC)


def child(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    src, out_root = Path(spec["src"]).resolve(), Path(spec["out"])
    import nidataset
    from nidataset.slices import (
        extract_annotations,
        extract_annotations_dataset,
        extract_slices,
        extract_slices_dataset,
    )

    check_origin(src, nidataset.__file__)
    functions = {
        "extract_slices": extract_slices,
        "extract_slices_dataset": extract_slices_dataset,
        "extract_annotations": extract_annotations,
        "extract_annotations_dataset": extract_annotations_dataset,
    }
    records = {}
    for planned in spec["calls"]:
        output = out_root / planned["name"]
        records[planned["name"]] = [run_step(step, output, functions) for step in planned["steps"]]
    loaded = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "nidataset"}
    for module in loaded.values():
        for path in [module.__file__] if module.__file__ else list(module.__path__):
            check_origin(src, path)  # a namespace package (no __init__.py) has no __file__
    summary = {"nidataset": nidataset.__file__, "modules": sorted(loaded), "calls": records}
    Path(spec["results"]).write_text(json.dumps(summary, indent=1))


def check_origin(src: Path, module_file: str | None) -> None:
    if module_file is None or not Path(module_file).resolve().is_relative_to(src):
        raise SystemExit(f"nidataset was imported from {module_file}, not from {src}: PYTHONPATH lost")


def run_step(step: dict, output: Path, functions: dict) -> dict:
    if step.get("action") == "delete_first_slice":
        slices = sorted(p for p in output.rglob("*.tif") if ".nidataset" not in p.parts)
        slices[0].unlink()
        return {"deleted": slices[0].relative_to(output).as_posix()}
    kwargs = dict(step["kwargs"])
    if isinstance(kwargs.get("target_size"), list):
        kwargs["target_size"] = tuple(kwargs["target_size"])
    stdout, stderr = io.StringIO(), io.StringIO()
    record: dict = {}
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            value = functions[step["function"]](step["source"], str(output), **kwargs)
            record["returned"] = normalise(value, output)
        except Exception as error:
            record["raised"] = [type(error).__name__, str(error)]
    record["stdout"], record["stderr"] = stdout.getvalue(), stderr.getvalue()
    if kwargs.get("workers", 1) != 1:
        record["stderr (sorted lines: completion order)"] = sorted(record.pop("stderr").splitlines())
    return record


def normalise(value: Any, output: Path) -> object:
    if isinstance(value, list):
        return [os.path.relpath(p, output) for p in value]
    outcomes = [[o.name, list(o.counts), o.reason, o.reused] for o in value.outcomes]
    return {"summary": value.summary(), "views": list(value.views), "outcomes": outcomes}


# ---------------------------------------------------------------------------------------------------
# The driver


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout


def from_git(rev: str, folder: Path) -> tuple[Path, str]:
    """``git archive REV src`` extracted into ``folder``: the rev's src/ and a description."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}").strip()
    folder.mkdir(parents=True)
    archive = subprocess.Popen(["git", "-C", str(REPO), "archive", commit, "src"], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(folder)], stdin=archive.stdout, check=True)
    assert archive.stdout is not None  # stdout=PIPE
    archive.stdout.close()
    if archive.wait() != 0:
        raise SystemExit(f"git archive {commit} src failed")
    return folder / "src", f"{rev} ({commit[:12]})"


def from_folder(path: Path, folder: Path) -> tuple[Path, str]:
    """A snapshot of a src/ folder (or of a checkout's src/), so that concurrent edits cannot mix in."""
    src = path / "src" if (path / "src" / "nidataset").is_dir() else path
    if not (src / "nidataset").is_dir():
        raise SystemExit(f"{path} holds no nidataset package (looked in {src})")
    shutil.copytree(src, folder / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return folder / "src", f"folder {src.resolve()} (snapshot)"


def materialise(which: str, folder: Path) -> tuple[Path, str]:
    if Path(which).is_dir():
        return from_folder(Path(which), folder)
    return from_git(which, folder)


def run_side(python: str, src: Path, calls: list[dict], folder: Path) -> tuple[dict, float]:
    """Run the calls in a fresh interpreter whose ``nidataset`` is the one in ``src``."""
    folder.mkdir(parents=True)
    (folder / "out").mkdir()
    spec = {"src": str(src), "out": str(folder / "out"), "results": str(folder / "results.json")}
    (folder / "spec.json").write_text(json.dumps({**spec, "calls": calls}))
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    command = [python, str(Path(__file__).resolve()), "--child", str(folder / "spec.json")]
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SideFailed(f"the child for {src} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return json.loads((folder / "results.json").read_text()), elapsed


class SideFailed(Exception):
    """One side could not run the matrix (an import error in a half-done refactor, for instance)."""


def observe(python: str, src: Path, calls: list[dict], folder: Path, inputs: Path) -> dict:
    """One run of the calls: per call, its normalised records and its output tree."""
    results, elapsed = run_side(python, src, calls, folder)
    replacements = {str(folder / "out"): "<out>", str(inputs): "<in>"}
    records = replace_paths(results["calls"], replacements)
    runs = {
        c["name"]: {"records": records[c["name"]], "tree": hash_tree(folder / "out" / c["name"])}
        for c in calls
    }
    return {
        "calls": runs,
        "elapsed": elapsed,
        "nidataset": results["nidataset"],
        "modules": results["modules"],
    }


def hash_tree(root: Path) -> dict[str, str] | None:
    """``relative path -> sha256 and mode`` of every file and folder under ``root`` (None if absent)."""
    if not root.exists():
        return None
    entries = {}
    for path in sorted(root.rglob("*")):
        mode = f"{stat.S_IMODE(path.lstat().st_mode):o}"
        relative = path.relative_to(root).as_posix()
        if path.is_dir() and not path.is_symlink():
            entries[relative + "/"] = f"folder mode {mode}"
        else:
            entries[relative] = f"sha256 {hashlib.sha256(path.read_bytes()).hexdigest()} mode {mode}"
    return entries


def replace_paths(value: Any, replacements: dict[str, str]) -> Any:
    """Temporary paths in messages and outputs replaced by placeholders."""
    text = json.dumps(value)
    for path, placeholder in replacements.items():
        text = text.replace(path, placeholder)
    return json.loads(text)


def compare_trees(base: dict | None, head: dict | None) -> list[str]:
    if base is None or head is None:
        if base is head:
            return []
        return [f"output folder {'missing' if head is None else 'extra'} in head"]
    lines = [f"missing in head: {p}" for p in sorted(base.keys() - head.keys())]
    lines += [f"extra in head: {p}" for p in sorted(head.keys() - base.keys())]
    for path in sorted(base.keys() & head.keys()):
        if base[path] != head[path]:
            lines.append(f"differs: {path}\n      base {base[path]}\n      head {head[path]}")
    return lines


def short(value: object, limit: int = 300) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def value_differences(base: object, head: object, where: str, limit: int = 3) -> list[str]:
    """Where two JSON values differ: keys and list items, at most ``limit`` items per list."""
    if isinstance(base, dict) and isinstance(head, dict):
        keys = sorted(base.keys() | head.keys())
        return [line for k in keys for line in value_differences(base.get(k), head.get(k), f"{where}.{k}")]
    if isinstance(base, list) and isinstance(head, list) and base != head:
        lines = [] if len(base) == len(head) else [f"{where}: {len(base)} items in base, {len(head)} in head"]
        items = [i for i in range(min(len(base), len(head))) if base[i] != head[i]]
        for i in items[:limit]:
            lines += value_differences(base[i], head[i], f"{where}[{i}]")
        if len(items) > limit:
            lines.append(f"{where}: {len(items) - limit} more differing items")
        return lines
    if base != head:
        return [f"{where} differs\n      base {short(base)}\n      head {short(head)}"]
    return []


def call_differences(base: dict, head: dict) -> list[str]:
    """Every difference of one call between base and head: its return values, prints, and files."""
    lines = []
    for number, (one, other) in enumerate(zip(base["records"], head["records"], strict=True), start=1):
        lines += value_differences(one, other, f"step {number}")
    return lines + compare_trees(base["tree"], head["tree"])


def rerun(args: argparse.Namespace, sides: dict, calls: list[dict], work: Path, inputs: Path) -> dict:
    """Run the calls that differed again, on both sides, ``--reruns`` times: ``name -> side -> runs``."""
    runs: dict = {
        c["name"]: {side: [sides[side]["run"]["calls"][c["name"]]] for side in sides} for c in calls
    }
    for number in range(1, args.reruns + 1):
        for side, state in sides.items():
            again = observe(args.python, state["src"], calls, work / side / f"rerun{number}", inputs)
            for c in calls:
                runs[c["name"]][side].append(again["calls"][c["name"]])
    return runs


def deterministic(runs: dict) -> bool:
    """A call differs for real when no run of base ever equals a run of head."""
    base = {json.dumps(run, sort_keys=True) for run in runs["base"]}
    head = {json.dumps(run, sort_keys=True) for run in runs["head"]}
    return not base & head


def report(calls: list[dict], sides: dict, runs: dict) -> int:
    """Print every difference; 0 when identical, 1 on a real difference, 3 on non-determinism only."""
    base, head = sides["base"]["run"]["calls"], sides["head"]["run"]["calls"]
    files = sum(not p.endswith("/") for c in calls for p in (base[c["name"]]["tree"] or {}))
    real = [name for name in runs if deterministic(runs[name])]
    flaky = [name for name in runs if name not in real]
    for name in flaky:
        distinct = [len({json.dumps(r, sort_keys=True) for r in runs[name][s]}) for s in ("base", "head")]
        print(f"NON-DETERMINISTIC: {name}")
        print(f"  distinct results in {len(runs[name]['base'])} runs: base {distinct[0]}, head {distinct[1]}")
        print("  and some run of base equals some run of head. The first run's differences:")
        print("\n".join(f"  {line}" for line in call_differences(base[name], head[name])))
    for name in real:
        print(f"DIFFERS: {name}")
        print("\n".join(f"  {line}" for line in call_differences(base[name], head[name])))
    if real:
        print(f"DIFFERENT: {len(real)} of {len(calls)} calls differ ({files} files in base)")
        return 1
    if flaky:
        print(f"IDENTICAL except {len(flaky)} non-deterministic calls: {files} files in {len(calls)} calls")
        return 3
    print(f"IDENTICAL: {files} files in {len(calls)} calls")
    return 0


def run_both(args: argparse.Namespace, work: Path) -> int:
    inputs = build_inputs(work / "inputs")
    calls = plan_calls(inputs, args.full)
    api_calls = sum(1 for c in calls for s in c["steps"] if "function" in s)
    sides: dict[str, dict[str, Any]] = {}
    for side, which in (("base", args.base), ("head", args.head)):
        src, description = materialise(which, work / side)
        run = observe(args.python, src, calls, work / side / "run", work / "inputs")
        sides[side] = {"src": src, "run": run}
        print(f"{side}: {description}: {len(calls)} calls ({api_calls} API calls) in {run['elapsed']:.1f} s")
        print(f"      nidataset from {run['nidataset']}, {len(run['modules'])} modules loaded")
    differing = [c for c in calls if call_differences(*(sides[s]["run"]["calls"][c["name"]] for s in sides))]
    if differing and len(differing) <= args.rerun_limit:
        print(f"{len(differing)} calls differ: running them {args.reruns} more times on each side")
        runs = rerun(args, sides, differing, work, work / "inputs")
    else:
        runs = {c["name"]: {s: [sides[s]["run"]["calls"][c["name"]]] for s in sides} for c in differing}
    return report(calls, sides, runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="git revision of the reference side")
    parser.add_argument("--head", default=str(REPO / "src"), help="folder or git revision (default: src/)")
    parser.add_argument("--python", default=sys.executable, help="interpreter of both sides (default: this)")
    parser.add_argument("--full", action="store_true", help="every combination of options, not all pairs")
    parser.add_argument("--reruns", type=int, default=3, help="runs again of each differing call (default 3)")
    parser.add_argument("--rerun-limit", type=int, default=10, help="no re-runs when more calls differ")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    if not args.base:
        parser.error("--base REV is required")
    work = Path(tempfile.mkdtemp(prefix="compare_trees-"))
    status = 1
    try:
        status = run_both(args, work)
    except SideFailed as error:
        print(error, file=sys.stderr)
        status = 2
    finally:
        if args.keep or status != 0:
            print(f"outputs kept in {work}")
        else:
            shutil.rmtree(work)
    return status


if __name__ == "__main__":
    sys.exit(main())
