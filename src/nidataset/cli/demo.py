"""``nidataset demo``: write a small phantom CT dataset and extract it."""

from __future__ import annotations

import argparse
import os
from typing import Any

from . import common

EXAMPLES = """examples:
  nidataset demo nidataset-demo
  python -m nidataset demo /tmp/demo --quiet
"""


def add(commands: Any) -> None:
    parser = common.add_command(commands, "demo", "write a small phantom CT dataset and extract it", EXAMPLES)
    parser.add_argument(
        "output", metavar="OUTPUT", help="folder to create the demo in: new, empty, or an earlier demo's"
    )
    parser.add_argument("--quiet", action="store_true", help="print only errors")


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    result = run_demo(args.output, progress=common.display(args))
    code = common.report(result, os.path.join(args.output, "slices"), args.quiet)
    if not args.quiet:
        common.say(f"volumes: {os.path.join(args.output, 'volumes')}")
        common.say(f"slices and statistics: {os.path.join(args.output, 'slices')}")
        common.say(f"report (open it in a browser): {os.path.join(args.output, 'slices', 'report.html')}")
    return code
