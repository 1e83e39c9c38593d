"""Benchmark ``extract_slices_dataset`` against the reference (``nidataset`` 0.9.1) and the floor.

One command, from the repository root, with the development venv::

    python benchmarks/bench.py [--runs 3] [--views axial coronal sagittal] [--quick]
                               [--reference-python PATH] [--skip-reference] [--scratch DIR]
                               [--wait-budget SECONDS] [--output-markdown PATH] [--profile]
                               [--baseline REV] [--options [OPTION ...]]

It builds (once, cached in ``~/.cache/nidataset-bench/``) a CT dataset of 8 volumes 512x512x160 and an
MRI-like one of 8 volumes 176x256x256, int16 ``.nii.gz``, then runs, interleaved run by run, each
contender in its own fresh interpreter on every dataset and view:

* ``reference``: ``nidataset`` 0.9.1 in its own venv (see ``reference_env.py``), tqdm silenced;
* ``ours-1`` / ``ours-all``: this checkout's ``src``, ``workers=1`` / all cores, no progress bar;
* ``base-1`` / ``base-all`` (with ``--baseline REV``): the same job as ``ours-1`` / ``ours-all`` on
  REV's ``src`` (``git archive REV src``), to check that a change made no view slower by over 3%;
* ``ours-radiological`` / ``ours-isotropic`` / ``ours-manifest`` (with ``--options``, all three, or
  ``--options radiological manifest``...): ``ours-all`` with one opt-in option, ``orientation=
  "radiological"``, ``spacing="isotropic"`` or ``save_manifest=True``, on the CT dataset only (the MRI
  one is stored RAS at 1 mm: nothing to reorient nor resample); a section "Options against the default
  path" sets each against ``ours-all`` of the same run, dataset and view, and checks the goals of issue
  10 (radiological within 5%, manifest within 3%). The base contenders never get an option.
* ``floor`` / ``floor-1``: the physical floor of the job with all cores / one thread: decompression
  with the same decompressor as ours (``isal.igzip`` when importable), and one raw file per slice with
  as many bytes as our TIFF's pixels; no transpose for coronal and sagittal.

Each child times only the work (not the interpreter's start-up); its peak memory is that of its whole
process tree. Outputs go to a fresh temporary folder deleted after each run. Then one tall CT volume,
512x512x1000, is extracted axially with ``workers=1`` to check peak memory. The tables give medians
over the runs, the peak memory the maximum; the issue's targets are checked at the end.

The machine may be shared. Every child's run is measured against the CPU time other processes took
meanwhile ("others' load", in cores): before each run the benchmark waits for an idle CPU, and it redoes
a disturbed run, both within ``--wait-budget`` seconds in all; medians leave disturbed runs out when
undisturbed ones exist. Every child runs a snapshot of ``src`` taken at the start, so that edits made
meanwhile do not mix two versions in one table (the base children run one of REV's ``src``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
CHILD = HERE / "bench_child.py"
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402
from datasets import Dataset, DatasetSpec  # noqa: E402
from reference_env import REFERENCE_VERSION, reference_python  # noqa: E402
from report import Sample, Summary, Target  # noqa: E402

VIEWS = ("axial", "coronal", "sagittal")
MAX_REDOS = 2  # runs of one sample redone at most, when other processes disturbed them
Key = tuple[str, str, str]  # dataset name, view, contender


@dataclass(frozen=True)
class Contender:
    """A child to run: which interpreter, which mode of ``bench_child.py``, how many workers, and the
    snapshot of ``src`` (relative to the scratch folder) that an ``ours`` child puts first on its path."""

    name: str
    python: str
    mode: str
    workers: int | None = None
    src: str = "src"
    option: str | None = None  # a key of report.OPTIONS: its keyword arguments go to extract_slices_dataset

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(report.OPTIONS[self.option]) if self.option else {}

    def runs_on(self, spec: DatasetSpec) -> bool:
        """The option contenders run on the CT dataset only, the others on every dataset."""
        return self.option is None or spec.kind == report.OPTION_KIND


BASE_SRC = "base/src"  # the snapshot of the baseline's src, in the scratch folder


# ------------------------------------------------------------------------------------------- arguments
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help="interleaved runs per contender (default 3; 1 with --quick)")
    parser.add_argument("--views", nargs="+", choices=VIEWS, default=list(VIEWS), help="views to run")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run on small datasets, no memory check (< 30 s)"
    )
    parser.add_argument(
        "--reference-python", help="interpreter with nidataset 0.9.1 (default: found or made)"
    )
    parser.add_argument("--skip-reference", action="store_true", help="do not run the reference")
    parser.add_argument(
        "--scratch", type=Path, help="folder for the outputs (default: the system's temporary folder)"
    )
    parser.add_argument(
        "--wait-budget",
        type=float,
        default=None,
        help="seconds the whole benchmark may wait for other processes to leave the CPU idle, before "
        "each run and to redo a run they disturbed (default 240, 5 with --quick; 0: never wait nor redo)",
    )
    parser.add_argument("--output-markdown", type=Path, help="also write the report as markdown to PATH")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile ours (cProfile) on one CT volume, axial, 1 worker",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run base-1 and base-all: ours-1 and ours-all on REV's src (git archive), and check that "
        f"ours is within {report.BASELINE_TOLERANCE:.0%} of them on every dataset and view",
    )
    parser.add_argument(
        "--options",
        nargs="*",
        choices=tuple(report.OPTIONS),
        metavar="OPTION",
        help="also run ours-all with one opt-in option each, on the CT dataset: "
        + ", ".join(f"{o} ({report.option_text(o)})" for o in report.OPTIONS)
        + "; with no name, all of them",
    )
    args = parser.parse_args(argv)
    if args.options is not None:  # in OPTIONS' order, each once; --options alone: all
        args.options = [o for o in report.OPTIONS if o in args.options or not args.options]
    args.runs = args.runs or (1 if args.quick else 3)
    if args.wait_budget is None:
        args.wait_budget = 5.0 if args.quick else 240.0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.baseline_commit = None
    if args.baseline is not None:
        args.baseline_commit = measure.git(
            REPO, "rev-parse", "--verify", "--quiet", f"{args.baseline}^{{commit}}"
        )
        if not args.baseline_commit:
            parser.error(f"--baseline: {args.baseline!r} is not a commit of {REPO}")
    return args


def contenders(args: argparse.Namespace) -> list[Contender]:
    cores = os.cpu_count() or 1
    chosen = [
        Contender(report.OURS_1, sys.executable, "ours", 1),
        Contender(report.OURS_ALL, sys.executable, "ours", None),
        *(
            Contender(report.option_name(o), sys.executable, "ours", None, option=o)
            for o in args.options or ()
        ),
        Contender(report.FLOOR, sys.executable, "floor", cores),
        Contender(report.FLOOR_1, sys.executable, "floor", 1),
    ]
    if args.baseline_commit:
        chosen[2 + len(args.options or ()) : 2 + len(args.options or ())] = [
            Contender(report.BASE_1, sys.executable, "ours", 1, BASE_SRC),
            Contender(report.BASE_ALL, sys.executable, "ours", None, BASE_SRC),
        ]
    if not args.skip_reference:
        python = reference_python(args.reference_python)
        chosen.insert(0, Contender(report.REFERENCE, python, "reference"))
    return chosen


# --------------------------------------------------------------------------------------------- running
def run_one(contender: Contender, dataset: DatasetSpec, view: str, scratch: Path) -> Sample:
    """Run one contender once on ``dataset``; check what it wrote, delete it, return its figures."""
    output = scratch / "out"
    spec: dict[str, Any] = {
        "mode": contender.mode,
        "nii_folder": str(dataset.folder),
        "output_path": str(output),
        "view": view,
        "workers": contender.workers,
    }
    if contender.option:
        if contender.src != "src":  # a baseline's src may lack the option's keywords
            raise RuntimeError(f"{contender.name}: options are for this checkout's src only")
        spec["options"] = contender.kwargs
    result, child = run_child(contender, spec, scratch)
    shape: tuple[int, ...] = ()
    try:
        expected = dataset.slices(view)
        written = count_files(output)
        if written != expected:
            raise RuntimeError(
                f"{contender.name} wrote {written} slices of {dataset.name} {view}, not {expected}"
            )
        if contender.option:
            shape = check_option_output(contender, dataset, view, output)
    finally:
        shutil.rmtree(output, ignore_errors=True)
    return Sample(result["seconds"], child.peak_bytes, child.other_load, shape)


def check_option_output(
    contender: Contender, dataset: DatasetSpec, view: str, output: Path
) -> tuple[int, ...]:
    """The option took effect: a slice of the size it implies (resampled for isotropic), and for the
    manifest a ``<view>_manifest.csv`` of one row per slice. The shape of that slice, rows x columns."""
    import tifffile

    first = next(output.rglob("*.tif"))
    with tifffile.TiffFile(first) as tif:
        shape = tif.pages[0].shape  # type: ignore[union-attr]
    wanted = report.slice_pixels(dataset, view, contender.option)
    if sorted(shape[:2]) != sorted(wanted):
        raise RuntimeError(f"{contender.name} wrote {first.name} of {shape}, not {wanted}")
    if contender.kwargs.get("save_manifest"):
        manifest, rows = output / f"{view}_manifest.csv", -1
        if manifest.is_file():
            with open(manifest, newline="") as handle:
                rows = sum(1 for _ in csv.reader(handle)) - 1
        if rows != dataset.slices(view):
            raise RuntimeError(
                f"{contender.name}: {manifest.name} lists {rows} slices, not {dataset.slices(view)}"
            )
    return tuple(shape[:2])


def run_child(
    contender: Contender, spec: dict[str, Any], scratch: Path
) -> tuple[dict[str, Any], measure.ChildRun]:
    """Run ``bench_child.py`` in isolated mode on a snapshot of ``src``: its result, its measures."""
    spec = {**spec, "src": str(scratch / contender.src)}
    spec_path, result_path, log = scratch / "spec.json", scratch / "result.json", scratch / "child.log"
    spec_path.write_text(json.dumps(spec))
    result_path.unlink(missing_ok=True)
    env = {**os.environ, "TQDM_DISABLE": "1"}
    child = measure.run_child(
        [contender.python, "-I", str(CHILD), str(spec_path), str(result_path)], env, log
    )
    if child.returncode != 0 or not result_path.is_file():
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{contender.name} failed (exit {child.returncode}):\n{tail}")
    result = json.loads(result_path.read_text())
    check_identity(contender, result, scratch / contender.src)
    return result, child


def check_identity(contender: Contender, result: dict[str, Any], src: Path) -> None:
    """The reference must be 0.9.1 from outside this checkout, ours (and base) its snapshot's, nothing
    skipped."""
    module = str(result.get("module", ""))
    if contender.mode == "reference" and (result["version"] != REFERENCE_VERSION or str(REPO) in module):
        raise RuntimeError(f"the reference child imported nidataset {result['version']} from {module}")
    if contender.mode == "ours" and not module.startswith(str(src)):
        raise RuntimeError(f"the {contender.name} child imported nidataset from {module}, not from {src}")
    if result.get("skipped"):
        raise RuntimeError(f"{contender.name} skipped volumes: {result['skipped']}")


def count_files(folder: Path) -> int:
    return sum(len([n for n in names if n.endswith(".tif")]) for _, _, names in os.walk(folder))


def warm_cache(data: Sequence[Dataset]) -> None:
    """Read every input once, so that no contender pays for reading from the disk."""
    for dataset in data:
        for path in dataset.paths:
            with open(path, "rb") as handle:
                while handle.read(1 << 24):
                    pass


def run_all(
    args: argparse.Namespace, data: Sequence[Dataset], tall: Dataset | None, scratch: Path
) -> Session:
    """Every run, every dataset and view, every contender, interleaved; then the memory check."""
    chosen = contenders(args)
    ours_1 = next(c for c in chosen if c.name == report.OURS_1)
    session = Session(scratch, measure.QuietGate(report.BUSY_LOAD, args.wait_budget))
    for run in range(args.runs):
        label = f"run {run + 1}/{args.runs}"
        for dataset in data:
            here = [c for c in chosen if c.runs_on(dataset.spec)]
            for view in args.views:
                for contender in rotated(here, run):
                    session.sample(label, contender, dataset, view)
        if tall is not None:
            session.sample(label, ours_1, tall, "axial")
    return session


class Session:
    """The samples taken so far, each when the CPU is idle, redone when another process disturbed it."""

    def __init__(self, scratch: Path, gate: measure.QuietGate) -> None:
        self.scratch, self.gate = scratch, gate
        self.samples: dict[Key, list[Sample]] = {}
        self.redone = 0

    def sample(self, label: str, contender: Contender, dataset: Dataset, view: str) -> None:
        best = self.quiet_sample(contender, dataset, view)
        self.samples.setdefault((dataset.spec.name, view, contender.name), []).append(best)
        figures = f"{best.seconds:.2f} s, {best.peak_bytes / 1e6:.0f} MB, others' load {best.other_load:.2f}"
        print(
            f"  {label} {dataset.spec.name} {view} {contender.name}: {figures}", file=sys.stderr, flush=True
        )

    def quiet_sample(self, contender: Contender, dataset: Dataset, view: str) -> Sample:
        """The least disturbed of the runs made while the waiting budget lasts."""
        best = self.attempt(contender, dataset, view)
        for _ in range(MAX_REDOS):
            if best.other_load <= self.gate.threshold or self.gate.budget <= 0:
                break
            print(f"  (redoing {contender.name}: others took {best.other_load:.2f} cores)", file=sys.stderr)
            self.redone += 1
            sample = self.attempt(contender, dataset, view)
            self.gate.budget -= sample.seconds
            best = min(best, sample, key=lambda s: s.other_load)
        return best

    def attempt(self, contender: Contender, dataset: Dataset, view: str) -> Sample:
        self.gate.wait()
        return run_one(contender, dataset.spec, view, self.scratch)


def rotated(chosen: list[Contender], run: int) -> list[Contender]:
    """The contenders, starting one further each run: none always follows the same one."""
    start = run % len(chosen)
    return chosen[start:] + chosen[:start]


def idle_rss(scratch: Path) -> int:
    """Peak resident memory of a child that only imports ours: the interpreter's share of the peaks."""
    contender = Contender("idle", sys.executable, "idle")
    spec = {"mode": "idle"}
    return run_child(contender, spec, scratch)[1].peak_bytes


