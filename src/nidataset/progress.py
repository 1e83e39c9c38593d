"""How a run shows itself on stderr: a bar on a terminal, plain lines in a log, and every skip.

A skipped file is always reported, as one line ``skipped <file>: <reason>``: the runner logs it on the
``nidataset`` logger, and while a run lasts the display shows that logger's warnings from the run's
thread (so ``logging.getLogger("nidataset").setLevel(logging.ERROR)`` silences them, and a caller's
own handlers receive them too). With progress on, a
terminal gets one tqdm bar over files (done / total, outputs written, their rate, the ETA, the last
file); a log (stderr not a terminal) gets a plain line at most every few seconds and at the end, so
batch logs stay readable. The summary line closes the run unless the caller prints its own.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, TextIO

from .results import Outcome


class Progress:
    """Progress display of a dataset run.

    Parameters
    ----------
    enabled : bool
        Show the bar or lines and the summary; skips are reported either way.
    summary : bool
        End with the run's summary line (the command line prints its own on stdout instead).
    interval : float
        Seconds between plain lines when stderr is not a terminal.
    """

    def __init__(self, enabled: bool = True, *, summary: bool = True, interval: float = 5.0) -> None:
        self.enabled, self.summary, self.interval = enabled, summary, interval
        self._bar: Any = None
        self._lines: _LogLines | None = None
        self._total = self._done = self._outputs = 0
        self._what = "slices"
        self._started = self._last_line = 0.0

    def start(self, total: int, what: str) -> None:
        self._total, self._what, self._done, self._outputs = total, what, 0, 0
        self._started = self._last_line = time.monotonic()
        self._lines = _LogLines(self)
        logging.getLogger("nidataset").addHandler(self._lines)
        if self.enabled and _stream().isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=" files", file=_stream(), dynamic_ncols=True)

    def advance(self, outcome: Outcome) -> None:
        self._done += 1
        self._outputs += sum(outcome.counts)
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self._outputs} {self._what} ({self._rate():.0f}/s), {outcome.name}")
            self._bar.update(1)
        elif self.enabled and (
            self._done == self._total or time.monotonic() - self._last_line >= self.interval
        ):
            self.write(self._line(outcome.name))
            self._last_line = time.monotonic()

    def close(self) -> None:
        if self._lines is not None:
            logging.getLogger("nidataset").removeHandler(self._lines)
            self._lines = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def finish(self, summary: str) -> None:
        """Print the run's summary line, if this display shows one."""
        if self.enabled and self.summary:
            self.write(summary)

    def _rate(self) -> float:
        return self._outputs / max(time.monotonic() - self._started, 1e-9)

    def _line(self, name: str) -> str:
        elapsed = time.monotonic() - self._started
        left = elapsed / self._done * (self._total - self._done)
        eta = time.strftime("%H:%M:%S", time.gmtime(left))
        return (
            f"{self._done}/{self._total} files, {self._outputs} {self._what} ({self._rate():.0f}/s), "
            f"ETA {eta}, last {name}"
        )

    def write(self, line: str) -> None:
        """Print a line on stderr without breaking the bar."""
        if self._bar is not None:
            self._bar.write(line, file=_stream())
        else:
            print(line, file=_stream(), flush=True)


class _LogLines(logging.Handler):
    """Shows the ``nidataset`` logger's warnings, logged by the run's own thread, on a display."""

    def __init__(self, display: Progress) -> None:
        super().__init__(logging.WARNING)
        self._display = display
        self._thread = threading.get_ident()  # another run in another thread has its own display

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread:
            self._display.write(record.getMessage())


def as_progress(progress: bool | Progress) -> Progress:
    """The display for a façade's ``progress`` argument (True, False, or a Progress)."""
    return progress if isinstance(progress, Progress) else Progress(bool(progress))


def _stream() -> TextIO:
    return sys.stderr  # looked up each time, so that redirections and test captures apply
