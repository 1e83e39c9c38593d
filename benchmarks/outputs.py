"""Benchmark the output options: image formats, previews and the report, and the training-set builder.

One command, from the repository root, with the development venv::

    python benchmarks/outputs.py [--runs 3] [--quick] [--output-markdown PATH]

On the CT dataset of ``bench.py`` (8 volumes 512 x 512 x 160, built once and cached; ``--quick``: 4
volumes 256 x 256 x 64) and label masks made from it (bone and heart thresholds, cached beside it),
it runs, interleaved run by run, each contender in a fresh interpreter with all cores, axial:

* formats: TIFF (the default), TIFF + zlib, TIFF + zstd, 16-bit PNG, 8-bit PNG and JPEG (the last
  three with the soft-tissue window): seconds, slices/s and bytes on disk per slice, and the time
  against plain TIFF;
* previews and the report: the default run against the same with ``save_preview`` and ``save_report``,
  and their share of the run; and, in a one-worker run, the time spent in the functions only they
  call (keeping the tiles, drawing, the value range, the page) against the rest of the run;
* the builder: ``build_dataset`` (8-bit window, PNG, masks + YOLO + COCO) against what a user writes
  without it: the seed's two calls (images, box CSVs), the masks as slices, and a hand-written loop
  converting the TIFFs to windowed PNG and the CSVs to YOLO lines (no COCO: it is the builder's alone).

Outputs go to a fresh temporary folder deleted after each run; medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
import measure  # noqa: E402

WINDOW = "soft_tissue"
FORMATS: dict[str, dict[str, object]] = {
    "tiff": {},
    "tiff+zlib": {"compression": "zlib"},
    "tiff+zstd": {"compression": "zstd"},
    "png16": {"window": WINDOW, "bits": 16, "image_format": "png"},
    "png8": {"window": WINDOW, "image_format": "png"},
    "jpeg": {"window": WINDOW, "image_format": "jpeg"},
}

#: The work each contender's child does: ``images``, ``masks`` and ``out`` are given; it prints the
#: seconds of the work alone.
CHILD = """
import json, sys, time
sys.path.insert(0, {src!r})
import nidataset as nid
images, masks, out, kind, kwargs = {images!r}, {masks!r}, {out!r}, {kind!r}, {kwargs!r}
start = time.perf_counter()
if kind == "slices":
    nid.extract_slices_dataset(images, out, "axial", progress=False, **kwargs)
elif kind == "build":
    nid.build_dataset(images, masks, out, view="axial", window="soft_tissue", image_format="png",
                      labels=("masks", "yolo", "coco"), save_report=False, save_manifest=False,
                      progress=False)
else:
    {by_hand}
