"""Benchmark the namespace operations per slice, on the local disk and on a 1 ms file system (issue 14).

One command, from the repository root, with the development venv::

    python benchmarks/namespace.py [--quick] [--runs 3] [--workers 2] [--delay-ms 1] [--base fdd9ca9]

On the CT dataset of ``bench.py`` (8 volumes 512 x 512 x 160, axial; ``--quick``: 4 volumes 256 x 256
x 64), built once and cached, it runs, interleaved run by run, each contender in a fresh interpreter:

* ``old files``: the per-file writes of revision ``--base`` (default fdd9ca9, before issue 14: a
  hidden temporary and a rename per slice), its ``src`` taken with ``git archive`` into a scratch
  folder and put first on ``PYTHONPATH``;
* ``new files (case)``: this checkout's default, a staging folder per volume renamed into place;
* ``new files (view)``: this checkout in view mode, each slice an unnamed file linked into place
  where the file system has ``O_TMPFILE``, a renamed temporary elsewhere;
* ``shards``: this checkout with ``container="webdataset"``, one tar file per volume;
* ``floor``: the same decompression and a plain create-and-write of each slice's bytes to its own
  file (``bench_child.py``'s floor): one namespace operation per slice and no atomicity at all.

Each contender writes into a fresh folder, on the local disk and, where FUSE works, on a pass-through
FUSE file system (fusepy, Debian's ``libfuse2``) over the local disk that sleeps ``--delay-ms`` in
every namespace operation it receives (create, mknod, mkdir, unlink, rmdir, rename, link, symlink),
as a cluster file system's metadata server makes each one a round trip; lookups, reads and writes
pass through without delay. Where FUSE is missing (no ``/dev/fuse``, no fusepy or libfuse, or the
mount is refused) that part is skipped with a message saying why.

Namespace operations per slice are counted twice: by strace on the local disk (one more run of each
contender, not timed: the calls that may create, rename, link or remove a name, failed ones included,
between two markers around the work; and every call naming a file, lookups included), and by the FUSE
file system itself (the operations it received). Times are medians over ``--runs``; slices/s counts
every slice of the dataset. The goals of issue 14 are checked at the end.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import errno
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

#: The operations the FUSE file system delays and counts: each creates, renames, links or removes a name.
NAMESPACE_OPS = ("create", "mknod", "mkdir", "unlink", "rmdir", "symlink", "rename", "link")
#: System calls that may create, rename, link or remove a name (``open`` only with O_CREAT).
NAMESPACE_CALLS = re.compile(
    r"^(mkdir|mkdirat|rename|renameat|renameat2|link|linkat|unlink|unlinkat|rmdir|symlink|symlinkat)$"
)
MARK_BEGIN, MARK_END = "/.nidataset-namespace-begin", "/.nidataset-namespace-end"

CONTENDERS = {
    "old files": {"mode": "nidataset", "side": "base", "options": {}},
    "new files (case)": {"mode": "nidataset", "side": "head", "options": {}},
    "new files (view)": {"mode": "nidataset", "side": "head", "options": {"saving_mode": "view"}},
    "shards": {"mode": "nidataset", "side": "head", "options": {"container": "webdataset"}},
    "floor": {"mode": "floor", "side": "head", "options": {}},
}

CHILD = """
import json, os, sys, time
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["benchmarks"])


def mark(path):
    try:
        os.stat(path)
    except OSError:
        pass


if spec["mode"] == "floor":
    import concurrent.futures
    import bench_child

    gzip_module, _ = bench_child.decompressor()
    names = sorted(n for n in os.listdir(spec["inputs"]) if n.endswith(".nii.gz"))
    paths = [os.path.join(spec["inputs"], n) for n in names]

    def work():
        with concurrent.futures.ThreadPoolExecutor(spec["workers"]) as pool:
            floor = bench_child.floor_volume
            jobs = [pool.submit(floor, p, spec["out"], "axial", gzip_module) for p in paths]
            return sum(job.result() for job in jobs)
