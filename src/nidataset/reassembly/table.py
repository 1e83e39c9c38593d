"""A manifest held as the columns reassembly reads: one float64 array for every number, the text
columns as lists of (interned) strings, and each source's row numbers.

A manifest of 140,000 rows (43 MiB of CSV) held as a dict of strings per row took 431 MiB in every
worker; as columns it takes a few bytes more than its numbers. A row is read back through
:class:`TableRow`, a mapping that shows each cell as its text (numbers without a trailing ``.0``;
a cell that is empty or not a finite number exactly as written), so the checks and their messages
read rows as they read CSV rows.
"""

from __future__ import annotations

import csv
import sys
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

TEXT = ("path", "source", "view", "interpolation")


@dataclass(frozen=True, eq=False)
class Table:
    """The columns of a manifest: ``numbers[row, j]`` is column ``names[j]``, NaN where ``odd``
    holds the cell's text (empty, or not a finite number)."""

    columns: frozenset[str]
    names: tuple[str, ...]
    numbers: np.ndarray
    odd: dict[tuple[int, int], str]
    paths: list[str]
    sources: list[str]
    views: list[str]
    interpolations: list[str]

    def __len__(self) -> int:
        return len(self.paths)


def read_table(
    path: str, wanted: Sequence[str], check: Callable[[list[str]], None]
) -> tuple[Table, dict[str, array[int]]]:
    """The ``wanted`` columns a manifest has (text ones: :data:`TEXT`), and each source's rows in
    order of first appearance. ``check`` sees the header's fields before any row is read (and
    raises when columns, such as ``source``, are missing)."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        fields = next(reader, [])
        check(fields)
        present = [c for c in wanted if c in fields]
        names = tuple(c for c in present if c not in TEXT)
        where = [fields.index(c) for c in names]
        text = {c: fields.index(c) for c in TEXT if c in fields}
        numbers: array[float] = array("d")
        odd: dict[tuple[int, int], str] = {}
        lists: dict[str, list[str]] = {c: [] for c in TEXT}
        groups: dict[str, array[int]] = {}
        for row, cells in enumerate(reader):
            cells += [""] * (len(fields) - len(cells))  # a short row: its missing cells are empty
            picked = [cells[index] for index in where]
            try:
                values = list(map(float, picked))
                total = sum(values)
            except ValueError:
                total = float("nan")
            if total - total == 0.0:  # every cell a finite number: the common case, at once
                numbers.extend(values)
            else:
                numbers.extend(_number(cell, row, j, odd) for j, cell in enumerate(picked))
            for column, index in text.items():
                lists[column].append(sys.intern(cells[index]) if column != "path" else cells[index])
            groups.setdefault(lists["source"][-1], array("q")).append(row)
    matrix = np.frombuffer(numbers, dtype=np.float64).reshape(-1, len(names)) if names else np.empty((0, 0))
    table = Table(frozenset(present), names, matrix, odd, *(lists[c] for c in TEXT))
    return table, groups


def _number(cell: str, row: int, column: int, odd: dict[tuple[int, int], str]) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        odd[row, column] = cell
        return float("nan")
    return value


class TableRow(Mapping[str, object]):
    """One row of a :class:`Table`, as a mapping of column to its text."""

    __slots__ = ("_index", "_table")

    def __init__(self, table: Table, index: int) -> None:
        self._table, self._index = table, index

    def __getitem__(self, column: str) -> object:
        table, index = self._table, self._index
        if column not in table.columns:
            raise KeyError(column)
        if column == "path":
            return table.paths[index]
        if column == "source":
            return table.sources[index]
        if column == "view":
            return table.views[index]
        if column == "interpolation":
            return table.interpolations[index]
        j = table.names.index(column)
        text = table.odd.get((index, j))
        return text if text is not None else _shown(float(table.numbers[index, j]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._table.columns)

    def __len__(self) -> int:
        return len(self._table.columns)


def _shown(value: float) -> str:
    """A number as a CSV cell shows it: ``5`` for 5.0, else its shortest repr."""
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


class SourceRows(Sequence[TableRow]):
    """The rows of one source, by their row numbers in the table."""

    __slots__ = ("_indices", "_table")

    def __init__(self, table: Table, indices: array[int]) -> None:
        self._table, self._indices = table, indices

    @overload
    def __getitem__(self, item: int) -> TableRow: ...
    @overload
    def __getitem__(self, item: slice) -> Sequence[TableRow]: ...
    def __getitem__(self, item: int | slice) -> TableRow | Sequence[TableRow]:
        if isinstance(item, slice):
            return SourceRows(self._table, self._indices[item])
        return TableRow(self._table, self._indices[item])

    def __len__(self) -> int:
        return len(self._indices)
