"""The ``nidataset`` command: parse arguments, call the Python API, return an exit code.

argparse (standard library) rather than click or typer: six sub-commands and a few dozen options do
not need another dependency, and ``main(argv) -> int`` stays directly testable, as in nibabel. Each
command is one module (:mod:`.slices`, :mod:`.annotations`, :mod:`.build`, :mod:`.preview`,
:mod:`.reassemble`, :mod:`.demo`) with ``add`` and ``run``; what they share is in :mod:`.common`, and
:mod:`.words` says the API's messages in flags, :mod:`.startup` keeps pydicom out of nibabel's import. The
API is imported only when a command runs.

Exit codes: 0 every file done; 1 some files skipped (the summary says how many and where the failure
list is); 2 usage or contract error (nothing written); 3 the output location failed (disk full, no
permission); 130 interrupted (run again with ``--resume``).
"""

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from . import annotations, build, common, demo, preview, reassemble, slices, startup
from .common import EXIT_INTERRUPTED, EXIT_OUTPUT, EXIT_USAGE, UsageError
from .words import translator

COMMANDS = {
    "slices": slices,
    "annotations": annotations,
    "build": build,
    "preview": preview,
    "reassemble": reassemble,
    "demo": demo,
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, the other commands are their help line alone.

    A command's options read the format and layout tables (``build``'s import numpy): building only
    the command being run keeps ``--help`` and usage errors quick (issue 23).
    """
    parser = argparse.ArgumentParser(
        prog="nidataset",
        description="Turn folders of 3D medical volumes into 2D slice datasets and training sets, and back.",
    )
    parser.add_argument("--version", action="version", version=f"nidataset {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        if only is None or name == only:
            command.add(commands)
        else:  # never parsed with: argparse hands the arguments to the command named first
            commands.add_parser(name, help=command.PURPOSE)
    return parser


def _named_command(argv: Sequence[str]) -> str:
    """The command that ``argv`` runs ("" when none: argparse then says what is missing)."""
    first = next((word for word in argv if not word.startswith("-")), "")
    return first if first in COMMANDS else ""


def command_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The sub-command ``name``'s own parser."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices[name]  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit code.

    SIGTERM is handled as Ctrl-C (exit code 143 instead of 130). Messages are best effort: a closed
    stdout or stderr, or a reader that went away, never changes the run or its exit code.
    """
    common.open_standard_descriptors()
    startup.one_blas_thread()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_named_command(argv))
    args = parser.parse_args(argv)
    # The API's messages name Python parameters (image_format='png'); here they read as flags.
    args.words = words = translator(command_parser(parser, args.command))
    try:
        with common.terminate_as_interrupt():
            code = int(COMMANDS[args.command].run(args))
    except (ValueError, FileNotFoundError, UsageError) as error:
        common.say(f"nidataset: error: {words(str(error))}", error=True)
        code = EXIT_USAGE
    except OSError as error:  # OutputError: the output location failed
        common.say(f"nidataset: error: {words(str(error))}", error=True)
        code = EXIT_OUTPUT
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, common.Terminated)
        again = "with --resume to finish" if hasattr(args, "resume") else "again"
        common.say(
            f"nidataset: {'terminated' if terminated else 'interrupted'}; run the same command {again}",
            error=True,
        )
        code = common.EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    common.flush_stdout()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
