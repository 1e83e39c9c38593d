"""Tables and targets of the benchmark, as plain text and as markdown."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from datasets import DatasetSpec

REFERENCE, OURS_1, OURS_ALL, FLOOR, FLOOR_1 = "reference", "ours-1", "ours-all", "floor", "floor-1"
BASE_1, BASE_ALL = "base-1", "base-all"  # ours-1 and ours-all on the baseline's src (--baseline REV)
BASE_OF = {OURS_ALL: BASE_ALL, OURS_1: BASE_1}
BASELINE_TOLERANCE = 0.03  # ours' median time over base's median time, at most 1 + this
#: The option contenders (``bench.py --options``): ours-all with one opt-in option, keyword arguments of
#: extract_slices_dataset, run on the CT dataset only; named ``ours-<option>``.
OPTIONS: dict[str, dict[str, Any]] = {
    "radiological": {"orientation": "radiological"},
    "isotropic": {"spacing": "isotropic"},
    "manifest": {"save_manifest": True},
}
OPTION_KIND = "ct"  # the kind of dataset the option contenders run on
#: Goals of the options' cost (issue 10): median time over ours-all's, same run, dataset and view, at most
#: 1 + this. The isotropic option resamples (more pixels to write): it has no goal, only its figures.
OPTION_GOALS = {"ours-radiological": 0.05, "ours-manifest": 0.03}
OPTION_HEADERS = (
    "dataset",
    "view",
    "contender",
    "option",
    "slice rows x cols",
    "median s",
    "runs (s)",
    "slices/s",
    "MB/s voxels",
    "peak RSS MB",
    "ours-all s",
    "x ours-all time",
    "x reference",
    "goal",
    "others' load",
)
#: Throughput of ours-all over the reference's, per view (the issue's targets).
SPEEDUP_TARGETS = {"axial": 8.0, "coronal": 6.0, "sagittal": 6.0}
FLOOR_TARGET = 1.3  # axial ours-all time over floor time, at most
MEMORY_TARGET = 300e6  # bytes, peak RSS of a 512x512x1000 axial run with workers=1
BUSY_LOAD = 0.15  # cores taken by other processes above which a run's times are not to be trusted
HEADERS = (
    "contender",
    "median s",
    "runs (s)",
    "slices/s",
    "MB/s voxels",
    "peak RSS MB",
    "x reference",
    "x floor time",
    "others' load",
)
BASE_HEADER = "x base time"  # column added when a baseline ran: ours-1 / base-1, ours-all / base-all
BASELINE_HEADERS = (
    "dataset",
    "view",
    "ours-all s",
    "base-all s",
    "ours/base all",
    "ours-1 s",
    "base-1 s",
    "ours/base 1",
    f"within {BASELINE_TOLERANCE:.0%}",
)


@dataclass(frozen=True)
class Sample:
    """One run of one contender: the time the child measured and its peak resident memory."""

    seconds: float
    peak_bytes: int
    other_load: float = 0.0  # cores that other processes took meanwhile
    shape: tuple[int, ...] = ()  # (rows, columns) of a slice written, when checked (option contenders)

    @property
    def disturbed(self) -> bool:
        return self.other_load > BUSY_LOAD


@dataclass(frozen=True)
class Summary:
    """The runs of one contender on one dataset and view."""

    samples: tuple[Sample, ...]

    @property
    def used(self) -> tuple[Sample, ...]:
        """The undisturbed samples when there are any, else all of them."""
        return tuple(s for s in self.samples if not s.disturbed) or self.samples

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.used)

    @property
    def peak_bytes(self) -> int:
        return max(s.peak_bytes for s in self.samples)

    @property
    def other_load(self) -> float:
        return max(s.other_load for s in self.used)


@dataclass(frozen=True)
class Target:
    """One of the issue's targets: what was measured and whether it is met."""

    name: str
    measured: str
    met: bool

    def line(self) -> str:
        return f"{'PASS' if self.met else 'MISS'}  {self.name}: {self.measured}"


def headers(baseline: bool) -> tuple[str, ...]:
    """The columns of a view's table: with the ratio to the baseline when one ran."""
    return (*HEADERS[:-1], BASE_HEADER, HEADERS[-1]) if baseline else HEADERS