print(json.dumps(time.perf_counter() - start))
"""

#: The previews' and the report's own time inside one run (one worker, in-process): the functions that
#: only they call are timed, so that their share does not drown in the machine's run-to-run noise.
TIMED = """
import functools, json, sys, time
sys.path.insert(0, {src!r})
import nidataset as nid
from nidataset.batch import flow
from nidataset.slices import job
from nidataset.viewing import job as viewing, preview
spent = [0.0]
def timed(owner, name):
    work = getattr(owner, name)
    @functools.wraps(work)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return work(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start
    setattr(owner, name, wrapper)
for owner, name in ((preview.PreviewPlanes, "take"), (viewing, "write_planes"), (job, "value_range"),
                    (flow, "write_report")):
    timed(owner, name)
start = time.perf_counter()
nid.extract_slices_dataset({images!r}, {out!r}, "axial", progress=False, workers=1, save_preview=True,
                           save_report=True)
print(json.dumps([time.perf_counter() - start, spent[0]]))
"""

#: What a user writes without the builder: the seed's calls, then a conversion loop.
BY_HAND = """
    import glob, os
    import numpy as np, tifffile
    from PIL import Image
    nid.extract_slices_dataset(images, out + "/tif", "axial", saving_mode="view", progress=False)
    nid.extract_slices_dataset(masks, out + "/masks", "axial", saving_mode="view", progress=False)
    nid.extract_annotations_dataset(masks, out + "/csv", "axial", saving_mode="view", extraction_mode="slice",
                                    data_mode="box", progress=False)
    os.makedirs(out + "/images"); os.makedirs(out + "/labels")
    low, high = 50 - 0.5 - 349 / 2, 50 - 0.5 + 349 / 2
    for path in glob.glob(out + "/tif/axial/*.tif"):
        values = tifffile.imread(path).astype(np.float64)
        pixels = np.clip(np.floor((values - 49.5) / 349 * 255 + 127.5 + 0.5), 0, 255).astype(np.uint8)
        name = os.path.basename(path)[:-4]
        Image.fromarray(pixels).save(out + "/images/" + name + ".png", compress_level=1)
    for path in glob.glob(out + "/csv/axial/*.csv"):
        rows = [line.split(",") for line in open(path).read().split()[1:]]
        with open(out + "/labels/" + os.path.basename(path)[:-4] + ".txt", "w") as handle:
            for x0, y0, x1, y1, label in ((int(v) for v in row) for row in rows):
                w, h = 512, 512
                handle.write(f"{{label - 1}} {{(x0 + x1 + 1) / (2 * w):.6f}} {{(y0 + y1 + 1) / (2 * h):.6f}} "
                             f"{{(x1 - x0 + 1) / w:.6f}} {{(y1 - y0 + 1) / h:.6f}}\\n")
"""


def contenders() -> dict[str, tuple[str, dict[str, object]]]:
    found: dict[str, tuple[str, dict[str, object]]] = {
        f"format {k}": ("slices", v) for k, v in FORMATS.items()
    }
    found["previews+report"] = ("slices", {"save_preview": True, "save_report": True})
    found["build_dataset"] = ("build", {})
    found["seed calls + loop"] = ("by_hand", {})
    return found


def ensure_masks(dataset: datasets.Dataset) -> Path:
    """Label masks of the dataset's volumes (1 bone, 2 heart-like soft tissue), built once."""
    import nibabel as nib
    import numpy as np

    folder = dataset.folder.parent / f"{dataset.folder.name}-masks-v1"
    done = folder / "done"
    if done.is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in dataset.paths:
        image = nib.load(str(path))
        assert isinstance(image, nib.Nifti1Image)  # the benchmark datasets are NIfTI
        ct = np.asarray(image.dataobj)
        labels = np.zeros(ct.shape, dtype=np.uint8)
        labels[(ct > 65) & (ct < 200)] = 2
        labels[ct > 400] = 1
        nib.save(nib.Nifti1Image(labels, image.affine), str(folder / path.name))
    done.write_text("complete\n")
    return folder


def run_one(kind: str, kwargs: dict[str, object], images: Path, masks: Path) -> tuple[float, int, int, float]:
    """(seconds, peak bytes, bytes written, others' load) of one contender in a fresh interpreter."""
    with tempfile.TemporaryDirectory(dir=images.parent) as scratch:
        out = Path(scratch) / "out"
        code = CHILD.format(
            src=str(SRC),
            images=str(images),
            masks=str(masks),
            out=str(out),
            kind=kind,
            kwargs=kwargs,
            by_hand=textwrap.indent(textwrap.dedent(BY_HAND), "    ").strip(),
        )
        log = Path(scratch) / "log"
        child = measure.run_child([sys.executable, "-c", code], dict(os.environ), log)
        if child.returncode != 0:
            raise RuntimeError(f"{kind} {kwargs} failed:\n{log.read_text()[-2000:]}")
        seconds = json.loads(log.read_text().strip().splitlines()[-1])
        written = sum(
            p.stat().st_size for p in out.rglob("*") if p.is_file() and p.suffix in (".tif", ".png", ".jpg")
        )
        return seconds, child.peak_bytes, written, child.other_load


def run_timed(images: Path) -> tuple[float, float]:
    """(seconds of the run, seconds of it in the previews' and report's own work), one worker."""
    with tempfile.TemporaryDirectory(dir=images.parent) as scratch:
        out = Path(scratch) / "out"
        log = Path(scratch) / "log"
        code = TIMED.format(src=str(SRC), images=str(images), out=str(out))
        child = measure.run_child([sys.executable, "-c", code], dict(os.environ), log)
        if child.returncode != 0:
            raise RuntimeError(f"timed previews failed:\n{log.read_text()[-2000:]}")
        total, extra = json.loads(log.read_text().strip().splitlines()[-1])
        return total, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the small CT set, one run")
    parser.add_argument("--output-markdown", type=Path)
    args = parser.parse_args()
    spec = datasets.quick_specs()[0] if args.quick else datasets.full_specs()[0]
    dataset = datasets.ensure(spec)
    masks = ensure_masks(dataset)
    slices = spec.count * spec.shape[2]
    runs = 1 if args.quick else args.runs
    samples: dict[str, list[tuple[float, int, int, float]]] = {name: [] for name in contenders()}
    inside: list[tuple[float, float]] = []
    started = time.perf_counter()
    for run in range(runs):
        for name, (kind, kwargs) in contenders().items():
            samples[name].append(run_one(kind, kwargs, dataset.folder, masks))
            print(f"  run {run + 1}/{runs} {name}: {samples[name][-1][0]:.2f} s", file=sys.stderr)
        inside.append(run_timed(dataset.folder))
        print(f"  run {run + 1}/{runs} previews timed inside: {inside[-1]}", file=sys.stderr)
    lines = report(samples, inside, slices, dataset, runs, time.perf_counter() - started)
    print("\n".join(lines))
    if args.output_markdown:
        args.output_markdown.write_text("\n".join(lines) + "\n")


def report(
    samples: dict[str, list[tuple[float, int, int, float]]],
    inside: list[tuple[float, float]],
    slices: int,
    dataset: datasets.Dataset,
    runs: int,
    took: float,
) -> list[str]:
    median = {name: statistics.median(s[0] for s in runs_) for name, runs_ in samples.items()}
    peak = {name: max(s[1] for s in runs_) for name, runs_ in samples.items()}
    written = {name: runs_[0][2] for name, runs_ in samples.items()}
    load = {name: statistics.median(s[3] for s in runs_) for name, runs_ in samples.items()}
    lines = [
        f"# Output options, {dataset.describe()}, axial, all cores; medians of {runs} run(s) "
        f"({took:.0f} s in all)",
        *measure.machine_lines(),
        "",
        "| contender | median s | slices/s | bytes on disk per slice | x TIFF time | peak RSS MB "
        "| others' load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    base = median["format tiff"]
    for name in samples:
        if name.startswith("format "):
            lines.append(
                f"| {name[7:]} | {median[name]:.2f} | {slices / median[name]:,.0f} "
                f"| {written[name] / slices:,.0f} | {median[name] / base:.2f}x | {peak[name] / 1e6:.0f} "
                f"| {load[name]:.2f} |"
            )
    share = (median["previews+report"] - base) / median["previews+report"]
    own = statistics.median(extra / (total - extra) for total, extra in inside)
    lines += [
        "",
        f"Previews and report, all cores: {median['previews+report']:.2f} s against {base:.2f} s without: "
        f"{share:.1%} of the run (between two runs, so within the machine's run-to-run spread).",
        f"Previews and report timed inside a one-worker run (their own functions): {own:.1%} of the "
        f"time of the run without them (goal: under 10%: {'PASS' if own < 0.10 else 'MISS'}).",
        "",
        "| training set | median s | slices/s | peak RSS MB |",
        "|---|---:|---:|---:|",
    ]
    for name in ("build_dataset", "seed calls + loop"):
        lines.append(
            f"| {name} | {median[name]:.2f} | {slices / median[name]:,.0f} | {peak[name] / 1e6:.0f} |"
        )
    ratio = median["seed calls + loop"] / median["build_dataset"]
    lines.append(
        f"\nbuild_dataset is {ratio:.2f}x as fast as the seed's calls and a conversion loop "
        "(which write no COCO)."
    )
    return lines


if __name__ == "__main__":
    main()
