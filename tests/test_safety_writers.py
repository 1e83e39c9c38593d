"""Issue 13, finding 1: writers of one file never share a temporary; one output folder, one run.

Races are forced deterministically (events pause one writer exactly where the other must get in),
then repeated in bounded stress loops.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import tifffile

from conftest import ramp, write_volume
from nidataset import extract_slices_dataset
from nidataset.cli import main
from nidataset.errors import OutputError
from nidataset.io import atomic, images
from nidataset.io.atomic import temporary_name, write_atomic
from nidataset.io.images import write_parts

WAIT = 20  # seconds: only ever reached when a test is about to fail


def leftovers(folder: Path) -> list[str]:
    """Temporaries (any name this project ever gave one) and lock files left under ``folder``."""
    return [str(p) for p in folder.rglob("*") if ".partial" in p.name or p.name == "lock"]


def write_bytes_atomically(path: Path, data: bytes) -> None:
    write_atomic(str(path), lambda temporary: write_parts(temporary, [data]))


# --- (a) unique temporaries, created exclusively ------------------------------------------------------


def test_temporary_names_are_hidden_unique_and_fit_255_bytes() -> None:
    for name in ("a.tif", "é" * 127 + ".tif", "x" * 255):
        names = {temporary_name(name, ".nii.gz") for _ in range(1000)}
        assert len(names) == 1000  # one per writer
        for temporary in names:
            assert temporary.startswith(".") and os.sep not in temporary
            assert len(os.fsencode(temporary)) <= 255 and temporary.endswith(".partial.nii.gz")


def test_a_writer_never_truncates_another_writers_temporary(tmp_path: Path) -> None:
    """Writer A has half its file in its temporary when writer B writes the same file entirely."""
    path = tmp_path / "x.tif"
    half_written, other_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow(temporary: str) -> None:
        with open(temporary, "ab") as handle:  # reopens its own temporary
            handle.write(b"A" * 1000)
            handle.flush()
            half_written.set()
            other_done.wait(WAIT)
            handle.write(b"A" * 1000)

    def first() -> None:
        try:
            write_atomic(str(path), slow)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=first)
    thread.start()
    assert half_written.wait(WAIT)
    write_bytes_atomically(path, b"B" * 2000)
    assert path.read_bytes() == b"B" * 2000
    other_done.set()
    thread.join(WAIT)
    assert errors == []
    assert path.read_bytes() == b"A" * 2000  # the last complete file, never a mix
    assert leftovers(tmp_path) == []


def test_a_failed_writer_rolls_back_only_its_own_temporary(tmp_path: Path) -> None:
    """Writer B is mid-file when writer A fails: A's rollback must not delete B's temporary."""
    path = tmp_path / "x.tif"
    writing, rolled_back = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def paused(temporary: str) -> None:
        with open(temporary, "ab") as handle:
            handle.write(b"B" * 1000)
            writing.set()
            rolled_back.wait(WAIT)
            handle.write(b"B" * 1000)

    def second() -> None:
        try:
            write_atomic(str(path), paused)
        except BaseException as error:
            errors.append(error)

    def failing(temporary: str) -> None:
        with open(temporary, "ab") as handle:
            handle.write(b"A")
        raise OSError(errno.ENOSPC, "No space left on device")

    thread = threading.Thread(target=second)
    thread.start()
    assert writing.wait(WAIT)
    with pytest.raises(OutputError, match="No space left"):
        write_atomic(str(path), failing)
    rolled_back.set()
    thread.join(WAIT)
    assert errors == []
    assert path.read_bytes() == b"B" * 2000
    assert leftovers(tmp_path) == []


def test_a_symbolic_link_at_a_temporary_name_is_never_followed(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    planted = ".x.tif.partial"
    (tmp_path / planted).symlink_to(victim)
    real = atomic.temporary_name
    names = iter([planted])
    monkeypatch.setattr(
        atomic, "temporary_name", lambda name, suffix="": next(names, None) or real(name, suffix)
    )
    write_bytes_atomically(tmp_path / "x.tif", b"new")
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "x.tif").is_symlink() and (tmp_path / "x.tif").read_bytes() == b"new"


def test_write_parts_never_truncates_an_existing_file(tmp_path: Path) -> None:
    existing = tmp_path / "f"
    existing.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        write_parts(str(existing), [b"other"])
    assert existing.read_bytes() == b"keep me"


def test_every_writer_gets_its_own_temporary(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every atomic writer (images, tables, text, NIfTI) goes through the unique, exclusive path."""
    import numpy as np

    from nidataset.io.images import write_image, write_nifti
    from nidataset.io.tables import write_csv

    created: list[str] = []
    real_open = os.open

    def recording_open(path, flags, *args):  # type: ignore[no-untyped-def]
        if ".partial" in os.fspath(path):
            assert flags & os.O_EXCL and flags & os.O_CREAT and flags & os.O_NOFOLLOW
            assert not flags & os.O_TRUNC
            created.append(os.path.basename(os.fspath(path)))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", recording_open)
    image = np.zeros((3, 4), np.uint8)
    write_image(str(tmp_path / "a.tif"), image)
    write_image(str(tmp_path / "a.png"), image, "png")
    write_csv(str(tmp_path / "a.csv"), [["A"], [1]])
    atomic.write_text(str(tmp_path / "a.txt"), "text")
    write_nifti(str(tmp_path / "a.nii.gz"), np.zeros((2, 3, 4), np.int16), np.eye(4))
    assert len(created) == 5 and all(re.fullmatch(r"\..+\.[0-9a-f]{12}\.partial.*", n) for n in created)
    assert leftovers(tmp_path) == []