def profile_ours(dataset: Dataset, scratch: Path) -> str:
    """cProfile of ours on the dataset's first volume, axial, workers=1: the top functions by own time."""
    single = scratch / "single"
    single.mkdir(exist_ok=True)
    link = single / dataset.paths[0].name
    link.unlink(missing_ok=True)
    link.symlink_to(dataset.paths[0])
    output = scratch / "out"
    spec: dict[str, Any] = {"mode": "ours", "nii_folder": str(single), "output_path": str(output)}
    spec |= {"view": "axial", "workers": 1, "profile": True}
    try:
        result, _ = run_child(Contender("profile", sys.executable, "ours", 1), spec, scratch)
    finally:
        shutil.rmtree(output, ignore_errors=True)
    title = f"profile of ours-1, {link.name}, axial, {result['seconds']:.2f} s under cProfile"
    return f"{title}\n{result['profile']}"


# --------------------------------------------------------------------------------------------- report
def render(
    args: argparse.Namespace,
    header: list[str],
    data: Sequence[Dataset],
    tall: Dataset | None,
    samples: dict[Key, list[Sample]],
    markdown: bool,
) -> str:
    """The whole report: header, one table per dataset and view, the memory check, the targets."""
    parts = [render_header(header, markdown)]
    targets: list[Target] = []
    baseline = bool(args.baseline_commit)
    base_rows: list[tuple[str, ...]] = []
    checks: list[Target] = []
    option_rows: list[tuple[str, ...]] = []
    option_checks: list[Target] = []
    for dataset in data:
        for view in args.views:
            summaries = {
                contender: Summary(tuple(found))
                for (name, v, contender), found in samples.items()
                if name == dataset.spec.name and v == view
            }
            rows = report.view_rows(dataset.spec, view, summaries, baseline)
            title = report.view_title(dataset.spec, view)
            columns = report.headers(baseline)
            table = report.markdown_table(rows, columns) if markdown else report.text_table(rows, columns)
            parts.append(f"#### {title}\n\n{table}" if markdown else f"{title}\n{table}")
            targets += report.speed_targets(dataset.spec, view, summaries)
            if baseline:
                base_rows.append(report.baseline_row(dataset.spec, view, summaries))
                checks += report.baseline_checks(dataset.spec, view, summaries)
            if args.options:
                option_rows += report.option_rows(dataset.spec, view, summaries, args.options)
                option_checks += report.option_checks(dataset.spec, view, summaries)
    if tall is not None:
        targets.append(
            report.memory_target(tall.spec, Summary(tuple(samples[(tall.spec.name, "axial", report.OURS_1)])))
        )
    parts.append(render_targets(targets, args.quick, markdown))
    if args.options:
        parts.append(render_options(args, option_rows, option_checks, markdown))
    if baseline:
        parts.append(render_baseline(args, base_rows, checks, markdown))
    busiest = max(Summary(tuple(found)).other_load for found in samples.values())
    if busiest > report.BUSY_LOAD:
        warning = f"other processes took up to {busiest:.2f} cores during every run of some contenders"
        parts.append(f"WARNING: {warning}: their times are not to be trusted (see the table)")
    return "\n\n".join(parts) + "\n"


