"""Interrupted runs, resumed runs, a full disk and dying workers: nothing truncated, nothing lost."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

from conftest import all_files, ramp, write_volume
from nidataset import extract_slices_dataset
from nidataset.batch.runner import run_files
from nidataset.errors import OutputError
from nidataset.options import SliceOptions
from nidataset.slices.job import extract_volume

KILLER = "poison.nii.gz"


def assert_no_partial_output(folder: Path) -> None:
    """Every TIFF under a final name is complete; no temporary file is left."""
    assert not [p for p in folder.rglob("*") if p.name.endswith(".partial")]
    for tif in folder.rglob("*.tif"):
        image = tifffile.imread(tif)  # raises on a truncated file
        assert image.size > 0 and tif.stat().st_size == len(tif.read_bytes())


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """Sixteen volumes of 128 x 128 x 48: enough work to interrupt halfway."""
    folder = tmp_path / "volumes"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for number in range(16):
        data = rng.integers(-1000, 1000, size=(128, 128, 48), dtype=np.int16)
        write_volume(folder / f"case_{number:03d}.nii.gz", data)
    return folder


def test_resume_skips_completed_volumes_and_keeps_every_statistic(cases, tmp_path):
    out = tmp_path / "out"
    extract_slices_dataset(str(cases), str(out), save_stats=True, progress=False)
    first = all_files(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.tif")}
    result = extract_slices_dataset(str(cases), str(out), save_stats=True, resume=True, progress=False)
    assert [o.reused for o in result.outcomes] == [True, True, True]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.tif")} == mtimes  # nothing rewritten
    assert all_files(out) == first
    assert pd.read_csv(out / "axial_slices_stats.csv").iloc[-1]["TOTAL_SLICES"] == 19
    assert result.summary() == "3 of 3 files done, 19 slices written (3 files already complete)"


def test_resume_redoes_what_changed_or_went_missing(cases, tmp_path):
    out = tmp_path / "out"
    extract_slices_dataset(str(cases), str(out), progress=False)
    write_volume(cases / "case_002.nii.gz", ramp((6, 8, 12), start=7))  # input changed: 12 slices now
    os.remove(out / "case_003" / "axial" / "case_003_axial_001.tif")  # an output went missing
    result = extract_slices_dataset(str(cases), str(out), resume=True, progress=False)
    assert [(o.name, o.reused, o.counts) for o in result.outcomes] == [
        ("case_001.nii.gz", True, (5,)),
        ("case_002.nii.gz", False, (12,)),
        ("case_003.nii.gz", False, (3,)),
    ]
    assert (out / "case_003" / "axial" / "case_003_axial_001.tif").is_file()


def test_resume_with_other_options_redoes_everything(cases, tmp_path):
    out = tmp_path / "out"
    extract_slices_dataset(str(cases), str(out), progress=False)
    result = extract_slices_dataset(str(cases), str(out), target_size=(16, 16), resume=True, progress=False)
    assert not any(o.reused for o in result.outcomes)
    assert tifffile.imread(next(out.rglob("*.tif"))).shape == (16, 16)


def run_in_child(
    folder: Path, out: Path, stop: signal.Signals, after: int
) -> subprocess.CompletedProcess[str]:
    """Start a dataset run in a child process; send ``stop`` once ``after`` volumes are recorded done.

    The child waits at the start of the next volume until the signal comes: the interleaving is
    forced, however fast the first volumes go.
    """
    script = textwrap.dedent(f"""
        import signal, time
        signal.signal(signal.SIGINT, signal.default_int_handler)  # even where SIGINT came ignored
        import nidataset.slices.facade as facade
        from nidataset import extract_slices_dataset
        real, started = facade.extract_volume, []
        def pausing(path, options):
            started.append(path)
            if len(started) == {after + 1}:
                time.sleep(60)
            return real(path, options)
        facade.extract_volume = pausing
        extract_slices_dataset({str(folder)!r}, {str(out)!r}, view=["axial", "coronal"],
                               save_stats=True, workers=1, progress=False)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    records = out / ".nidataset" / "coronal"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if records.is_dir() and len(list(records.glob("*.json"))) >= after:
            child.send_signal(stop)
            break
        time.sleep(0.005)
    _, err = child.communicate(timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, "", err)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_an_interrupted_run_leaves_no_partial_file_and_resumes_to_identical_bytes(many, tmp_path, stop):
    reference = tmp_path / "uninterrupted"
    extract_slices_dataset(
        str(many), str(reference), view=["axial", "coronal"], save_stats=True, progress=False
    )
    out = tmp_path / "interrupted"
    done = run_in_child(many, out, stop, after=3)
    assert done.returncode != 0, "the run finished before it could be interrupted"
    assert len(list((out / ".nidataset" / "coronal").glob("*.json"))) < 16
    assert "Traceback" not in done.stderr or stop == signal.SIGINT
    assert_no_partial_output(out)
    result = extract_slices_dataset(
        str(many), str(out), view=["axial", "coronal"], save_stats=True, resume=True, progress=False
    )
    assert 3 <= sum(o.reused for o in result.outcomes) < 16
    assert all_files(out) == all_files(reference)


