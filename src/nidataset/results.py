"""What a dataset run returns: one small record per input file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """One input file's outcome: counts written per view, or the reason it was skipped."""

    name: str
    counts: tuple[int, ...] = ()
    reason: str | None = None
    reused: bool = False  # complete from an earlier run (resume=True): nothing was rewritten
    #: Per view, the slice indices that got a file, when not every slice does (annotations).
    indices: tuple[tuple[int, ...], ...] | None = None
    #: The window a file's values went through when it was chosen per file (``window="auto"``).
    value_map: str | None = None
    #: The smallest and largest finite real value of the file, when asked for (the report).
    value_range: tuple[float, float] | None = None
    #: The label values a mask holds, when asked for (the training-set builder's classes).
    labels: tuple[int, ...] | None = None
    #: A one-line remark on a file done, logged as it is (``incomplete case_1.nii.gz: ...``).
    note: str | None = None

    @property
    def skipped(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True)
class RunResult:
    """The outcome of every input file of a dataset run, in sorted file-name order.

    ``what`` names the counted outputs (``"slices"`` or ``"annotations"``).
    """

    views: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    what: str = "slices"

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.skipped]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.skipped]

    def total(self, view: str | None = None) -> int:
        """Outputs written, in one view or in all of them."""
        columns = range(len(self.views)) if view is None else [self.views.index(view)]
        return sum(o.counts[c] for o in self.done for c in columns)

    def summary(self) -> str:
        """One line: files done and skipped, outputs written."""
        line = f"{len(self.done)} of {len(self.outcomes)} files done, {self.total()} {self.what} written"
        reused = sum(o.reused for o in self.outcomes)
        if reused:
            line += f" ({reused} files already complete)"
        if self.skipped:
            line += f", {len(self.skipped)} skipped"
        return line
