"""The benchmark's synthetic datasets: deterministic, built once, cached.

Each dataset is a folder of int16 ``.nii.gz`` volumes written by nibabel at its default compression
level, in ``<cache>/<name>-v<version>/`` (see :func:`reference_env.cache_folder`). A ``manifest.json``
written last marks a complete build; a folder without it is rebuilt from scratch. Bump a kind's entry of
:data:`VERSIONS` when its generator or affine changes.

* ``ct``: CT-like torsos (:func:`nidataset.phantoms.ct_phantom`), Hounsfield units, noise tuned for a
  gzip ratio of about 2.4x; voxels of 0.7 x 0.7 x 2.5 mm in an LPS affine, as DICOM converters write
  routine CT (so that ``spacing="isotropic"`` has coronal and sagittal slices to resample, 3.6x).
* ``mri``: T1-like heads acquired sagittally, (X, Y, Z) = (176, 256, 256), 1 mm isotropic: scalp,
  skull, CSF, grey and white matter, a smooth bias field, Gaussian noise inside the head and Rician-like
  noise outside.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # the phantoms of this checkout, whatever is installed

from reference_env import cache_folder  # noqa: E402

from nidataset.phantoms import ct_affine, ct_phantom  # noqa: E402

#: Per kind. 2: the demo phantom became asymmetric (markers right and anterior); ct 3: voxels of
#: 0.7 x 0.7 x 2.5 mm (were 0.7 x 0.7 x 1.25), the voxels themselves unchanged.
VERSIONS = {"ct": 3, "mri": 2}
#: Voxel sizes (mm) of each kind's affine.
SPACINGS = {"ct": (0.7, 0.7, 2.5), "mri": (1.0, 1.0, 1.0)}
#: Noise of the CT phantom (HU): 5 gives a gzip ratio of about 2.4x at nibabel's default level.
CT_NOISE = 5.0
#: ct_phantom holds a few float64 copies of the volume: larger volumes are built in blocks of slices.
CT_BLOCK = 160
AXES = {"sagittal": 0, "coronal": 1, "axial": 2}


@dataclass(frozen=True)
class DatasetSpec:
    """``count`` volumes of ``shape`` (X, Y, Z), int16, of one ``kind`` ("ct" or "mri")."""

    name: str
    kind: str
    shape: tuple[int, int, int]
    count: int
    seed: int = 0

    @property
    def folder(self) -> Path:
        return cache_folder() / f"{self.name}-v{VERSIONS[self.kind]}"

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel sizes in mm along X, Y and Z (the lengths of the affine's columns)."""
        return SPACINGS[self.kind]

    @property
    def voxel_bytes(self) -> int:
        """Uncompressed bytes of voxels in the whole dataset."""
        return math.prod(self.shape) * 2 * self.count

    def slices(self, view: str) -> int:
        """Slices the whole dataset has in ``view``."""
        return self.shape[AXES[view]] * self.count

    def describe(self) -> str:
        x, y, z = self.shape
        mm = "x".join(f"{s:g}" for s in self.spacing)
        return (
            f"{self.name}: {self.count} x {x}x{y}x{z} int16, {mm} mm voxels"
            f" ({self.voxel_bytes / 1e6:.0f} MB of voxels)"
        )


@dataclass(frozen=True)
class Dataset:
    """A built dataset: its spec, the volumes' paths and the compressed size."""

    spec: DatasetSpec
    paths: tuple[Path, ...]
    gzip_bytes: int

    @property
    def folder(self) -> Path:
        return self.spec.folder

    @property
    def ratio(self) -> float:
        """Uncompressed voxel bytes over compressed file bytes."""
        return self.spec.voxel_bytes / self.gzip_bytes

    def describe(self) -> str:
        return f"{self.spec.describe()}, {self.gzip_bytes / 1e6:.0f} MB gzipped, ratio {self.ratio:.2f}x"


def ensure(spec: DatasetSpec, log: bool = True) -> Dataset:
    """The dataset of ``spec``, built first if it is not in the cache."""
    manifest = spec.folder / "manifest.json"
    if not manifest.is_file():
        build(spec, log)
    names = json.loads(manifest.read_text())["files"]
    paths = tuple(spec.folder / name for name in names)
    return Dataset(spec, paths, sum(path.stat().st_size for path in paths))


