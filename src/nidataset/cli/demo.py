"""``nidataset demo``: phantom CT volumes with masks, their slices and a training set to try."""

from __future__ import annotations

import argparse
import os
from typing import Any

from . import common

EXAMPLES = """examples:
  nidataset demo nidataset-demo
  python -m nidataset demo /tmp/demo --quiet
"""

#: The command's one line in ``nidataset --help`` (and its --help's first line).
PURPOSE = "write phantom CT volumes with label masks, their PNG slices and a training set to try"


def add(commands: Any) -> None:
    parser = common.add_command(commands, "demo", PURPOSE, EXAMPLES)
    parser.add_argument(
        "output", metavar="OUTPUT", help="folder to create the demo in: new, empty, or an earlier demo's"
    )
    parser.add_argument("--quiet", action="store_true", help="print only errors")


def run(args: argparse.Namespace) -> int:
    from ..demo import DATASET, SLICES, contents, next_steps, run_demo

    result = run_demo(args.output, progress=common.display(args))
    codes = [
        common.report(result.slices, os.path.join(args.output, SLICES), args.quiet),
        common.report(result.dataset, os.path.join(args.output, DATASET), args.quiet),
    ]
    if not args.quiet:
        for line in contents(args.output):
            common.say(line)
        common.say(f"report (open it in a browser): {os.path.join(args.output, SLICES, 'report.html')}")
        for line in next_steps(args.output):
            common.say(line)
    return max(codes)
