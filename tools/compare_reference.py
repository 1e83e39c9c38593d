"""Compare ``extract_slices_dataset`` with the reference implementation, ``nidataset`` 0.9.1.

One command::

    python tools/compare_reference.py [--reference-python PATH] [--keep]

It writes a small deterministic dataset to a temporary folder, runs both implementations on it for
every view, with and without ``target_size``, in both saving modes, and compares what they wrote: the
file names, every TIFF's pixels (read back with tifffile) and the statistics CSVs. Ours runs twice per
setting, with ``dtype="auto"`` and ``dtype="float32"``. The reference runs in its own interpreter
(see ``benchmarks/reference_env.py``); ours runs in this process, from this checkout's ``src``.

Exit code 0 when everything matches except the intended differences, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import tifffile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # benchmark this checkout, whatever is installed
sys.path.insert(0, str(HERE.parent / "benchmarks"))  # reference_env, shared with the benchmarks

from reference_env import REFERENCE_VERSION, ReferenceNotFound, reference_python  # noqa: E402

from nidataset.phantoms import ct_phantom  # noqa: E402
from nidataset.slices import extract_slices_dataset  # noqa: E402

VIEWS = ("axial", "coronal", "sagittal")
#: Not square, and larger than every slice of the dataset, so a swapped height/width fails.
TARGET = (70, 75)
DTYPE_MODES = ("auto", "float32")
STATS_COLUMNS_REF = ["FILENAME", "NUM_SLICES"]
STATS_COLUMNS_OURS = ["FILENAME", "NUM_SLICES", "TOTAL_SLICES"]


# --------------------------------------------------------------------------------------------- dataset
@dataclass(frozen=True)
class Volume:
    """One input: its stored voxels (X, Y, Z) and, optionally, a header scaling."""

    name: str
    raw: np.ndarray
    slope: float | None = None
    inter: float = 0.0

    @property
    def scaled(self) -> bool:
        return self.slope is not None

    def auto_dtype(self, pad_value: float | None) -> np.dtype:
        """The TIFF dtype SPEC.md asks for in "auto" mode, derived here independently of the package."""
        stored = self.raw.dtype.newbyteorder("=")
        kept = {np.dtype(t) for t in ("uint8", "int16", "uint16", "int32", "float32")}
        output = np.dtype("float32") if self.scaled or stored not in kept else stored
        if pad_value is not None and output.kind in "iu" and not _int_holds(output, pad_value):
            return np.dtype("float32")
        return output


def _int_holds(dtype: np.dtype, value: float) -> bool:
    info = np.iinfo(dtype)
    return float(value).is_integer() and info.min <= value <= info.max


def dataset() -> list[Volume]:
    """Six volumes, each with a different size on every axis, covering the dtype rules.

    Every size is at most 64, so every slice fits :data:`TARGET`.
    """
    rng = np.random.default_rng(20240601)
    floats = rng.normal(0.0, 300.0, (36, 44, 28)).astype(np.float32)
    floats[0, 0, 0], floats[1, 2, 3], floats[5, 6, 7] = np.nan, np.inf, -0.0  # values that compare oddly
    return [
        Volume("a_ct_int16", ct_phantom((64, 48, 20), seed=1)),
        Volume("b_labels_uint8", rng.integers(0, 256, (40, 56, 24), dtype=np.uint8)),
        Volume("c_float32", floats),
        # float32 cannot hold 0.37 exactly: the slope saved is float32(0.37), on both sides
        Volume("d_scaled_int16", ct_phantom((50, 30, 18), seed=2), slope=0.37, inter=-12.5),
        Volume("e_float64", rng.normal(0.0, 1000.0, (30, 26, 34))),
        Volume("f_int16_big_endian", ct_phantom((22, 38, 16), seed=3).astype(">i2")),
    ]


def write_dataset(folder: Path, volumes: Iterable[Volume]) -> None:
    """Save every volume as ``<name>.nii.gz`` and check that the file says what we meant."""
    folder.mkdir(parents=True)
    affine = np.diag([0.8, 0.9, 2.5, 1.0])
    for volume in volumes:
        path = folder / f"{volume.name}.nii.gz"
        if volume.scaled or volume.raw.dtype.byteorder == ">":
            # nib.save recomputes the scaling of int data (dropping ours) and writes native byte
            # order: write the header and the voxel bytes ourselves
            path.write_bytes(gzip.compress(_nifti_bytes(volume, affine), compresslevel=1))
        else:
            nib.save(nib.Nifti1Image(volume.raw, affine), str(path))
        _check_saved(path, volume)


def _nifti_bytes(volume: Volume, affine: np.ndarray) -> bytes:
    raw = volume.raw
    header = nib.Nifti1Header(endianness=">" if raw.dtype.byteorder == ">" else "<")
    header.set_data_dtype(raw.dtype.newbyteorder("="))
    header.set_data_shape(raw.shape)
    if volume.scaled:
        header.set_slope_inter(volume.slope, volume.inter)
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=1)
    header["vox_offset"] = 352  # 348 bytes of header, then 4 zero bytes: no extension
    return header.binaryblock + b"\0" * 4 + raw.tobytes(order="F")


def _check_saved(path: Path, volume: Volume) -> None:
    # read the file's own header: nibabel's loaded images move the scaling out of theirs
    with gzip.open(path) as stream:
        header = nib.Nifti1Header.from_fileobj(stream)
        raw = header.raw_data_from_fileobj(stream)
    stored, scaling = header.get_data_dtype(), header.get_slope_inter()
    # unscaled: nib.save writes slope 1 and intercept 0, our own writer leaves them NaN
    wanted: set[tuple[float | None, float | None]] = {(None, None), (1.0, 0.0)}
    if volume.scaled:
        wanted = {(float(np.float32(volume.slope)), float(np.float32(volume.inter)))}
    problems = []
    if stored != volume.raw.dtype:
        problems.append(f"stored dtype {stored}, wanted {volume.raw.dtype}")
    if scaling not in wanted:
        problems.append(f"scaling {scaling}, wanted {wanted}")
    if not np.array_equal(raw, volume.raw, equal_nan=True):
        problems.append("voxels differ")
    if problems:
        raise RuntimeError(f"{path.name} was not saved as intended: {'; '.join(problems)}")


# --------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Setting:
    """One call of ``extract_slices_dataset``, minus the dtype mode."""

    views: tuple[str, ...]
    target: tuple[int, int] | None
    saving_mode: str
    pad_value: float = 0.0

    @property
    def slug(self) -> str:
        target = "none" if self.target is None else f"{self.target[0]}x{self.target[1]}"
        return f"{'+'.join(self.views)}-{target}-{self.saving_mode}-pad{self.pad_value:g}"

    def split(self) -> list[Setting]:
        """The single-view calls of the reference that together write what this call writes."""
        return [Setting((view,), self.target, self.saving_mode, self.pad_value) for view in self.views]


def settings() -> list[Setting]:
    grid = [Setting((v,), t, m) for m in ("case", "view") for t in (None, TARGET) for v in VIEWS]
    return [
        *grid,
        # a pad value that uint8 cannot hold: SPEC.md says that volume's slices become float32
        Setting(("coronal",), TARGET, "case", pad_value=-1024.0),
        # several views in one call: each volume read once (ours only; compared with the single views)
        Setting(VIEWS, None, "case"),
    ]


# --------------------------------------------------------------------------------------------- running
#: Runs the reference's extract_slices_dataset for each job of a JSON file, timing each call.
REFERENCE_DRIVER = """\
import json, sys, time
import importlib.metadata
import nidataset
from nidataset.slices import extract_slices_dataset

