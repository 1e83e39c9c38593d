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
    #: Per view, the 2D boxes of the objects on their slices (annotations in slice mode): an object
    #: across 30 slices is one object and 30 boxes.
    boxes: tuple[int, ...] | None = None

    @property
    def skipped(self) -> bool:
        return self.reason is not None


class Total(int):
    """The outputs a run wrote, all views together: an ``int``, as nidataset 0.9.1 returned it, and
    callable for one view, ``total("axial")`` (``total()`` is the whole again).

    >>> total = Total({"axial": 3, "coronal": 4})
    >>> total == 7, total("axial"), total() + 1
    (True, 3, 8)
    """

    _per_view: dict[str, int]

    def __new__(cls, per_view: dict[str, int]) -> Total:
        total = super().__new__(cls, sum(per_view.values()))
        total._per_view = per_view
        return total

    def __call__(self, view: str | None = None) -> int:
        if view is None:
            return int(self)
        if view not in self._per_view:
            raise ValueError(f"view {view!r} is not one of this run's views {list(self._per_view)!r}")
        return self._per_view[view]

    def __repr__(self) -> str:
        return str(int(self))

    def __getnewargs__(self) -> tuple[dict[str, int]]:  # type: ignore[override]
        return (self._per_view,)  # pickle and copy call __new__ with these


@dataclass(frozen=True)
class RunResult:
    """The outcome of every input file of a dataset run, in sorted file-name order.

    ``what`` names the counted outputs (``"slices"``, ``"annotations"``, ...). Where nidataset 0.9.1
    returned the number of slices written, ``int(result)`` and ``result.total`` are that number
    (``result.total("axial")`` for one view). Equality and truth stay those of a record: a result
    is not equal to a number and is always true (SPEC Part 1: nothing may depend on its truth), so
    0.9.1's ``if total == 0`` reads ``if result.total == 0``.
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

    @property
    def total(self) -> Total:
        """Outputs written, in all views (an int); ``total(view)`` in one of them."""
        done = self.done
        return Total({view: sum(o.counts[c] for o in done) for c, view in enumerate(self.views)})

    def __int__(self) -> int:
        return int(self.total)

    def summary(self) -> str:
        """One line: files done and skipped, outputs written (annotations: objects and boxes)."""
        written = self._annotations() if self.what == "annotations" else f"{self.total()} {self.what} written"
        line = f"{len(self.done)} of {len(self.outcomes)} files done, {written}"
        reused = sum(o.reused for o in self.outcomes)
        if reused:
            line += f" ({reused} files already complete)"
        if self.skipped:
            line += f", {len(self.skipped)} skipped"
        return line

    def _annotations(self) -> str:
        """``2 objects written: 64 boxes in 55 slice CSV files``: an object counts once (its count
        repeats per view); its boxes, one per slice it crosses, are the CSV rows (when known)."""
        done = self.done
        objects = sum(o.counts[0] for o in done if o.counts)
        text = f"{objects} object{'s' * (objects != 1)} written"
        if not done or any(o.boxes is None or o.indices is None for o in done):
            return text
        boxes = sum(sum(o.boxes or ()) for o in done)
        files = sum(len(view) for o in done for view in o.indices or ())
        return f"{text}: {boxes} box{'es' * (boxes != 1)} in {files} slice CSV file{'s' * (files != 1)}"
