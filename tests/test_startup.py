"""Issue 23: the command line's help and usage errors import neither numpy nor nibabel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
PROBE = """
import sys
from nidataset.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
heavy = sorted(
    name for name in ("numpy", "nibabel", "pydicom", "PIL", "tifffile", "pyarrow") if name in sys.modules
)
print("heavy:", ",".join(heavy), "code:", code)
"""


def _probe(*argv: str) -> str:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env)
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("slices", "--help"),
        ("slices",),  # missing arguments
        ("slices", "in", "out", "--format", "bmp"),  # a choice the format table lacks
        ("annotations", "--help"),
        ("reassemble", "--help"),
        ("nonsense",),
        ("build", "--help"),  # its help lists the training tables' records
        ("build",),  # missing arguments
        ("build", "in", "masks", "out", "--layout", "nonsense"),  # a layout the table lacks
        ("build", "in", "masks", "out", "--coco-segmentation", "nonsense"),
    ],
)
def test_help_and_usage_errors_import_no_numpy(argv: tuple[str, ...]) -> None:
    assert _probe(*argv) in ("heavy:  code: 0", "heavy:  code: 2")


def test_every_command_is_listed_with_its_purpose() -> None:
    from nidataset.cli import COMMANDS, build_parser

    text = build_parser("slices").format_help()
    for name, command in COMMANDS.items():
        assert name in text
        assert command.PURPOSE.split()[0] in text
    full = build_parser().format_help()
    assert full == text  # the top-level help is the same whichever command is built


def test_the_command_asks_for_one_blas_thread_unless_told() -> None:
    code = (
        "import os\nfrom nidataset.cli import main\ntry:\n    main(['slices'])\n"
        "except SystemExit:\n    pass\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    for given, expected in ((None, "1"), ("3", "3")):
        run_env = {**env, "PYTHONPATH": SRC, **({"OPENBLAS_NUM_THREADS": given} if given else {})}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=run_env)
        assert done.stdout.strip() == expected
