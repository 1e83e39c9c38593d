"""What spans a built dataset, once every pair is done: the finishers' files, ``split.json``, and the
removal of what an earlier run wrote that this run does not (SPEC Part 3: a rerun leaves exactly the
tree a fresh run writes).

Per pair, the job's records (:mod:`nidataset.batch.records`, kind ``build``) list its files; pairs that
are now skipped, removed, or asked for in views this run does not write are swept here with their
records. The dataset files (COCO, ``data.yaml``, ``split.json``, manifests) are listed in
``.nidataset/build/dataset.json``; those this run does not write again are removed.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..batch.records import FOLDER
from ..io.atomic import make_folder, remove_empty_folders, remove_files, remove_temporaries, write_text
from ..naming import manifest_filename, prefix_of
from ..results import RunResult
from .classes import Classes
from .job import KIND, entries_path
from .options import BuildOptions
from .plugins import FinishedDataset
from .splits import SPLITS
from .tables import LABEL_FORMATS, LAYOUTS

_DATASET_RECORD = os.path.join(FOLDER, KIND, "dataset.json")


def sweep_stale_pairs(output_path: str, done: Iterable[str], views: Sequence[str]) -> None:
    """Remove the files and records of every pair and view an earlier run wrote that this run did not
    (a pair now skipped or removed, a view no longer asked for), but never a file a kept record lists
    (a pair's entries fragment is listed by each of its views)."""
    keep = set(done)
    stale, kept = [], set()
    for record in glob.glob(os.path.join(glob.escape(output_path), FOLDER, KIND, "*", "*.json")):
        view = os.path.basename(os.path.dirname(record))
        prefix = os.path.basename(record)[: -len(".json")]
        if view == "entries":
            continue
        if prefix in keep and view in views:
            kept.update(_listed(output_path, record))
        else:
            stale.append(record)
    for record in stale:
        _remove(output_path, [path for path in _listed(output_path, record) if path not in kept])
        remove_files([record])
    for fragment in glob.glob(os.path.join(glob.escape(output_path), FOLDER, KIND, "entries", "*.json")):
        if os.path.basename(fragment)[: -len(".json")] not in keep:
            remove_files([fragment])


def _remove(output_path: str, paths: list[str]) -> None:
    """Remove an earlier run's files, then the folders they leave empty (an emptied split's
    ``images/test``), up to the output: the tree is the one a fresh run writes. A folder that still
    holds anything, the user's files included, stays."""
    remove_files(paths)
    root = os.path.abspath(output_path)
    emptied: set[str] = set()
    for path in paths:
        folder = os.path.dirname(os.path.abspath(path))
        while folder.startswith(root + os.sep) and folder not in emptied:
            emptied.add(folder)
            folder = os.path.dirname(folder)
    remove_empty_folders(sorted(emptied, key=lambda f: f.count(os.sep), reverse=True))


def _listed(output_path: str, record: str) -> list[str]:
    try:
        with open(record, encoding="utf-8") as handle:
            files = json.load(handle).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [os.path.join(output_path, name) for name in files if isinstance(name, str)]


def finish_dataset(
    result: RunResult,
    options: BuildOptions,
    cases: dict[str, str],
    split: object,
    seed: int,
    manifests: bool,
) -> list[str]:
    """Run the label formats' finishers, then the layout's; write ``split.json``; remove the dataset
    files of an earlier run this one does not write. Returns the dataset files written."""
    done = [o.name for o in result.done]
    sweep_stale_pairs(options.output_path, [prefix_of(name) for name in done], options.views)
    dataset = finished(result, options, cases, split)
    written: list[str] = []
    for name in options.labels:
        finisher = LABEL_FORMATS[name].finish
        if finisher is not None:
            written += finisher(dataset)
    layout_finisher = LAYOUTS[options.layout].finish
    if layout_finisher is not None:
        written += layout_finisher(dataset)
    if split is not None:
        written.append(_write_split(options.output_path, dataset, split, seed))
    if manifests:
        written += [os.path.join(options.output_path, manifest_filename(v)) for v in options.views]
    _replace_dataset_record(options.output_path, written)
    _remove_emptied_places(options)
    return written


def _remove_emptied_places(options: BuildOptions) -> None:
    """The layout's folders for every kind and split that a rerun left empty (the pairs' own files are
    removed by the per-pair protocol while workers run; folders only now, when none does). The label
    files' temporaries left there (their pair stopped before its finisher ran, and is not in this
    run) are removed first: no writer is at work."""
    layout = LAYOUTS[options.layout]
    kinds = {"images", "masks", *(LABEL_FORMATS[name].folder for name in options.labels)}
    places = {layout.folder(kind, split) for kind in kinds if kind for split in (*SPLITS, None)}
    label_kinds = {LABEL_FORMATS[name].folder for name in LABEL_FORMATS} - {None, "images", "masks"}
    for place in {layout.folder(kind, split) for kind in label_kinds if kind for split in (*SPLITS, None)}:
        if os.path.isdir(os.path.join(options.output_path, place)):
            remove_temporaries(os.path.join(options.output_path, place))
    folders = {
        os.path.join(options.output_path, *place.split("/")[:depth])
        for place in places
        for depth in range(1, place.count("/") + 2)
    }
    remove_empty_folders(sorted(folders, key=lambda f: f.count(os.sep), reverse=True))


def _asked_splits(split: object) -> tuple[str, ...]:
    """The splits a run asked for: those of a mapping file, or those given a fraction above 0 (a
    fraction of 0 says that split is not wanted, so its absence is no surprise to warn about)."""
    if split is None:
        return ()
    if isinstance(split, str | os.PathLike):
        return SPLITS
    return tuple(name for name, fraction in zip(SPLITS, split, strict=True) if float(fraction) > 0)  # type: ignore[call-overload]


def finished(
    result: RunResult, options: BuildOptions, cases: dict[str, str], split: object
) -> FinishedDataset:
    """The finishers' view of the dataset: splits that hold a case, cases and entries per split."""
    of_pair = dict(options.splits)
    done = [o.name for o in result.done]
    names: tuple[str | None, ...] = tuple(s for s in SPLITS if any(of_pair.get(n) == s for n in done))
    if split is None:
        names = (None,)
    empty = tuple(s for s in _asked_splits(split) if s not in names)
    by_split: dict[str | None, list[str]] = {name: [] for name in names}
    prefixes: dict[str | None, list[str]] = {name: [] for name in names}
    values = {v for o in result.done for v in o.labels or ()}
    for name in done:
        part = of_pair.get(name)
        by_split[part].append(cases[name])
        prefixes[part].append(prefix_of(name))
    entries = {
        label_format: {
            part: Entries(options.output_path, label_format, listed, options.views)
            for part, listed in prefixes.items()
        }
        for label_format in options.labels
    }
    return FinishedDataset(
        output_path=options.output_path,
        layout=LAYOUTS[options.layout],
        splits=names,
        classes=options.classes or Classes.of(values, dict(options.label_names)),
        cases={s: sorted(set(listed)) for s, listed in by_split.items()},
        entries=entries,
        options=options,
        empty_splits=empty,
    )


@dataclass(frozen=True)
class Entries:
    """One label format's entries of a split, read from the pairs' fragments each time they are
    iterated, a pair at a time: a dataset's labels never need to fit in memory at once."""

    output_path: str
    label_format: str
    prefixes: Sequence[str]
    views: Sequence[str]  # the asked views, in order: a resumed pair's fragment may hold others

    def __iter__(self) -> Iterator[object]:
        for prefix in self.prefixes:
            by_view = _fragment(self.output_path, prefix)
            for view in self.views:
                listed = by_view.get(view, {}).get(self.label_format, [])
                yield from (entry for entry in listed if entry is not None)


def _fragment(output_path: str, prefix: str) -> dict[str, dict[str, list[object]]]:
    """A pair's entries: view -> label format -> entries."""
    try:
        with open(entries_path(output_path, prefix), encoding="utf-8") as handle:
            return dict(json.load(handle)["entries"])
    except FileNotFoundError:
        return {}


def _write_split(output_path: str, dataset: FinishedDataset, split: object, seed: int) -> str:
    asked = split if isinstance(split, str) else list(split)  # type: ignore[call-overload]
    listed: dict[str, object] = {"seed": seed, "split": asked}
    for name in SPLITS:
        listed[name] = list(dataset.cases.get(name, []))
    path = os.path.join(output_path, "split.json")
    write_text(path, json.dumps(listed, indent=1) + "\n")
    return path


def _replace_dataset_record(output_path: str, written: list[str]) -> None:
    """Record this run's dataset files; remove those the earlier run's record lists and this run did not
    write (a COCO file of a split that is gone, a ``split.json`` without a split)."""
    record = os.path.join(output_path, _DATASET_RECORD)
    names = sorted({os.path.relpath(p, output_path).replace(os.sep, "/") for p in written})
    earlier = _listed(output_path, record) if os.path.exists(record) else _legacy(output_path)
    _remove(
        output_path, [p for p in earlier if os.path.relpath(p, output_path).replace(os.sep, "/") not in names]
    )
    make_folder(os.path.dirname(record))
    write_text(record, json.dumps({"files": names}))


def _legacy(output_path: str) -> list[str]:
    """The dataset files of the builder before these records (its COCO fragments' folder shows it)."""
    if not os.path.isdir(os.path.join(output_path, FOLDER, "coco")):
        return []
    remove_files(glob.glob(os.path.join(glob.escape(output_path), FOLDER, "coco", "*.json")))
    names = ["annotations.json", *(f"annotations_{name}.json" for name in SPLITS)]
    return [os.path.join(output_path, name) for name in names]