jobs = json.load(open(sys.argv[1]))
seconds = []
for job in jobs:
    target = tuple(job["target"]) if job["target"] else None
    start = time.perf_counter()
    extract_slices_dataset(job["nii_folder"], job["output_path"], view=job["view"],
                           saving_mode=job["saving_mode"], target_size=target,
                           pad_value=job["pad_value"], save_stats=True)
    seconds.append(time.perf_counter() - start)
report = {"version": importlib.metadata.version("nidataset"), "module": nidataset.__file__,
          "seconds": seconds}
json.dump(report, open(sys.argv[2], "w"))
"""


def run_reference(python: str, nii_folder: Path, jobs: Sequence[Setting], root: Path) -> dict[Setting, float]:
    """Run the reference once per single-view job, in one subprocess; return the seconds per job."""
    spec = [
        {
            "nii_folder": str(nii_folder),
            "output_path": str(root / "ref" / job.slug),
            "view": job.views[0],
            "saving_mode": job.saving_mode,
            "target": job.target,
            "pad_value": job.pad_value,
        }
        for job in jobs
    ]
    (root / "ref_jobs.json").write_text(json.dumps(spec))
    (root / "ref_driver.py").write_text(REFERENCE_DRIVER)
    # -I: neither PYTHONPATH nor the current folder may put our nidataset in front of the reference
    files = [str(root / name) for name in ("ref_driver.py", "ref_jobs.json", "ref_out.json")]
    command = [python, "-I", *files]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the reference failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    report = json.loads((root / "ref_out.json").read_text())
    if report["version"] != REFERENCE_VERSION or str(HERE.parent) in report["module"]:
        wrong = f"{report['version']} at {report['module']}"
        raise RuntimeError(f"the reference driver imported the wrong nidataset: {wrong}")
    return dict(zip(jobs, report["seconds"], strict=True))


def run_ours(nii_folder: Path, setting: Setting, dtype: str, output: Path) -> float:
    """Run our extract_slices_dataset in this process; return its wall-clock seconds."""
    view = setting.views[0] if len(setting.views) == 1 else list(setting.views)
    start = time.perf_counter()
    result = extract_slices_dataset(
        str(nii_folder),
        str(output),
        view=view,
        saving_mode=setting.saving_mode,
        target_size=setting.target,
        pad_value=setting.pad_value,
        save_stats=True,
        dtype=dtype,
        progress=False,
    )
    seconds = time.perf_counter() - start
    if result.skipped:
        raise RuntimeError(f"ours skipped {[(o.name, o.reason) for o in result.skipped]} in {setting.slug}")
    return seconds


# --------------------------------------------------------------------------------------------- comparing
@dataclass
class Comparison:
    """What one (setting, dtype mode) row found."""

    setting: Setting
    dtype: str
    files: int = 0
    names_equal: bool = True
    max_diff: float = 0.0
    ours_dtypes: set[str] = field(default_factory=set)
    ref_dtypes: set[str] = field(default_factory=set)
    stats_ok: bool = True
    problems: list[str] = field(default_factory=list)
    ref_seconds: float = 0.0
    our_seconds: float = 0.0
    #: volume name -> (largest difference from the reference, our dtypes), for the per-volume table
    volumes: dict[str, tuple[float, set[str]]] = field(default_factory=dict)

    def problem(self, text: str) -> None:
        # a systematic bug would repeat on every slice: keep a few examples, count the rest
        if len(self.problems) < 5:
            self.problems.append(text)
        elif len(self.problems) == 5:
            self.problems.append("... more problems not shown")


#: Our completion records for resume=True (hidden, not outputs): the reference has none.
RECORDS = ".nidataset/"


def files_under(roots: Iterable[Path]) -> dict[str, Path]:
    """Every output file under the roots by relative POSIX path (several roots make one merged tree)."""
    found: dict[str, Path] = {}
    for root in roots:
        for path in root.rglob("*"):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and not relative.startswith(RECORDS):
                found[relative] = path
    return found


def compare(row: Comparison, ref: dict[str, Path], ours: dict[str, Path], volumes: dict[str, Volume]) -> None:
    """Fill ``row`` from the two trees of outputs."""
    if set(ref) != set(ours):
        row.names_equal = False
        only_ref, only_ours = sorted(set(ref) - set(ours)), sorted(set(ours) - set(ref))
        row.problem(
            f"file names differ: only in reference {only_ref[:3]} ({len(only_ref)}), "
            f"only in ours {only_ours[:3]} ({len(only_ours)})"
        )
    for name in sorted(set(ref) & set(ours)):
        if name.endswith(".tif"):
            row.files += 1
            compare_tiff(row, name, ref[name], ours[name], volumes[volume_of(name)])
        elif name.endswith(".csv"):
            for text in compare_stats(ref[name], ours[name]):
                row.stats_ok = False
                row.problem(f"{name}: {text}")


def volume_of(relative: str) -> str:
    """The volume a slice belongs to: its name is ``<prefix>_<view>_<index>.tif``."""
    return Path(relative).name.rsplit("_", 2)[0]


def compare_tiff(row: Comparison, name: str, ref_path: Path, our_path: Path, volume: Volume) -> None:
    ref, ours = tifffile.imread(ref_path), tifffile.imread(our_path)
    row.ref_dtypes.add(str(ref.dtype))
    row.ours_dtypes.add(str(ours.dtype))
    if ref.shape != ours.shape:
        row.max_diff = math.inf
        row.volumes[volume.name] = (math.inf, row.volumes.get(volume.name, (0.0, set()))[1])
        row.problem(f"{name}: shape {ours.shape}, reference {ref.shape}")
        return
    difference = value_difference(ref, ours)
    row.max_diff = max(row.max_diff, difference)
    worst, dtypes = row.volumes.setdefault(volume.name, (0.0, set()))
    row.volumes[volume.name] = (max(worst, difference), dtypes | {str(ours.dtype)})
    if difference != 0.0:
        row.problem(f"{name}: values differ by up to {difference:g}")
    if row.dtype == "float32":
        if ours.dtype != np.float32 or ours.tobytes() != ref.astype(np.float32).tobytes():
            row.problem(f"{name}: dtype {ours.dtype}, not a byte-for-byte copy of the reference's float32")
    else:
        pad = row.setting.pad_value if row.setting.target is not None else None
        wanted = volume.auto_dtype(pad)
        if ours.dtype != wanted:
            row.problem(f"{name}: dtype {ours.dtype}, SPEC.md asks for {wanted}")


def value_difference(ref: np.ndarray, ours: np.ndarray) -> float:
    """Largest |ref - ours| in float64; NaN matches NaN, an infinity its own sign; else inf."""
    a, b = ref.astype(np.float64), ours.astype(np.float64)
    finite = np.isfinite(a) & np.isfinite(b)
    odd = ~finite
    if not np.array_equal(a[odd], b[odd], equal_nan=True):
        return math.inf
    return float(np.max(np.abs(a[finite] - b[finite]), initial=0.0))


def compare_stats(ref_path: Path, our_path: Path) -> list[str]:
    """Problems of our statistics CSV against the reference's; the extra column is intended."""
    ref_rows, our_rows = _read_csv(ref_path), _read_csv(our_path)
    if ref_rows[0] != STATS_COLUMNS_REF:
        return [f"the reference's columns are {ref_rows[0]}, not {STATS_COLUMNS_REF}"]
    if our_rows[0] != STATS_COLUMNS_OURS:
        return [f"columns {our_rows[0]}, not {STATS_COLUMNS_OURS}"]
    ref_counts = [(name, int(count)) for name, count in ref_rows[1:-1]]
    our_counts = [(name, int(count)) for name, count, _ in our_rows[1:-1]]
    ref_total = ref_rows[-1]
    problems = []
    if our_counts != ref_counts:
        differing = [(o, r) for o, r in zip(our_counts, ref_counts, strict=False) if o != r]
        problems.append(
            f"per-file counts differ (ours, reference): {differing[:3]}; "
            f"{len(our_counts)} rows, reference {len(ref_counts)}"
        )
    running = np.cumsum([count for _, count in our_counts]).tolist()
    if [int(row[2]) for row in our_rows[1:-1]] != running:
        problems.append("the TOTAL_SLICES column is not the running total")
    if ref_total[0] != "TOTAL_SLICES" or our_rows[-1] != ["TOTAL_SLICES", ref_total[1], ref_total[1]]:
        problems.append(f"last row {our_rows[-1]}, reference {ref_total}")
    return problems


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


