"""The ``nidataset`` command: parse arguments, call the Python API, return an exit code.

argparse (standard library) rather than click or typer: three sub-commands and a dozen options do
not need another dependency, and ``main(argv) -> int`` stays directly testable, as in nibabel.

Exit codes: 0 every file done; 1 some files skipped (the summary says how many and where the failure
list is); 2 usage or contract error (nothing written); 3 the output location failed (disk full, no
permission); 130 interrupted (run again with ``--resume``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from typing import Any

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DASK_CONNECT_SECONDS = 10  # Dask retries a refused connection until this timeout

_SLICES_EXAMPLES = """examples:
  nidataset slices scans/ out/ --view axial --target-size 512 512 --save-stats
  nidataset slices scans/ out/ --view axial,coronal,sagittal --saving-mode view --resume
"""
_ANNOTATIONS_EXAMPLES = """examples:
  nidataset annotations masks/ labels/ --data-mode box --target-size 512 512 --save-stats
  nidataset annotations masks/ labels/ --extraction-mode volume --components
"""
_DEMO_EXAMPLES = """examples:
  nidataset demo nidataset-demo
  python -m nidataset demo /tmp/demo --quiet
"""


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nidataset", description="Turn folders of 3D NIfTI volumes into 2D TIFF slice datasets."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_slices(commands)
    _add_annotations(commands)
    demo = _command(commands, "demo", "write a small phantom CT dataset and extract it", _DEMO_EXAMPLES)
    demo.add_argument("output", metavar="OUTPUT", help="folder to create the demo in")
    demo.add_argument("--quiet", action="store_true", help="print only errors")
    return parser


def _command(commands: Any, name: str, purpose: str, examples: str) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=purpose,
        description=purpose[0].upper() + purpose[1:] + ".",
        epilog=examples,
        formatter_class=_Formatter,
    )


def _add_slices(commands: Any) -> None:
    slices = _command(
        commands, "slices", "extract the 2D TIFF slices of every volume in a folder", _SLICES_EXAMPLES
    )
    _add_common(slices)
    slices.add_argument("--pad-value", type=float, default=0.0, help="value of the padding pixels")
    slices.add_argument(
        "--float32", action="store_true", help="write every slice as float32, as nidataset 0.9.1 does"
    )
    slices.add_argument("--resume", action="store_true", help="skip volumes an earlier run completed")


def _add_annotations(commands: Any) -> None:
    annotations = _command(
        commands,
        "annotations",
        "extract boxes or centres of the objects in every label mask",
        _ANNOTATIONS_EXAMPLES,
    )
    _add_common(annotations)
    annotations.add_argument(
        "--extraction-mode",
        choices=["slice", "volume"],
        default="slice",
        help="one CSV per slice, or one per mask in voxel indices",
    )
    annotations.add_argument(
        "--data-mode", choices=["center", "box", "radius"], default="center", help="what each row holds"
    )
    annotations.add_argument(
        "--components", action="store_true", help="each connected component of a label is its own object"
    )


def _add_common(command: argparse.ArgumentParser) -> None:
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
    command.add_argument("--save-stats", action="store_true", help="write OUTPUT/<view>_*_stats.csv")
    command.add_argument("--workers", type=int, help="files processed at once (default: all cores)")
    command.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster at ADDRESS (needs nidataset[dask]; the paths must be visible "
        "to its workers) (default: local threads)",
    )
    command.add_argument("--quiet", action="store_true", help="print only errors")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, FileNotFoundError, UsageError) as error:
        print(f"nidataset: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # OutputError: the output location failed
        print(f"nidataset: error: {error}", file=sys.stderr)
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        print("nidataset: interrupted; run the same command with --resume to finish", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from .demo import run_demo

        result = run_demo(args.output, progress=_display(args))
        code = _report(result, os.path.join(args.output, "slices"), args.quiet)
        if not args.quiet:
            print(f"volumes: {os.path.join(args.output, 'volumes')}")
            print(f"slices and statistics: {os.path.join(args.output, 'slices')}")
        return code
    with _executor(args.dask_scheduler) as executor:
        if args.command == "slices":
            return _slices(args, executor)
        return _annotations(args, executor)


def _slices(args: argparse.Namespace, executor: Executor | None) -> int:
    from .slices import extract_slices_dataset

    result = extract_slices_dataset(
        args.nii_folder,
        args.output_path,
        _views(args.view),
        args.saving_mode,
        args.target_size,
        args.pad_value,
        args.save_stats,
        dtype="float32" if args.float32 else "auto",
        workers=args.workers,
        executor=executor,
        progress=_display(args),
        resume=args.resume,
        save_failures=True,
    )
    return _report(result, args.output_path, args.quiet)


def _annotations(args: argparse.Namespace, executor: Executor | None) -> int:
    from .annotations import extract_annotations_dataset

    result = extract_annotations_dataset(
        args.nii_folder,
        args.output_path,
        _views(args.view),
        args.saving_mode,
        args.extraction_mode,
        args.data_mode,
        args.target_size,
        args.save_stats,
        components=args.components,
        workers=args.workers,
        executor=executor,
        progress=_display(args),
        save_failures=True,
    )
    return _report(result, args.output_path, args.quiet)


def _views(values: list[str] | None) -> list[str]:
    """``--view a --view b,c`` as ``[a, b, c]``; axial when none is given."""
    return [v.strip() for value in values or ["axial"] for v in value.split(",") if v.strip()]


def _display(args: argparse.Namespace) -> Any:
    from .progress import Progress

    return Progress(not args.quiet, summary=False)


def _report(result: Any, output_path: str, quiet: bool) -> int:
    """The summary on stdout; exit 1 when some files were skipped."""
    if not quiet:
        print(result.summary())
        if result.skipped:
            print(f"skipped files and reasons: {os.path.join(output_path, f'{result.what}_failed.csv')}")
    return EXIT_SKIPPED if result.skipped else EXIT_OK


@contextlib.contextmanager
def _executor(address: str | None) -> Iterator[Executor | None]:
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
