"""Inputs every layout's tests build from: label values {1, 3} (not consecutive), a negative case
(a mask of zeros), organ-like objects with curved borders and several 2D components."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

SHAPE = (40, 36, 6)
AFFINE = np.diag([0.8, 0.8, 2.5, 1.0])
LABEL_NAMES = {1: "liver", 3: "tumour"}
CASES = ("case_a", "case_b", "case_c", "case_d", "empty")


def mask_of(seed: int) -> np.ndarray:
    """Label 1 a smooth blob, label 3 two small blobs inside and beside it; the "empty" case none."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.normal(size=SHAPE), sigma=(4, 4, 1))
    mask = np.zeros(SHAPE, np.uint8)
    mask[noise > 0.02] = 1
    mask[6:11, 5:10, 1:5] = 3
    mask[30:34, 28:33, 2:4] = 3
    return mask


def write_cases(root: Path, cases: tuple[str, ...] = CASES) -> tuple[Path, Path]:
    """Images (int16 CT-like values) and masks, one pair per case; "empty" is the negative case."""
    images, masks = root / "images_in", root / "masks_in"
    images.mkdir(exist_ok=True)
    masks.mkdir(exist_ok=True)
    for number, case in enumerate(cases):
        rng = np.random.default_rng(100 + number)
        image = rng.integers(-1000, 1500, SHAPE).astype(np.int16)
        mask = np.zeros(SHAPE, np.uint8) if case == "empty" else mask_of(number)
        nib.save(nib.Nifti1Image(image, AFFINE), str(images / f"{case}.nii.gz"))
        nib.save(nib.Nifti1Image(mask, AFFINE), str(masks / f"{case}.nii.gz"))
    return images, masks


def remove_case(images: Path, masks: Path, case: str) -> None:
    (images / f"{case}.nii.gz").unlink()
    (masks / f"{case}.nii.gz").unlink()


def expected_mask(masks: Path, stem: str) -> np.ndarray:
    """The axial mask slice named by ``<case>_axial_<index>``, from nibabel (stored orientation)."""
    case, _, index = stem.rpartition("_axial_")
    return np.asarray(nib.load(str(masks / f"{case}.nii.gz")).dataobj)[:, :, int(index)]
