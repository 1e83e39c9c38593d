"""Issue 13 on the command line: the demo's folder, dead pipes, a scheduler that is not one, exit codes."""

from __future__ import annotations

import gzip
import http.server
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import nifti_bytes, ramp, write_volume
from nidataset import extract_slices_dataset
from nidataset.cli import build_parser, main

COMMAND = [sys.executable, "-m", "nidataset"]


# --- finding 5: the demo never writes over a user's files ---------------------------------------------------


def test_the_demo_refuses_a_folder_holding_the_users_files(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    mine = tmp_path / "demo" / "volumes" / "case_001.nii.gz"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own scan")
    (tmp_path / "demo" / "volumes" / "other.nii.gz").write_bytes(gzip.compress(nifti_bytes(ramp())))
    assert main(["demo", str(tmp_path / "demo")]) == 2
    assert "is not empty and is not an earlier demo's output" in capsys.readouterr().err
    assert mine.read_bytes() == b"my own scan"
    assert sorted(p.name for p in (tmp_path / "demo").rglob("*")) == [
        "case_001.nii.gz",
        "other.nii.gz",
        "volumes",
    ]


@pytest.mark.parametrize("setup", ["file", "other-file", "fake-marker", "marker-link"])
def test_the_demo_refuses_what_is_not_an_earlier_demo(tmp_path: Path, setup: str, capsys) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "demo"
    if setup == "file":
        target.write_text("a file")
    else:
        target.mkdir()
        if setup == "other-file":
            (target / "notes.txt").write_text("mine")
        elif setup == "fake-marker":
            (target / ".nidataset-demo").write_text("something else")
        else:
            (tmp_path / "elsewhere").write_text(
                "written by `nidataset demo`; the demo may write here again\n"
            )
            (target / ".nidataset-demo").symlink_to(tmp_path / "elsewhere")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    assert main(["demo", str(target), "--quiet"]) == 2
    assert "nidataset: error: the demo's folder" in capsys.readouterr().err
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_the_demo_runs_again_over_its_own_output_but_not_over_a_file_added_to_it(
    tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "demo"
    target.mkdir()  # an empty folder is fine
    assert main(["demo", str(target), "--quiet"]) == 0
    assert main(["demo", str(target), "--quiet"]) == 0
    assert len(list((target / "slices").rglob("*_*_[0-9]*.png"))) == 664
    (target / "volumes" / "mine.nii.gz").write_bytes(b"my scan")
    assert main(["demo", str(target), "--quiet"]) == 2
    assert "is not an earlier demo's output" in capsys.readouterr().err


# --- finding 7: display is best effort ----------------------------------------------------------------------


@pytest.fixture
def twenty(tmp_path: Path) -> Path:
    """Twenty good volumes and two bad files among them."""
    folder = tmp_path / "in"
    folder.mkdir()
    for number in range(20):
        write_volume(folder / f"case_{number:03d}.nii.gz", ramp((6, 7, 4), start=number))
    (folder / "case_004_bad.nii.gz").write_bytes(b"not a volume")
    (folder / "case_015_bad.nii").write_bytes(b"")
    return folder


def check_full_run(out: Path) -> None:
    """All 20 good volumes written, both bad ones in the failure list."""
    assert len(list(out.rglob("*.tif"))) == 20 * 4
    failed = pd.read_csv(out / "slices_failed.csv")
    assert sorted(failed["FILENAME"]) == ["case_004_bad.nii.gz", "case_015_bad.nii"]


def test_a_closed_stderr_changes_nothing(twenty: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        ["sh", "-c", 'exec "$@" 2>&-', "sh", *COMMAND, "slices", str(twenty), str(out), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout
    assert "20 of 22 files done, 80 slices written, 2 skipped" in done.stdout
    check_full_run(out)
    assert not [
        p for p in out.rglob("*") if p.stat().st_size and p.suffix == ".tif" and b"skipped" in p.read_bytes()
    ]


@pytest.mark.parametrize("stream", ["stdout", "stderr", "both"])
def test_a_reader_that_went_away_changes_nothing(twenty: Path, tmp_path: Path, stream: str) -> None:
    """The pipe's reading end is closed before the run writes anything: every write gets EPIPE."""
    out = tmp_path / "out"
    pipes = {
        name: subprocess.PIPE if stream in (name, "both") else subprocess.DEVNULL
        for name in ("stdout", "stderr")
    }
    child = subprocess.Popen([*COMMAND, "slices", str(twenty), str(out), "--workers", "1"], **pipes)  # type: ignore[call-overload]
    for pipe in (child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()
    assert child.wait(120) == 1
    check_full_run(out)


def test_a_log_reader_that_stops_after_one_line_changes_nothing(twenty: Path, tmp_path: Path) -> None:
    """``nidataset ... 2>&1 | head -1``: the run's exit code is the run's (pipefail shows it)."""
    out = tmp_path / "out"
    script = 'set -o pipefail; "$@" 2>&1 | head -1 >/dev/null; echo "status ${PIPESTATUS[0]}"'
    done = subprocess.run(
        ["bash", "-c", script, "bash", *COMMAND, "slices", str(twenty), str(out), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "status 1", done.stderr
    check_full_run(out)


def test_the_display_goes_quiet_on_a_closed_stream(twenty: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    closed = open(os.devnull, "w")  # noqa: SIM115
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    result = extract_slices_dataset(str(twenty), str(tmp_path / "out"), save_failures=True)
    assert result.summary() == "20 of 22 files done, 80 slices written, 2 skipped"
    check_full_run(tmp_path / "out")


# --- finding 8: a scheduler address that is not a scheduler ---------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[int]:
    """A plain HTTP server on localhost: it accepts TCP and never speaks Dask."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_server_that_is_not_a_scheduler_exits_2_within_the_deadline(
    http_server: int, tmp_path: Path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr("nidataset.cli.common.DASK_DEADLINE_SECONDS", 3, raising=False)
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "a.nii.gz", ramp())
    address = f"tcp://127.0.0.1:{http_server}"
    outcome: list[int] = []
    started = time.monotonic()
    thread = threading.Thread(
        target=lambda: outcome.append(
            main(["slices", str(folder), str(tmp_path / "out"), "--dask-scheduler", address])
        ),
        daemon=True,
    )
    thread.start()
    thread.join(30)
    assert outcome == [2], "the connection hung"
    assert time.monotonic() - started < 15
    err = capsys.readouterr().err
    assert f"nidataset: error: no Dask scheduler answered at {address} within 3 s" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "scheme", ["ws://127.0.0.1:{port}", "foo://127.0.0.1:{port}", "tcp://[bad", "nonsense"]
)
def test_a_malformed_scheduler_address_is_one_line_and_exit_2(
    http_server: int, tmp_path: Path, capfd, scheme: str
) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("dask.distributed")
    address = scheme.format(port=http_server)
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "a.nii.gz", ramp())
    assert main(["slices", str(folder), str(tmp_path / "out"), "--dask-scheduler", address, "--quiet"]) == 2
    err = capfd.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("nidataset: error:")]
    assert len(errors) == 1 and errors[0].startswith(
        f"nidataset: error: cannot reach the Dask scheduler at {address}: "
    )


# --- exit codes and messages ------------------------------------------------------------------------------


@pytest.fixture
def one_volume(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    write_volume(folder / "a.nii.gz", ramp())
    return folder


def test_an_empty_output_path_is_a_usage_error(one_volume: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["slices", str(one_volume), ""]) == 2
    assert "OUTPUT_PATH must name a folder; got an empty path" in capsys.readouterr().err


def test_an_output_path_that_is_a_file_is_a_usage_error(one_volume: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "file").write_text("mine")
    assert main(["slices", str(one_volume), str(tmp_path / "file")]) == 2
    assert main(["slices", str(one_volume), str(tmp_path / "file" / "out")]) == 2
    err = capsys.readouterr().err
    assert f"OUTPUT_PATH '{tmp_path / 'file'}' is a file, not a folder" in err
    assert f"OUTPUT_PATH '{tmp_path / 'file' / 'out'}' cannot be a folder" in err
    assert (tmp_path / "file").read_text() == "mine"


def test_a_pad_value_beyond_any_float_is_refused(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as stop:
        main(["slices", "in", "out", "--pad-value", "1e400"])
    assert stop.value.code == 2
    assert "argument --pad-value: '1e400' is too large for a number" in capsys.readouterr().err
    for text in ("inf", "-Infinity", "nan", "-1024", "3.4e38"):
        value = build_parser().parse_args(["slices", "in", "out", f"--pad-value={text}"]).pad_value
        assert value == float(text) or (math.isnan(value) and text == "nan")


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """Sixteen volumes of 128 x 128 x 48: enough work to stop halfway."""
    folder = tmp_path / "volumes"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for number in range(16):
        write_volume(
            folder / f"case_{number:03d}.nii.gz", rng.integers(-1000, 1000, (128, 128, 48), np.int16)
        )
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "report.html"
    }


PAUSE_AT_FOURTH = """
import sys, time
import nidataset.slices.facade as facade
from nidataset.cli import main
real, started = facade.extract_volume, []
def pausing(path, options):
    started.append(path)
    if len(started) == 4:
        time.sleep(60)  # interrupted by SIGTERM, which main() turns into an interruption
    return real(path, options)
facade.extract_volume = pausing
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_is_handled_as_ctrl_c_and_resume_finishes(many: Path, tmp_path: Path) -> None:
    reference, out = tmp_path / "reference", tmp_path / "out"
    arguments = ["slices", str(many), "--view", "axial,coronal", "--save-stats", "--workers", "1"]
    assert main([arguments[0], arguments[1], str(reference), *arguments[2:], "--quiet"]) == 0
    # The child waits at the start of its fourth volume until the signal comes: the interleaving is
    # forced, however fast the first three volumes go.
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSE_AT_FOURTH, *arguments[:2], str(out), *arguments[2:]],
        stderr=subprocess.PIPE,
        text=True,
    )
    records = out / ".nidataset" / "coronal"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if records.is_dir() and len(list(records.glob("*.json"))) >= 3:
            child.send_signal(signal.SIGTERM)
            break
        time.sleep(0.005)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert "nidataset: terminated; run the same command with --resume to finish" in err
    assert "Traceback" not in err
    assert not [p for p in out.rglob("*") if ".partial" in p.name or p.name == "lock"]
    assert len(list(records.glob("*.json"))) < 16
    assert main([arguments[0], arguments[1], str(out), *arguments[2:], "--resume", "--quiet"]) == 0
    assert files_of(out) == files_of(reference)


def test_sigterm_handling_ends_with_the_command(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert main(["slices", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert signal.getsignal(signal.SIGTERM) is before