def view_rows(
    spec: DatasetSpec, view: str, summaries: dict[str, Summary], baseline: bool = False
) -> list[tuple[str, ...]]:
    """One row per contender that ran: times, throughputs, memory and the ratios (to the baseline's
    same job too, with ``baseline``)."""
    reference, floor = summaries.get(REFERENCE), summaries.get(FLOOR)
    rows: list[tuple[str, ...]] = []
    for name, summary in summaries.items():
        seconds = summary.seconds
        base = summaries.get(BASE_OF.get(name, ""))
        ratio = (f"{seconds / base.seconds:.3f}x" if base else "-",) if baseline else ()
        rows.append(
            (
                name,
                f"{seconds:.3f}",
                "/".join(f"{s.seconds:.2f}{'*' if s.disturbed else ''}" for s in summary.samples),
                f"{spec.slices(view) / seconds:,.0f}",
                f"{spec.voxel_bytes / 1e6 / seconds:,.0f}",
                f"{summary.peak_bytes / 1e6:,.0f}",
                f"{reference.seconds / seconds:.1f}x" if reference else "-",
                f"{seconds / floor.seconds:.2f}x" if floor else "-",
                *ratio,
                f"{summary.other_load:.2f}",
            )
        )
    return rows


def baseline_row(spec: DatasetSpec, view: str, summaries: dict[str, Summary]) -> tuple[str, ...]:
    """Median times of ours and of base (all cores, 1 worker), their ratios, and the verdict (marked *
    when every run of one side was disturbed by other processes)."""
    cells: list[str] = [spec.name, view]
    verdicts, disturbed = [], False
    for ours_name in (OURS_ALL, OURS_1):
        ours, base = summaries.get(ours_name), summaries.get(BASE_OF[ours_name])
        if ours and base:
            ratio = ours.seconds / base.seconds
            cells += [f"{ours.seconds:.3f}", f"{base.seconds:.3f}", f"{ratio:.3f}x"]
            verdicts.append(ratio <= 1 + BASELINE_TOLERANCE)
            disturbed |= max(ours.other_load, base.other_load) > BUSY_LOAD
        else:
            cells += ["-", "-", "-"]
    verdict = ("yes" if all(verdicts) else "NO") + ("*" if disturbed else "")
    cells.append(verdict if verdicts else "-")
    return tuple(cells)


def baseline_checks(spec: DatasetSpec, view: str, summaries: dict[str, Summary]) -> list[Target]:
    """ours-all (and ours-1) against the same job on the baseline: at most 3% slower."""
    checks = []
    for ours_name in (OURS_ALL, OURS_1):
        base_name = BASE_OF[ours_name]
        ours, base = summaries.get(ours_name), summaries.get(base_name)
        if ours and base:
            ratio = ours.seconds / base.seconds
            name = f"{spec.name} {view}: {ours_name} within {BASELINE_TOLERANCE:.0%} of {base_name}"
            measured = f"{ratio:.3f}x ({ours.seconds:.3f} s / {base.seconds:.3f} s, medians)"
            if max(ours.other_load, base.other_load) > BUSY_LOAD:
                measured += "; every run of one side disturbed by other processes: not to be trusted"
            checks.append(Target(name, measured, ratio <= 1 + BASELINE_TOLERANCE))
    return checks


def option_name(option: str) -> str:
    """The contender of an option of :data:`OPTIONS`: ``ours-<option>``."""
    return f"ours-{option}"


def option_text(option: str) -> str:
    """The keyword arguments of an option, as passed: ``orientation='radiological'``."""
    return ", ".join(f"{key}={value!r}" for key, value in OPTIONS[option].items())


def slice_pixels(spec: DatasetSpec, view: str, option: str | None = None) -> tuple[int, int]:
    """Pixels along the two in-plane stored axes of one slice written by the default path, or by
    ``option`` (in either order: an orientation may transpose the slice): the isotropic option resamples
    each axis of n pixels of spacing s to the finer spacing s', ``round((n - 1) * s / s') + 1`` pixels
    (the package's rule, recomputed here)."""
    axes = {"axial": (0, 1), "coronal": (0, 2), "sagittal": (1, 2)}[view]
    counts = [spec.shape[axis] for axis in axes]
    if option != "isotropic":
        return counts[0], counts[1]
    spacings = [spec.spacing[axis] for axis in axes]
    finer = min(spacings)
    first, second = (math.floor((n - 1) * s / finer + 0.5) + 1 for n, s in zip(counts, spacings, strict=True))
    return first, second


