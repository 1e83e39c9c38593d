"""One resume-and-rollback protocol for every per-file job (slices, annotations, the training set).

A job passes only its work and how to tell its files apart; the protocol does the rest, in this order:

1. the identity of the input files (size, modification time, inode), taken before anything is read;
2. with ``resume``, a completed record that matches them and the options: reuse it, write nothing;
3. otherwise the files the input's earlier run listed are removed and its records marked incomplete
   (:func:`~nidataset.batch.records.begin`), then ``work`` writes;
4. an input changed while it was read is a skip (its outputs would mix two versions);
5. the new records are written last (:func:`~nidataset.batch.records.remember`);
6. on a skip, everything written is rolled back (:func:`~nidataset.batch.failures.attempt`) and the
   records are removed (:func:`~nidataset.batch.records.forget`): nothing is left to trust.

Runs without records (the single-file functions) keep steps 1, 4 and 6.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..errors import VolumeError
from ..io.atomic import remove_files
from ..results import Outcome
from .failures import attempt
from .records import begin, completed, forget, identity_of, listed, remember

#: What ``work(written, done)`` returns: the counts per view. It appends every path it writes to
#: ``written`` and fills ``done`` (file sizes as written, details to record).
Work = Callable[[list[str], "Done"], tuple[int, ...]]

CHANGED = "the file changed while it was read (size, time or inode); run again"


@dataclass(frozen=True)
class Records:
    """Where one input's records live, and the options key they must match."""

    output_path: str
    views: tuple[str, ...]
    prefix: str
    key: str
    kind: str = "slices"


@dataclass
class Done:
    """What a job's work learnt while writing: file sizes as written (no ``stat`` each), and details
    its records keep for a resumed run to repeat (an auto window, the slices that got a file)."""

    sizes: dict[str, int] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    """The outcome of one input, the paths written (none when skipped or reused) and the details;
    a reused input's ``listed`` are the files its records list per view (relative names)."""

    outcome: Outcome
    written: list[str]
    details: dict[str, object]
    listed: list[list[str]] = field(default_factory=list)

    @property
    def reused(self) -> bool:
        return self.outcome.reused


def run_with_records(
    path: str,
    work: Work,
    records: Records | None,
    files_of: Callable[[list[str]], list[list[str]]],
    *,
    resume: bool = False,
    sources: Sequence[str] = (),
    own_folders: Sequence[str] = (),
    what: str = "volume",
    changed: str = CHANGED,
) -> Result:
    """Run ``work`` for the input ``path`` under the protocol above.

    ``records`` is None for runs that keep none; ``files_of(written)`` splits the paths written into
    the files of each view; ``sources`` are the files whose identity is checked (default: ``path``);
    ``changed`` is the reason when one of them changed while it was read.
    """
    name = os.path.basename(path)
    inputs = tuple(sources) or (path,)
    identity = _identity(inputs)
    if resume and records is not None:
        found = completed(
            identity, records.output_path, records.views, records.prefix, records.key, records.kind
        )
        if found is not None:
            files = listed(records.output_path, records.views, records.prefix, records.kind)
            return Result(Outcome(name, found[0], reused=True), [], found[1], files)
    done = Done()

    def recorded(written: list[str]) -> tuple[int, ...]:
        if records is not None:
            remove_files(begin(records.output_path, records.views, records.prefix, records.kind))
        counts = work(written, done)
        if identity is None or _identity(inputs) != identity:
            raise VolumeError(changed)
        if records is not None:
            remember(
                identity,
                records.output_path,
                records.views,
                records.prefix,
                records.key,
                files_of(written),
                counts,
                done.details,
                records.kind,
                sizes=done.sizes,
            )
        return counts

    outcome, written = attempt(path, recorded, own_folders=own_folders, what=what)
    if outcome.skipped and records is not None:
        forget(records.output_path, records.views, records.prefix, records.kind)
    return Result(outcome, written, {} if outcome.skipped else done.details)


def _identity(paths: Sequence[str]) -> tuple[int, ...] | None:
    """The identities of ``paths`` end to end, or None when one cannot be read."""
    found: list[int] = []
    for path in paths:
        one = identity_of(path)
        if one is None:
            return None
        found += one
    return tuple(found)
