"""``nidataset annotations``: extract boxes or centres of the objects in every label mask."""

from __future__ import annotations

import argparse
from typing import Any

from . import common

EXAMPLES = """examples:
  nidataset annotations masks/ labels/ --data-mode box --target-size 512 512 --save-stats
  nidataset annotations masks/ labels/ --extraction-mode volume --components
"""

#: The command's one line in ``nidataset --help`` (and its --help's first line).
PURPOSE = "extract boxes or centres of the objects in every label mask"


def add(commands: Any) -> None:
    from ..stages import DATA_MODES, EXTRACTION_MODES

    parser = common.add_command(commands, "annotations", PURPOSE, EXAMPLES)
    common.add_dataset_options(parser)
    values = common.group(parser, common.VALUES)
    values.add_argument(
        "--extraction-mode",
        choices=EXTRACTION_MODES,
        default="slice",
        help="one CSV per slice, or one per mask in voxel indices",
    )
    values.add_argument("--data-mode", choices=DATA_MODES, default="center", help="what each row holds")
    common.group(parser, common.INPUTS).add_argument(
        "--images",
        metavar="FOLDER",
        type=common.folder_argument,
        help="the image volumes these masks label: previews of them with each label outlined",
    )
    values.add_argument(
        "--components", action="store_true", help="each connected component of a label is its own object"
    )
    common.group(parser, common.RUN).add_argument(
        "--resume", action="store_true", help="skip masks an earlier run completed"
    )


def run(args: argparse.Namespace) -> int:
    from ..annotations import extract_annotations_dataset

    with common.executor(args.dask_scheduler) as executor:
        result = extract_annotations_dataset(
            args.nii_folder,
            args.output_path,
            common.views(args.view),
            args.saving_mode,
            args.extraction_mode,
            args.data_mode,
            args.target_size,
            args.save_stats,
            components=args.components,
            orientation=args.orientation,
            spacing=args.spacing,
            workers=args.workers,
            executor=executor,
            progress=common.display(args),
            save_failures=True,
            save_manifest=args.save_manifest,
            images_folder=args.images,
            save_report=args.report,
            resume=args.resume,
        )
    code = common.report(result, args.output_path, args.quiet)
    common.report_line(result, args.output_path, args.quiet)
    return code
