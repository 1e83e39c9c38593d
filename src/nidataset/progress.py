"""How a run shows itself on stderr: a bar on a terminal, plain lines in a log, and every skip.

A skipped file is always reported, as one line ``skipped <file>: <reason>``: the runner logs it on the
``nidataset`` logger, and while a run lasts the display shows that logger's warnings from the run's
thread (so ``logging.getLogger("nidataset").setLevel(logging.ERROR)`` silences them, and a caller's
own handlers receive them too). With progress on, a
terminal gets one tqdm bar over files (done / total, outputs written, their rate, the ETA, the last
file); a log (stderr not a terminal) gets a plain line at most every few seconds and at the end, so
batch logs stay readable. The summary line closes the run unless the caller prints its own.

The display is best effort: when stderr is closed or its reader went away (``2>&-``, a pipe into
``head`` that exited), it goes quiet, and the run, its failure list and its result stay the same.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

from .naming import printable
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
        stream = _stream()
        if self.enabled and stream is not None and _isatty(stream):
            from tqdm import tqdm

            with shown(self):
                self._bar = tqdm(total=total, unit=" files", file=stream, dynamic_ncols=True)

    def advance(self, outcome: Outcome) -> None:
        self._done += 1
        self._outputs += sum(outcome.counts)
        if self._bar is not None:
            with shown(self):
                self._bar.set_postfix_str(
                    f"{self._outputs} {self._what} ({self._rate():.0f}/s), {printable(outcome.name)}"
                )
                self._bar.update(1)
        elif self.enabled and (
            self._done == self._total or time.monotonic() - self._last_line >= self.interval
        ):
            self.write(self._line(printable(outcome.name)))
            self._last_line = time.monotonic()

    def close(self) -> None:
        if self._lines is not None:
            logging.getLogger("nidataset").removeHandler(self._lines)
            self._lines = None
        if self._bar is not None:
            bar, self._bar = self._bar, None
            with shown(self):
                bar.close()

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
        """Print a line on stderr without breaking the bar; nothing when stderr cannot take it."""
        stream = _stream()
        if stream is None:
            return
        with shown(self):
            if self._bar is not None:
                self._bar.write(line, file=stream)
            else:
                print(line, file=stream, flush=True)

    def quiet(self) -> None:
        """Show nothing more: stderr is gone (the bar is dropped without writing to it)."""
        if self._bar is not None:
            self._bar.disable = True  # so that closing it later writes nothing
        self.enabled, self.summary, self._bar = False, False, None


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


@contextlib.contextmanager
def shown(display: Progress | None = None, stream: TextIO | None = None) -> Iterator[None]:
    """Run a write to ``stream`` (default stderr); if it is closed or its reader is gone, drop the
    write silently and quieten ``display``: what a run shows must never change what it does."""
    try:
        yield
    except (BrokenPipeError, ValueError, OSError) as error:
        closed = isinstance(error, ValueError) and "closed file" in str(error)
        if not closed and getattr(error, "errno", None) not in (errno.EPIPE, errno.EBADF, errno.EIO):
            raise
        if display is not None:
            display.quiet()
        _to_null(stream or sys.stderr)


def _to_null(stream: TextIO | None) -> None:
    """Point a standard stream whose reader is gone at /dev/null, so that what its buffer still holds
    does not fail again when Python flushes it at exit (which would turn exit code 0 into 120)."""
    if stream is None or not any(stream is standard for standard in (sys.__stdout__, sys.__stderr__)):
        return
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, stream.fileno())
        finally:
            os.close(null)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False


def _stream() -> TextIO | None:
    return sys.stderr  # looked up each time, so that redirections and test captures apply; None when closed
