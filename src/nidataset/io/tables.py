"""CSV tables: statistics with a running total, failure lists, annotation rows; UTF-8, atomic."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence

from .atomic import open_temporary, write_atomic


def write_counts_csv(path: str, counts: Sequence[tuple[str, int]], what: str) -> None:
    """Write ``FILENAME,NUM_<WHAT>,TOTAL_<WHAT>`` rows with a running total, then the total row.

    The last row is ``TOTAL_<WHAT>,<total>,<total>``, so that pandas finds the total both as the last
    row's ``TOTAL_<WHAT>`` and as the sum of the other rows.
    """
    total = 0
    rows: list[list[object]] = [["FILENAME", f"NUM_{what}", f"TOTAL_{what}"]]
    for name, count in counts:
        total += count
        rows.append([printable_name(name), count, total])
    rows.append([f"TOTAL_{what}", total, total])
    write_csv(path, rows)


def write_failures_csv(path: str, skipped: Iterable[tuple[str, str]]) -> None:
    """Write ``FILENAME,REASON`` for every skipped file (only the header when none was skipped)."""
    write_csv(path, [["FILENAME", "REASON"], *([printable_name(n), r] for n, r in skipped)])


def write_csv(path: str, rows: Iterable[Sequence[object]]) -> None:
    """Write rows as a UTF-8 CSV file, atomically."""

    def write(temporary: str) -> None:
        with open(open_temporary(temporary), "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)

    write_atomic(path, write)


def printable_name(name: str) -> str:
    """A file name as valid UTF-8 text: bytes that are not UTF-8 become ``\\xNN`` escapes."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")
