"""CSV tables: statistics with a running total, failure lists, annotation rows; UTF-8, atomic.

Every cell is valid UTF-8: a file name that is not (bytes kept by ``os.fsdecode`` as lone
surrogates) is written with ``\\xNN`` escapes, as :func:`nidataset.text.printable` shows it,
instead of failing the write. The tables meant for people (statistics, failure lists) also show
names on one line and neutralise spreadsheet formulas (:func:`for_people`); the tables meant for
programs (manifests, annotation rows) keep every other character exact.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Sequence

from ..text import printable
from .atomic import open_temporary, write_atomic

#: What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escape_bytes(error: UnicodeError) -> tuple[str, int]:
    """Encoding error handler: a lone surrogate of a non-UTF-8 byte becomes ``\\xNN``."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    return printable(text), error.end


codecs.register_error("nidataset.escape", _escape_bytes)


def write_counts_csv(path: str, counts: Sequence[tuple[str, int]], what: str) -> None:
    """Write ``FILENAME,NUM_<WHAT>,TOTAL_<WHAT>`` rows with a running total, then the total row.

    The last row is ``TOTAL_<WHAT>,<total>,<total>``, so that pandas finds the total both as the last
    row's ``TOTAL_<WHAT>`` and as the sum of the other rows. Names go through :func:`for_people`.
    """
    total = 0
    rows: list[list[object]] = [["FILENAME", f"NUM_{what}", f"TOTAL_{what}"]]
    for name, count in counts:
        total += count
        rows.append([for_people(name), count, total])
    rows.append([f"TOTAL_{what}", total, total])
    write_csv(path, rows)


def write_failures_csv(path: str, skipped: Iterable[tuple[str, str]]) -> None:
    """Write ``FILENAME,REASON`` for every skipped file (only the header when none was skipped)."""
    write_csv(path, [["FILENAME", "REASON"], *([for_people(n), for_people(r)] for n, r in skipped)])


def write_csv(path: str, rows: Iterable[Sequence[object]]) -> None:
    """Write rows as a UTF-8 CSV file, atomically; non-UTF-8 bytes of names as ``\\xNN``."""

    def write(temporary: str) -> None:
        descriptor = open_temporary(temporary)
        with open(descriptor, "w", newline="", encoding="utf-8", errors="nidataset.escape") as handle:
            csv.writer(handle).writerows(rows)

    write_atomic(path, write)


def for_people(text: str) -> str:
    """A cell of a table meant for people: on one line, escaped (:func:`~nidataset.text.printable`),
    and a leading ``'`` when it starts like a spreadsheet formula, so that no spreadsheet runs it.

    >>> for_people("=HYPERLINK(1).nii"), for_people("case.nii"), for_people("a\\nb.nii")
    ("'=HYPERLINK(1).nii", 'case.nii', 'a\\\\nb.nii')
    """
    shown = printable(text)
    return "'" + shown if text.startswith(FORMULA_STARTS) else shown
