"""SliceDataset against build_dataset's PNG files and the naive loader, with 2 worker processes.

    python benchmarks/slicedataset.py [--quick] [--repeat 3] [--naive 32]

On the CT set (``--quick``: the small one) with masks made from it (bone and lung thresholds), axial
view, soft-tissue window, 8-bit: every variant runs once per round, side by side, and the table gives
medians over the rounds. Workers are spawned processes (as a DataLoader with ``num_workers=2``) that
take batches of 32 samples in epoch order as they come free; each sample's image and mask are read.

* random epoch (one permutation of every slice): SliceDataset at its defaults (the volumes the up-front
  pass decoded kept in shared memory that the workers map), with ``shared_memory=False`` (each worker
  decodes what it reads, within its default budget), at a small budget (``--small``: nothing kept,
  seek points), with the workers sharing the volumes they decode in ``--share``,
  build_dataset's PNG files read with Pillow, and the naive loader
  (``nibabel.load(path).get_fdata()`` per sample, then slicing) on the first ``--naive`` samples only;
* sequential epoch: SliceDataset in slice order, against build_dataset(workers=2) writing the PNGs;
* peak resident memory per worker process, and its largest anonymous part (its own memory: RSS
  also counts the pages of shared memory and files a worker maps, which exist once for all);
* random access into one volume (one process): a whole decompression per slice against the seek
  points of :mod:`nidataset.sliceset.seekpoints`, indexed_gzip and rapidgzip (when installed).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import nibabel as nib
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from datasets import Dataset, ensure, full_specs, quick_specs  # noqa: E402

from nidataset import SliceDataset, build_dataset  # noqa: E402

OPTIONS = {"view": "axial", "window": "soft_tissue", "image_format": "png"}
BATCH = 32
WORKERS = 2
_LOADER: object = None  # set in each worker process by _start


def ensure_masks(data: Dataset) -> Path:
    """Label masks of the set's volumes (1: bone above 300 HU, 2: lung between -950 and -500 HU)."""
    folder = data.folder.parent / f"{data.folder.name}-masks-v1"
    if (folder / "done").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in data.paths:
        image: Any = nib.load(str(path))
        values = np.asarray(image.dataobj)
        mask = np.zeros(values.shape, dtype=np.uint8)
        mask[values > 300] = 1
        mask[(values > -950) & (values < -500)] = 2
        nib.save(nib.Nifti1Image(mask, image.affine), str(folder / path.name))
    (folder / "done").write_text("")
    return folder


# Worker side: each loader is built once per process, then given batches of sample numbers.
def _start(kind: str, payload: object) -> None:
    global _LOADER
    _LOADER = (kind, payload)


def _batch(items: list[int]) -> tuple[int, int, int, int]:
    """Read the samples ``items``; return (this worker's pid, samples read, its peak RSS and its
    private memory now, in bytes)."""
    kind: str
    payload: Any
    kind, payload = _LOADER  # type: ignore[misc]
    for item in items:
        if kind == "dataset":
            sample = payload[item]  # type: ignore[index]
            image, mask = sample["image"], sample["mask"]
        elif kind == "png":
            from PIL import Image

            image_path, mask_path = payload[item]  # type: ignore[index]
            image, mask = np.asarray(Image.open(image_path)), np.asarray(Image.open(mask_path))
        else:  # the naive loader: the whole volume as float64, for one slice
            image_path, mask_path, index = payload[item]  # type: ignore[index]
            image = cast(Any, nib.load(image_path)).get_fdata()[:, :, index]
            mask = cast(Any, nib.load(mask_path)).get_fdata()[:, :, index]
        assert image.size and mask.size
    return os.getpid(), len(items), _peak_rss(), _private()


def _peak_rss() -> int:
    """This process's peak resident memory (VmHWM; ``ru_maxrss`` would keep the spawning parent's
    peak, which survives the exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _private() -> int:
    """This process's anonymous resident memory: its own, not the pages of files or of shared memory
    it maps (smaps' Private_* would count a shared page that no other process has touched yet)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def epoch(kind: str, payload: object, order: list[int]) -> tuple[float, float, int, int]:
    """(seconds, samples per second, largest peak RSS of a worker, largest anonymous memory of a worker
    at the end of a batch) of one epoch in ``order``."""
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS, initializer=_start, initargs=(kind, payload)) as pool:
        pool.map(_batch, [[]] * WORKERS * 4, chunksize=1)  # both workers started and imported
        start = time.perf_counter()
        results = list(pool.imap_unordered(_batch, batches, chunksize=1))
        seconds = time.perf_counter() - start
    peaks: dict[int, int] = {}
    for pid, _, peak, _ in results:
        peaks[pid] = max(peaks.get(pid, 0), peak)
    return seconds, len(order) / seconds, max(peaks.values()), max(r[3] for r in results)