else:
    import nidataset
    from nidataset.slices import extract_slices_dataset

    if not nidataset.__file__.startswith(spec["src"]):
        sys.exit(f"nidataset comes from {nidataset.__file__}, not from {spec['src']}")

    def work():
        result = extract_slices_dataset(spec["inputs"], spec["out"], workers=spec["workers"], progress=False,
                                        **spec["options"])
        assert not result.skipped, result.summary()
        return sum(sum(o.counts) for o in result.done)

mark(spec["begin"])
start = time.perf_counter()
slices = work()
seconds = time.perf_counter() - start
mark(spec["end"])
print(json.dumps({"seconds": seconds, "slices": slices}))
"""


# ----------------------------------------------------------------------------------- the FUSE server
def serve(root: str, mount: str, delay: float, stats: str) -> None:
    """Mount a pass-through of ``root`` on ``mount`` that sleeps ``delay`` s in each namespace operation;
    on unmount, write the operations received to ``stats`` (JSON)."""
    import threading

    from fuse import FUSE, FuseOSError, Operations  # fusepy

    counts: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def full(path: str) -> str:
        return os.path.join(root, path.lstrip("/"))

    def namespace(name: str):  # type: ignore[no-untyped-def]
        def decorate(method):  # type: ignore[no-untyped-def]
            def wrapper(self, *args):  # type: ignore[no-untyped-def]
                with lock:
                    counts[name] += 1
                time.sleep(delay)
                return method(self, *args)

            return wrapper

        return decorate

    def oserror(call):  # type: ignore[no-untyped-def]
        def wrapper(*args):  # type: ignore[no-untyped-def]
            try:
                return call(*args)
            except OSError as error:
                raise FuseOSError(error.errno or errno.EIO) from None

        return wrapper

    class Latency(Operations):  # type: ignore[misc]
        def __call__(self, op, *args):  # type: ignore[no-untyped-def]
            return oserror(super().__call__)(op, *args)

        def getattr(self, path, fh=None):  # type: ignore[no-untyped-def]
            st = os.fstat(fh) if fh is not None else os.lstat(full(path))
            keys = ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid")
            return {key: getattr(st, key) for key in keys}

        def access(self, path, mode):  # type: ignore[no-untyped-def]
            if not os.access(full(path), mode):
                raise FuseOSError(errno.EACCES)

        def readdir(self, path, fh):  # type: ignore[no-untyped-def]
            return [".", "..", *os.listdir(full(path))]

        def readlink(self, path):  # type: ignore[no-untyped-def]
            return os.readlink(full(path))

        def statfs(self, path):  # type: ignore[no-untyped-def]
            st = os.statvfs(full(path))
            keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag")
            return {key: getattr(st, key) for key in (*keys, "f_frsize", "f_namemax")}

        def chmod(self, path, mode):  # type: ignore[no-untyped-def]
            return os.chmod(full(path), mode)

        def chown(self, path, uid, gid):  # type: ignore[no-untyped-def]
            return os.chown(full(path), uid, gid)

        def utimens(self, path, times=None):  # type: ignore[no-untyped-def]
            return os.utime(full(path), times)

        @namespace("create")
        def create(self, path, mode, fi=None):  # type: ignore[no-untyped-def]
            return os.open(full(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)

        @namespace("mknod")
        def mknod(self, path, mode, dev):  # type: ignore[no-untyped-def]
            return os.mknod(full(path), mode, dev)

        @namespace("mkdir")
        def mkdir(self, path, mode):  # type: ignore[no-untyped-def]
            return os.mkdir(full(path), mode)

        @namespace("unlink")
        def unlink(self, path):  # type: ignore[no-untyped-def]
            return os.unlink(full(path))

        @namespace("rmdir")
        def rmdir(self, path):  # type: ignore[no-untyped-def]
            return os.rmdir(full(path))

        @namespace("symlink")
        def symlink(self, target, source):  # type: ignore[no-untyped-def]
            return os.symlink(source, full(target))

        @namespace("rename")
        def rename(self, old, new):  # type: ignore[no-untyped-def]
            return os.rename(full(old), full(new))

        @namespace("link")
        def link(self, target, source):  # type: ignore[no-untyped-def]
            return os.link(full(source), full(target))

        def open(self, path, flags):  # type: ignore[no-untyped-def]
            return os.open(full(path), flags)

        def read(self, path, size, offset, fh):  # type: ignore[no-untyped-def]
            return os.pread(fh, size, offset)

        def write(self, path, data, offset, fh):  # type: ignore[no-untyped-def]
            return os.pwrite(fh, data, offset)

        def truncate(self, path, length, fh=None):  # type: ignore[no-untyped-def]
            return os.truncate(full(path) if fh is None else fh, length)

        def flush(self, path, fh):  # type: ignore[no-untyped-def]
            return 0

        def release(self, path, fh):  # type: ignore[no-untyped-def]
            return os.close(fh)

        def fsync(self, path, datasync, fh):  # type: ignore[no-untyped-def]
            return os.fdatasync(fh) if datasync else os.fsync(fh)

        def destroy(self, path):  # type: ignore[no-untyped-def]
            with open(stats, "w") as handle:
                json.dump(dict(counts), handle)

    FUSE(Latency(), mount, foreground=True, nothreads=False, big_writes=True, max_write=131072)


class Mount:
    """A latency file system over ``root`` on ``mount`` while the block runs; :attr:`received` after."""

    def __init__(self, root: Path, mount: Path, delay: float, log: Path) -> None:
        self.root, self.mount, self.delay, self.log = root, mount, delay, log
        self.stats = log.with_suffix(".json")
        self.received: dict[str, int] = {}

    def __enter__(self) -> Mount:
        self.root.mkdir(parents=True, exist_ok=True)
        self.mount.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, __file__, "--serve", str(self.root), str(self.mount), str(self.delay)]
        with open(self.log, "wb") as output:
            self.server = subprocess.Popen(
                [*command, str(self.stats)], stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 15
        while not os.path.ismount(self.mount):
            if self.server.poll() is not None or time.monotonic() > deadline:
                self.server.kill()
                raise RuntimeError(self.log.read_text(errors="replace").strip() or "the mount did not appear")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        for command in (["fusermount3", "-u"], ["fusermount", "-u"], ["umount"]):
            with contextlib.suppress(OSError):
                if subprocess.run([*command, str(self.mount)], capture_output=True).returncode == 0:
                    break
        try:
            self.server.wait(30)
        except subprocess.TimeoutExpired:
            self.server.kill()
        if self.stats.is_file():
            self.received = json.loads(self.stats.read_text())


def fuse_problem(scratch: Path) -> str | None:
    """Why the latency file system cannot run here, or None when a test mount works."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse (a container without FUSE)"
    try:
        import fuse  # noqa: F401  (fusepy; loads libfuse.so.2)
    except ImportError as error:
        return f"fusepy is not installed (pip install fusepy): {error}"
    except OSError as error:
        return f"libfuse 2 is missing (apt-get install libfuse2): {error}"
    try:
        with Mount(scratch / "probe-root", scratch / "probe", 0.0, scratch / "probe.log"):
            pass
    except RuntimeError as error:
        return f"mounting is refused here: {error}"
    return None


