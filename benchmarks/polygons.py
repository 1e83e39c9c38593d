"""Which contour tracer for YOLO-seg and COCO polygons: ours (numpy, pixel edges) or OpenCV's.

Run: ``PYTHONPATH=src python benchmarks/polygons.py``. Labels are CT-like 512 x 512 axial slices of the
phantom: lungs, heart, bone (smooth organs), and a ragged "noisy" label (soft tissue thresholded with
its noise: many small components and saddle corners), the hard case. For each tracer: milliseconds
per label slice, polygon points, and pycocotools' IoU (``frPyObjects`` + ``decode``) against each
8-connected component of 25 pixels or more, holes filled. OpenCV's ``findContours`` traces pixel
centres; its polygons are given to pycocotools as they are (its convention) and shifted by half a
pixel (the best reading of a centre polygon).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from pycocotools import mask as coco_mask
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from nidataset.annotations.polygons import coco_polygons
from nidataset.phantoms import ct_phantom


def label_slices(count: int = 6) -> dict[str, list[np.ndarray]]:
    volume = ct_phantom((512, 512, count), seed=1, noise=20.0)
    clean = ct_phantom((512, 512, count), seed=1, noise=0.0)
    body = ndimage.binary_fill_holes(volume > -500, structure=np.ones((3, 3, 1)))
    return {
        "lungs": [body[:, :, k] & (volume[:, :, k] < -700) for k in range(count)],
        "heart": [(clean[:, :, k] > 60) & (clean[:, :, k] < 200) for k in range(count)],
        "bone": [clean[:, :, k] > 400 for k in range(count)],
        "noisy": [body[:, :, k] & (volume[:, :, k] > 45) for k in range(count)],
    }


def ours(mask: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in p] for p in coco_polygons(mask)]


def opencv(mask: np.ndarray, shift: float = 0.0) -> list[list[float]]:
    import cv2

    # CCOMP, not EXTERNAL: EXTERNAL drops a component that lies inside another one's hole
    found, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    outer = [c for c, h in zip(found, hierarchy[0] if found else [], strict=True) if h[3] == -1]
    return [[float(v) + shift for v in c.reshape(-1)] for c in outer]


def ious(mask: np.ndarray, polygons: list[list[float]]) -> list[float]:
    """Each component's IoU with the polygon that overlaps it most, for components of 25 pixels or
    more (holes filled); 0 for a component no polygon overlaps. A polygon is rasterised by
    pycocotools in its own bounding box (the same pixels as at full size, shifted)."""
    labelled, count = ndimage.label(mask, structure=np.ones((3, 3)))
    boxes = ndimage.find_objects(labelled)
    filled = [ndimage.binary_fill_holes(labelled[box] == n + 1) for n, box in enumerate(boxes)]
    best = np.zeros(count + 1)
    for polygon in polygons:
        if len(polygon) < 6:  # a 1- or 2-point contour: pycocotools cannot read it as a polygon
            continue
        xs, ys = np.array(polygon[0::2]), np.array(polygon[1::2])
        x0, y0 = max(int(np.floor(xs.min())) - 1, 0), max(int(np.floor(ys.min())) - 1, 0)
        x1 = min(int(np.ceil(xs.max())) + 1, mask.shape[1])
        y1 = min(int(np.ceil(ys.max())) + 1, mask.shape[0])
        shifted = np.stack([xs - x0, ys - y0], axis=1).ravel().tolist()
        drawn = coco_mask.decode(coco_mask.frPyObjects([shifted], y1 - y0, x1 - x0))[:, :, 0] > 0
        window = labelled[y0:y1, x0:x1]
        hits = np.bincount(window[drawn], minlength=count + 1)
        if not hits[1:].any():
            continue
        n = int(np.argmax(hits[1:])) + 1
        component = np.zeros(mask.shape, bool)
        component[boxes[n - 1]] = filled[n - 1]
        inside = np.zeros(mask.shape, bool)
        inside[y0:y1, x0:x1] = drawn
        best[n] = max(best[n], np.count_nonzero(component & inside) / np.count_nonzero(component | inside))
    return [float(best[n + 1]) for n in range(count) if np.count_nonzero(filled[n]) >= 25]


def main() -> None:
    tracers = {"ours (edges)": ours, "opencv (centres)": opencv, "opencv + 0.5": lambda m: opencv(m, 0.5)}
    print("label  tracer              ms/slice  points/slice  IoU mean  IoU min  components<0.9")
    for name, masks in label_slices().items():
        for tracer_name, tracer in tracers.items():
            tracer(masks[0])  # warm up (imports)
            start = time.perf_counter()
            traced = [tracer(m) for m in masks]
            elapsed = (time.perf_counter() - start) / len(masks) * 1000
            points = sum(len(p) // 2 for t in traced for p in t) / len(masks)
            scores = [s for m, t in zip(masks, traced, strict=True) for s in ious(m, t)]
            low = sum(s < 0.9 for s in scores)
            print(
                f"{name:6} {tracer_name:18} {elapsed:9.2f} {points:13.0f} {np.mean(scores):9.3f} "
                f"{min(scores):8.3f} {low:4d} of {len(scores)}"
            )


if __name__ == "__main__":
    main()
