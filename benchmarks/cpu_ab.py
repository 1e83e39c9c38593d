"""CPU time of ours against a baseline revision, for differences smaller than the machine's noise.

One command, from the repository root, with the development venv::

    python benchmarks/cpu_ab.py --baseline ed42e4c [--runs 8] [--view axial] [--quick]

On a shared machine two wall-clock runs of the same code differ by up to 20%, so a 3% budget cannot be
checked with them. This runs ``extract_slices_dataset`` on the CT set of ``bench.py`` with one worker,
in a fresh interpreter per run, alternating ours and the baseline's ``src/`` (``git archive``), and
compares the processes' CPU time (user + system, all threads), which other tenants inflate much less.
Outputs go to a fresh temporary folder deleted after each run; medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
import measure  # noqa: E402

CHILD = """
import json, os, shutil, sys, tempfile, time
sys.path.insert(0, {src!r})
import nidataset as nid
assert nid.__file__.startswith({src!r}), nid.__file__
out = tempfile.mkdtemp(dir={scratch!r})
start = time.process_time()
nid.extract_slices_dataset({images!r}, out, view={view!r}, progress=False, workers=1)
print(json.dumps(time.process_time() - start))
shutil.rmtree(out)
"""


def cpu_seconds(src: Path, images: Path, view: str, scratch: str) -> float:
    code = CHILD.format(src=str(src), images=str(images), view=view, scratch=scratch)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, metavar="REV")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--view", default="axial", choices=("axial", "coronal", "sagittal"))
    parser.add_argument("--quick", action="store_true", help="the small CT set")
    args = parser.parse_args()
    spec = datasets.quick_specs()[0] if args.quick else datasets.full_specs()[0]
    images = datasets.ensure(spec).folder
    with tempfile.TemporaryDirectory() as scratch:
        # Both sides run from copies, so that edits made meanwhile do not mix two states of the code.
        ours, base = Path(scratch) / "ours", Path(scratch) / "base"
        measure.snapshot(HERE.parent / "src", ours)
        measure.snapshot_revision(HERE.parent, args.baseline, base, Path(scratch))
        times: dict[str, list[float]] = {"ours": [], "base": []}
        for run in range(args.runs):
            for name, src in (("ours", ours), ("base", base)):
                times[name].append(cpu_seconds(src, images, args.view, scratch))
                print(f"  run {run + 1}/{args.runs} {name}: {times[name][-1]:.2f} s CPU", file=sys.stderr)
    mine, baseline = statistics.median(times["ours"]), statistics.median(times["base"])
    print(
        f"{spec.name} {args.view}, one worker, medians of {args.runs} runs: ours {mine:.2f} s CPU, "
        f"{args.baseline} {baseline:.2f} s CPU, ours/base {mine / baseline:.3f}x"
    )


if __name__ == "__main__":
    main()