def render_baseline(
    args: argparse.Namespace, rows: list[tuple[str, ...]], checks: list[Target], markdown: bool
) -> str:
    """Ours against the baseline: median times and ratios per dataset and view, then one line each."""
    commit = measure.git(REPO, "rev-parse", "--short", args.baseline_commit)
    title = (
        f"Against the baseline {args.baseline} ({commit}): ours' median time at most"
        f" {1 + report.BASELINE_TOLERANCE:g}x base's on every dataset and view"
        + (" (quick run on small data: indicative only)" if args.quick else "")
    )
    verdict = Target(
        f"every dataset and view within {report.BASELINE_TOLERANCE:.0%} of the baseline",
        f"{sum(c.met for c in checks)} of {len(checks)} checks",
        all(c.met for c in checks),
    )
    if markdown:
        table = report.markdown_table(rows, report.BASELINE_HEADERS)
        lines = "\n".join(f"- **{t.line()[:4]}** {t.line()[6:]}" for t in [*checks, verdict])
        return f"#### {title}\n\n{table}\n\n{lines}"
    table = report.text_table(rows, report.BASELINE_HEADERS)
    return f"{title}\n{table}\n" + "\n".join(f"  {t.line()}" for t in [*checks, verdict])


def render_options(
    args: argparse.Namespace, rows: list[tuple[str, ...]], checks: list[Target], markdown: bool
) -> str:
    """The option contenders against ours-all (same run, dataset and view) and the reference, then one
    line per goal."""
    goals = ", ".join(f"{name} within {tolerance:.0%}" for name, tolerance in report.OPTION_GOALS.items())
    title = (
        f"Options against the default path ({report.OURS_ALL}, same run, dataset and view; goals: {goals}"
        f" of its median time; x reference: the reference's time over the option's)"
        + (" (quick run on small data: indicative only)" if args.quick else "")
    )
    lines = [*checks]
    if checks:
        met = sum(c.met for c in checks)
        lines.append(
            Target("every option within its goal", f"{met} of {len(checks)} checks", met == len(checks))
        )
    if markdown:
        table = report.markdown_table(rows, report.OPTION_HEADERS)
        items = "\n".join(f"- **{t.line()[:4]}** {t.line()[6:]}" for t in lines)
        return f"#### {title}\n\n{table}" + (f"\n\n{items}" if items else "")
    table = report.text_table(rows, report.OPTION_HEADERS)
    return f"{title}\n{table}" + "".join(f"\n  {t.line()}" for t in lines)


