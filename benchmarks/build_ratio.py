"""The price of labels: ``build_dataset`` against the plain extraction of the same images.

One command, from the repository root, with the development venv::

    python benchmarks/build_ratio.py [--runs 3] [--quick] [--workers N] [--base REV]

On the CT dataset of ``bench.py`` (8 volumes 512 x 512 x 160, cached; ``--quick``: 4 volumes
256 x 256 x 64) and the label masks of ``outputs.py`` (bone and soft-tissue thresholds), each
contender runs in a fresh interpreter, interleaved run by run, axial, soft-tissue window, 8-bit PNG:

* ``extract_slices_dataset``: the images alone;
* ``build_dataset``: the same images plus masks, YOLO and COCO (issue 19's goal: within 1.5x of the
  extraction's time and 1.25x of its peak memory);
* with ``--base REV``, ``build_dataset@REV`` as well: the builder of a git revision (its ``src/``
  from ``git archive``), interleaved with the others, to show a change's effect in one run.

Reported: wall seconds and CPU seconds (the child's and its workers', which the other processes on a
shared machine do not inflate), peak resident memory of the process tree, the files each writes, and
the ratios of medians. The build writes three files a slice (image, mask, YOLO labels) where the
extraction writes one, so what creating a file costs on the output's file system weighs on the ratio:
it is measured before and after the runs (empty files in a fresh folder beside the outputs; on the
2026-12-06 machine 0.1-0.7 ms a file, against about 0.01 ms on a quiet ext4: there ext4 without a
journal skips, one by one, every inode freed in the last minute, and the machine's other jobs free
many).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
import measure  # noqa: E402
from outputs import ensure_masks  # noqa: E402

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {src!r})
import nidataset as nid
images, masks, out, kind, workers = {images!r}, {masks!r}, {out!r}, {kind!r}, {workers!r}
common = dict(window="soft_tissue", image_format="png", progress=False, workers=workers)
start = time.perf_counter()
if kind == "extract_slices_dataset":
    nid.extract_slices_dataset(images, out, "axial", **common)
else:
    nid.build_dataset(images, masks, out, view="axial", labels=("masks", "yolo", "coco"),
                      save_report=False, save_manifest=False, save_failures=False, **common)
wall = time.perf_counter() - start
cpu = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
          for field in ("ru_utime", "ru_stime"))
print(json.dumps([wall, cpu]))
"""

CONTENDERS = ("extract_slices_dataset", "build_dataset")


def run_one(
    kind: str, images: Path, masks: Path, workers: int | None, outputs: Path, src: Path = SRC
) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, peak bytes, files written) of one contender in a fresh interpreter,
    writing into a fresh folder in ``outputs``, which the caller deletes at the end: deleting a run's
    thousands of files before the next run made every file the next one created cost 0.1-0.2 ms
    instead of 0.01 (ext4 skips the inodes freed in the last minutes), a cost that weighed three
    times on the build, which writes three files a slice."""
    scratch = tempfile.mkdtemp(dir=outputs)
    log = Path(scratch) / "log"
    code = CHILD.format(
        src=str(src),
        images=str(images),
        masks=str(masks),
        out=str(Path(scratch) / "out"),
        kind=kind.split("@")[0],
        workers=workers,
    )
    child = measure.run_child([sys.executable, "-c", code], dict(os.environ), log)
    if child.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{log.read_text()[-2000:]}")
    wall, cpu = json.loads(log.read_text().strip().splitlines()[-1])
    files = sum(len(names) for _, _, names in os.walk(Path(scratch) / "out"))
    return wall, cpu, child.peak_bytes, files


def create_cost(beside: Path, count: int = 300) -> float:
    """Milliseconds to create one empty file, in a fresh folder in ``beside`` (where the outputs go)."""
    with tempfile.TemporaryDirectory(dir=beside) as scratch:
        start = time.perf_counter()
        for number in range(count):
            os.close(os.open(os.path.join(scratch, f"f{number}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        return (time.perf_counter() - start) / count * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the small CT set")
    parser.add_argument("--workers", type=int, help="workers of both contenders (default: all cores)")
    parser.add_argument("--base", help="also run the build_dataset of this git revision")
    args = parser.parse_args()
    spec = datasets.quick_specs()[0] if args.quick else datasets.full_specs()[0]
    dataset = datasets.ensure(spec)
    masks = ensure_masks(dataset)
    slices = spec.count * spec.shape[2]
    with tempfile.TemporaryDirectory() as scratch:
        sources = {name: SRC for name in CONTENDERS}
        if args.base:
            sources[f"build_dataset@{args.base}"] = Path(scratch) / "base"
            measure.snapshot_revision(HERE.parent, args.base, Path(scratch) / "base", Path(scratch))
        with tempfile.TemporaryDirectory(dir=dataset.folder.parent) as outputs:  # deleted at the end
            creating = [create_cost(dataset.folder.parent)]
            samples = _samples(sources, dataset.folder, masks, args.runs, args.workers, Path(outputs))
            creating.append(create_cost(dataset.folder.parent))
    names = list(sources)
    wall = {n: statistics.median(s[0] for s in samples[n]) for n in names}
    cpu = {n: statistics.median(s[1] for s in samples[n]) for n in names}
    peak = {n: max(s[2] for s in samples[n]) for n in names}
    print(
        f"# build_dataset against extract_slices_dataset, {dataset.describe()}, axial, 8-bit PNG, "
        f"workers={args.workers or 'all'}; medians of {args.runs}"
    )
    print(*measure.machine_lines(), sep="\n")
    before, after = creating
    print(f"creating an empty file beside the outputs: {before:.3f} ms before the runs, {after:.3f} after")
    print("\n| contender | wall s | slices/s | CPU s | peak RSS MB | files |\n|---|---:|---:|---:|---:|---:|")
    for name in names:
        print(
            f"| {name} | {wall[name]:.2f} | {slices / wall[name]:,.0f} | {cpu[name]:.2f} "
            f"| {peak[name] / 1e6:.0f} | {samples[name][-1][3]} |"
        )
    first, second = CONTENDERS
    print(
        f"\nbuild / extraction: wall {wall[second] / wall[first]:.2f}x, CPU {cpu[second] / cpu[first]:.2f}x, "
        f"peak memory {peak[second] / peak[first]:.2f}x (goal: 1.5x time, 1.25x memory)"
    )
    for name in names[2:]:
        print(
            f"{name} / extraction: wall {wall[name] / wall[first]:.2f}x, CPU {cpu[name] / cpu[first]:.2f}x, "
            f"peak memory {peak[name] / peak[first]:.2f}x"
        )


def _samples(
    sources: dict[str, Path], images: Path, masks: Path, runs: int, workers: int | None, outputs: Path
) -> dict[str, list[tuple[float, float, int, int]]]:
    """Each contender ``runs`` times, interleaved run by run (the machine's load then spreads evenly)."""
    samples: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in sources}
    for run in range(runs):
        for name, src in sources.items():
            samples[name].append(run_one(name, images, masks, workers, outputs, src))
            print(f"  run {run + 1}/{runs} {name}: {samples[name][-1]}", file=sys.stderr)
    return samples


if __name__ == "__main__":
    main()