def option_rows(
    spec: DatasetSpec, view: str, summaries: dict[str, Summary], options: Sequence[str]
) -> list[tuple[str, ...]]:
    """One row per option that ran on this dataset and view: its figures, its time over ours-all's and
    the reference's time over its own (throughput ratio), and its goal's verdict (* when every run of
    one side was disturbed by other processes)."""
    ours, reference = summaries.get(OURS_ALL), summaries.get(REFERENCE)
    default = math.prod(slice_pixels(spec, view))
    rows: list[tuple[str, ...]] = []
    for option in options:
        name = option_name(option)
        summary = summaries.get(name)
        if summary is None:
            continue
        seconds = summary.seconds
        size = summary.samples[0].shape or slice_pixels(spec, view, option)  # rows x columns as written
        more = math.prod(size) / default
        pixels = f"{size[0]}x{size[1]}" + (f" ({more:.2f}x)" if more != 1 else "")
        goal, tolerance = "-", OPTION_GOALS.get(name)
        if ours and tolerance is not None:
            met = seconds / ours.seconds <= 1 + tolerance
            disturbed = max(summary.other_load, ours.other_load) > BUSY_LOAD
            goal = f"<= {1 + tolerance:g}x: {'yes' if met else 'NO'}{'*' if disturbed else ''}"
        rows.append(
            (
                spec.name,
                view,
                name,
                option_text(option),
                pixels,
                f"{seconds:.3f}",
                "/".join(f"{s.seconds:.2f}{'*' if s.disturbed else ''}" for s in summary.samples),
                f"{spec.slices(view) / seconds:,.0f}",
                f"{spec.voxel_bytes / 1e6 / seconds:,.0f}",
                f"{summary.peak_bytes / 1e6:,.0f}",
                f"{ours.seconds:.3f}" if ours else "-",
                f"{seconds / ours.seconds:.3f}x" if ours else "-",
                f"{reference.seconds / seconds:.1f}x" if reference else "-",
                goal,
                f"{summary.other_load:.2f}",
            )
        )
    return rows


def option_checks(spec: DatasetSpec, view: str, summaries: dict[str, Summary]) -> list[Target]:
    """The options' goals: the option's median time within its tolerance of ours-all's (same run,
    dataset and view)."""
    ours = summaries.get(OURS_ALL)
    checks = []
    for name, tolerance in OPTION_GOALS.items():
        option = summaries.get(name)
        if ours is None or option is None:
            continue
        ratio = option.seconds / ours.seconds
        title = f"{spec.name} {view}: {name} within {tolerance:.0%} of {OURS_ALL}"
        measured = f"{ratio:.3f}x ({option.seconds:.3f} s / {ours.seconds:.3f} s, medians)"
        if max(ours.other_load, option.other_load) > BUSY_LOAD:
            measured += "; every run of one side disturbed by other processes: not to be trusted"
        checks.append(Target(title, measured, ratio <= 1 + tolerance))
    return checks


def view_title(spec: DatasetSpec, view: str) -> str:
    x, y, z = spec.shape
    size = {"axial": (x, y), "coronal": (x, z), "sagittal": (y, z)}[view]
    note = "" if view == "axial" else "; floor = the same decompression and writes, no transpose"
    return (
        f"{spec.name} {view}: {spec.slices(view):,} slices of {size[0]}x{size[1]} "
        f"({spec.voxel_bytes / 1e6:.0f} MB of voxels){note}"
    )


def text_table(rows: Sequence[Sequence[str]], headers: Sequence[str] = HEADERS) -> str:
    """Columns aligned with spaces: the first to the left, the others to the right."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(rows: Sequence[Sequence[str]], headers: Sequence[str] = HEADERS) -> str:
    separator = ["---"] + ["---:"] * (len(headers) - 1)
    return "\n".join("| " + " | ".join(row) + " |" for row in [headers, separator, *rows])


def speed_targets(spec: DatasetSpec, view: str, summaries: dict[str, Summary]) -> list[Target]:
    """ours-all against the reference (every view) and against the floor (axial)."""
    ours, reference, floor = summaries.get(OURS_ALL), summaries.get(REFERENCE), summaries.get(FLOOR)
    targets = []
    if ours and reference:
        speedup, wanted = reference.seconds / ours.seconds, SPEEDUP_TARGETS[view]
        name = f"{spec.name} {view}: ours-all throughput >= {wanted:g}x the reference's"
        measured = f"{speedup:.1f}x" + (
            f" (the floor's: {reference.seconds / floor.seconds:.1f}x)" if floor else ""
        )
        targets.append(Target(name, measured, speedup >= wanted))
    if ours and floor and view == "axial":
        ratio = ours.seconds / floor.seconds
        name = f"{spec.name} {view}: ours-all time within {FLOOR_TARGET}x of the floor's"
        targets.append(Target(name, f"{ratio:.3f}x", ratio <= FLOOR_TARGET))
    return targets


def memory_target(spec: DatasetSpec, summary: Summary) -> Target:
    x, y, z = spec.shape
    name = f"peak RSS of a {x}x{y}x{z} axial run, workers=1, < {MEMORY_TARGET / 1e6:.0f} MB"
    measured = (
        f"{summary.peak_bytes / 1e6:.0f} MB (max of {len(summary.samples)} runs, {summary.seconds:.2f} s)"
    )
    return Target(name, measured, summary.peak_bytes < MEMORY_TARGET)