def render_header(lines: list[str], markdown: bool) -> str:
    if markdown:
        return "\n".join(f"- {line}" for line in lines)
    return "\n".join(lines)


def render_targets(targets: list[Target], quick: bool, markdown: bool) -> str:
    title = "Targets" + (" (quick run on small data: indicative only)" if quick else "")
    if markdown:
        return f"#### {title}\n\n" + "\n".join(f"- **{t.line()[:4]}** {t.line()[6:]}" for t in targets)
    return f"{title}\n" + "\n".join(f"  {t.line()}" for t in targets)


def header_lines(
    args: argparse.Namespace, data: Sequence[Dataset], tall: Dataset | None, scratch: Path
) -> list[str]:
    """Machine, checkout (and the snapshot of src that every child runs), settings and datasets."""
    from bench_child import decompressor

    digest = measure.snapshot(SRC, scratch / "src")
    base = []
    if args.baseline_commit:
        base_digest = measure.snapshot_revision(REPO, args.baseline_commit, scratch / BASE_SRC, scratch)
        same = "; the same files as the working tree's" if base_digest == digest else ""
        commit = measure.git(REPO, "log", "-1", "--format=%h %s", args.baseline_commit)
        base = [
            f"baseline: {args.baseline} = {commit}; snapshot of its src/ {base_digest}"
            f" (git archive), run by {report.BASE_1} and {report.BASE_ALL}{same}"
        ]
    described = (
        f"{report.option_name(o)} = {report.OURS_ALL} with {report.option_text(o)}"
        for o in args.options or ()
    )
    options = (
        [f"options: {', '.join(described)}; on the {report.OPTION_KIND} dataset only"] if args.options else []
    )
    return [
        *measure.machine_lines(),
        f"{measure.checkout_line(REPO)}; snapshot of src/ {digest}, run by every child"
        + (f" but {report.BASE_1} and {report.BASE_ALL}" if base else ""),
        *base,
        *options,
        f"command: python benchmarks/bench.py {' '.join(sys.argv[1:])}".rstrip(),
        f"runs: {args.runs}, interleaved; medians of the times, maximum of the peak memories; a run marked *"
        f" was disturbed (other processes took over {report.BUSY_LOAD} cores): medians leave those out"
        " when undisturbed runs exist",
        f"outputs: {scratch.parent} ({measure.filesystem_of(scratch)}), deleted after each run",
        f"decompressor of ours and of the floor: {decompressor()[1]}",
        *(f"dataset {d.describe()}" for d in [*data, *([tall] if tall else [])]),
    ]


