"""The ``nidataset`` command: parse arguments, call the Python API, return an exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nidataset", description="Turn folders of 3D NIfTI volumes into 2D TIFF slice datasets."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="write a small phantom CT dataset and extract it",
        description="Write three synthetic CT volumes to OUTPUT/volumes and extract their axial, "
        "coronal and sagittal slices to OUTPUT/slices.",
        epilog="example: nidataset demo nidataset-demo",
    )
    demo.add_argument("output", metavar="OUTPUT", help="folder to create the demo in")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    result = run_demo(args.output, progress=not args.quiet)
    print(result.summary())
    print(f"volumes: {args.output}/volumes  slices and statistics: {args.output}/slices")
    return EXIT_SKIPPED if result.skipped else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
