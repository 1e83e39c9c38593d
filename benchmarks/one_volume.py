"""Issue 23's measures: one big volume, the start-up, and each view of a small CT set, against the floor.

One command, from the repository root, with the development venv::

    python benchmarks/one_volume.py [--rounds 7] [--baseline REV] [--scratch DIR]
                                    [--wait-budget SECONDS] [--output-markdown PATH]

It builds (once, cached in ``~/.cache/nidataset-bench/``) a CT-like volume of 512 x 512 x 600 int16
``.nii.gz``, a CT set of 4 volumes of 512 x 512 x 160 and a tiny volume of 64 x 64 x 8, then runs in
interleaved rounds (the order rotated each round), every case in its own fresh process:

* whole processes, start-up included, timed from outside: ``python -c pass``; ``nidataset slices
  --help``; a usage error (``nidataset slices`` without arguments); a one-volume run on the tiny
  volume; the 600-slice volume's axial command (``nidataset slices FOLDER OUT --quiet``, default
  workers); and the single-thread floor of that job, a whole process (``bench_child.py`` in floor mode,
  one thread) that decompresses with ``isal`` and writes each slice's raw bytes as one file;
* start-up excluded, timed inside the child (``bench_child.py``): the CT set in every view with all
  cores (``ours``) against the floor with all cores; also their CPU seconds (all threads, user and
  system: ``time.process_time`` around the same call), steadier than wall times on a shared machine.

The floor comes twice. "Laid out" (the one the goals are against) writes the raw bytes of the very
slices ours writes, in the same orientation: NIfTI stores X fastest, so every view's slice, the
axial one too (its rows are X), is a transposed copy of the voxels as stored. "Not laid out" (the
floor of ``bench.py`` and of the first runs of this benchmark) writes consecutive runs of one slice's
size from the stream as they come: the right number of files of the right size, without the copy.

``--baseline REV`` also runs the whole-process cases on REV's ``src`` (``git archive``), for a
before/after in the same rounds. Every child runs a snapshot of ``src`` taken at the start. Medians
over the rounds; before each run the benchmark waits (within ``--wait-budget`` seconds in all) for the
other processes to leave the CPU almost idle, as ``bench.py`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHILD = HERE / "bench_child.py"
sys.path.insert(0, str(HERE))

import measure  # noqa: E402
from datasets import Dataset, DatasetSpec, ensure  # noqa: E402

TALL = DatasetSpec("ct-600", "ct", (512, 512, 600), 1, seed=300)
SET = DatasetSpec("ct-4", "ct", (512, 512, 160), 4, seed=400)
TINY = DatasetSpec("ct-tiny", "ct", (64, 64, 8), 1, seed=500)
VIEWS = ("axial", "coronal", "sagittal")
GOAL_TALL, GOAL_SET = 1.3, 1.2  # the goals: x the floor


@dataclass(frozen=True)
class Case:
    """One process to time: ``argv`` (``{out}``, ``{spec}``, ``{result}`` filled in per run); ``inside``:
    the child reports its own time (start-up excluded); ``files``: the slices it must write."""

    name: str
    argv: tuple[str, ...]
    src: str = ""  # the snapshot on PYTHONPATH ("" for none)
    spec: dict[str, object] | None = None  # bench_child.py's spec
    inside: bool = False
    files: int = 0
    codes: tuple[int, ...] = (0,)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default: 7)")
    parser.add_argument("--baseline", metavar="REV", help="also run the whole-process cases on REV's src")
    parser.add_argument("--scratch", type=Path, help="folder for outputs (default: a temporary folder)")
    parser.add_argument("--wait-budget", type=float, default=300.0, help="seconds of waiting for idle CPU")
    parser.add_argument("--output-markdown", type=Path, help="also write the report there")
    return parser.parse_args(argv)


def cli_cases(label: str, src: str, tall: Dataset, tiny: Dataset) -> list[Case]:
    """The command line's cases, whole processes, on one snapshot of ``src``."""
    command = (sys.executable, "-m", "nidataset", "slices")
    return [
        Case(f"{label}: slices --help", (*command, "--help"), src),
        Case(f"{label}: usage error", command, src, codes=(2,)),
        Case(f"{label}: one tiny volume", (*command, str(tiny.folder), "{out}", "--quiet"), src, files=8),
        Case(f"{label}: 600 slices, axial", (*command, str(tall.folder), "{out}", "--quiet"), src, files=600),
    ]