def closing_lines(scratch: Path, commit: str, waited: float, redone: int) -> list[str]:
    """Waits for an idle CPU, the interpreter's own memory, whether the checkout moved meanwhile."""
    lines = [
        f"waited {waited:.0f} s in all for other processes to leave the CPU idle; runs they disturbed "
        f"(by over {report.BUSY_LOAD} cores) and redone: {redone}",
        f"resident memory of an interpreter that imported ours: {idle_rss(scratch) / 1e6:.0f} MB",
    ]
    now = measure.commit_of(REPO)
    if now != commit:
        lines.append(f"note: HEAD moved from {commit} to {now} during the run; the snapshot was benchmarked")
    return lines


# ------------------------------------------------------------------------------------------------ main
def build_missing(specs: Sequence[DatasetSpec]) -> None:
    """Build the datasets not in the cache in a child process: building here would raise this process's
    high-water mark of memory (gigabytes for the tall volume), which every child, started by vfork and
    exec, inherits in the ``ru_maxrss`` that its peak memory is measured by."""
    missing = [spec.name for spec in specs if not (spec.folder / "manifest.json").is_file()]
    if missing:
        subprocess.run([sys.executable, str(HERE / "datasets.py"), *missing], check=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    specs: Sequence[DatasetSpec] = datasets.quick_specs() if args.quick else datasets.full_specs()[:2]
    tall_spec = None if args.quick else datasets.full_specs()[2]
    build_missing([*specs, *([tall_spec] if tall_spec else [])])
    data = [datasets.ensure(spec) for spec in specs]
    tall = None if tall_spec is None else datasets.ensure(tall_spec)
    warm_cache([*data, *([tall] if tall else [])])
    with tempfile.TemporaryDirectory(prefix="nidataset-bench-", dir=args.scratch) as temporary:
        scratch, commit = Path(temporary), measure.commit_of(REPO)
        header = header_lines(args, data, tall, scratch)
        print("\n".join(header), file=sys.stderr)
        session = run_all(args, data, tall, scratch)
        samples = session.samples
        header += closing_lines(scratch, commit, args.wait_budget - session.gate.budget, session.redone)
        profile = profile_ours(data[0], scratch) if args.profile else ""
    print(render(args, header, data, tall, samples, markdown=False))
    if profile:
        print(profile)
    if args.output_markdown:
        args.output_markdown.write_text(render(args, header, data, tall, samples, markdown=True))
    print(f"benchmark took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
