"""Issue 23: slices read ahead on a thread write what the sequential loop writes, and a reader's
error on that thread rolls the volume back as before; coronal slabs are laid out as they are read,
and the slices are the volume's."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile

from nidataset.io.read_ahead import read_ahead
from nidataset.slices import extract_slices_dataset
from nidataset.slices import job as slices_job


def _volume(folder: Path, name: str, seed: int) -> Path:
    data = np.random.default_rng(seed).integers(-1024, 3000, (40, 30, 50)).astype(np.int16)
    path = folder / name
    nib.save(nib.Nifti1Image(data, np.diag([0.7, 0.8, 2.5, 1.0])), str(path))
    return path


def _tree(root: Path) -> dict[str, bytes]:
    skip = ("report.html",)  # holds the run's date and times
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def _run(source: Path, out: Path, ahead: bool, monkeypatch: pytest.MonkeyPatch, **options: object) -> object:
    monkeypatch.setattr(slices_job, "READ_AHEAD", ahead)
    monkeypatch.setattr(slices_job, "SLAB_BYTES", 40 * 30 * 2 * 7)  # 7 slices a slab: 8 slabs
    return extract_slices_dataset(str(source), str(out), progress=False, workers=1, **options)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"window": "soft_tissue", "image_format": "png"},
        {"container": "webdataset", "save_manifest": True},
    ],
)
def test_reading_ahead_writes_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for index in range(3):
        _volume(source, f"case_{index}.nii.gz", index)
    sequential = _run(source, tmp_path / "sequential", False, monkeypatch, **options)
    ahead = _run(source, tmp_path / "ahead", True, monkeypatch, **options)
    assert not sequential.skipped and not ahead.skipped  # type: ignore[attr-defined]
    first, second = _tree(tmp_path / "sequential"), _tree(tmp_path / "ahead")
    assert sum(len(data) for data in first.values()) > 3 * 50 * 300  # 150 slices, in files or shards
    assert first == second


def test_an_error_on_the_reading_thread_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "in"
    source.mkdir()
    good = _volume(source, "good.nii.gz", 1)
    raw = gzip.decompress(good.read_bytes())
    (source / "cut.nii.gz").write_bytes(
        gzip.compress(raw)[: len(gzip.compress(raw)) * 2 // 3]
    )  # slab 5 or so
    reasons = {}
    for ahead in (False, True):
        out = tmp_path / f"out-{ahead}"
        result = _run(source, out, ahead, monkeypatch)
        (skipped,) = result.skipped  # type: ignore[attr-defined]
        assert skipped.name == "cut.nii.gz"
        reasons[ahead] = skipped.reason
        assert not [p for p in out.rglob("*") if "cut" in p.name]  # nothing of it is left
        assert len(list(out.rglob("good_axial_*.tif"))) == 50
    assert reasons[True] == reasons[False]
    assert "truncated" in reasons[True]


def test_leaving_early_stops_and_joins_the_thread_and_closes_the_reader() -> None:
    closed = threading.Event()

    def slabs() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    before = threading.active_count()
    with pytest.raises(RuntimeError, match="consumer"), read_ahead(slabs()) as items:
        for item in items:
            if item == 3:
                raise RuntimeError("the consumer failed")
    assert closed.is_set()
    assert threading.active_count() == before


def test_the_reader_error_is_raised_in_order() -> None:
    def slabs() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("damaged")

    seen = []
    with pytest.raises(ValueError, match="damaged"), read_ahead(slabs()) as items:
        for item in items:
            seen.append(item)
    assert seen == [1, 2]


@pytest.mark.parametrize("view", ["coronal", "sagittal"])
@pytest.mark.parametrize(("ahead", "limit"), [(False, 1 << 20), (True, 1 << 20), (True, 0)])
def test_slabs_laid_out_as_read_give_the_volumes_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, view: str, ahead: bool, limit: int
) -> None:
    """Coronal: laid out slab by slab (never read ahead, whatever READ_AHEAD), or read whole first
    (a volume above the limit); sagittal: always read whole first."""
    source = tmp_path / "in"
    source.mkdir()
    data = np.asanyarray(nib.load(str(_volume(source, "case.nii.gz", 7))).dataobj)
    monkeypatch.setattr(slices_job, "LAYOUT_SLAB_BYTES", 40 * 30 * 2 * 7)  # 7 stored slices: the last 1
    monkeypatch.setattr(slices_job, "LAYOUT_LIMIT", limit)
    result = _run(source, tmp_path / "out", ahead, monkeypatch, view=view)
    assert not result.skipped  # type: ignore[attr-defined]
    axis = {"coronal": 1, "sagittal": 0}[view]
    files = sorted((tmp_path / "out" / "case" / view).glob("*.tif"))
    assert len(files) == data.shape[axis]
    for index, path in enumerate(files):
        expected = np.take(data, index, axis=axis)  # (rows, cols) in stored order: X or Y, then Z
        assert np.array_equal(tifffile.imread(path), expected), path.name


def test_a_cut_volume_laid_out_as_read_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "in"
    source.mkdir()
    raw = gzip.decompress(_volume(source, "good.nii.gz", 1).read_bytes())
    (source / "cut.nii.gz").write_bytes(gzip.compress(raw)[: len(gzip.compress(raw)) * 2 // 3])
    monkeypatch.setattr(slices_job, "LAYOUT_SLAB_BYTES", 40 * 30 * 2 * 7)
    result = _run(source, tmp_path / "out", True, monkeypatch, view="coronal")
    (skipped,) = result.skipped  # type: ignore[attr-defined]
    assert skipped.name == "cut.nii.gz" and "truncated" in skipped.reason
    assert not [p for p in (tmp_path / "out").rglob("*") if "cut" in p.name]
    assert len(list((tmp_path / "out").rglob("good_coronal_*.tif"))) == 30
