"""Polygons of label masks (SPEC Part 3): each 8-connected component's outer boundary along pixel edges.

Pure numpy. A pixel (row r, col c) is the square ``[c, c + 1] x [r, r + 1]`` in COCO's (x, y)
coordinates, so a polygon whose vertices sit on pixel corners and follow the mask's edges covers
exactly its pixels: pycocotools rasterises it back to the component itself (holes filled), where a
polygon through pixel *centres* (OpenCV's ``findContours``, scikit-image's ``find_contours``) loses
half a pixel all around (a 5 x 5 square comes back as 4 x 4, IoU 0.64).

How: every foreground pixel side that faces the background is a directed edge, oriented with the
foreground on its right (clockwise on screen). Each corner has one edge leaving it, except where two
pixels touch only diagonally: there the walk turns left, onto the other pixel, which joins the two
into one boundary, exactly 8-connectivity. Following the edges gives closed loops: clockwise ones
(positive area) are the components' outer boundaries, anticlockwise ones their holes, dropped. Runs
of edges in one direction become one side, so a polygon keeps only its corners (lossless).

Why our own tracer: measured in ``benchmarks/polygons.py`` against OpenCV (see
``docs/training-layouts.md``); OpenCV traces pixel centres and would be a 70 MB dependency.
"""

from __future__ import annotations

import numpy as np

#: Edge directions in clockwise order on screen (rows grow downwards): a right turn is +1, a left -1.
EAST, SOUTH, WEST, NORTH = 0, 1, 2, 3


def outer_polygons(mask: np.ndarray) -> list[np.ndarray]:
    """The outer boundary of each 8-connected component of a 2D mask, on pixel edges.

    Returns (n, 2) integer arrays of (x, y) = (col, row) pixel corners, n >= 4, clockwise on screen
    starting at the component's top-left corner, only where the boundary turns; components in the
    raster order of their first pixel.

    >>> mask = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1]], bool)
    >>> [p.tolist() for p in outer_polygons(mask)]
    [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], [[2, 2], [3, 2], [3, 3], [2, 3]]]

    Two pixels that touch at a corner are one component, whose boundary passes that corner twice:

    >>> [p.tolist() for p in outer_polygons(np.eye(2, dtype=bool))]
    [[[0, 0], [1, 0], [1, 1], [2, 1], [2, 2], [1, 2], [1, 1], [0, 1]]]
    """
    found = np.nonzero(np.asarray(mask, dtype=bool))
    if found[0].size == 0:
        return []
    r0, c0 = int(found[0].min()), int(found[1].min())
    crop = np.asarray(mask, dtype=bool)[r0 : int(found[0].max()) + 1, c0 : int(found[1].max()) + 1]
    starts, directions, width = _edges(crop)
    corners, first = _loops(*_corner_successors(_next_edges(starts, directions, width), directions))
    loop_of = np.repeat(np.arange(first.size), np.diff(np.append(first, corners.size)))
    x, y = starts[corners] % width, starts[corners] // width
    # each corner's successor in its loop, for the shoelace sum per loop
    after = np.arange(1, corners.size + 1)
    after[np.append(first[1:], corners.size) - 1] = first
    area = np.bincount(loop_of, x * y[after] - x[after] * y, minlength=first.size)
    vertices = np.stack([x + c0, y + r0], axis=1)
    pieces = np.split(vertices, first[1:])
    # clockwise on screen (positive area): an outer boundary; anticlockwise ones are holes
    return [piece for piece, doubled in zip(pieces, area, strict=True) if doubled > 0]