def test_two_hundred_write_races_and_rollback_races_lose_nothing(tmp_path: Path) -> None:
    """Two writers of one file at once, one of them failing every third round: 200 rounds each way."""
    path = tmp_path / "x.tif"
    for round_ in range(200):
        barrier = threading.Barrier(2)
        outcome: dict[str, object] = {}

        def writer(
            label: str, fails: bool, barrier: threading.Barrier = barrier, done: dict[str, object] = outcome
        ) -> None:
            def write(temporary: str) -> None:
                barrier.wait(WAIT)
                with open(temporary, "ab") as handle:
                    handle.write(label.encode() * 4096)
                    if fails:
                        raise OSError(errno.ENOSPC, "No space left on device")
                    handle.write(label.encode() * 4096)

            try:
                write_atomic(str(path), write)
                done[label] = "done"
            except OutputError:
                done[label] = "failed"

        fails = round_ % 3 == 0
        threads = [
            threading.Thread(target=writer, args=("A", False)),
            threading.Thread(target=writer, args=("B", fails)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert outcome == {"A": "done", "B": "failed" if fails else "done"}, round_
        assert path.read_bytes() in {
            label.encode() * 8192 for label, done in outcome.items() if done == "done"
        }
        assert leftovers(tmp_path) == [], round_
        path.unlink()


# --- (b) one output folder, one run ---------------------------------------------------------------------


@pytest.fixture
def paused_writes(monkeypatch):  # type: ignore[no-untyped-def]
    """The first slice write pauses until ``go`` is set, once ``started`` is."""
    started, go = threading.Event(), threading.Event()
    real = images.write_parts

    def paused(path: str, parts: list[bytes]) -> None:
        if not started.is_set():
            started.set()
            go.wait(WAIT)
        real(path, parts)

    monkeypatch.setattr(images, "write_parts", paused)
    return started, go


def expected_slices(folder: Path) -> int:
    """Axial slices of every volume in ``folder``."""
    import nibabel as nib

    return sum(nib.load(str(path)).shape[2] for path in folder.glob("*.nii.gz"))


def check_complete(out: Path, cases: Path) -> None:
    """Every slice of every volume is under its final name, complete; nothing else is left."""
    tifs = sorted(out.rglob("*.tif"))
    assert len(tifs) == expected_slices(cases)
    for tif in tifs:
        assert tifffile.imread(tif).size > 0
    assert leftovers(out) == []


def test_a_second_run_into_a_busy_folder_is_refused_at_once_naming_the_holder(
    cases: Path, tmp_path: Path, paused_writes
) -> None:  # type: ignore[no-untyped-def]
    started, go = paused_writes
    out = tmp_path / "out"
    first: dict[str, object] = {}

    def run() -> None:
        first["result"] = extract_slices_dataset(str(cases), str(out), workers=1, progress=False)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert started.wait(WAIT)
        holder = rf"pid {os.getpid()} on host {re.escape(socket.gethostname())}, started \d{{4}}-\d\d-\d\d "
        with pytest.raises(ValueError, match=rf"is in use by another nidataset run \({holder}"):
            extract_slices_dataset(str(cases), str(out), workers=1, progress=False)
    finally:
        go.set()
        thread.join(WAIT)
    assert first["result"].summary() == "3 of 3 files done, 19 slices written"  # type: ignore[attr-defined]
    check_complete(out, cases)


def test_runs_of_different_views_into_one_folder_meet_the_same_error(
    cases: Path, tmp_path: Path, paused_writes
) -> None:  # type: ignore[no-untyped-def]
    started, go = paused_writes
    out = tmp_path / "out"
    thread = threading.Thread(target=extract_slices_dataset, args=(str(cases), str(out), "axial"))
    thread.start()
    try:
        assert started.wait(WAIT)
        with pytest.raises(ValueError, match="in use by another nidataset run"):
            extract_slices_dataset(str(cases), str(out), "coronal", progress=False)
    finally:
        go.set()
        thread.join(WAIT)


HOLDER = """
import sys, time
from nidataset.batch.lock import take_lock
take_lock(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


def hold_lock_in_child(out: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    return child


def test_the_command_line_exits_2_naming_the_holder_while_another_process_holds_the_folder(
    cases: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    child = hold_lock_in_child(out)
    try:
        assert main(["slices", str(cases), str(out), "--quiet"]) == 2
    finally:
        child.kill()
        child.wait()
    err = capsys.readouterr().err
    assert f"is in use by another nidataset run (pid {child.pid} on host {socket.gethostname()}" in err
    assert "Traceback" not in err and not list(out.rglob("*.tif"))


def test_a_lock_left_by_a_killed_run_is_taken_over_and_its_temporaries_removed(
    cases: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    child = hold_lock_in_child(out)
    child.send_signal(signal.SIGKILL)
    child.wait()
    stale = out / "case_001" / "axial" / ".case_001_axial_000.tif.0123456789ab.partial"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a slice")
    assert (out / ".nidataset" / "lock").read_text().startswith('{"pid": ')
    result = extract_slices_dataset(str(cases), str(out), progress=False)
    assert result.summary() == "3 of 3 files done, 19 slices written"
    check_complete(out, cases)


def test_the_lock_is_released_when_a_run_fails_or_is_interrupted(
    cases: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    real = images.write_parts
    for stop in (KeyboardInterrupt(), OSError(errno.EROFS, "Read-only file system")):

        def stopping(path: str, parts: list[bytes], stop: BaseException = stop) -> None:
            raise stop

        monkeypatch.setattr(images, "write_parts", stopping)
        with pytest.raises((KeyboardInterrupt, OutputError)):
            extract_slices_dataset(str(cases), str(out), workers=2, progress=False)
        assert not (out / ".nidataset" / "lock").exists()
    monkeypatch.setattr(images, "write_parts", real)
    extract_slices_dataset(str(cases), str(out), progress=False)
    check_complete(out, cases)


def test_two_runs_started_together_never_lose_a_slice(cases: Path, tmp_path: Path) -> None:
    """Stress: two runs into one folder at once, 40 times: each either completes or is refused."""
    out = tmp_path / "out"
    refused = 0
    for round_ in range(40):
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def run(barrier: threading.Barrier = barrier, outcomes: list[object] = outcomes) -> None:
            barrier.wait(WAIT)
            try:
                outcomes.append(extract_slices_dataset(str(cases), str(out), workers=2, progress=False))
            except ValueError as error:
                assert "in use by another nidataset run" in str(error)
                outcomes.append("refused")

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert len(outcomes) == 2 and outcomes.count("refused") < 2, round_
        refused += outcomes.count("refused")
        for outcome in outcomes:
            if outcome != "refused":
                assert outcome.summary() == "3 of 3 files done, 19 slices written"  # type: ignore[attr-defined]
        check_complete(out, cases)
    assert refused > 0  # the runs did meet


def test_two_command_line_runs_started_together_never_lose_a_slice(cases: Path, tmp_path: Path) -> None:
    """Stress with real processes: exit 0 and a complete folder, or exit 2 naming the holder."""
    for number in range(40):
        write_volume(cases / f"more_{number:03d}.nii.gz", ramp((16, 16, 6)))
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "nidataset",
        "slices",
        str(cases),
        str(out),
        "--workers",
        "2",
        "--no-report",
    ]
    for _ in range(3):
        children = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        done = [(child.wait(60), child.communicate()[1]) for child in children]
        assert sorted(code for code, _ in done) in ([0, 0], [0, 2]), done
        for code, err in done:
            if code == 2:
                # the holder is named once it has written itself into the lock, else it is starting
                holder = r"\((pid \d+ on host |a run that is starting\))"
                assert re.search(r"in use by another nidataset run " + holder, err), err
        check_complete(out, cases)


def test_a_run_with_a_lock_file_of_a_live_process_on_a_file_system_without_locks_is_refused(
    cases: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Without kernel locks (some network file systems), the holder's pid and host decide."""
    from nidataset.batch import lock

    monkeypatch.setattr(lock, "_kernel_lock", lambda descriptor: None)
    out = tmp_path / "out"
    (out / ".nidataset").mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = f'{{"pid": {sleeper.pid}, "host": "{socket.gethostname()}", "started": "today"}}'
        (out / ".nidataset" / "lock").write_text(holder)
        with pytest.raises(ValueError, match=textwrap.dedent(rf"pid {sleeper.pid} .*remove '.*lock'")):
            extract_slices_dataset(str(cases), str(out), progress=False)
    finally:
        sleeper.kill()
        sleeper.wait()
    extract_slices_dataset(str(cases), str(out), progress=False)  # its process is gone: taken over
    check_complete(out, cases)
