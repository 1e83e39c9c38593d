"""``nidataset reassemble``: put slice images back into one NIfTI volume per source of a manifest."""

from __future__ import annotations

import argparse
from typing import Any

from . import common

EXAMPLES = """examples:
  nidataset reassemble slices/ volumes/ --manifest slices/axial_manifest.csv
  nidataset reassemble predictions/ volumes/ --manifest slices/axial_manifest.csv --suffix _pred --fill -1
"""

#: The command's one line in ``nidataset --help`` (and its --help's first line).
PURPOSE = "put slice images back into one NIfTI volume per source of a manifest"


def add(commands: Any) -> None:
    parser = common.add_command(commands, "reassemble", PURPOSE, EXAMPLES)
    parser.add_argument(
        "slices_folder",
        metavar="SLICES_FOLDER",
        type=common.folder_argument,
        help="root the manifest's paths are relative to",
    )
    parser.add_argument("output_path", metavar="OUTPUT_PATH", help="folder of the <prefix>.nii.gz volumes")
    parser.add_argument(
        "--manifest",
        required=True,
        default=argparse.SUPPRESS,
        metavar="M",
        help="a <view>_manifest.csv written with --save-manifest (required)",
    )
    parser.add_argument(
        "--suffix", default="", metavar="S", help="read <stem>S.<ext> images, e.g. _pred (default: none)"
    )
    parser.add_argument(
        "--fill", type=float, default=0.0, metavar="X", help="value of voxels no image covers"
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="volumes processed at once (default: all cores)"
    )
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    common.place(parser, common.INPUTS, "slices_folder", "output_path", "manifest", "suffix")
    common.place(parser, common.VALUES, "fill")
    common.place(parser, common.RUN, "workers", "quiet")


def run(args: argparse.Namespace) -> int:
    from ..reassembly import reassemble

    result = reassemble(
        args.slices_folder,
        args.output_path,
        args.manifest,
        suffix=args.suffix,
        fill=args.fill,
        workers=args.workers,
        progress=common.display(args),
        save_failures=True,
    )
    return common.report(result, args.output_path, args.quiet)