# ---------------------------------------------------------------------------------- the contenders
def run_contender(
    name: str, spec: dict[str, object], env: dict[str, str], strace: Path | None = None
) -> dict:
    """Run one contender in a fresh interpreter (under strace when given a log); its JSON result."""
    command = [sys.executable, "-c", CHILD, json.dumps(spec)]
    if strace is not None:
        command = ["strace", "-f", "-e", "trace=%file", "-o", str(strace), *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def count_calls(log: Path) -> tuple[int, int]:
    """(calls that may change names, calls naming a file) between the markers of an strace log."""
    namespace = files = 0
    inside = False
    for line in log.read_text(errors="replace").splitlines():
        if MARK_BEGIN in line:
            inside = True
            continue
        if MARK_END in line:
            break
        match = re.match(r"(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((.*)", line)
        if not inside or not match or "resumed>" in line:
            continue
        call, rest = match.groups()
        files += 1
        creates = call in ("open", "openat", "creat") and "O_CREAT" in rest and "O_TMPFILE" not in rest
        namespace += bool(creates or NAMESPACE_CALLS.match(call))
    return namespace, files


def environment(src: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    return {**env, "PYTHONPATH": str(src), "TQDM_DISABLE": "1"}


def base_src(revision: str, scratch: Path) -> Path:
    """The ``src`` folder of ``revision``, extracted with git archive."""
    folder = scratch / "base"
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, "src"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder / "src"


def head_src(scratch: Path) -> Path:
    """A snapshot of this checkout's ``src``: edits during the run do not mix into it."""
    target = scratch / "head" / "src"
    shutil.copytree(REPO / "src", target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return target


def measure(args: argparse.Namespace, scratch: Path, inputs: Path, fuse: bool) -> dict[str, dict[str, list]]:
    """Every contender on the local disk (timed and under strace) and on the latency file system."""
    sources = {"base": base_src(args.base, scratch), "head": head_src(scratch)}
    results: dict[str, dict[str, list]] = {name: collections.defaultdict(list) for name in CONTENDERS}
    places = ["local", "fuse"] if fuse else ["local"]
    for run in range(args.runs):
        for place in places:
            for name, contender in CONTENDERS.items():
                src = sources[str(contender["side"])]
                out = scratch / "out" / f"{place}-{run}-{name.replace(' ', '-')}"
                if place == "local":
                    results[name]["local"].append(one_run(name, contender, src, inputs, out, args)["seconds"])
                    continue
                root, mount = scratch / "fuse-root", scratch / "fuse-mount"
                shutil.rmtree(root, ignore_errors=True)
                log = scratch / f"fuse-{run}-{name.replace(' ', '-')}.log"
                with Mount(
                    root, mount, args.delay_ms / 1000, log
                ) as served:  # the outputs stay until unmounted
                    seconds = one_run(name, contender, src, inputs, mount / "out", args, keep=True)["seconds"]
                results[name]["fuse"].append(seconds)
                results[name]["fuse ops"].append(sum(served.received.get(op, 0) for op in NAMESPACE_OPS))
                shutil.rmtree(root, ignore_errors=True)
                print(f"  run {run + 1} {place:5} {name:17} {seconds:7.2f} s", file=sys.stderr)
            if place == "local":
                print(f"  run {run + 1} local done", file=sys.stderr)
    for name, contender in CONTENDERS.items():  # the strace counts, once, untimed
        src = sources[str(contender["side"])]
        log = scratch / f"strace-{name.replace(' ', '-')}.log"
        one_run(name, contender, src, inputs, scratch / "out" / f"strace-{name}", args, strace=log)
        results[name]["strace"] = list(count_calls(log))
        log.unlink()
    return results


def one_run(
    name: str,
    contender: dict,
    src: Path,
    inputs: Path,
    out: Path,
    args: argparse.Namespace,
    strace: Path | None = None,
    keep: bool = False,
) -> dict:
    """One run of one contender into ``out`` (removed after it, unless ``keep``)."""
    spec = {
        "mode": contender["mode"],
        "inputs": str(inputs),
        "out": str(out),
        "workers": args.workers,
        "options": contender["options"],
        "src": str(src),
        "benchmarks": str(HERE),
        "begin": MARK_BEGIN,
        "end": MARK_END,
    }
    result = run_contender(name, spec, environment(src), strace)
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------------------- the report
def table(results: dict[str, dict[str, list]], slices: int, fuse: bool) -> tuple[str, dict[str, float]]:
    """The Markdown table, and the figures the goals are checked on."""
    header = "| writes | local s | local slices/s | namespace ops/slice (strace) | file syscalls/slice |"
    rule = "|---|---:|---:|---:|---:|"
    if fuse:
        header += " 1 ms FS s | 1 ms FS slices/s | namespace ops/slice (FS) |"
        header += " x floor (1 ms FS) | vs old (1 ms FS) |"
        rule += "---:|---:|---:|---:|---:|"
    lines = [header, rule]
    figures: dict[str, float] = {}
    floor = statistics.median(results["floor"]["fuse"]) if fuse else 0.0
    old = statistics.median(results["old files"]["fuse"]) if fuse else 0.0
    for name, found in results.items():
        local = statistics.median(found["local"])
        namespace, files = found["strace"]
        row = f"| {name} | {local:.2f} | {slices / local:,.0f} | {namespace / slices:.2f} "
        row += f"| {files / slices:.2f} |"
        figures[f"{name} ops"] = namespace / slices
        if fuse:
            seconds = statistics.median(found["fuse"])
            ops = statistics.median(found["fuse ops"]) / slices
            row += f" {seconds:.2f} | {slices / seconds:,.0f} | {ops:.2f} | {seconds / floor:.2f}x "
            row += f"| {old / seconds:.1f}x |"
            figures[f"{name} fuse"] = seconds
            figures[f"{name} fuse ops"] = ops
        lines.append(row)
    return "\n".join(lines), figures


def goals(figures: dict[str, float], fuse: bool) -> list[str]:
    checks = [
        (
            "at most 1.1 namespace ops per slice with files (case, strace)",
            figures["new files (case) ops"] <= 1.1,
        ),
        (
            "at most 1.1 namespace ops per slice with files (view, strace)",
            figures["new files (view) ops"] <= 1.1,
        ),
    ]
    if fuse:
        floor, old = figures["floor fuse"], figures["old files fuse"]
        case = figures["new files (case) fuse"]
        checks += [
            (
                "at most 1.1 namespace ops per slice with files (case, 1 ms FS)",
                figures["new files (case) fuse ops"] <= 1.1,
            ),
            (
                f"per-file writes within 1.3x of the floor on the 1 ms FS: {case / floor:.2f}x",
                case <= 1.3 * floor,
            ),
            (
                f"shards at least 5x faster than the old per-file writes on the 1 ms FS: "
                f"{old / figures['shards fuse']:.1f}x",
                old >= 5 * figures["shards fuse"],
            ),
        ]
    return [f"{'PASS' if passed else 'FAIL'}  {text}" for text, passed in checks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small CT set (4 x 256 x 256 x 64)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each contender (median; default 3)")
    parser.add_argument("--workers", type=int, default=2, help="volumes at once (default 2)")
    parser.add_argument("--delay-ms", type=float, default=1.0, help="latency of each namespace operation")
    parser.add_argument(
        "--base", default="fdd9ca9", help="revision of the old per-file writes (default fdd9ca9)"
    )
    parser.add_argument(
        "--serve", nargs=4, metavar=("ROOT", "MOUNT", "DELAY", "STATS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve:
        root, mount, delay, stats = args.serve
        serve(root, mount, float(delay), stats)
        return 0
    import datasets

    spec = datasets.quick_specs()[0] if args.quick else datasets.full_specs()[0]
    dataset = datasets.ensure(spec)
    slices = spec.slices("axial")
    print(
        f"{dataset.describe()}, axial: {slices} slices; {args.workers} workers, {args.runs} runs",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="nidataset-namespace-") as folder:
        scratch = Path(folder)
        problem = fuse_problem(scratch)
        if problem:
            print(f"skipped the {args.delay_ms:g} ms file system: {problem}", file=sys.stderr)
        results = measure(args, scratch, dataset.folder, fuse=problem is None)
    text, figures = table(results, slices, fuse=problem is None)
    print(text)
    print()
    print("\n".join(goals(figures, fuse=problem is None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