def _corner_successors(follow: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The corner edges (where the boundary turns), ascending, and for every edge the next corner
    edge along its loop: the walk then steps from corner to corner, not along every pixel side.
    Straight runs are jumped over by pointer doubling (log2 of the longest run, in numpy)."""
    edges = np.arange(follow.size)
    previous = np.empty_like(follow)
    previous[follow] = edges
    corners = np.flatnonzero(directions[previous] != directions)
    end = np.where(directions[follow] == directions, follow, edges)  # the run's last edge, once doubled
    while True:
        further = end[end]
        if np.array_equal(further, end):
            break
        end = further
    return corners, follow[end]


def _edges(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Every pixel side between the foreground and the background, with the foreground on its
    right: (start corners as ``row * (W + 1) + col``, directions, W + 1), sorted by start corner."""
    padded = np.pad(mask, 1)
    inside = padded[1:-1, 1:-1]
    width = mask.shape[1] + 1
    parts = []
    # (facing neighbour, start corner offset (row, col), direction) for the top, right, bottom, left side.
    for neighbour, (dr, dc), direction in (
        (padded[:-2, 1:-1], (0, 0), EAST),
        (padded[1:-1, 2:], (0, 1), SOUTH),
        (padded[2:, 1:-1], (1, 1), WEST),
        (padded[1:-1, :-2], (1, 0), NORTH),
    ):
        rows, cols = np.nonzero(inside & ~neighbour)
        parts.append(((rows + dr) * width + cols + dc, np.full(rows.size, direction, np.int8)))
    starts = np.concatenate([p[0] for p in parts])
    directions = np.concatenate([p[1] for p in parts])
    order = np.argsort(starts * 4 + directions, kind="stable")
    return starts[order], directions[order], width


def _next_edges(starts: np.ndarray, directions: np.ndarray, width: int) -> np.ndarray:
    """For each edge, the edge that continues the boundary from its end corner (the left turn
    where two edges leave one corner: the diagonal neighbours stay one component)."""
    steps = np.array([1, width, -1, -width])  # EAST, SOUTH, WEST, NORTH in corner ids
    ends = starts + steps[directions]
    first = np.searchsorted(starts, ends, side="left")
    count = np.searchsorted(starts, ends, side="right") - first
    follow = first.copy()
    saddle = np.flatnonzero(count == 2)
    if saddle.size:
        left = (directions[saddle] - 1) % 4
        second = first[saddle] + 1
        follow[saddle] = np.where(directions[second] == left, second, first[saddle])
    return follow


def _loops(corners: np.ndarray, successor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The closed loops of corner edges, each from its lowest edge (the corner at the loop's lowest
    pixel corner: a loop always turns there): the corners in loop order, one loop after the other,
    and where each loop starts."""
    seen = bytearray(successor.size)
    step = successor.tolist()
    order: list[int] = []
    first = []
    for start in corners.tolist():
        if seen[start]:
            continue
        first.append(len(order))
        edge = start
        while not seen[edge]:
            seen[edge] = 1
            order.append(edge)
            edge = step[edge]
    return np.array(order, dtype=np.intp), np.array(first, dtype=np.intp)


def yolo_segments(
    mask: np.ndarray, class_id: int, shape: tuple[int, int], origin: tuple[int, int] = (0, 0)
) -> list[str]:
    """YOLO segmentation lines, one per component: ``class x1 y1 ... xn yn``, x / W and y / H with
    6 decimals; ``mask`` may be an object's extent whose first pixel is at ``origin`` (row, col) of
    the H x W image (the tracer sees outside a mask as background either way).

    >>> yolo_segments(np.array([[0, 1], [0, 1]], bool), 3, (2, 2))
    ['3 0.500000 0.000000 1.000000 0.000000 1.000000 1.000000 0.500000 1.000000']
    >>> yolo_segments(np.array([[1], [1]], bool), 3, (2, 2), origin=(0, 1))
    ['3 0.500000 0.000000 1.000000 0.000000 1.000000 1.000000 0.500000 1.000000']
    """
    height, width = shape
    offset = np.array([origin[1], origin[0]], dtype=np.float64)  # (x, y)
    lines = []
    for polygon in outer_polygons(mask):
        scaled = (polygon + offset) / np.array([width, height], dtype=np.float64)
        lines.append(f"{class_id} " + " ".join(f"{v:.6f}" for v in scaled.ravel()))
    return lines


def coco_polygons(mask: np.ndarray) -> list[list[int]]:
    """COCO ``segmentation`` polygons, one per component: ``[x1, y1, ..., xn, yn]`` in pixel-edge
    coordinates (pycocotools' ``frPyObjects`` rasterises them back to the components' pixels).

    >>> coco_polygons(np.array([[0, 1], [0, 1]], bool))
    [[1, 0, 2, 0, 2, 2, 1, 2]]
    """
    return [[int(v) for v in polygon.ravel()] for polygon in outer_polygons(mask)]
