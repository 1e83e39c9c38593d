"""Synthetic CT-like phantoms for the demo and the tests: no download needed.

Pure numpy. Values are Hounsfield-like int16: air -1000, lungs about -850, soft tissue about 40,
bone about 700, with mild noise so that files compress like real CT (2-3x with gzip).
"""

from __future__ import annotations

import numpy as np


def ct_phantom(shape: tuple[int, int, int], seed: int = 0, noise: float = 10.0) -> np.ndarray:
    """An int16 torso-like phantom of ``shape`` (X, Y, Z), deterministic for a given ``seed``.

    >>> vol = ct_phantom((32, 24, 8))
    >>> vol.dtype, vol.shape, int(vol.min()) < -900 < 0 < int(vol.max())
    (dtype('int16'), (32, 24, 8), True)
    """
    x, y, z = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij")
    volume = np.full(shape, -1000.0)
    body = (x / 0.85) ** 2 + (y / 0.65) ** 2 < 1
    volume[body] = 40.0
    for side in (-0.4, 0.4):
        volume[((x - side) / 0.3) ** 2 + (y / 0.4) ** 2 + (z / 1.2) ** 2 < 1] = -850.0
    volume[(x / 0.12) ** 2 + ((y + 0.45) / 0.12) ** 2 < 1] = 700.0
    volume[(x**2 + (y - 0.2) ** 2 + z**2) < 0.15**2] = 90.0
    rng = np.random.default_rng(seed)
    volume += rng.normal(0.0, noise, shape)
    return np.round(volume).clip(-1024, 3071).astype(np.int16)


def ct_affine(spacing: tuple[float, float, float]) -> np.ndarray:
    """An LPS-to-RAS style affine (X and Y flipped), as DICOM converters write for CT."""
    return np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])


#: The demo's cases: (name, shape, voxel spacing in mm). Different sizes on purpose.
DEMO_CASES: tuple[tuple[str, tuple[int, int, int], tuple[float, float, float]], ...] = (
    ("case_001", (96, 80, 40), (0.8, 0.8, 2.5)),
    ("case_002", (112, 96, 48), (0.7, 0.7, 2.0)),
    ("case_003", (80, 80, 32), (0.9, 0.9, 3.0)),
)
