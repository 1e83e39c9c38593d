"""``nidataset slices``: extract the 2D TIFF slices of every volume in a folder."""

from __future__ import annotations

import argparse
from typing import Any

from . import common

EXAMPLES = """examples:
  nidataset slices scans/ out/ --view axial,coronal,sagittal --target-size 512 512 --save-stats
  nidataset slices scans/ out/ --orientation radiological --window soft_tissue --format png --resume
"""


def add(commands: Any) -> None:
    parser = common.add_command(
        commands, "slices", "extract the 2D TIFF slices of every volume in a folder", EXAMPLES
    )
    common.add_dataset_options(parser)
    parser.add_argument("--pad-value", type=float, default=0.0, help="value of the padding pixels")
    parser.add_argument(
        "--float32", action="store_true", help="write every slice as float32, as nidataset 0.9.1 does"
    )
    parser.add_argument(
        "--interpolation",
        choices=["linear", "nearest"],
        default="linear",
        help="how --spacing computes pixels: linear, or nearest for label masks",
    )
    parser.add_argument(
        "--window",
        type=window_argument,
        metavar="NAME|C,W",
        help="window the values to 8 or 16 bits: a preset (brain, subdural, stroke, bone, soft_tissue, "
        "lung, liver, mediastinum), auto, or CENTER,WIDTH (default: values untouched)",
    )
    parser.add_argument("--bits", type=int, choices=[8, 16], default=8, help="depth of a window's output")
    parser.add_argument(
        "--format", dest="image_format", choices=["tiff", "png", "jpeg"], default="tiff", help="image format"
    )
    parser.add_argument(
        "--compression", choices=["zlib", "zstd", "lzw"], help="lossless TIFF compression (default: none)"
    )
    parser.add_argument(
        "--preview",
        action="store_true",
        help="write OUTPUT/previews/<prefix>_<view>_preview.png: a grid of each volume's slices",
    )
    parser.add_argument(
        "--container",
        choices=["files", "webdataset"],
        default="files",
        help="files: one file per slice; webdataset: one tar shard per volume and view, "
        "<prefix>.tar where its slices would go (default: files)",
    )
    parser.add_argument("--resume", action="store_true", help="skip volumes an earlier run completed")


def window_argument(text: str) -> str | tuple[float, float]:
    """A preset or auto as given (checked by the API), or ``CENTER,WIDTH`` as two numbers."""
    if "," not in text:
        return text
    try:
        center, width = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a preset, auto, or CENTER,WIDTH; not {text!r}") from None
    return center, width


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
