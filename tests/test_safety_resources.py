"""Issue 13, findings 6 and 9: memory-limited containers, file descriptors, a file in a folder's way."""

from __future__ import annotations

import builtins
import errno
import gzip
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SHAPE, nifti_bytes, ramp, write_volume
from nidataset import extract_slices_dataset
from nidataset.batch import memory
from nidataset.cli import main
from nidataset.errors import OutputError

MiB, GiB = 1 << 20, 1 << 30


# --- finding 6: the memory budget reads the cgroup's limit ----------------------------------------------


def fake_system(tmp_path: Path, cgroup: str, mounts: list[str], files: dict[str, str]) -> tuple[str, str]:
    """A /proc/self (its ``cgroup`` and ``mountinfo``), a /proc/meminfo and cgroup files under tmp_path;
    ``{ROOT}`` in the texts is tmp_path."""
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text(cgroup)
    (proc / "mountinfo").write_text("".join(m.replace("{ROOT}", str(tmp_path)) + "\n" for m in mounts))
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal: {64 * GiB // 1024} kB\nMemAvailable: {8 * GiB // 1024} kB\n")
    return str(meminfo), str(proc)


V1_UNLIMITED = "9223372036854771712"


def test_cgroup_v2_limit_minus_usage_of_the_tightest_ancestor(tmp_path: Path) -> None:
    meminfo, proc = fake_system(
        tmp_path,
        "0::/kubepods/pod1/container\n",
        ["30 23 0:26 / {ROOT}/cg rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate"],
        {
            "cg/kubepods/pod1/container/memory.max": "max\n",
            "cg/kubepods/pod1/container/memory.current": "123\n",
            "cg/kubepods/pod1/memory.max": f"{GiB}\n",
            "cg/kubepods/pod1/memory.current": f"{600 * MiB}\n",
            "cg/kubepods/pod1/memory.stat": f"anon {400 * MiB}\ninactive_file {100 * MiB}\n",
            "cg/kubepods/memory.max": f"{32 * GiB}\n",
            "cg/kubepods/memory.current": f"{10 * GiB}\n",
        },
    )
    assert memory.cgroup_available(proc) == GiB - (600 - 100) * MiB  # the inactive file cache is reclaimable
    assert memory.memory_available(meminfo, proc) == 524 * MiB  # less than the machine's 8 GiB


def test_cgroup_v1_memory_controller_and_a_hybrid_system(tmp_path: Path) -> None:
    meminfo, proc = fake_system(
        tmp_path,
        "12:pids:/docker/abc\n4:memory:/docker/abc\n0::/\n",
        [
            "35 31 0:32 / {ROOT}/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
            "33 31 0:30 / {ROOT}/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
            "41 31 0:38 / {ROOT}/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
        ],
        {
            "cgroup/memory/docker/abc/memory.limit_in_bytes": f"{2 * GiB}\n",
            "cgroup/memory/docker/abc/memory.usage_in_bytes": f"{1536 * MiB}\n",
            "cgroup/memory/docker/abc/memory.stat": f"inactive_file 2\ntotal_inactive_file {256 * MiB}\n",
            "cgroup/memory/docker/memory.limit_in_bytes": V1_UNLIMITED,
            "cgroup/memory/docker/memory.usage_in_bytes": f"{5 * GiB}",
            "cgroup/memory/memory.limit_in_bytes": V1_UNLIMITED,
            "cgroup/memory/memory.usage_in_bytes": f"{9 * GiB}",
            "cgroup/cpu/docker/abc/memory.limit_in_bytes": "1",  # not the memory controller: ignored
        },
    )
    assert memory.cgroup_available(proc) == 2 * GiB - (1536 - 256) * MiB
    assert memory.memory_available(meminfo, proc) == 768 * MiB


@pytest.mark.parametrize("version", [1, 2])
def test_a_container_whose_cgroup_is_the_mount_root(tmp_path: Path, version: int) -> None:
    """Docker without a cgroup namespace (v1: the mount's root is the container's cgroup) or with one
    (v2: the process sees itself at ``/``); a mount point holding a space, as mountinfo escapes it."""
    if version == 1:
        cgroup, kind = (
            "4:memory:/docker/abc\n",
            "/docker/abc {ROOT}/with\\040space rw - cgroup cgroup rw,memory",
        )
        files = {"memory.limit_in_bytes": f"{GiB}", "memory.usage_in_bytes": f"{GiB // 4}"}
    else:
        cgroup, kind = "0::/\n", "/ {ROOT}/with\\040space rw shared:4 - cgroup2 cgroup2 rw"
        files = {"memory.max": f"{GiB}", "memory.current": f"{GiB // 4}"}
    _, proc = fake_system(
        tmp_path, cgroup, [f"40 31 0:40 {kind}"], {f"with space/{name}": text for name, text in files.items()}
    )
    assert memory.cgroup_available(proc) == 3 * GiB // 4


def test_without_a_limit_the_machine_decides(tmp_path: Path) -> None:
    meminfo, proc = fake_system(
        tmp_path,
        "0::/user.slice\n",
        ["30 23 0:26 / {ROOT}/cg rw - cgroup2 cgroup2 rw"],
        {"cg/user.slice/memory.max": "max\n", "cg/user.slice/memory.current": f"{GiB}\n"},
    )
    assert memory.cgroup_available(proc) is None
    assert memory.memory_available(meminfo, proc) == 8 * GiB
    assert memory.cgroup_available(str(tmp_path / "no-proc")) is None  # not Linux, or no /proc


def test_a_limit_above_the_machines_free_memory_does_not_raise_the_budget(tmp_path: Path) -> None:
    meminfo, proc = fake_system(
        tmp_path,
        "0::/big\n",
        ["30 23 0:26 / {ROOT}/cg rw - cgroup2 cgroup2 rw"],
        {"cg/big/memory.max": f"{100 * GiB}\n", "cg/big/memory.current": "0\n"},
    )
    assert memory.memory_available(meminfo, proc) == 8 * GiB


def own_memory_cgroup(limit: int) -> tuple[Path, int] | None:
    """A new child of this process's memory cgroup with ``limit`` bytes, or None if not allowed here."""
    for folder, version in memory._cgroup_folders("/proc/self"):
        limit_file = "memory.limit_in_bytes" if version == 1 else "memory.max"
        if not os.path.exists(os.path.join(folder, limit_file)):
            continue
        child = Path(folder) / f"nidataset-test-{os.getpid()}"
        try:
            child.mkdir()
        except OSError:
            return None
        try:
            (child / limit_file).write_text(str(limit))
        except OSError:
            child.rmdir()
            return None
        return child, version
    return None


def big_gzip_volume(path: Path, shape: tuple[int, int, int]) -> None:
    """A gzip-compressed int16 volume of zeros, written without holding it in memory."""
    header = nifti_bytes(np.zeros((1, 1, 1), np.int16), shape=shape)[:352]
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write(header)
        left = int(np.prod(shape)) * 2
        block = bytes(4 * MiB)
        while left:
            stream.write(block[: min(left, len(block))])
            left -= min(left, len(block))


@pytest.mark.skipif(sys.platform != "linux", reason="cgroups are Linux's")
def test_in_a_real_memory_limited_cgroup_a_too_large_volume_is_skipped_not_killed(tmp_path: Path) -> None:
    limit = 160 * MiB
    made = own_memory_cgroup(limit)
    if made is None:
        pytest.skip("cannot create a memory cgroup here (needs root and a writable cgroup file system)")
    group, _ = made
    try:
        folder = tmp_path / "in"
        folder.mkdir()
        big_gzip_volume(folder / "big.nii.gz", (512, 512, 400))  # 200 MiB of voxels: more than the limit
        write_volume(folder / "small.nii.gz", ramp())
        script = textwrap.dedent(f"""
            import os, sys
            with open({str(group / "cgroup.procs")!r}, "w") as procs:
                procs.write(str(os.getpid()))
            from nidataset.batch.memory import memory_available
            print("budget", memory_available(), flush=True)
            from nidataset.cli import main
            sys.exit(main(["slices", {str(folder)!r}, {str(tmp_path / "out")!r}, "--view", "coronal",
                           "--workers", "1", "--no-report"]))
        """)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    finally:
        group.rmdir()
    budget = int(done.stdout.split()[1])
    assert 0 < budget < limit, done.stdout
    assert done.returncode == 1, (done.returncode, done.stderr)  # not -9: the kernel killed nothing
    failed = pd.read_csv(tmp_path / "out" / "slices_failed.csv")
    assert list(failed["FILENAME"]) == ["big.nii.gz"]
    assert re.fullmatch(  # the coronal stack and one 32 MB slab: no whole volume besides (issue 23)
        r"too large: shape \(512, 512, 400\) needs 0\.2 GiB of memory, 0\.\d GiB available",
        failed["REASON"][0],
    )
    assert len(list((tmp_path / "out" / "small").rglob("*.tif"))) == SHAPE[1]


# --- finding 9: a file where one volume's folder goes ----------------------------------------------------


@pytest.fixture
def three(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        write_volume(folder / f"{name}.nii.gz", ramp())
    return folder


def test_a_file_where_one_volumes_folder_goes_skips_that_volume(three: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    (out / "b").write_text("a file of mine named like a case folder")
    assert main(["slices", str(three), str(out), "--quiet"]) == 1
    failed = pd.read_csv(out / "slices_failed.csv")
    assert list(failed["FILENAME"]) == ["b.nii.gz"]
    assert failed["REASON"][0] == "cannot create the folder 'b/axial': Not a directory (a file is in the way)"
    assert (out / "b").read_text() == "a file of mine named like a case folder"
    assert len(list(out.rglob("*.tif"))) == 2 * SHAPE[2]


def test_a_folder_where_one_slice_file_goes_skips_that_volume(three: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "c" / "axial" / "c_axial_002.tif").mkdir(parents=True)
    result = extract_slices_dataset(str(three), str(out), progress=False)
    (skipped,) = result.skipped
    assert skipped.name == "c.nii.gz" and skipped.reason == "cannot write 'c_axial_002.tif': Is a directory"
    assert [p.name for p in (out / "c" / "axial").iterdir()] == ["c_axial_002.tif"]  # rolled back


# --- finding 9: running out of file descriptors ------------------------------------------------------------


def failing_open_once(monkeypatch, victim: str, error: int = errno.EMFILE, times: int = 1):  # type: ignore[no-untyped-def]
    """``open`` of the reader raises ``error`` for ``victim`` ``times`` times, from its second opening
    on (the first is the header check before the run, which stops at once on such an error)."""
    from nidataset.io import streams  # where input files are opened

    left, seen = [times], [0]

    def opening(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.path.basename(path) == victim:
            seen[0] += 1
            if seen[0] > 1 and left[0] > 0:
                left[0] -= 1
                raise OSError(error, os.strerror(error), path)
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(streams, "open", opening, raising=False)
    return left


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("error", [errno.EMFILE, errno.ENFILE], ids=["EMFILE", "ENFILE"])
def test_too_many_open_files_is_retried_not_a_files_reason(
    three: Path, tmp_path: Path, monkeypatch, workers: int, error: int
) -> None:  # type: ignore[no-untyped-def]
    left = failing_open_once(monkeypatch, "b.nii.gz", error)
    result = extract_slices_dataset(str(three), str(tmp_path / "out"), workers=workers, progress=False)
    assert left == [0]
    assert result.summary() == f"3 of 3 files done, {3 * SHAPE[2]} slices written"


def test_too_many_open_files_while_writing_is_retried(three: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = os.open
    left = [1]

    def opening(path, flags, *args):  # type: ignore[no-untyped-def]
        if ".partial" in os.fspath(path) and "c_axial" in os.fspath(path) and left[0]:
            left[0] -= 1
            raise OSError(errno.EMFILE, "Too many open files", path)
        return real(path, flags, *args)

    monkeypatch.setattr(os, "open", opening)
    result = extract_slices_dataset(str(three), str(tmp_path / "out"), workers=2, progress=False)
    assert left == [0] and result.summary() == f"3 of 3 files done, {3 * SHAPE[2]} slices written"


def test_too_many_open_files_again_stops_the_run_with_a_clear_error(
    three: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    failing_open_once(monkeypatch, "b.nii.gz", times=2)
    with pytest.raises(OutputError, match=r"Too many open files") as raised:
        extract_slices_dataset(str(three), str(tmp_path / "out"), workers=2, progress=False)
    assert raised.value.errno == errno.EMFILE


def test_absurd_worker_counts_are_refused_naming_the_limit(three: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["slices", str(three), str(tmp_path / "out"), "--workers", "100000"]) == 2
    assert "workers must be at most" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from nidataset.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")
def test_under_a_low_open_file_limit_workers_are_capped_and_refused(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for number in range(24):
        write_volume(folder / f"case_{number:02d}.nii.gz", ramp((8, 8, 3)))

    def run(limit: int, *options: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", LIMITED, str(limit), "slices", str(folder), str(tmp_path / "out")]
        return subprocess.run(
            [*command, "--no-report", *options], capture_output=True, text=True, timeout=120
        )

    refused = run(48, "--workers", "16")
    assert refused.returncode == 2
    assert "workers must be at most 4 with this process's open-file limit of 48 (ulimit -n" in refused.stderr
    done = run(48)  # all cores, as many as the limit allows
    assert done.returncode == 0, done.stderr
    assert "Too many open files" not in done.stderr
    assert len(list((tmp_path / "out").rglob("*.tif"))) == 24 * 3
