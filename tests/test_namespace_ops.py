"""Issue 14: at most one namespace operation (create, link, rename, remove a name) per slice.

Every call that may create, rename, link or remove a name is counted, failed ones too, over a whole
dataset run (records, lock and folders included). ``benchmarks/namespace.py`` measures the same with
strace and on a file system that makes each operation cost a millisecond.
"""

from __future__ import annotations

import errno
import os
from collections import Counter
from pathlib import Path

import pytest

from conftest import ramp, write_volume
from nidataset import extract_slices_dataset
from nidataset.errors import OutputError
from nidataset.io import images, placement

SLICES = 2 * 100


@pytest.fixture
def long_volumes(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        write_volume(folder / f"{name}.nii.gz", ramp((8, 6, 100)))
    return folder


def counting(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the calls of ``os`` that may change a folder's names."""
    counts: Counter[str] = Counter()
    real_open = os.open

    def opening(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        tmpfile = getattr(os, "O_TMPFILE", 0)
        if flags & os.O_CREAT and not (tmpfile and flags & tmpfile == tmpfile):
            counts["create"] += 1
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", opening)
    for name in ("mkdir", "rename", "replace", "link", "remove", "unlink", "rmdir"):
        real = getattr(os, name)

        def call(*args, real=real, name=name, **kwargs):  # type: ignore[no-untyped-def]
            counts[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(os, name, call)
    return counts


@pytest.mark.parametrize("saving_mode", ["case", "view"])
def test_files_cost_at_most_one_namespace_operation_per_slice(
    long_volumes, tmp_path, monkeypatch, saving_mode
):
    if saving_mode == "view" and placement.create_unnamed(str(tmp_path)) is None:
        pytest.skip("no O_TMPFILE here: view mode renames a temporary per slice, as before")
    counts = counting(monkeypatch)
    result = extract_slices_dataset(
        str(long_volumes), str(tmp_path / "out"), saving_mode=saving_mode, workers=1
    )
    monkeypatch.undo()
    assert result.summary() == f"2 of 2 files done, {SLICES} slices written"
    assert sum(counts.values()) / SLICES <= 1.1, counts
    if saving_mode == "case":  # each case folder's view: renamed once, whole
        assert not (tmp_path / "out" / "a" / "axial").is_symlink()
        assert counts["rename"] == 2


def test_shards_cost_a_few_namespace_operations_per_volume(long_volumes, tmp_path, monkeypatch):
    counts = counting(monkeypatch)
    extract_slices_dataset(str(long_volumes), str(tmp_path / "out"), container="webdataset", workers=1)
    monkeypatch.undo()
    assert sum(counts.values()) / SLICES <= 0.1, counts


def test_a_rerun_replaces_an_emptied_case_folder_whole(long_volumes, tmp_path):
    out = tmp_path / "out"
    extract_slices_dataset(str(long_volumes), str(out), progress=False)
    first = (out / "a" / "axial").stat().st_ino
    extract_slices_dataset(str(long_volumes), str(out), progress=False)
    assert (out / "a" / "axial").stat().st_ino != first  # the staging folder took the emptied one's place
    assert len(os.listdir(out / "a" / "axial")) == 100
    assert not [p for p in out.rglob("*") if ".partial" in p.name]


def test_a_case_folder_holding_other_files_is_written_file_by_file(long_volumes, tmp_path):
    out = tmp_path / "out" / "a" / "axial"
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    extract_slices_dataset(str(long_volumes), str(tmp_path / "out"), progress=False)
    assert (out / "notes.txt").read_text() == "mine" and len(os.listdir(out)) == 101


def test_without_unnamed_files_each_slice_is_a_renamed_temporary_with_the_same_bytes(
    long_volumes, tmp_path, monkeypatch
):
    extract_slices_dataset(str(long_volumes), str(tmp_path / "linked"), saving_mode="view", progress=False)
    monkeypatch.setattr(placement, "_UNNAMED", False)
    counts = counting(monkeypatch)
    extract_slices_dataset(str(long_volumes), str(tmp_path / "renamed"), saving_mode="view", workers=1)
    monkeypatch.undo()
    assert counts["replace"] >= SLICES
    for path in (tmp_path / "linked" / "axial").iterdir():
        assert (tmp_path / "renamed" / "axial" / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("unnamed", [True, False], ids=["linked", "renamed"])
def test_a_new_file_replaces_an_existing_name_whole_and_leaves_no_temporary(tmp_path, monkeypatch, unnamed):
    monkeypatch.setattr(placement, "_UNNAMED", unnamed and placement._UNNAMED)
    target = tmp_path / "x.tif"
    target.write_bytes(b"old")
    placement.write_new(str(target), lambda temporary: images.write_parts(temporary, [b"new", b" bytes"]))
    assert target.read_bytes() == b"new bytes" and os.listdir(tmp_path) == ["x.tif"]
    with pytest.raises(OutputError, match="No space left"):
        placement.write_new(str(target), full)
    assert target.read_bytes() == b"new bytes" and os.listdir(tmp_path) == ["x.tif"]


def full(temporary: str) -> None:
    images.write_parts(temporary, [b"half"])
    raise OSError(errno.ENOSPC, "No space left on device")