def child_case(name: str, spec: dict[str, object], *, inside: bool, files: int) -> Case:
    argv = (sys.executable, "-I", str(CHILD), "{spec}", "{result}")
    return Case(name, argv, "src" if spec["mode"] == "ours" else "", spec, inside, files)


def all_cases(args: argparse.Namespace, tall: Dataset, tiny: Dataset, ct: Dataset) -> list[Case]:
    cores = os.cpu_count() or 1
    cases = [Case("python -c pass", (sys.executable, "-c", "pass"))]
    cases += cli_cases("ours", "src", tall, tiny)
    if args.baseline:
        cases += cli_cases("base", "base/src", tall, tiny)
    floor_1 = {"mode": "floor", "nii_folder": str(tall.folder), "view": "axial", "workers": 1}
    cases.append(child_case("floor-1: 600 slices, axial", floor_1, inside=False, files=600))
    laid_out = {**floor_1, "layout": True}
    cases.append(child_case("floor-1 laid out: 600 slices, axial", laid_out, inside=False, files=600))
    for view in VIEWS:
        n = ct.spec.slices(view)
        common = {"nii_folder": str(ct.folder), "view": view, "workers": cores}
        cases.append(child_case(f"set {view}: ours", {"mode": "ours", **common}, inside=True, files=n))
        floor = {"mode": "floor", **common, "layout": True}
        cases.append(child_case(f"set {view}: floor", floor, inside=True, files=n))
        unfair = {"mode": "floor", **common}
        cases.append(child_case(f"set {view}: floor, not laid out", unfair, inside=True, files=n))
    return cases


