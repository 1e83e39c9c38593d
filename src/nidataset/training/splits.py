"""Train, validation and test splits by case: never one patient's slices in two splits."""

from __future__ import annotations

import csv
import json
import os
import random
import warnings
from collections.abc import Sequence

from ..text import first_few

SPLITS: tuple[str, ...] = ("train", "val", "test")


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
    """A JSON file {"train": [cases], "val": [...], "test": [...]} or {case: split}, or a CSV case,split
    (UTF-8, with or without Excel's byte-order mark).

    A case named twice is refused, naming it; every input case needs a split; a case the inputs do
    not have is ignored with a warning (a shared split file may list cases removed since).
    """
    with open(path, encoding="utf-8-sig") as handle:
        text = handle.read()
    try:
        data = json.loads(text)
    except ValueError:
        listed = _csv_pairs(text)
    else:
        listed = _json_pairs(path, data)
    mapping: dict[str, str] = {}
    for case, name in listed:
        if case in mapping:
            raise ValueError(f"split file {path!r} names case {case!r} twice")
        if name not in SPLITS:
            raise ValueError(
                f"split file {path!r}: case {case!r} has split {name!r}, not one of {', '.join(SPLITS)}"
            )
        mapping[case] = name
    missing = [case for case in cases if case not in mapping]
    if missing:
        raise ValueError(f"split file {path!r} gives no split to {first_few(missing)}")
    unknown = sorted(set(mapping) - set(cases))
    if unknown:
        warnings.warn(
            f"split file {path!r} names cases the inputs do not have, ignored: {first_few(unknown)}",
            UserWarning,
            stacklevel=4,
        )
    return {case: mapping[case] for case in cases}


def _csv_pairs(text: str) -> list[tuple[str, str]]:
    rows = [row for row in csv.reader(text.splitlines()) if row and row[0].strip()]
    return [(row[0].strip(), row[1].strip()) for row in rows if len(row) >= 2 and row[0].strip() != "case"]


def _json_pairs(path: str, data: object) -> list[tuple[str, str]]:
    """(case, split) pairs of either JSON form, in the file's order; ValueError for another shape."""
    if isinstance(data, dict) and data and set(data) <= set(SPLITS):
        not_lists = [name for name, value in data.items() if not isinstance(value, list)]
        if not_lists:
            raise ValueError(
                f"split file {path!r}: {not_lists[0]!r} must list its cases, "
                f'["case_1", ...]; got {data[not_lists[0]]!r}'
            )
        return [(str(case), name) for name, listed in data.items() for case in listed]
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return [(str(case), str(name)) for case, name in data.items()]
    raise ValueError(
        f'split file {path!r}: JSON must be {{"train": [cases], "val": [...], "test": [...]}} '
        "or {case: split}"
    )