def mount_tiny_filesystem(path: Path, size: str) -> bool:
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def test_a_full_disk_stops_the_run_with_a_clear_error_and_no_partial_file(many, tmp_path):
    disk = tmp_path / "disk"
    if not mount_tiny_filesystem(disk, "2m"):
        pytest.skip("cannot mount a tmpfs here (needs root); test_simulated_disk_full covers the logic")
    try:
        with pytest.raises(OutputError, match=r"cannot write .*: No space left on device"):
            extract_slices_dataset(str(many), str(disk / "out"), workers=2, progress=False)
        assert_no_partial_output(disk / "out")
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_simulated_disk_full_stops_the_run_with_a_clear_error_and_no_partial_file(
    many, tmp_path, monkeypatch
):
    from nidataset.io import images as writers

    real_write_parts = writers.write_parts
    writes = {"count": 0}

    def filling_disk(path, parts):
        writes["count"] += 1
        if writes["count"] <= 30:
            return real_write_parts(path, parts)
        with open(path, "wb") as handle:
            handle.write(b"half a slice")
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(writers, "write_parts", filling_disk)
    with pytest.raises(OutputError, match=r"cannot write .*case_000_axial_030\.tif.*No space left on device"):
        extract_slices_dataset(str(many), str(tmp_path / "out"), workers=1, progress=False)
    assert_no_partial_output(tmp_path / "out")
    assert len(list((tmp_path / "out").rglob("*.tif"))) == 0  # the volume under way was rolled back


def killing_job(path: str, job: SliceOptions):
    """A per-file job whose worker process dies on one file, as an out-of-memory kill would."""
    if os.path.basename(path) == KILLER:
        os.kill(os.getpid(), signal.SIGKILL)
    return extract_volume(path, job)


def test_a_worker_that_dies_fails_only_its_own_file(cases, tmp_path):
    write_volume(cases / KILLER, ramp())
    paths = sorted(str(p) for p in cases.iterdir())
    with ProcessPoolExecutor(max_workers=2) as pool:
        outcomes = run_files(
            killing_job, paths, SliceOptions(str(tmp_path / "out")), executor=pool, progress=False
        )
    assert [(o.name, o.counts, o.reason) for o in outcomes] == [
        ("case_001.nii.gz", (5,), None),
        ("case_002.nii.gz", (11,), None),
        ("case_003.nii.gz", (3,), None),
        (KILLER, (), "worker process died (killed by signal 9)"),
    ]
    assert len(list((tmp_path / "out").rglob("*.tif"))) == 5 + 11 + 3


def test_the_failure_list_names_every_skipped_file_and_why(cases, tmp_path):
    (cases / "broken.nii.gz").write_bytes(b"")
    extract_slices_dataset(str(cases), str(tmp_path / "out"), save_failures=True, progress=False)
    failed = pd.read_csv(tmp_path / "out" / "slices_failed.csv")
    assert failed.values.tolist() == [["broken.nii.gz", "empty file (0 bytes)"]]
    os.remove(cases / "broken.nii.gz")
    extract_slices_dataset(str(cases), str(tmp_path / "out"), save_failures=True, progress=False)
    assert (tmp_path / "out" / "slices_failed.csv").read_text().splitlines() == ["FILENAME,REASON"]


def test_concurrent_whole_volume_reads_wait_for_memory_instead_of_overcommitting():
    import threading

    from nidataset.batch.memory import MemoryBudget
    from nidataset.errors import VolumeError

    budget = MemoryBudget(available=lambda: 100)
    first_in, second_in, release_first = threading.Event(), threading.Event(), threading.Event()

    def first():
        with budget.reserve(70, "first"):
            first_in.set()
            release_first.wait(5)

    def second():
        first_in.wait(5)
        with budget.reserve(70, "second"):  # 70 + 70 > 100: must wait for the first
            second_in.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_in.wait(5) and not second_in.wait(0.3)
    release_first.set()
    assert second_in.wait(5)
    for thread in threads:
        thread.join(5)
    with (
        pytest.raises(VolumeError, match=r"too large: huge needs .* GiB of memory"),
        budget.reserve(101, "huge"),
    ):
        pass


def test_the_buffer_pool_reuses_fitting_buffers_and_frees_the_rest_before_allocating():
    from nidataset.batch.memory import BufferPool

    pool = BufferPool()
    with pool.lend(1000) as first:
        first[:] = 7
    assert pool.idle_bytes == 1000
    with pool.lend(600) as second:  # 600 <= 1000 <= 2 * 600: the same memory, cut to size
        assert second.nbytes == 600 and np.shares_memory(second, first)
    with pool.lend(400) as third:  # 1000 > 2 * 400: a fresh buffer, the idle one freed first
        assert not np.shares_memory(third, first)
        assert pool.idle_bytes == 0
    pool.clear()
    assert pool.idle_bytes == 0


def test_a_run_leaves_no_pooled_buffer_behind(cases, tmp_path):
    from nidataset.batch.memory import POOL

    extract_slices_dataset(str(cases), str(tmp_path / "out"), view="coronal", progress=False)
    assert POOL.idle_bytes == 0
