"""Train, validation and test splits by case: never one patient's slices in two splits."""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Sequence

from ..options import SPLITS


def assign(cases: Sequence[str], split: object, seed: int) -> dict[str, str]:
    """The split of every case: fractions (train, val, test), or a mapping file.

    Fractions: the cases, sorted, are shuffled by ``random.Random(seed)``; the first
    ``round(train * n)`` go to train, the next ``round(val * n)`` to val, the rest to test, so each
    split is within one case of its fraction and the same seed gives the same splits.

    >>> assign(["a", "b", "c", "d"], (0.5, 0.25, 0.25), seed=1)
    {'d': 'train', 'a': 'train', 'c': 'val', 'b': 'test'}
    """
    unique = sorted(set(cases))
    if isinstance(split, str | os.PathLike):
        return _from_file(os.fspath(split), unique)
    fractions = [float(f) for f in split]  # type: ignore[attr-defined]
    order = list(unique)
    random.Random(seed).shuffle(order)
    train = round(fractions[0] * len(order))
    val = min(len(order) - train, round(fractions[1] * len(order)))
    names = ["train"] * train + ["val"] * val + ["test"] * (len(order) - train - val)
    return dict(zip(order, names, strict=True))


def check_split(split: object) -> object:
    """None, three fractions >= 0 that add up to 1, or the path of an existing mapping file."""
    if split is None:
        return None
    if isinstance(split, str | os.PathLike):
        if not os.path.isfile(split):
            raise FileNotFoundError(f"split file {os.fspath(split)!r} does not exist")
        return os.fspath(split)
    try:
        fractions = [float(f) for f in split]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        fractions = []
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            "split must be None, (train, val, test) fractions that add up to 1, or a mapping file; "
            f"got {split!r}"
        )
    return tuple(fractions)


def _from_file(path: str, cases: list[str]) -> dict[str, str]:
    """A JSON file {"train": [cases], "val": [...], "test": [...]} or {case: split}, or a CSV case,split."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        data = json.loads(text)
    except ValueError:
        rows = [row for row in csv.reader(text.splitlines()) if row and row[0].strip()]
        data = {row[0].strip(): row[1].strip() for row in rows if len(row) >= 2 and row[0] != "case"}
    if (
        isinstance(data, dict)
        and set(data) <= set(SPLITS)
        and all(isinstance(v, list) for v in data.values())
    ):
        data = {case: name for name, listed in data.items() for case in listed}
    if not isinstance(data, dict) or not set(data.values()) <= set(SPLITS):
        raise ValueError(f"split file {path!r}: give each case one of {', '.join(SPLITS)}")
    missing = [case for case in cases if case not in data]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValueError(f"split file {path!r} gives no split to {shown}")
    return {case: str(data[case]) for case in cases}