# --------------------------------------------------------------------------------------------- report
def per_volume(rows: Sequence[Comparison], volumes: dict[str, Volume]) -> list[str]:
    """One line per volume: our dtypes in "auto" mode, the largest difference from the reference."""
    lines = []
    for volume in volumes.values():
        found = [r.volumes[volume.name] for r in rows if volume.name in r.volumes]
        worst = max((difference for difference, _ in found), default=math.nan)
        auto = sorted(
            {
                d
                for r in rows
                if r.dtype == "auto" and volume.name in r.volumes
                for d in r.volumes[volume.name][1]
            }
        )
        scaling = "no scaling"
        if volume.scaled:
            scaling = f"slope {np.float32(volume.slope):.9g}, inter {volume.inter:g}"
        lines.append(
            f"  {volume.name:<20} stored {volume.raw.dtype.str:<4} {volume.raw.shape!s:<14} "
            f"{scaling:<33} ours(auto) {','.join(auto):<14} max |diff| {worst:g}"
        )
    return lines


def scaled_verdicts(rows: Sequence[Comparison], volumes: dict[str, Volume]) -> list[str]:
    """Whether float32(get_fdata()) (ours) and Pillow's float32 of the float64 (reference) agree."""
    lines = []
    for volume in (v for v in volumes.values() if v.scaled):
        for dtype in DTYPE_MODES:
            found = [r.volumes[volume.name][0] for r in rows if r.dtype == dtype and volume.name in r.volumes]
            worst = max(found, default=math.nan)
            verdict = "agree exactly" if worst == 0.0 else f"DIFFER, by up to {worst:g}"
            lines.append(
                f"scaled {volume.name}, dtype={dtype}: ours and the reference {verdict} ({len(found)} rows)"
            )
    return lines


