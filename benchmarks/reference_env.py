"""Find, or create, a Python interpreter that has the reference implementation, ``nidataset`` 0.9.1.

The reference is another distribution of the same import name as this project, so it can never share
an environment with it: it lives in its own virtual environment and is driven through a subprocess.
Every probe runs that interpreter in isolated mode (``-I``): neither ``PYTHONPATH`` nor the current
folder can then slip this checkout's ``nidataset`` in front of the reference.

Order of search, first hit wins:

1. the ``explicit`` argument (``--reference-python`` on the command lines of the benchmarks);
2. the environment variable ``NIDATASET_REFERENCE_PYTHON``;
3. the interpreters of :data:`KNOWN_LOCATIONS` that have the right version;
4. a virtual environment in the cache folder, created and filled with ``pip`` on first use.

An interpreter named by 1 or 2 must have the right version: it is an error, not a fall-through, because
the user asked for that one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REFERENCE_REQUIREMENT = "nidataset==0.9.1"
REFERENCE_VERSION = "0.9.1"
ENV_VAR = "NIDATASET_REFERENCE_PYTHON"

#: Where this project's development machines keep a ready reference environment.
KNOWN_LOCATIONS: tuple[Path, ...] = (Path("/work/venvs/ref/bin/python"),)

_VERSION_PROBE = "import importlib.metadata as m; print(m.version('nidataset'))"


class ReferenceNotFound(RuntimeError):
    """No interpreter with the reference could be found or created."""


def reference_python(explicit: str | None = None, *, create: bool = True, quiet: bool = False) -> str:
    """Path of an interpreter whose ``nidataset`` is the reference version.

    Parameters
    ----------
    explicit : str, optional
        An interpreter chosen by the user; it must have the reference.
    create : bool
        Create the cached virtual environment when no other interpreter is found.
    quiet : bool
        Do not tell stderr about a venv being created (pip's own output is shown either way).

    Raises
    ------
    ReferenceNotFound
        The chosen interpreter lacks the reference, or none exists and ``create`` is False, or the
        install failed.
    """
    chosen = explicit or os.environ.get(ENV_VAR)
    if chosen:
        return _checked(chosen, "--reference-python" if explicit else ENV_VAR)
    for candidate in KNOWN_LOCATIONS:
        if installed_version(str(candidate)) == REFERENCE_VERSION:
            return str(candidate)
    cached = venv_python(cache_folder() / "ref-venv")
    if installed_version(str(cached)) == REFERENCE_VERSION:
        return str(cached)
    if not create:
        raise ReferenceNotFound(f"no interpreter with {REFERENCE_REQUIREMENT}; set {ENV_VAR}")
    return str(create_reference_venv(cache_folder() / "ref-venv", quiet=quiet))


def installed_version(python: str) -> str | None:
    """The version of ``nidataset`` that ``python`` imports, or None (no such interpreter or package)."""
    if not Path(python).is_file():
        return None
    try:
        probe = subprocess.run(
            [python, "-I", "-c", _VERSION_PROBE], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if probe.returncode != 0:
        return None
    return probe.stdout.strip() or None


def cache_folder() -> Path:
    """``$XDG_CACHE_HOME/nidataset-bench`` (``~/.cache/nidataset-bench`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nidataset-bench"


def venv_python(folder: Path) -> Path:
    """The interpreter of the virtual environment in ``folder``."""
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def create_reference_venv(folder: Path, *, quiet: bool = False) -> Path:
    """Create (or repair) a venv in ``folder``, install the reference in it, return its interpreter."""
    python = venv_python(folder)
    if not quiet:
        print(f"creating the reference environment {folder} ({REFERENCE_REQUIREMENT})", file=sys.stderr)
    if not python.is_file():
        _run([sys.executable, "-m", "venv", str(folder)], "create the virtual environment")
    _install(python)
    version = installed_version(str(python))
    if version != REFERENCE_VERSION:
        raise ReferenceNotFound(
            f"after pip install, {python} has nidataset {version}, not {REFERENCE_VERSION}"
        )
    return python


def _install(python: Path) -> None:
    # pip's output goes to stderr: stdout of the benchmarks carries only their results
    command = [str(python), "-m", "pip", "install", "--quiet", REFERENCE_REQUIREMENT]
    _run(command, f"install {REFERENCE_REQUIREMENT}")


def _run(command: list[str], what: str) -> None:
    try:
        subprocess.run(command, check=True, stdout=sys.stderr)
    except (OSError, subprocess.CalledProcessError) as error:
        raise ReferenceNotFound(f"could not {what}: {error}") from None


def _checked(python: str, source: str) -> str:
    version = installed_version(python)
    if version != REFERENCE_VERSION:
        found = f"nidataset {version}" if version else "no nidataset (or no such interpreter)"
        raise ReferenceNotFound(f"{source} names {python}, which has {found}; {REFERENCE_VERSION} is needed")
    return python


if __name__ == "__main__":
    print(reference_python(sys.argv[1] if len(sys.argv) > 1 else None))
