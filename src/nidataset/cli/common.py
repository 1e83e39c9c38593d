"""What every command shares: its parser's look, the common options, the summary, the executor."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from typing import Any

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DASK_CONNECT_SECONDS = 10  # Dask retries a refused connection until this timeout


class UsageError(Exception):
    """A command line that cannot run as given (exit code 2)."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Show every option's default (flags as "off"), and keep the examples' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        default = "off" if action.default is False else "%(default)s"
        return f"{text} (default: {default})"


def add_command(commands: Any, name: str, purpose: str, examples: str) -> argparse.ArgumentParser:
    """A sub-command whose help shows its purpose, every default and its examples."""
    return commands.add_parser(
        name,
        help=purpose,
        description=purpose[0].upper() + purpose[1:] + ".",
        epilog=examples,
        formatter_class=_Formatter,
    )


def add_dataset_options(command: argparse.ArgumentParser) -> None:
    """The folders and the options every dataset command takes."""
    command.add_argument("nii_folder", metavar="NII_FOLDER", help="folder of .nii.gz / .nii files")
    command.add_argument("output_path", metavar="OUTPUT_PATH", help="root folder of the outputs")
    command.add_argument(
        "--view",
        action="append",
        metavar="VIEW",
        help="axial, coronal or sagittal; repeat or separate by commas for several (default: axial)",
    )
    command.add_argument(
        "--saving-mode",
        choices=["case", "view"],
        default="case",
        help="case: OUTPUT/<prefix>/<view>/, view: OUTPUT/<view>/",
    )
    command.add_argument(
        "--target-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="pad to H rows, W columns (default: no padding)",
    )
    command.add_argument(
        "--orientation",
        choices=["stored", "radiological", "neurological"],
        default="stored",
        help="stored voxel axes, or as 3D Slicer (radiological) or nilearn (neurological) show them",
    )
    command.add_argument(
        "--spacing",
        type=spacing_argument,
        metavar="MM",
        help="resample slices in-plane to square pixels: 'isotropic' or millimetres (default: none)",
    )
    command.add_argument("--save-stats", action="store_true", help="write OUTPUT/<view>_*_stats.csv")
    command.add_argument(
        "--save-manifest", action="store_true", help="write OUTPUT/<view>_manifest.csv, a row per slice file"
    )
    add_report_option(command)
    command.add_argument("--workers", type=int, help="files processed at once (default: all cores)")
    command.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster at ADDRESS (needs nidataset[dask]; the paths must be visible "
        "to its workers) (default: local threads)",
    )
    command.add_argument("--quiet", action="store_true", help="print only errors")


def spacing_argument(text: str) -> str | float:
    if text == "isotropic":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'isotropic' or a number of millimetres, not {text!r}") from None


def add_report_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write OUTPUT/report.html, a page showing the run, every input and its previews (default: on)",
    )


def report_line(result: Any, output_path: str, quiet: bool) -> None:
    """Where the report is, when one was written."""
    path = os.path.join(output_path, "report.html")
    if not quiet and os.path.isfile(path):
        print(f"report: {path}")


def views(values: list[str] | None) -> list[str]:
    """``--view a --view b,c`` as ``[a, b, c]``; axial when none is given."""
    return [v.strip() for value in values or ["axial"] for v in value.split(",") if v.strip()]


def display(args: argparse.Namespace) -> Any:
    """The progress display: on stderr unless --quiet; the summary goes to stdout instead."""
    from ..progress import Progress

    return Progress(not args.quiet, summary=False)


def report(result: Any, output_path: str, quiet: bool) -> int:
    """The summary on stdout; exit 1 when some files were skipped."""
    if not quiet:
        print(result.summary())
        if result.skipped:
            print(f"skipped files and reasons: {os.path.join(output_path, f'{result.what}_failed.csv')}")
    return EXIT_SKIPPED if result.skipped else EXIT_OK


@contextlib.contextmanager
def executor(address: str | None) -> Iterator[Executor | None]:
    """A Dask cluster's executor when asked for (Dask imported only then), else None (local threads)."""
    if address is None:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError("--dask-scheduler needs Dask: pip install 'nidataset[dask]'") from None
    try:
        client = Client(address, timeout=DASK_CONNECT_SECONDS)
    except OSError as error:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    with client:
        yield client.get_executor()