def run_case(case: Case, scratch: Path) -> tuple[float, float | None]:
    """Run ``case`` once in a fresh output folder; its seconds (wall, or the child's own) and, for a
    child timing itself, its CPU seconds meanwhile."""
    out = Path(tempfile.mkdtemp(prefix="out-", dir=scratch))
    spec_path, result_path, log = scratch / "spec.json", scratch / "result.json", scratch / "child.log"
    if case.spec is not None:
        spec = {**case.spec, "output_path": str(out), "src": str(scratch / case.src)}
        spec_path.write_text(json.dumps(spec))
        result_path.unlink(missing_ok=True)
    argv = [a.format(out=out, spec=spec_path, result=result_path) for a in case.argv]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    env.pop("PYTHONPATH", None)
    if case.src and case.spec is None:
        env["PYTHONPATH"] = str(scratch / case.src)
    try:
        with open(log, "wb") as output:
            start = time.perf_counter()
            code = subprocess.call(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
            wall = time.perf_counter() - start
        if code not in case.codes:
            raise RuntimeError(f"{case.name} exited {code}:\n{log.read_text(errors='replace')[-2000:]}")
        written = sum(1 for p in out.rglob("*") if p.is_file() and p.suffix == ".tif")
        if written != case.files:
            raise RuntimeError(f"{case.name} wrote {written} slices, not {case.files}")
        if not case.inside:
            return wall, None
        result = json.loads(result_path.read_text())
        return float(result["seconds"]), float(result["cpu"])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def measure_all(
    cases: list[Case], rounds: int, scratch: Path, gate: measure.QuietGate
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Seconds of every case, and CPU seconds of those timed inside, by case name."""
    times: dict[str, list[float]] = {case.name: [] for case in cases}
    cpu: dict[str, list[float]] = {case.name: [] for case in cases if case.inside}
    for round_ in range(rounds):
        shift = round_ % len(cases)
        for case in cases[shift:] + cases[:shift]:
            gate.wait()
            seconds, cpu_seconds = run_case(case, scratch)
            times[case.name].append(seconds)
            if cpu_seconds is not None:
                cpu[case.name].append(cpu_seconds)
        print(f"round {round_ + 1}/{rounds} done", file=sys.stderr)
    return times, cpu


def report(
    times: dict[str, list[float]], cpu: dict[str, list[float]], header: list[str], baseline: bool
) -> str:
    med = {name: statistics.median(values) for name, values in times.items()}
    cpu_med = {name: statistics.median(values) for name, values in cpu.items()}
    lines = [
        *(f"- {line}" for line in header),
        "",
        "| case | median s | min s | max s |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {n} | {med[n]:.3f} | {min(v):.3f} | {max(v):.3f} |" for n, v in times.items()]
    lines += ["", "| ratio | value | goal |", "|---|---:|---:|"]
    for floor, what in (("floor-1 laid out", "floor"), ("floor-1", "floor not laid out")):
        for label in ("ours", "base") if baseline else ("ours",):
            ratio = med[f"{label}: 600 slices, axial"] / med[f"{floor}: 600 slices, axial"]
            lines.append(
                f"| {label}, 600 slices axial / single-thread {what} (whole processes) | {ratio:.2f}x"
                f" | {GOAL_TALL}x |"
            )
    for floor, what in (("floor", "floor"), ("floor, not laid out", "floor not laid out")):
        for view in VIEWS:
            ratio = med[f"set {view}: ours"] / med[f"set {view}: {floor}"]
            lines.append(
                f"| 4-volume CT set, {view}: ours / {what} (start-up excluded) | {ratio:.2f}x | {GOAL_SET}x |"
            )
    lines += ["", "| CPU seconds, all threads, start-up excluded | median | min | max |"]
    lines += ["|---|---:|---:|---:|"]
    lines += [f"| {n} | {cpu_med[n]:.3f} | {min(v):.3f} | {max(v):.3f} |" for n, v in cpu.items()]
    lines += ["", "| CPU ratio | value |", "|---|---:|"]
    for view in VIEWS:
        ratio = cpu_med[f"set {view}: ours"] / cpu_med[f"set {view}: floor"]
        lines.append(f"| 4-volume CT set, {view}: ours / floor, CPU seconds | {ratio:.2f}x |")
    return "\n".join(lines) + "\n"


def header_lines(args: argparse.Namespace, scratch: Path, data: Sequence[Dataset]) -> list[str]:
    from bench_child import decompressor

    lines = [*measure.machine_lines(), measure.checkout_line(REPO)]
    lines.append(
        f"snapshot of src/ {measure.snapshot(REPO / 'src', scratch / 'src')}, run by every 'ours' case"
    )
    if args.baseline:
        commit = measure.git(REPO, "log", "-1", "--format=%h %s", args.baseline)
        digest = measure.snapshot_revision(REPO, args.baseline, scratch / "base/src", scratch)
        lines.append(f"baseline ('base' cases): {commit}; snapshot {digest}")
    lines += [
        f"command: python benchmarks/one_volume.py {' '.join(sys.argv[1:])}".rstrip(),
        f"rounds: {args.rounds}, interleaved, order rotated each round; outputs in {scratch}"
        f" ({measure.filesystem_of(scratch)}), deleted after each run",
        f"decompressor of ours and of the floor: {decompressor()[1]}",
        *(f"dataset {d.describe()}" for d in data),
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tall, ct, tiny = ensure(TALL), ensure(SET), ensure(TINY)
    scratch = Path(tempfile.mkdtemp(prefix="one-volume-", dir=args.scratch))
    try:
        header = header_lines(args, scratch, (tall, ct, tiny))
        for path in (*tall.paths, *ct.paths):  # the page cache, as for every later run
            path.read_bytes()
        gate = measure.QuietGate(threshold=0.3, budget=args.wait_budget)
        start = time.perf_counter()
        times, cpu = measure_all(all_cases(args, tall, tiny, ct), args.rounds, scratch, gate)
        header.append(
            f"measured in {time.perf_counter() - start:.0f} s; {max(0.0, gate.budget):.0f} s of waiting left"
        )
        text = report(times, cpu, header, bool(args.baseline))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(text)
    if args.output_markdown:
        args.output_markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