def build_rate(images: Path, masks: Path, out: Path) -> tuple[float, int]:
    """(slices per second, slices) of build_dataset writing PNG images and masks with 2 workers."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = build_dataset(
        str(images),
        str(masks),
        str(out),
        labels=("masks",),
        workers=WORKERS,
        progress=False,
        save_report=False,
        **OPTIONS,  # type: ignore[arg-type]
    )
    slices = result.total()
    return slices / (time.perf_counter() - start), slices


def png_pairs(ds: SliceDataset, out: Path) -> list[tuple[str, str]]:
    """The image and mask files build_dataset wrote for each sample of ``ds``, in its order."""
    paths = [str(row[0]) for r in ds._records for row in ds._rows(r, 0, r.indices[0])]
    return [(str(out / path), str(out / "masks" / Path(path).name)) for path in paths]


def seek_table(path: Path, reads: int = 48) -> list[tuple[str, float, float, float]]:
    """(engine, index build seconds, ms per random axial slice, index MB) on one volume."""
    from nidataset.io.volumes import VolumeReader, read_header
    from nidataset.sliceset.seekpoints import GzipIndex

    header = read_header(str(path))
    plane = header.shape[0] * header.shape[1] * header.dtype.itemsize
    rng = np.random.default_rng(0)
    offsets = [header.offset + int(k) * plane for k in rng.integers(0, header.shape[2], reads)]
    rows = []

    def whole() -> None:
        with VolumeReader(str(path)) as reader:
            reader.volume()

    start = time.perf_counter()
    for _ in range(4):
        whole()
    rows.append(("whole volume per slice (isal)", 0.0, (time.perf_counter() - start) / 4 * 1e3, 0.0))
    start = time.perf_counter()
    index = GzipIndex(str(path))
    built = time.perf_counter() - start
    rows.append(
        ("seek points, zlib copies (ours)", built, _per_read(index, offsets, plane), index.nbytes / 1e6)
    )
    try:
        import indexed_gzip
    except ImportError:
        print("indexed_gzip is not installed: left out", file=sys.stderr)
    else:
        start = time.perf_counter()
        handle = indexed_gzip.IndexedGzipFile(str(path), spacing=1 << 20)
        handle.build_full_index()
        built = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as folder:
            handle.export_index(os.path.join(folder, "index"))
            size = os.path.getsize(os.path.join(folder, "index")) / 1e6
        rows.append(("indexed_gzip (1 MB spacing)", built, _per_read(handle, offsets, plane), size))
        handle.close()
    try:
        import rapidgzip
    except ImportError:
        print("rapidgzip is not installed: left out", file=sys.stderr)
    else:
        start = time.perf_counter()
        with rapidgzip.open(str(path), parallelization=1) as handle:
            handle.seek(0, os.SEEK_END)
            built = time.perf_counter() - start
            rows.append(("rapidgzip (1 thread)", built, _per_read(handle, offsets, plane), float("nan")))
    return rows


def _per_read(handle: object, offsets: list[int], size: int) -> float:
    start = time.perf_counter()
    for offset in offsets:
        if hasattr(handle, "seek"):
            handle.seek(offset)  # type: ignore[attr-defined]
            data = handle.read(size)  # type: ignore[attr-defined]
        else:
            data = handle.read(offset, size)  # type: ignore[attr-defined]
        assert len(data) == size
    return (time.perf_counter() - start) / len(offsets) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small CT set")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (medians are shown)")
    parser.add_argument("--naive", type=int, default=32, help="samples the naive loader reads")
    parser.add_argument("--small", type=int, default=64, help="the small cache budget, MB")
    parser.add_argument("--share", default="/dev/shm", help="the share_folder of the shared variant")
    args = parser.parse_args(argv)
    data = ensure((quick_specs() if args.quick else full_specs())[0])
    masks = ensure_masks(data)
    print(f"{data.describe()}, masks in {masks}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="slicedataset-bench-"))
    try:
        return _run(args, data, masks, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, data: Dataset, masks: Path, work: Path) -> int:
    start = time.perf_counter()
    ds = SliceDataset(data.folder, masks, **OPTIONS)  # type: ignore[arg-type]
    scan = time.perf_counter() - start
    start = time.perf_counter()
    private = SliceDataset(data.folder, masks, shared_memory=False, **OPTIONS)  # type: ignore[arg-type]
    scans = (scan, time.perf_counter() - start, ds.shared_bytes)
    small = SliceDataset(data.folder, masks, cache_bytes=args.small << 20, **OPTIONS)  # type: ignore[arg-type]
    shared = SliceDataset(data.folder, masks, share_folder=args.share, shared_memory=False, **OPTIONS)  # type: ignore[arg-type]
    build_rate(data.folder, masks, work / "png")  # the files for the PNG reader
    pngs = png_pairs(ds, work / "png")
    naive = [(str(r.path), str(r.mask_path), i) for r in ds._records for i in r.indices[0]]
    rates: dict[str, list[float]] = {}
    peaks: dict[str, list[tuple[int, int]]] = {}
    for round_ in range(args.repeat):
        order = [int(i) for i in np.random.default_rng(round_).permutation(len(ds))]
        runs = {
            "SliceDataset, random, defaults (shared memory)": ("dataset", ds, order),
            "SliceDataset, random, shared_memory=False": ("dataset", private, order),
            f"SliceDataset, random, {args.small} MB budget": ("dataset", small, order),
            f"SliceDataset, random, shared in {args.share}": ("dataset", shared, order),
            "PNG files with Pillow, random": ("png", pngs, order),
            "naive get_fdata per sample, random": ("naive", naive, order[: args.naive]),
            "SliceDataset, sequential, defaults": ("dataset", ds, list(range(len(ds)))),
        }
        for name, (kind, payload, items) in runs.items():
            _, rate, peak, own = epoch(kind, payload, items)
            rates.setdefault(name, []).append(rate)
            peaks.setdefault(name, []).append((peak, own))
        shutil.rmtree(shared._share_path, ignore_errors=True)  # every round decodes afresh
        rate, _ = build_rate(data.folder, masks, work / f"build{round_}")
        rates.setdefault("build_dataset (PNG images and masks written)", []).append(rate)
        print(f"round {round_ + 1} of {args.repeat} done", file=sys.stderr)
    _print(rates, peaks, len(ds), scans, seek_table(data.paths[0]))
    return 0


def _print(
    rates: dict[str, list[float]],
    peaks: dict[str, list[tuple[int, int]]],
    count: int,
    scans: tuple[float, float, int],
    seeks: list,
) -> None:
    median = {name: statistics.median(values) for name, values in rates.items()}
    ours, pngs = (
        median["SliceDataset, random, defaults (shared memory)"],
        median["PNG files with Pillow, random"],
    )
    private = median["SliceDataset, random, shared_memory=False"]
    naive, build = (
        median["naive get_fdata per sample, random"],
        median["build_dataset (PNG images and masks written)"],
    )
    sequential = median["SliceDataset, sequential, defaults"]
    scan, unshared, kept = scans
    print(
        f"{count} slices; SliceDataset's up-front pass (read and check every pair): {scan:.2f} s, "
        f"keeping {kept / 2**20:.0f} MB of decoded volumes in shared memory in the main process "
        f"({unshared:.2f} s with shared_memory=False)\n"
    )
    print("| loader | samples/s (median) | peak RSS per worker (MB) | of it its own (MB) |")
    print("|---|---:|---:|---:|")
    for name, rate in median.items():
        peak = own = ""
        if name in peaks:
            peak = f"{statistics.median(p for p, _ in peaks[name]) / 2**20:.0f}"
            own = f"{statistics.median(o for _, o in peaks[name]) / 2**20:.0f}"
        print(f"| {name} | {rate:.1f} | {peak} | {own} |")
    print("\n| ratio | measured | goal |\n|---|---:|---:|")
    print(f"| SliceDataset (defaults) / PNG files, random | {ours / pngs:.2f}x | >= 0.5x |")
    print(f"| SliceDataset, shared_memory=False / PNG files, random | {private / pngs:.2f}x | >= 0.5x |")
    shared = next(rate for name, rate in median.items() if "shared in" in name)
    print(f"| SliceDataset with share_folder / PNG files, random | {shared / pngs:.2f}x | >= 0.5x |")
    print(f"| SliceDataset / naive loader, random | {ours / naive:.1f}x | >= 10x |")
    print(f"| build_dataset / SliceDataset sequential (time ratio) | {build / sequential:.2f}x | <= 1.3x |")
    with_scan = count / (count / sequential + scan)  # the epoch and the up-front pass that made the dataset
    print(f"| the same, the up-front pass counted in | {build / with_scan:.2f}x | <= 1.3x |")
    print("\n| random axial slice of one volume | index build (s) | ms per slice | index MB |")
    print("|---|---:|---:|---:|")
    for name, built, per_read, size in seeks:
        print(f"| {name} | {built:.2f} | {per_read:.1f} | {size:.1f} |")


if __name__ == "__main__":
    raise SystemExit(main())
