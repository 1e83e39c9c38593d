"""``nidataset build``: image volumes and their masks to a training-ready 2D dataset."""

from __future__ import annotations

import argparse
from typing import Any

from . import common

EXAMPLES = """examples:
  nidataset build scans/ masks/ data/ --window soft_tissue --format png --select labelled --split .7 .15 .15
  nidataset build scans/ masks/ dataset/ --view axial,coronal --orientation radiological --labels masks,coco
"""

#: The command's one line in ``nidataset --help`` (and its --help's first line).
PURPOSE = "build a 2D training set (images, masks, YOLO, COCO) from volumes and masks"


def add(commands: Any) -> None:
    parser = common.add_command(commands, "build", PURPOSE, EXAMPLES)
    parser.add_argument(
        "images_folder", metavar="IMAGES", type=common.folder_argument, help="folder of .nii.gz / .nii images"
    )
    parser.add_argument(
        "masks_folder", metavar="MASKS", type=common.folder_argument, help="folder of their label masks"
    )
    parser.add_argument("output_path", metavar="OUTPUT", help="root of the dataset")
    parser.add_argument("--view", action="append", metavar="VIEW", help="as for slices (default: axial)")
    common.add_geometry_options(parser)
    common.add_value_options(parser, pad_value="min")
    layouts, formats = _tables()
    parser.add_argument(
        "--layout",
        choices=list(layouts),
        default=next(iter(layouts)),
        help="; ".join(f"{name}: {item.help}" for name, item in layouts.items()),
    )
    parser.add_argument(
        "--labels",
        metavar="FORMAT[,FORMAT...]",
        help="comma-separated label formats (default: the layout's): "
        + "; ".join(f"{name}: {item.help}" for name, item in formats.items()),
    )
    parser.add_argument(
        "--label-names",
        metavar="V=NAME,...|FILE.json",
        help="class names: 1=liver,2=tumour or a JSON file {value: name} (default: label_<value>)",
    )
    from ..training.segments import COCO_SEGMENTATIONS

    parser.add_argument(
        "--coco-segmentation",
        choices=list(COCO_SEGMENTATIONS),
        default=next(iter(COCO_SEGMENTATIONS)),
        help="COCO masks as RLE (exact) or polygons on pixel edges, one per 2D component",
    )
    parser.add_argument("--components", action="store_true", help="one object per connected component")
    parser.add_argument(
        "--select",
        default="all",
        metavar="all|labelled|labelled:K|START:STOP:STEP",
        help="which slices: all, those holding an object, within K of one, or a range",
    )
    parser.add_argument(
        "--split",
        nargs="+",
        metavar="F",
        help="TRAIN VAL TEST fractions, or a mapping file (default: no split)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the split's shuffle seed")
    parser.add_argument("--context", type=int, default=0, help="neighbouring slices on each side as channels")
    parser.add_argument("--workers", type=int, help="pairs processed at once (default: all cores)")
    parser.add_argument("--resume", action="store_true", help="skip pairs an earlier run completed")
    common.add_report_option(parser)
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    # --help's sections; an option not named here is listed under "options"
    common.place(
        parser,
        common.INPUTS,
        *("images_folder", "masks_folder", "output_path", "layout", "select", "split", "seed"),
    )
    common.place(parser, common.GEOMETRY, "view")
    common.place(parser, common.VALUES, "labels", "label_names", "coco_segmentation", "components", "context")
    common.place(parser, common.RUN, "workers", "resume", "quiet")


def _tables() -> tuple[dict[str, Any], dict[str, Any]]:
    """The layouts and label formats, read from their tables when the parser is built (so that a
    format registered before ``main`` is offered)."""
    from ..training.tables import LABEL_FORMATS, LAYOUTS

    return LAYOUTS, LABEL_FORMATS


def labels_argument(text: str | None) -> list[str] | None:
    """``--labels``: comma-separated names; None keeps the layout's default."""
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def select_argument(text: str) -> object:
    """``all``, ``labelled``, ``labelled:K`` or ``START:STOP:STEP``."""
    if text in ("all", "labelled"):
        return text
    parts = text.split(":")
    try:
        if parts[0] == "labelled" and len(parts) == 2:
            return ("labelled", int(parts[1]))
        if len(parts) == 3:
            return tuple(int(p) for p in parts)
    except ValueError:
        pass
    raise ValueError(f"--select: all, labelled, labelled:K or START:STOP:STEP; not {text!r}")


def split_argument(values: list[str] | None) -> object:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    try:
        return tuple(float(v) for v in values)
    except ValueError:
        raise ValueError(f"--split: three fractions or one mapping file; not {' '.join(values)!r}") from None


def run(args: argparse.Namespace) -> int:
    from ..training import build_dataset
    from ..training.classes import parse_label_names

    result = build_dataset(
        args.images_folder,
        args.masks_folder,
        args.output_path,
        view=common.views(args.view),
        orientation=args.orientation,
        spacing=args.spacing,
        target_size=args.target_size,
        pad_value=args.pad_value,
        window=args.window,
        bits=args.bits,
        image_format=args.image_format,
        compression=args.compression,
        layout=args.layout,
        labels=labels_argument(args.labels),
        label_names=None if args.label_names is None else parse_label_names(args.label_names),
        coco_segmentation=args.coco_segmentation,
        components=args.components,
        select=select_argument(args.select),
        split=split_argument(args.split),
        seed=args.seed,
        context=args.context,
        workers=args.workers,
        progress=common.display(args),
        resume=args.resume,
        save_report=args.report,
    )
    code = common.report(result, args.output_path, args.quiet)
    common.report_line(result, args.output_path, args.quiet)
    return code
