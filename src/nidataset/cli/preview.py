"""``nidataset preview``: previews of image volumes with their masks' outlines, and a report."""

from __future__ import annotations

import argparse
from typing import Any

from . import common

EXAMPLES = """examples:
  nidataset preview scans/ masks/ qc/
  nidataset preview scans/ masks/ qc/ --view axial,coronal --window soft_tissue
"""

#: The command's one line in ``nidataset --help`` (and its --help's first line).
PURPOSE = "draw previews of image volumes with their masks' outlines"


def add(commands: Any) -> None:
    from ..stages import ORIENTATIONS

    parser = common.add_command(commands, "preview", PURPOSE, EXAMPLES)
    parser.add_argument(
        "images_folder", metavar="IMAGES_FOLDER", help="folder of .nii.gz / .nii images, or one image"
    )
    parser.add_argument(
        "masks_folder",
        metavar="MASKS_FOLDER",
        type=common.folder_argument,
        help="folder of label masks named alike",
    )
    parser.add_argument("output_path", metavar="OUTPUT_PATH", help="root folder of the previews")
    parser.add_argument(
        "--view",
        action="append",
        metavar="VIEW",
        help="axial, coronal or sagittal; repeat or separate by commas for several (default: axial)",
    )
    parser.add_argument(
        "--orientation",
        choices=[o for o in ORIENTATIONS if o != "stored"],
        default="radiological",
        help="tile layout",
    )  # not "stored": previews show it as radiological
    parser.add_argument(
        "--window",
        type=common.window_argument,
        metavar="NAME|C,W",
        help="a preset, auto, or CENTER,WIDTH (default: auto, per volume)",
    )
    common.add_report_option(parser)
    parser.add_argument("--workers", type=int, help="files processed at once (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    common.place(parser, common.INPUTS, "images_folder", "masks_folder", "output_path", "report")
    common.place(parser, common.GEOMETRY, "view", "orientation")
    common.place(parser, common.VALUES, "window")
    common.place(parser, common.RUN, "workers", "quiet")


def run(args: argparse.Namespace) -> int:
    from ..viewing import preview_dataset

    result = preview_dataset(
        args.images_folder,
        args.output_path,
        args.masks_folder,
        view=common.views(args.view),
        orientation=args.orientation,
        window=None if args.window is None else common.window_argument(args.window),
        workers=args.workers,
        progress=common.display(args),
        save_report=args.report,
        save_failures=True,
    )
    code = common.report(result, args.output_path, args.quiet)
    common.report_line(result, args.output_path, args.quiet)
    return code
