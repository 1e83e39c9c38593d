"""The columns of the annotation CSVs and the values of one object's row."""

from __future__ import annotations

from collections.abc import Sequence

Number = int | float


def columns(data_mode: str, axes: Sequence[str]) -> list[str]:
    """The CSV header of ``data_mode`` for the named axes, then ``LABEL``.

    >>> columns("radius", ("X", "Y"))
    ['CENTER_X', 'CENTER_Y', 'RADIUS_X', 'RADIUS_Y', 'LABEL']
    """
    centres = [f"CENTER_{a}" for a in axes]
    names = {
        "box": [f"{a}_MIN" for a in axes] + [f"{a}_MAX" for a in axes],
        "center": centres,
        "radius": centres + [f"RADIUS_{a}" for a in axes],
    }[data_mode]
    return [*names, "LABEL"]


def measures(data_mode: str, first: Sequence[int], last: Sequence[int]) -> list[Number]:
    """The values of ``data_mode`` for an inclusive box from ``first`` to ``last`` (one per axis).

    Centres are ``(min + max) / 2`` and radii ``(max - min) / 2``, as floats.

    >>> measures("box", (2, 1), (5, 2)), measures("radius", (2, 1), (5, 2))
    ([2, 1, 5, 2], [3.5, 1.5, 1.5, 0.5])
    """
    if data_mode == "box":
        return [*first, *last]
    centres = [(a + b) / 2 for a, b in zip(first, last, strict=True)]
    if data_mode == "center":
        return list(centres)
    return centres + [(b - a) / 2 for a, b in zip(first, last, strict=True)]
