"""Running one child process and measuring its peak memory; describing the machine and the checkout.

Peak memory is the larger of two measures: the child's own ``ru_maxrss`` from ``wait4`` (exact, but
of one process), and the peak of the resident memory summed over the child's process tree, sampled
from ``/proc`` every :data:`POLL_SECONDS` (covers contenders that spawn processes).

The machine may be shared: the CPU time that other processes (and the hypervisor, as steal time) took
while a child ran is measured too, from ``/proc/stat`` less the child's and this process's own time.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.02
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
TICK_SECONDS = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ChildRun:
    """How a child ended, the peak resident memory of its process tree, and the others' CPU load."""

    returncode: int
    peak_bytes: int
    other_load: float  # CPU seconds taken by other processes per second of the child's life (cores)


def run_child(command: list[str], env: dict[str, str], log: Path) -> ChildRun:
    """Run ``command`` with stdout and stderr to ``log``; wait for it while sampling its memory."""
    with open(log, "wb") as output:
        busy_before, own_before, start = busy_seconds(), own_seconds(), time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    tree_peak = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        tree_peak = max(tree_peak, tree_rss(process.pid))
        time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - start
    others = busy_seconds() - busy_before - (own_seconds() - own_before) - usage.ru_utime - usage.ru_stime
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return ChildRun(process.returncode, max(tree_peak, usage.ru_maxrss * 1024), max(0.0, others) / wall)


@dataclass
class QuietGate:
    """Waits, within a total budget of seconds, until other processes leave the CPU (almost) idle."""

    threshold: float  # cores that other processes may take
    budget: float  # seconds of waiting left for the whole benchmark

    def wait(self) -> None:
        while self.budget > 0:
            start = time.perf_counter()
            load = others_load()
            self.budget -= time.perf_counter() - start
            if load <= self.threshold:
                return


def others_load(window: float = 0.5) -> float:
    """Cores that other processes take now, measured over ``window`` seconds."""
    busy, own, start = busy_seconds(), own_seconds(), time.perf_counter()
    time.sleep(window)
    return (busy_seconds() - busy - (own_seconds() - own)) / (time.perf_counter() - start)


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (user, system, interrupts, steal) since boot."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) * TICK_SECONDS


def own_seconds() -> float:
    """CPU seconds used by this process (the polling), so that it does not count as another's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants now (0 for those already gone)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        total += _rss(current)
        pending.extend(_children(current))
    return total


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                children.extend(int(child) for child in listing.read().split())
        except OSError:
            continue
    return children


# ----------------------------------------------------------------------------------- machine, checkout
def machine_lines() -> list[str]:
    """Date, CPU, cores, memory, OS and Python of this machine, one fact per line."""
    return [
        f"date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"CPU: {cpu_model()}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable)",
        f"RAM: {memory_total() / 2**30:.1f} GiB; OS: {platform.platform()}",
        f"Python: {platform.python_version()} ({sys.executable})",
    ]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_total() -> int:
    return os.sysconf("SC_PHYS_PAGES") * PAGE_BYTES


def snapshot(src: Path, into: Path) -> str:
    """Copy ``src`` to ``into`` (every child then runs the same code); return a hash of its files."""
    shutil.copytree(src, into, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    digest = hashlib.sha256()
    for path in sorted(p for p in into.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(into)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def snapshot_revision(repo: Path, commit: str, into: Path, scratch: Path) -> str:
    """``git archive COMMIT src | tar -x``, then the same copy as :func:`snapshot`; its hash."""
    archive = scratch / "archive"
    archive.mkdir()
    try:
        git = subprocess.Popen(["git", "-C", str(repo), "archive", commit, "src"], stdout=subprocess.PIPE)
        tar = subprocess.run(["tar", "-x", "-C", str(archive)], stdin=git.stdout, check=False)
        assert git.stdout is not None
        git.stdout.close()
        if git.wait() != 0 or tar.returncode != 0 or not (archive / "src").is_dir():
            raise RuntimeError(
                f"git archive {commit} src | tar -x failed (git {git.returncode}, tar {tar.returncode})"
            )
        return snapshot(archive / "src", into)
    finally:
        shutil.rmtree(archive, ignore_errors=True)


def filesystem_of(path: Path) -> str:
    """``<type> on <device>`` of the mount that holds ``path``, from /proc/mounts."""
    best = ("", "unknown file system", "")
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                device, point, kind = line.split()[:3]
                inside = str(path).startswith(point.rstrip("/") + "/") or str(path) == point
                if inside and len(point) > len(best[0]):
                    best = (point, kind, device)
    except OSError:
        pass
    return f"{best[1]} on {best[2]}" if best[2] else best[1]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def commit_of(repo: Path) -> str:
    return git(repo, "rev-parse", "--short", "HEAD") or "unknown"


def checkout_line(repo: Path) -> str:
    """The commit benchmarked and whether ``src`` (or anything else) differs from it."""
    commit = commit_of(repo)
    src_dirty = bool(git(repo, "status", "--porcelain", "--", "src"))
    tree_dirty = bool(git(repo, "status", "--porcelain"))
    state = "src/ modified" if src_dirty else "src/ clean"
    return f"commit: {commit} ({state}; tree {'dirty' if tree_dirty else 'clean'})"
