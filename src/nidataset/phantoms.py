"""Synthetic CT-like phantoms for the demo and the tests: no download needed.

Pure numpy. Values are Hounsfield-like int16: air -1000, lungs about -850, soft tissue about 40,
bone about 700, with mild noise so that files compress like real CT (2-3x with gzip).

The phantom is anatomically asymmetric, so that a picture shows which way is which. It is laid out in
stored voxel order for :func:`ct_affine` (LPS, as DICOM converters write CT): stored X runs from the
patient's right to left, Y from anterior to posterior, Z from inferior to superior. In it:

* a torso that narrows toward the top (superior);
* two lungs above a domed diaphragm, the right one shorter (the liver lifts the right hemidiaphragm);
* the heart in front, left of the midline; the spine behind, as a bone column;
* two bone-bright skin markers over the upper half of the torso only: a rod on the patient's right
  side and one on the anterior surface, in the middle planes.

:func:`ct_labels` gives its label mask (lungs and heart), for the annotation and training-set tools.
"""

from __future__ import annotations

import numpy as np


def ct_phantom(shape: tuple[int, int, int], seed: int = 0, noise: float = 10.0) -> np.ndarray:
    """An int16 torso-like phantom of ``shape`` (X, Y, Z), deterministic for a given ``seed``.

    Coordinates run from -1 to 1 along each stored axis: for :func:`ct_affine`, x = -1 is the patient's
    right, y = -1 anterior, z = 1 superior.

    >>> vol = ct_phantom((32, 24, 8))
    >>> vol.dtype, vol.shape, int(vol.min()) < -900 < 0 < int(vol.max())
    (dtype('int16'), (32, 24, 8), True)
    """
    volume = HOUNSFIELD[tissues(shape)]
    rng = np.random.default_rng(seed)
    volume += rng.normal(0.0, noise, shape)
    return np.round(volume).clip(-1024, 3071).astype(np.int16)


def ct_labels(shape: tuple[int, int, int]) -> np.ndarray:
    """The uint8 label mask of :func:`ct_phantom` of ``shape``: 1 the lungs, 2 the heart, 0 elsewhere.

    >>> mask = ct_labels((32, 24, 8))
    >>> mask.dtype, sorted(np.unique(mask).tolist())
    (dtype('uint8'), [0, 1, 2])
    """
    return LABELS[tissues(shape)]


#: The tissues of the phantom: air, soft tissue, lung, heart, bone.
AIR, SOFT, LUNG, HEART, BONE = range(5)
#: Their values (Hounsfield-like), and their labels in :func:`ct_labels`.
HOUNSFIELD = np.array([-1000.0, 40.0, -850.0, 90.0, 700.0])
LABELS = np.array([0, 0, 1, 2, 0], dtype=np.uint8)
#: The label names of :func:`ct_labels`' values.
LABEL_NAMES = {1: "lungs", 2: "heart"}


def tissues(shape: tuple[int, int, int]) -> np.ndarray:
    """The tissue (:data:`AIR` ... :data:`BONE`) of every voxel of the phantom of ``shape``."""
    x, y, z = (np.linspace(-1, 1, n) for n in shape)
    x, y, z = x[:, None, None], y[None, :, None], z[None, None, :]
    taper = 1.0 - 0.1 * (z + 1)  # the torso's half-widths shrink by a fifth toward the top
    half_x, half_y = 0.85 * taper, 0.65 * taper
    tissue = np.full(shape, AIR, dtype=np.uint8)
    tissue[(x / half_x) ** 2 + (y / half_y) ** 2 < 1] = SOFT
    # lungs: apex at z = 0.95, base on a diaphragm dome that rises 0.2 toward each lung's middle from
    # its lowest z at the sides; the right one (x < 0) stops higher
    for centre, bottom in ((-0.4, -0.3), (0.4, -0.45)):
        across = ((x - centre) / 0.3) ** 2 + ((y + 0.05) / 0.38) ** 2
        lung = (across + ((z - 0.2) / 0.75) ** 2 < 1) & (z > bottom + 0.2 * (1 - across))
        tissue[lung] = LUNG
    tissue[((x - 0.12) / 0.2) ** 2 + ((y + 0.22) / 0.2) ** 2 + ((z - 0.1) / 0.3) ** 2 < 1] = HEART
    tissue[(x / 0.12) ** 2 + ((y - 0.45 * taper) / 0.12) ** 2 < 1] = BONE  # spine, posterior
    upper = (z > -0.15) & (z < 0.85)
    right = ((x + half_x) / 0.07) ** 2 + (y / 0.07) ** 2 < 1  # on the right surface, y = 0
    front = (x / 0.07) ** 2 + ((y + half_y) / 0.07) ** 2 < 1  # on the anterior surface, x = 0
    tissue[(right | front) & upper] = BONE
    return tissue


def ct_affine(spacing: tuple[float, float, float]) -> np.ndarray:
    """An LPS-to-RAS style affine (X and Y flipped), as DICOM converters write for CT."""
    return np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])


#: The demo's cases: (name, shape, voxel spacing in mm). Different sizes on purpose.
DEMO_CASES: tuple[tuple[str, tuple[int, int, int], tuple[float, float, float]], ...] = (
    ("case_001", (96, 80, 40), (0.8, 0.8, 2.5)),
    ("case_002", (112, 96, 48), (0.7, 0.7, 2.0)),
    ("case_003", (80, 80, 32), (0.9, 0.9, 3.0)),
)