def build(spec: DatasetSpec, log: bool = True) -> None:
    """Write the dataset's volumes, then its manifest; a half-built folder is started over."""
    shutil.rmtree(spec.folder, ignore_errors=True)
    spec.folder.mkdir(parents=True)
    start = time.perf_counter()
    names = []
    for index in range(spec.count):
        name = f"{spec.name}_{index:03d}.nii.gz"
        volume = make_volume(spec.kind, spec.shape, spec.seed + index)
        nib.save(nib.Nifti1Image(volume, affine_of(spec.kind)), str(spec.folder / name))
        names.append(name)
        del volume
    (spec.folder / "manifest.json").write_text(json.dumps({"spec": repr(spec), "files": names}))
    if log:
        print(f"built {spec.folder} in {time.perf_counter() - start:.0f} s", file=sys.stderr)


def make_volume(kind: str, shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """One int16 volume of ``kind`` ("ct" or "mri")."""
    if kind == "ct":
        return ct_volume(shape, seed)
    if kind == "mri":
        return mri_volume(shape, seed)
    raise ValueError(f"unknown dataset kind {kind!r}")


def affine_of(kind: str) -> np.ndarray:
    """CT: LPS (X and Y flipped) as DICOM converters write it; MRI: the identity. Columns of SPACINGS."""
    spacing = SPACINGS[kind]
    return ct_affine(spacing) if kind == "ct" else np.diag([*spacing, 1.0])


def ct_volume(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """A CT phantom; tall volumes are stacked from blocks of at most CT_BLOCK slices (less memory)."""
    x, y, z = shape
    blocks = np.array_split(np.arange(z), math.ceil(z / CT_BLOCK))
    parts = [ct_phantom((x, y, len(b)), seed=seed * 1000 + i, noise=CT_NOISE) for i, b in enumerate(blocks)]
    return np.concatenate(parts, axis=2) if len(parts) > 1 else parts[0]


def mri_volume(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """A T1-like head, int16, values 0 to about 1100: background noise, scalp, skull, CSF, GM, WM."""
    rng = np.random.default_rng(seed)
    x, y, z = (np.linspace(-1, 1, n, dtype=np.float32) for n in shape)
    x, y, z = x[:, None, None], y[None, :, None], z[None, None, :]
    shift = rng.uniform(-0.03, 0.03, 3).astype(np.float32)
    r = np.sqrt(
        ((x - shift[0]) / 0.82) ** 2 + ((y - shift[1]) / 0.78) ** 2 + ((z - shift[2] - 0.1) / 0.8) ** 2
    )
    folds = 0.05 * np.sin(14 * x) * np.cos(11 * y) * np.sin(9 * z + float(seed))
    tissue = np.select(
        [r < 0.66 + folds, r < 0.84, r < 0.88, r < 0.94, r < 1.0],
        [850.0, 600.0, 220.0, 90.0, 700.0],
        default=0.0,
    ).astype(np.float32)
    ventricles = (x / 0.12) ** 2 + ((y + 0.05) / 0.3) ** 2 + ((z - 0.1) / 0.15) ** 2 < 1
    tissue[ventricles & (r < 0.5)] = 220.0
    tissue *= 1.0 + 0.12 * x + 0.08 * y - 0.05 * z  # smooth coil bias field
    inside = tissue > 0
    noise = rng.normal(0.0, 14.0, shape).astype(np.float32)
    volume = np.where(inside, tissue + noise, np.abs(noise) * 0.35)
    return np.round(volume).clip(0, 4095).astype(np.int16)


def full_specs() -> tuple[DatasetSpec, DatasetSpec, DatasetSpec]:
    """The issue's datasets: CT, MRI-like, and the tall CT volume of the memory check."""
    return (
        DatasetSpec("ct", "ct", (512, 512, 160), 8),
        DatasetSpec("mri", "mri", (176, 256, 256), 8, seed=100),
        DatasetSpec("ct-tall", "ct", (512, 512, 1000), 1, seed=200),
    )


def quick_specs() -> tuple[DatasetSpec, DatasetSpec]:
    """Small datasets for a smoke run (no memory check)."""
    return (
        DatasetSpec("ct-quick", "ct", (256, 256, 64), 4),
        DatasetSpec("mri-quick", "mri", (88, 128, 128), 4, seed=100),
    )


if __name__ == "__main__":  # python datasets.py [NAME ...]: build (if needed) the named datasets, or all
    for dataset_spec in full_specs() + quick_specs():
        if len(sys.argv) == 1 or dataset_spec.name in sys.argv[1:]:
            print(ensure(dataset_spec).describe(), "in", os.fspath(dataset_spec.folder))
