"""One contender of the benchmark, run in its own fresh interpreter by ``bench.py``.

    python -I bench_child.py SPEC.json RESULT.json

SPEC is a JSON object: ``mode`` ("reference", "ours", "floor" or "idle"), ``nii_folder``,
``output_path``, ``view``, and per mode ``workers`` (ours, floor), ``src`` (ours: a snapshot of this
checkout's ``src`` folder, or of a baseline revision's, put first on the path), ``options`` (ours,
optional: more keyword arguments of ``extract_slices_dataset``, such as ``orientation``; ``bench.py``
gives them only to this checkout's snapshot, never to a baseline's, which may lack them) and ``profile``
(ours: run under cProfile) and ``layout`` (floor, optional: write each slice's bytes as ours lays them
out, see :func:`floor_layout`). The child times only the work itself and writes ``{"seconds": ..., ...}`` to
RESULT.

Ours is imported through the public API only (``nidataset.slices.extract_slices_dataset`` and the
``skipped`` of its result), never a private module: the same child then runs any revision of the
package, whatever its internal layout (the base contenders of ``bench.py --baseline REV``).

This file uses the standard library only at import time: it also runs in the reference's venv, in
isolated mode (``-I``), where nothing of this checkout is importable.
"""

from __future__ import annotations

import concurrent.futures
import importlib.metadata
import json
import os
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

#: Bytes of voxels the floor reads at a time (whole slices), as our axial streaming does.
SLAB_BYTES = 4 << 20
AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
NIFTI_SUFFIXES = (".nii.gz", ".nii")


def main(spec_path: str, result_path: str) -> None:
    with open(spec_path) as handle:
        spec = json.load(handle)
    run = {"reference": run_reference, "ours": run_ours, "floor": run_floor, "idle": run_idle}[spec["mode"]]
    with open(result_path, "w") as handle:
        json.dump(run(spec), handle)


def timed(call: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def cpu_timed(call: Callable[[], object]) -> tuple[float, float, object]:
    """:func:`timed`, and the CPU seconds of the whole process meanwhile (all threads, user and
    system): steadier than the wall time on a shared machine."""
    cpu = time.process_time()
    seconds, value = timed(call)
    return seconds, time.process_time() - cpu, value


# ------------------------------------------------------------------------------------------ contenders
def run_reference(spec: dict[str, Any]) -> dict[str, Any]:
    """nidataset 0.9.1's extract_slices_dataset (its tqdm output is silenced by TQDM_DISABLE)."""
    import nidataset
    from nidataset.slices import extract_slices_dataset

    seconds, _ = timed(
        lambda: extract_slices_dataset(spec["nii_folder"], spec["output_path"], view=spec["view"])
    )
    return {
        "seconds": seconds,
        "module": nidataset.__file__,
        "version": importlib.metadata.version("nidataset"),
    }


def run_ours(spec: dict[str, Any]) -> dict[str, Any]:
    """The extract_slices_dataset of the ``src`` snapshot (this checkout's or a baseline's), without progress
    bar, with the spec's ``options`` as more keyword arguments; through the public API only, so that any
    layout of the package works."""
    sys.path.insert(0, spec["src"])
    import nidataset
    from nidataset.slices import extract_slices_dataset

    options = spec.get("options") or {}

    def call() -> object:
        return extract_slices_dataset(
            spec["nii_folder"],
            spec["output_path"],
            view=spec["view"],
            workers=spec["workers"],
            progress=False,
            **options,
        )

    if spec.get("profile"):
        return {**profiled(call), "module": nidataset.__file__}
    seconds, cpu, result = cpu_timed(call)
    skipped = [f"{o.name}: {o.reason}" for o in result.skipped]  # type: ignore[attr-defined]
    return {"seconds": seconds, "cpu": cpu, "module": nidataset.__file__, "skipped": skipped}


def profiled(call: Callable[[], object]) -> dict[str, Any]:
    """Run ``call`` under cProfile; return its time and the top functions by own time."""
    import cProfile
    import io
    import pstats

    profile = cProfile.Profile()
    seconds, _ = timed(lambda: profile.runcall(call))
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(18)
    return {"seconds": seconds, "profile": text.getvalue()}


def run_idle(spec: dict[str, Any]) -> dict[str, Any]:
    """Import ours and do nothing: the interpreter's own resident memory."""
    sys.path.insert(0, spec["src"])
    import nidataset.slices  # noqa: F401

    return {"seconds": 0.0}


def run_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """Decompress every volume with our decompressor and write each slice's bytes to its own file."""
    gzip_module, name = decompressor()
    floor = floor_layout if spec.get("layout") else floor_volume
    if spec.get("layout"):
        import numpy  # noqa: F401 - before the clock starts, as ours imports it before its own
    folder = spec["nii_folder"]
    paths = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(NIFTI_SUFFIXES))

    def work() -> int:
        with concurrent.futures.ThreadPoolExecutor(spec["workers"]) as pool:
            jobs = [pool.submit(floor, p, spec["output_path"], spec["view"], gzip_module) for p in paths]
            return sum(job.result() for job in jobs)

    seconds, cpu, slices = cpu_timed(work)
    return {"seconds": seconds, "cpu": cpu, "decompressor": name, "slices": slices}


