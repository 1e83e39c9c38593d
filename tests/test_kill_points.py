"""Issue 14: ``kill -9`` at random points of a run, in case and view mode, with files and with shards.

After the kill, every file under a final name is whole (byte for byte what an uninterrupted run
writes): staging folders, unnamed files and hidden temporaries may hold a half-written slice, nothing
else may. Then ``resume`` completes the tree to exactly the uninterrupted run's, records included.

A kill lands inside the k-th write (of a slice, a shard's member or a record; the child writes half
its bytes, then kills itself), for random k; at the k-th record write, for a random k (after a view is
in place, before its record says so); or at a random time of the run, from outside.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import all_files, write_volume
from nidataset import extract_slices_dataset
from nidataset.io.atomic import is_temporary_name

#: (saving mode, container, views): each sink, the streamed and the whole-volume paths.
SETUPS = [
    ("case", "files", ["axial"]),
    ("case", "files", ["axial", "coronal"]),
    ("view", "files", ["axial", "coronal"]),
    ("case", "webdataset", ["axial", "coronal"]),
    ("view", "webdataset", ["axial"]),
]
KILLS = 6  # random write counts per setup, and one random time

CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from nidataset import extract_slices_dataset
    from nidataset.batch import records
    from nidataset.io import atomic, images, shards

    spec = json.loads(sys.argv[1])
    calls = [0]

    def dying(record=False) -> bool:
        if spec["records_only"] and not record:
            return False
        calls[0] += 1
        return calls[0] == spec["kill_at"]

    def half(descriptor, parts):
        data = b"".join(bytes(part) for part in parts)
        os.write(descriptor, data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)

    real_parts, real_all, real_text = images.write_parts, shards.write_all, records.write_text

    def write_parts(path, parts):
        if dying():
            half(atomic.open_temporary(path), parts)
        return real_parts(path, parts)

    def write_all(descriptor, parts):
        if dying():
            half(descriptor, parts)
        return real_all(descriptor, parts)

    def write_text(path, text):
        if dying(record=True):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_text(path, text)

    images.write_parts, shards.write_all, records.write_text = write_parts, write_all, write_text
    extract_slices_dataset(spec["inputs"], spec["out"], workers=1, progress=False, **spec["options"])
""")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five int16 volumes of different lengths."""
    folder = tmp_path_factory.mktemp("volumes")
    rng = np.random.default_rng(14)
    for number, depth in enumerate([12, 30, 7, 21, 16]):
        data = rng.integers(-1000, 1000, size=(24, 18, depth), dtype=np.int16)
        write_volume(folder / f"case_{number}.nii.gz", data)
    return folder


def options_of(saving_mode: str, container: str, views: list[str]) -> dict[str, object]:
    return {"view": views, "saving_mode": saving_mode, "container": container, "save_stats": True}


def visible(folder: Path) -> dict[str, bytes]:
    """The files under final names: not temporaries, not inside staging folders, not the records."""
    return {
        name: data
        for name, data in all_files(folder).items()
        if not any(is_temporary_name(part) for part in Path(name).parts) and not name.startswith(".nidataset")
    }


def counted_reference(  # type: ignore[no-untyped-def]
    inputs: Path, out: Path, options: dict[str, object], monkeypatch
) -> tuple[Counter[str], float]:
    """Run uninterrupted into ``out``; return the writes the child counts (all, records), and the time."""
    from nidataset.batch import records
    from nidataset.io import images, shards

    calls: Counter[str] = Counter()

    def counting(real):  # type: ignore[no-untyped-def]
        def wrapper(*args):  # type: ignore[no-untyped-def]
            calls["all"] += 1
            calls["records"] += real.__name__ == "write_text"
            return real(*args)

        return wrapper

    for module, name in ((images, "write_parts"), (shards, "write_all"), (records, "write_text")):
        monkeypatch.setattr(module, name, counting(getattr(module, name)))
    start = time.monotonic()
    extract_slices_dataset(str(inputs), str(out), workers=1, progress=False, **options)  # type: ignore[arg-type]
    seconds = time.monotonic() - start
    monkeypatch.undo()
    return calls, seconds


def run_child(
    inputs: Path,
    out: Path,
    options: dict[str, object],
    kill_at: int | None,
    after: float | None,
    records_only: bool,
) -> int:
    spec = {"inputs": str(inputs), "out": str(out), "options": options, "kill_at": kill_at}
    spec["records_only"] = records_only
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(spec)], stderr=subprocess.PIPE)
    if after is not None:
        lock = out / ".nidataset" / "lock"
        deadline = time.monotonic() + 30
        while not lock.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(after)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
    _, err = child.communicate(timeout=60)
    assert b"Traceback" not in err, err.decode()
    return child.returncode


@pytest.mark.parametrize(
    "saving_mode,container,views", SETUPS, ids=["-".join([s, c, *v]) for s, c, v in SETUPS]
)
def test_kill_9_anywhere_leaves_nothing_truncated_and_resume_completes_the_same_tree(
    inputs, tmp_path, monkeypatch, saving_mode, container, views
):
    options = options_of(saving_mode, container, views)
    reference = tmp_path / "reference"
    writes, seconds = counted_reference(inputs, reference, options, monkeypatch)
    expected = all_files(reference)
    chooser = random.Random(f"{saving_mode}{container}{views}")
    points: list[tuple[int | None, float | None, bool]] = [
        (chooser.randint(1, writes["all"]), None, False) for _ in range(KILLS)
    ]
    points += [
        (chooser.randint(1, writes["records"]), None, True),
        (None, chooser.uniform(0, seconds), False),
    ]
    for number, (kill_at, after, records_only) in enumerate(points):
        out = tmp_path / f"killed_{number}"
        code = run_child(inputs, out, options, kill_at, after, records_only)
        if kill_at is not None:
            assert code == -signal.SIGKILL, (kill_at, records_only, writes)
        for name, data in visible(out).items():
            assert data == expected[name], f"{name} is not whole after a kill at write {kill_at} / {after} s"
        result = extract_slices_dataset(
            str(inputs), str(out), resume=True, workers=1, progress=False, **options
        )  # type: ignore[arg-type]
        assert not result.skipped
        assert all_files(out) == expected, (kill_at, after)
