"""The output lock without kernel locks (NFS's ENOLCK simulated): forced interleavings of two runs.

Each test pauses one run at a chosen step (a monkeypatched function waits on an event), lets the
other run go through, then resumes the first: exactly one of them may hold the folder.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nidataset.batch import lock
from nidataset.errors import OutputError

WAIT = 30


@pytest.fixture
def no_flock(monkeypatch: pytest.MonkeyPatch) -> None:
    """``flock`` fails as on an NFS mount without a lock daemon."""

    def refuse(descriptor: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", refuse)


def dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def stale_lock(out: Path) -> None:
    """Leave in ``out`` the lock file of a run on this host whose process has ended."""
    (out / ".nidataset").mkdir(parents=True)
    stale = {"pid": dead_pid(), "host": socket.gethostname(), "started": "yesterday"}
    (out / ".nidataset" / "lock").write_text(json.dumps(stale))


def paused_once(
    real: Callable[..., Any], reached: threading.Event, go: threading.Event, *, before: bool = False
) -> Callable[..., Any]:
    """``real``, except that its first call signals ``reached`` and waits for ``go`` (after running
    ``real``, or ``before`` it)."""
    calls: list[int] = []

    def pause() -> None:
        calls.append(1)
        if len(calls) == 1:
            reached.set()
            assert go.wait(WAIT)

    def wrapper(*args: Any) -> Any:
        if before:
            pause()
        result = real(*args)
        if not before:
            pause()
        return result

    return wrapper


def race(out: Path) -> tuple[list[object], threading.Event, threading.Event, threading.Thread]:
    """Start run A in a thread; the caller runs B once A is paused, then releases A."""
    reached, go = threading.Event(), threading.Event()
    outcomes: list[object] = []

    def run() -> None:
        try:
            outcomes.append(lock.take_lock(str(out)))
        except ValueError as error:
            outcomes.append(error)

    return outcomes, reached, go, threading.Thread(target=run)


def second_run(out: Path) -> object:
    try:
        return lock.take_lock(str(out))
    except ValueError as error:
        return error


def finish(thread: threading.Thread, go: threading.Event, outcomes: list[object], other: object) -> None:
    go.set()
    thread.join(WAIT)
    held = [o for o in [*outcomes, other] if isinstance(o, lock.OutputLock)]
    refused = [o for o in [*outcomes, other] if isinstance(o, ValueError)]
    for holder in held:
        holder.release()
    assert len(held) == 1 and len(refused) == 1, [*outcomes, other]
    assert "in use by another nidataset run" in str(refused[0])


def test_two_fresh_runs_without_flock_paused_before_writing_their_holder_take_one_lock(
    tmp_path: Path, no_flock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run A is paused just before it writes who it is; run B then meets A's lock file and is refused."""
    out = tmp_path / "out"
    outcomes, reached, go, thread = race(out)
    monkeypatch.setattr(lock, "_write_holder", paused_once(lock._write_holder, reached, go, before=True))
    thread.start()
    assert reached.wait(WAIT)
    finish(thread, go, outcomes, second_run(out))


def test_two_runs_taking_over_a_dead_holders_lock_without_flock_take_one_lock(
    tmp_path: Path, no_flock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both see a dead holder; A is paused after deciding so, B takes over, then A must not."""
    out = tmp_path / "out"
    stale_lock(out)
    outcomes, reached, go, thread = race(out)
    monkeypatch.setattr(lock, "_alive", paused_once(lock._alive, reached, go))
    thread.start()
    assert reached.wait(WAIT)
    other = second_run(out)
    assert isinstance(other, lock.OutputLock), other
    finish(thread, go, outcomes, other)


def test_a_lock_without_flock_whose_holder_is_gone_is_taken_over_and_rewritten(
    tmp_path: Path, no_flock: None
) -> None:
    out = tmp_path / "out"
    stale_lock(out)
    taken = lock.take_lock(str(out))
    holder = json.loads((out / ".nidataset" / "lock").read_text())
    assert holder["pid"] == os.getpid() and not (out / ".nidataset" / "lock.takeover").exists()
    taken.release()
    assert not (out / ".nidataset").exists()


def test_a_takeover_marker_left_behind_refuses_the_run_saying_what_to_remove(
    tmp_path: Path, no_flock: None
) -> None:
    out = tmp_path / "out"
    stale_lock(out)
    (out / ".nidataset" / "lock.takeover").write_text("")
    with pytest.raises(ValueError, match=r"in use by another nidataset run .*remove '.*lock\.takeover'"):
        lock.take_lock(str(out))


def test_an_empty_lock_file_without_flock_is_a_run_that_is_starting(tmp_path: Path, no_flock: None) -> None:
    out = tmp_path / "out"
    (out / ".nidataset").mkdir(parents=True)
    (out / ".nidataset" / "lock").write_text("")
    with pytest.raises(ValueError, match=r"a run that is starting.*remove '.*lock'"):
        lock.take_lock(str(out))


def test_with_flock_a_run_meeting_a_fresh_empty_lock_file_and_its_creator_take_one_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A creates the file and is paused before its flock; B flocks it first: A must then refuse."""
    out = tmp_path / "out"
    outcomes, reached, go, thread = race(out)
    real = lock._kernel_lock
    first: list[int] = []

    def late(descriptor: int) -> bool | None:
        if not first:
            first.append(descriptor)
            reached.set()
            assert go.wait(WAIT)
        return real(descriptor)

    monkeypatch.setattr(lock, "_kernel_lock", late)
    thread.start()
    assert reached.wait(WAIT)
    finish(thread, go, outcomes, second_run(out))


def test_a_read_only_output_folder_is_an_output_error_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    (out / ".nidataset").mkdir(parents=True)
    real = os.open

    def read_only(path: Any, flags: int, *args: Any) -> int:
        if str(path).endswith("lock") and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OutputError, match=r"output_path '.*out' is read-only"):
        lock.take_lock(str(out))
