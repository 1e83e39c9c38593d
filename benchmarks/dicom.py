"""A DICOM CT series to axial slices: nidataset reading the series, against dcm2niix then our NIfTI path.

Writes a synthetic CT series (512 x 512 x 300 by default, int16 with RescaleIntercept -1024, one
file per slice, shuffled names) with pydicom, then runs, each in a child process whose peak memory is
measured (the tree's resident memory, :mod:`measure`):

1. ``extract_slices_dataset(<series folder's parent>, out, view="axial")``;
2. ``dcm2niix -z <n|y>`` into a folder, then the same call on the NIfTI it wrote;

and checks that both wrote the same slice files, byte for byte. Usage::

    python benchmarks/dicom.py [--size 512] [--slices 300] [--workdir /tmp/dicom-bench] [--gzip] [--repeat 5]
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE))

import measure  # noqa: E402

SLICE = """
import sys
from nidataset import extract_slices_dataset
run = extract_slices_dataset(
    sys.argv[1], sys.argv[2], view="axial", orientation="radiological", progress=False, workers=1
)
assert all(o.reason is None for o in run.outcomes), run.outcomes
"""


def write_series(folder: Path, size: int, slices: int) -> None:
    """A CT-like series: a water cylinder with bone and noise, 0.7 mm pixels, 1.25 mm slices."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:size, :size] - size / 2
    body = np.where(x**2 + y**2 < (0.4 * size) ** 2, 1024, 24).astype(np.int16)
    study, series = generate_uid(), generate_uid()
    order = rng.permutation(slices)
    for k in range(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.PatientName, ds.PatientID = "CT", "Bench^CT", "BENCH"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SeriesNumber = study, series, 2
        ds.InstanceNumber, ds.ImageType = k + 1, ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImagePositionPatient = [-179.3, -179.3, f"{-300 + 1.25 * k:.2f}"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [0.7, 0.7], 1.25
        ds.Rows = ds.Columns = size
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        plane = body + rng.integers(-20, 20, body.shape, dtype=np.int16)
        plane[(x - 40) ** 2 + (y + 30) ** 2 < (0.05 * size) ** 2] = 1024 + 700 + k % 50
        ds.PixelData = plane.astype("<i2").tobytes()
        ds.save_as(folder / f"IM{order[k]:05d}", enforce_file_format=True)
    assert pydicom.dcmread(folder / "IM00000").Rows == size


def timed(
    label: str, command: list[str], env: dict[str, str], log: Path, clean: Path, repeat: int
) -> tuple[float, int]:
    """The median wall time and the largest peak memory of ``repeat`` runs, ``clean`` removed before each."""
    times, peaks = [], []
    for _ in range(repeat):
        shutil.rmtree(clean, ignore_errors=True)
        clean.mkdir(parents=True)
        start = time.perf_counter()
        run = measure.run_child(command, env, log)
        times.append(time.perf_counter() - start)
        peaks.append(run.peak_bytes)
        if run.returncode:
            raise SystemExit(f"{label} failed; see {log}")
    seconds, peak = statistics.median(times), max(peaks)
    print(f"{label:<34} {seconds:7.2f} s   peak {peak / 2**20:7.1f} MiB", flush=True)
    return seconds, peak


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/nidataset-dicom-bench"))
    parser.add_argument("--gzip", action="store_true", help="dcm2niix writes .nii.gz (-z y)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each step; the median is shown")
    args = parser.parse_args(argv)
    work: Path = args.workdir
    inputs = work / "dicom"
    if not (inputs / "ct").is_dir():
        write_series(inputs / "ct", args.size, args.slices)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    print(
        f"DICOM CT {args.size} x {args.size} x {args.slices} to axial TIFF slices, one worker, "
        f"median of {args.repeat} runs"
    )
    slicing = [sys.executable, "-c", SLICE]
    ours, _ = timed(
        "nidataset on the series",
        [*slicing, str(inputs), str(work / "ours")],
        env,
        work / "ours.log",
        work / "ours",
        args.repeat,
    )
    flag = "y" if args.gzip else "n"
    convert = ["dcm2niix", "-z", flag, "-b", "n", "-f", "ct", "-o", str(work / "nifti"), str(inputs / "ct")]
    first, first_peak = timed(
        f"dcm2niix -z {flag}", convert, env, work / "dcm2niix.log", work / "nifti", args.repeat
    )
    then, then_peak = timed(
        "then nidataset on its NIfTI",
        [*slicing, str(work / "nifti"), str(work / "theirs")],
        env,
        work / "theirs.log",
        work / "theirs",
        args.repeat,
    )
    names = sorted(os.listdir(work / "ours" / "ct" / "axial"))
    same = filecmp.cmpfiles(
        work / "ours" / "ct" / "axial", work / "theirs" / "ct" / "axial", names, shallow=False
    )
    peak = max(first_peak, then_peak) / 2**20
    print(f"two steps together                 {first + then:7.2f} s   peak {peak:7.1f} MiB")
    print(f"ratio (two steps / ours)           {(first + then) / ours:7.2f}")
    print(f"slices byte-identical: {len(same[0])} of {len(names)}")
    return 0 if len(same[0]) == len(names) else 1


if __name__ == "__main__":
    raise SystemExit(main())
