"""``nidataset slices``: extract the 2D TIFF slices of every volume in a folder."""

from __future__ import annotations

import argparse
from typing import Any

from . import common

EXAMPLES = """examples:
  nidataset slices scans/ out/ --view axial,coronal,sagittal --target-size 512 512 --save-stats
  nidataset slices scans/ out/ --orientation radiological --window soft_tissue --format png --resume
"""

#: The command's one line in ``nidataset --help`` (and its --help's first line).
PURPOSE = "extract the 2D slices (TIFF, PNG or JPEG) of every volume in a folder, or of one volume"


def add(commands: Any) -> None:
    from ..stages import CONTAINERS, INTERPOLATIONS

    parser = common.add_command(commands, "slices", PURPOSE, EXAMPLES)
    common.add_dataset_options(parser)
    common.add_value_options(parser)
    common.group(parser, common.VALUES).add_argument(
        "--float32", action="store_true", help="write every slice as float32, as nidataset 0.9.1 does"
    )
    common.group(parser, common.GEOMETRY).add_argument(
        "--interpolation",
        choices=INTERPOLATIONS,
        default="linear",
        help="how --spacing computes pixels: linear, or nearest for label masks",
    )
    common.group(parser, common.INPUTS).add_argument(
        "--preview",
        action="store_true",
        help="write OUTPUT/previews/<prefix>_<view>_preview.png: a grid of each volume's slices",
    )
    common.group(parser, common.INPUTS).add_argument(
        "--container",
        choices=CONTAINERS,
        default="files",
        help="files: one file per slice; webdataset: one tar shard per volume and view, "
        "<prefix>.tar where its slices would go (default: files)",
    )
    common.group(parser, common.RUN).add_argument(
        "--resume", action="store_true", help="skip volumes an earlier run completed"
    )


def run(args: argparse.Namespace) -> int:
    from ..slices import extract_slices_dataset

    with common.executor(args.dask_scheduler) as executor:
        result = extract_slices_dataset(
            args.nii_folder,
            args.output_path,
            common.views(args.view),
            args.saving_mode,
            args.target_size,
            args.pad_value,
            args.save_stats,
            dtype="float32" if args.float32 else "auto",
            orientation=args.orientation,
            spacing=args.spacing,
            interpolation=args.interpolation,
            window=args.window,
            bits=args.bits,
            image_format=args.image_format,
            compression=args.compression,
            workers=args.workers,
            executor=executor,
            progress=common.display(args),
            resume=args.resume,
            save_failures=True,
            save_manifest=args.save_manifest,
            save_preview=args.preview,
            save_report=args.report,
            container=args.container,
        )
    code = common.report(result, args.output_path, args.quiet)
    common.report_line(result, args.output_path, args.quiet)
    return code