def table(rows: Sequence[Comparison]) -> list[str]:
    header = (
        f"{'views':<24} {'target':<7} {'mode':<5} {'pad':>6} {'dtype':<8} {'tifs':>5} {'names':<5} "
        f"{'max|diff|':>9} {'ours dtypes':<22} {'ref dtypes':<10} {'stats':<5} "
        f"{'ref s':>6} {'ours s':>6} {'ratio':>6}  status"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        s = row.setting
        target = "-" if s.target is None else f"{s.target[0]}x{s.target[1]}"
        ratio = row.ref_seconds / row.our_seconds if row.our_seconds else math.nan
        status = "MISMATCH" if row.problems else ("match*" if expected_differences([row]) else "match")
        lines.append(
            f"{','.join(s.views):<24} {target:<7} {s.saving_mode:<5} {s.pad_value:>6g} {row.dtype:<8} "
            f"{row.files:>5} {'yes' if row.names_equal else 'NO':<5} {row.max_diff:>9g} "
            f"{','.join(sorted(row.ours_dtypes)):<22} {','.join(sorted(row.ref_dtypes)):<10} "
            f"{'ok' if row.stats_ok else 'BAD':<5} {row.ref_seconds:>6.2f} {row.our_seconds:>6.2f} "
            f"{ratio:>5.1f}x  {status}"
        )
    return lines


def expected_differences(rows: Iterable[Comparison]) -> list[str]:
    """The intended differences seen in rows that otherwise match."""
    rows = [r for r in rows if not r.problems]
    notes = []
    kept = sorted({d for r in rows if r.dtype == "auto" for d in r.ours_dtypes} - {"float32"})
    if kept:
        notes.append(f"dtype='auto' keeps {', '.join(kept)} where the reference writes float32")
    if rows:
        notes.append("our stats CSVs have the extra running-total column TOTAL_SLICES")
        notes.append(f"ours also writes hidden completion records under {RECORDS} (not compared)")
    return notes


def summary(rows: Sequence[Comparison], volumes: dict[str, Volume]) -> int:
    print("\n".join(table(rows)))
    print("\nper volume (over every row above):")
    print("\n".join(per_volume(rows, volumes)))
    print("\n".join(scaled_verdicts(rows, volumes)))
    ref_total, our_total = sum(r.ref_seconds for r in rows), sum(r.our_seconds for r in rows)
    print(
        f"\ntime: reference {ref_total:.2f} s, ours {our_total:.2f} s over all rows "
        f"(ratio {ref_total / our_total:.1f}x; ours with workers=default, {os.cpu_count()} CPUs; "
        "a multi-view row's reference time is the sum of its single-view calls)"
    )
    failed = [r for r in rows if r.problems]
    notes = "; ".join(expected_differences(rows))
    if not failed:
        print(f"ALL MATCH (except expected differences: {notes})")
        return 0
    print(f"MISMATCHES in {len(failed)} of {len(rows)} rows (expected differences, not counted: {notes}):")
    for row in failed:
        print(f"  {row.setting.slug} dtype={row.dtype}:")
        print("\n".join(f"    - {p}" for p in row.problems))
    return 1


# --------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reference-python",
        help=f"interpreter with nidataset {REFERENCE_VERSION} (default: found or created)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    args = parser.parse_args(argv)
    try:
        python = reference_python(args.reference_python)
    except ReferenceNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="nidataset-compare-"))
    try:
        return compare_all(python, root)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def compare_all(python: str, root: Path) -> int:
    volumes = {v.name: v for v in dataset()}
    nii_folder = root / "volumes"
    write_dataset(nii_folder, volumes.values())
    print(f"reference: {python}\ndataset: {len(volumes)} volumes in {nii_folder}\n")
    all_settings = settings()
    ref_jobs = list(dict.fromkeys(part for s in all_settings for part in s.split()))
    ref_seconds = run_reference(python, nii_folder, ref_jobs, root)
    rows = []
    for setting in all_settings:
        ref = files_under(root / "ref" / part.slug for part in setting.split())
        for dtype in DTYPE_MODES:
            output = root / "ours" / f"{setting.slug}-{dtype}"
            row = Comparison(setting, dtype, ref_seconds=sum(ref_seconds[p] for p in setting.split()))
            row.our_seconds = run_ours(nii_folder, setting, dtype, output)
            compare(row, ref, files_under([output]), volumes)
            rows.append(row)
    return summary(rows, volumes)


if __name__ == "__main__":
    sys.exit(main())