# ------------------------------------------------------------------------------------------- the floor
def decompressor() -> tuple[Any, str]:
    """isal.igzip when importable (as our package uses), else the standard library's gzip."""
    try:
        from isal import igzip

        return igzip, "isal.igzip"
    except ImportError:
        import gzip

        return gzip, "gzip (zlib)"


def floor_volume(path: str, output_path: str, view: str, gzip_module: Any) -> int:
    """Stream one volume's voxels, write them as raw files of one slice's bytes; no transpose."""
    prefix = os.path.basename(path).removesuffix(".gz").removesuffix(".nii")
    folder = os.path.join(output_path, prefix, view)
    os.makedirs(folder, exist_ok=True)
    with open(path, "rb") as raw, gzip_module.GzipFile(fileobj=raw, mode="rb") as stream:
        shape, itemsize, offset = nifti1_header(stream.read(348))
        stream.read(offset - 348)
        count = shape[AXES[view]]
        slice_bytes = shape[0] * shape[1] * shape[2] // count * itemsize
        write_slices(stream, folder, f"{prefix}_{view}", count, slice_bytes)
        while stream.read(SLAB_BYTES):  # to the end: the gzip CRC and length are checked
            pass
    return count


def write_slices(stream: BinaryIO, folder: str, stem: str, count: int, slice_bytes: int) -> None:
    per_slab = max(1, SLAB_BYTES // slice_bytes)
    buffer = memoryview(bytearray(per_slab * slice_bytes))
    width = max(3, len(str(count - 1)))
    for start in range(0, count, per_slab):
        n = min(per_slab, count - start)
        read_exactly(stream, buffer[: n * slice_bytes])
        for k in range(n):
            with open(os.path.join(folder, f"{stem}_{start + k:0{width}d}.tif"), "wb") as out:
                out.write(buffer[k * slice_bytes : (k + 1) * slice_bytes])


def floor_layout(path: str, output_path: str, view: str, gzip_module: Any) -> int:
    """The floor of ours, whose slices are the stored volume's ``volume[:, j, :]`` (coronal) etc. as
    C-ordered (rows, cols) arrays: the raw bytes of the same slices, in the same orientation.

    NIfTI stores X fastest, so every view's slice is a transposed copy (axial's too: its rows are X).
    The floor makes it the cheapest way we know with numpy (as ours does), one plane at a time along
    an axis that keeps the plane in cache: axially 4 MB slabs of stored slices written as they come;
    coronally 32 MB slabs laid out into the view's slices as they are decompressed, written at the
    end; sagittally the whole volume, then laid out (slab by slab, each slice's row would be written
    in pieces scattered a slice apart: slower); into buffers kept per thread for its next volume.
    numpy is imported here, not at the top (see the module's note).
    """
    import numpy as np

    prefix = os.path.basename(path).removesuffix(".gz").removesuffix(".nii")
    folder = os.path.join(output_path, prefix, view)
    os.makedirs(folder, exist_ok=True)
    with open(path, "rb") as raw, gzip_module.GzipFile(fileobj=raw, mode="rb") as stream:
        block = stream.read(348)
        shape, itemsize, offset = nifti1_header(block)
        order = "<" if struct.unpack("<i", block[:4])[0] == 348 else ">"
        dtype = np.dtype(order + _NIFTI_DTYPES[struct.unpack(order + "h", block[70:72])[0]])
        stream.read(offset - 348)
        axis, (x, y, z) = AXES[view], shape
        plane = x * y * itemsize
        slab_bytes = {"axial": SLAB_BYTES, "coronal": 8 * SLAB_BYTES, "sagittal": z * plane}[view]
        per_slab = max(1, min(z, slab_bytes // plane))
        stack_planes = per_slab if view == "axial" else z
        slab, stack = _buffers(np, (plane * per_slab, plane * stack_planes))
        stacked = stack.view(dtype)[: x * y * stack_planes]
        laid = stacked.reshape((-1, *(n for a, n in enumerate(shape) if a != axis)))  # not axial
        for start in range(0, z, per_slab):
            k = min(per_slab, z - start)
            read_exactly(stream, memoryview(slab)[: plane * k])
            voxels = slab.view(dtype)[: x * y * k].reshape((x, y, k), order="F")
            if view == "axial":  # (slice, row, col) = (z, x, y): each stored plane transposed
                out = stacked[: x * y * k].reshape((k, x, y))
                _copy_planes(np, out, voxels.transpose(2, 0, 1), 0)
                _write(folder, f"{prefix}_{view}", start, z, out)
            else:  # into the view's (slice, row, col) stack, seen in stored (x, y, z) order
                _copy_planes(np, np.moveaxis(laid, 0, axis)[:, :, start : start + k], voxels, 1)
        if view != "axial":
            _write(folder, f"{prefix}_{view}", 0, shape[axis], laid)
        while stream.read(SLAB_BYTES):  # to the end: the gzip CRC and length are checked
            pass
    return shape[axis]


_NIFTI_DTYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4"}
_KEPT = threading.local()


def _buffers(np: Any, sizes: tuple[int, int]) -> tuple[Any, Any]:
    """Two uint8 buffers of at least ``sizes`` bytes, kept by this thread for its next volume."""
    kept = getattr(_KEPT, "buffers", None)
    if kept is None or any(b.nbytes < n for b, n in zip(kept, sizes, strict=True)):
        kept = _KEPT.buffers = tuple(np.empty(n, dtype=np.uint8) for n in sizes)
    return kept


def _copy_planes(np: Any, out: Any, block: Any, position: int) -> None:
    """``out[...] = block``, one plane of axis ``position`` at a time: in cache."""
    key: list[Any] = [slice(None)] * 3
    for start in range(out.shape[position]):
        key[position] = start
        np.copyto(out[tuple(key)], block[tuple(key)])


def _write(folder: str, stem: str, first: int, count: int, stack: Any) -> None:
    """Each ``stack[n]``'s bytes as slice ``first + n`` of ``count``."""
    width = max(3, len(str(count - 1)))
    for n, plane in enumerate(stack):
        with open(os.path.join(folder, f"{stem}_{first + n:0{width}d}.tif"), "wb") as out:
            out.write(plane.data)


def read_exactly(stream: BinaryIO, target: memoryview) -> None:
    filled = 0
    while filled < len(target):
        count = stream.readinto(target[filled:])  # type: ignore[attr-defined]
        if not count:
            raise EOFError("the volume ends early")
        filled += count


def nifti1_header(header: bytes) -> tuple[tuple[int, int, int], int, int]:
    """(shape, bytes per voxel, vox_offset) of a 3D NIfTI-1 header, in either byte order."""
    order = "<" if struct.unpack("<i", header[:4])[0] == 348 else ">"
    dims = struct.unpack(order + "8h", header[40:56])
    bitpix = struct.unpack(order + "h", header[72:74])[0]
    offset = struct.unpack(order + "f", header[108:112])[0]
    return (dims[1], dims[2], dims[3]), bitpix // 8, int(offset)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
