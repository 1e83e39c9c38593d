"""What every command shares: its parser's look, the common options, the summary, the executor."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Executor
from typing import Any

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_TERMINATED = 143  # SIGTERM: 128 + 15, as a shell reports a process the signal ended
DASK_CONNECT_SECONDS = 10  # Dask retries a refused connection until this timeout
#: The whole connection, handshake included: Dask sets no deadline on the handshake, so a server that
#: accepts TCP but is not a scheduler (a dashboard, any HTTP server) would hang it forever
#: (dask/distributed#8071).
DASK_DEADLINE_SECONDS = 30


class UsageError(Exception):
    """A command line that cannot run as given (exit code 2)."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Show every option's default (flags as "off"), and keep the examples' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        default = "off" if action.default is False else "%(default)s"
        return f"{text} (default: {default})"


#: The sections of a command's --help, in this order (a command shows those it has).
INPUTS, GEOMETRY, VALUES, RUN = "inputs and outputs", "geometry", "values and formats", "run"


def add_command(commands: Any, name: str, purpose: str, examples: str) -> argparse.ArgumentParser:
    """A sub-command whose help shows its purpose, its options by section, every default and its
    examples."""
    parser = commands.add_parser(
        name,
        help=purpose,
        description=purpose[0].upper() + purpose[1:] + ".",
        epilog=examples,
        formatter_class=_Formatter,
    )
    parser.register("type", float, number_argument)  # every float option of the command
    for title in (INPUTS, GEOMETRY, VALUES, RUN):
        parser.add_argument_group(title)  # empty sections are left out of --help
    return parser


def group(parser: argparse.ArgumentParser, title: str) -> Any:
    """The section ``title`` of a command's options (see :func:`add_command`)."""
    return next(g for g in parser._action_groups if g.title == title)


def place(parser: argparse.ArgumentParser, title: str, *dests: str) -> None:
    """Move the options ``dests``, already added, into the section ``title`` of --help."""
    target = group(parser, title)
    for action in parser._actions:
        if action.dest in dests:
            for section in parser._action_groups:
                if action in section._group_actions:
                    section._group_actions.remove(action)
            target._group_actions.append(action)


def number_argument(text: str) -> float:
    """A number option: ``inf`` and ``nan`` as written, but not a finite number too large for a float.

    ``float("1e400")`` is infinity: a value nobody wrote.
    """
    value = float(text)
    if math.isinf(value) and "inf" not in text.lower():
        raise argparse.ArgumentTypeError(f"{text!r} is too large for a number (at most about 1.8e308)")
    return value


def add_dataset_options(command: argparse.ArgumentParser) -> None:
    """The folders and the options every dataset command takes."""
    parser, command = command, group(command, INPUTS)
    command.add_argument(
        "nii_folder", metavar="NII_FOLDER", help="folder of .nii.gz / .nii files, or one such file"
    )
    command.add_argument("output_path", metavar="OUTPUT_PATH", help="root folder of the outputs")
    from ..stages import SAVING_MODES

    group(parser, GEOMETRY).add_argument(
        "--view",
        action="append",
        metavar="VIEW",
        help="axial, coronal or sagittal; repeat or separate by commas for several (default: axial)",
    )
    command.add_argument(
        "--saving-mode",
        choices=SAVING_MODES,
        default="case",
        help="case: OUTPUT/<prefix>/<view>/, view: OUTPUT/<view>/",
    )
    add_geometry_options(parser)
    command.add_argument("--save-stats", action="store_true", help="write OUTPUT/<view>_*_stats.csv")
    command.add_argument(
        "--save-manifest", action="store_true", help="write OUTPUT/<view>_manifest.csv, a row per slice file"
    )
    add_report_option(parser)
    command = group(parser, RUN)
    command.add_argument("--workers", type=int, help="files processed at once (default: all cores)")
    command.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster at ADDRESS (needs nidataset[dask]; the paths must be visible "
        "to its workers) (default: local threads)",
    )
    command.add_argument("--quiet", action="store_true", help="print only errors")


def add_geometry_options(command: argparse.ArgumentParser) -> None:
    """Where pixels come from: padding, orientation, square pixels (slices, annotations, build)."""
    from ..stages import ORIENTATIONS

    command = group(command, GEOMETRY)
    command.add_argument(
        "--target-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="pad to H rows, W columns (default: no padding)",
    )
    command.add_argument(
        "--orientation",
        choices=ORIENTATIONS,
        default="stored",
        help="stored voxel axes, or as 3D Slicer (radiological) or nilearn (neurological) show them",
    )
    command.add_argument(
        "--spacing",
        type=spacing_argument,
        metavar="MM",
        help="resample slices in-plane to square pixels: 'isotropic' or millimetres (default: none)",
    )


def add_value_options(command: argparse.ArgumentParser, pad_value: float | str = 0.0) -> None:
    """What pixels hold and how they are stored (the image-writing commands: slices, build)."""
    command = group(command, VALUES)
    command.add_argument(
        "--pad-value",
        type=pad_value_argument,
        default=pad_value,
        metavar="VALUE|min",
        help=f"value of the padding pixels, or min: each volume's smallest (default: {pad_value})",
    )
    command.add_argument(
        "--window",
        type=window_argument,
        metavar="NAME|C,W",
        help="window the values to 8 or 16 bits: a preset (brain, subdural, stroke, bone, soft_tissue, "
        "lung, liver, mediastinum), auto, or CENTER,WIDTH (default: values untouched); three windows "
        "(brain,subdural,bone; a pair as C:W) make the R, G, B channels of one image",
    )
    from ..io.image_formats import compression_names, describe_compressions, describe_formats, format_names
    from ..stages import BITS

    command.add_argument("--bits", type=int, choices=BITS, default=8, help="depth of a window's output")
    command.add_argument(
        "--format", dest="image_format", choices=format_names(), default="tiff", help=describe_formats()
    )
    command.add_argument("--compression", choices=compression_names(), help=describe_compressions())


def window_argument(text: str) -> str | tuple[object, ...]:
    """A preset or auto as given (checked by the API), ``CENTER,WIDTH`` as two numbers, or three
    windows for the channels of an RGB image, each a preset or ``CENTER:WIDTH`` (``brain,40:80,bone``)."""
    if "," not in text:
        return text
    parts = text.split(",")
    try:
        if len(parts) == 3:
            return tuple(tuple(float(v) for v in p.split(":")) if ":" in p else p for p in parts)
        center, width = (float(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a preset, auto, CENTER,WIDTH, or three windows (brain,subdural,bone or C:W); not {text!r}"
        ) from None
    return center, width


def folder_argument(text: str) -> str:
    """A folder that cannot be one file (the masks beside images, a training set's inputs): a file
    given there is refused as a usage error saying what to give instead."""
    if os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a file: give its folder")
    return text


def spacing_argument(text: str) -> str | float:
    if text == "isotropic":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'isotropic' or a number of millimetres, not {text!r}") from None


def add_report_option(command: argparse.ArgumentParser) -> None:
    group(command, INPUTS).add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write OUTPUT/report.html, a page showing the run, every input and its previews (default: on)",
    )


def report_line(result: Any, output_path: str, quiet: bool) -> None:
    """Where the report is, when one was written."""
    path = os.path.join(output_path, "report.html")
    if not quiet and os.path.isfile(path):
        say(f"report: {path}")


def say(line: str, *, error: bool = False) -> None:
    """Print a line on stdout (stderr for an ``error``); nothing when that stream is closed or its
    reader is gone (``2>&-``, ``| head``): what a command shows never changes what it does."""
    from ..progress import shown

    stream = sys.stderr if error else sys.stdout
    if stream is not None:
        with shown(stream=stream):
            print(line, file=stream, flush=error)


def flush_stdout() -> None:
    """Flush stdout now, while a reader that went away can still be handled (see :func:`say`)."""
    from ..progress import shown

    if sys.stdout is not None:
        with shown(stream=sys.stdout):
            sys.stdout.flush()


def open_standard_descriptors() -> None:
    """Open /dev/null on each of descriptors 0, 1, 2 the process was started without (``2>&-``).

    Otherwise the next file the run opens takes that number, and whatever writes to "stderr" (a
    library, a child process) writes into that file: possibly a slice.
    """
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one
            if null != descriptor:
                os.dup2(null, descriptor)
                os.close(null)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the volumes under way finish or roll back (exit code 143)."""


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` in the main thread, as Ctrl-C raises
    KeyboardInterrupt; the previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def views(values: list[str] | None) -> list[str]:
    """``--view a --view b,c`` as ``[a, b, c]``; axial when none is given."""
    return [v.strip() for value in values or ["axial"] for v in value.split(",") if v.strip()]


def display(args: argparse.Namespace) -> Any:
    """The progress display: on stderr unless --quiet; the summary goes to stdout instead. Its lines
    (warnings and skips included) read with the command line's words (:mod:`.words`)."""
    from ..progress import Progress

    words = getattr(args, "words", None)

    class Display(Progress):
        def write(self, line: str) -> None:
            super().write(line if words is None else words(line))

    return Display(not args.quiet, summary=False)


def report(result: Any, output_path: str, quiet: bool) -> int:
    """The summary on stdout; exit 1 when some files were skipped."""
    if not quiet:
        say(result.summary())
        if result.skipped:
            say(f"skipped files and reasons: {os.path.join(output_path, f'{result.what}_failed.csv')}")
    return EXIT_SKIPPED if result.skipped else EXIT_OK


@contextlib.contextmanager
def executor(address: str | None) -> Iterator[Executor | None]:
    """A Dask cluster's executor when asked for (Dask imported only then), else None (local threads)."""
    if address is None:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError(
            "--dask-scheduler needs Dask: pip install dask[distributed] (the dask extra)"
        ) from None
    _check_scheme(address)
    with _connect(Client, address) as client:
        yield client.get_executor()


def _check_scheme(address: str) -> None:
    """An address whose scheme Dask has no transport for is refused at once: Dask's own connection
    would retry it until its timeout, and longer where its comm registry is slow to answer."""
    from distributed.comm.addressing import parse_address
    from distributed.comm.registry import get_backend

    try:
        get_backend(parse_address(address)[0])
    except ValueError as error:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {error}") from None


def _connect(client: Any, address: str) -> Any:
    """``client(address)`` within :data:`DASK_DEADLINE_SECONDS`; any failure is a one-line UsageError.

    The connection runs in a daemon thread: one that never returns is left behind, and the process
    can still exit.
    """
    outcome: dict[str, Any] = {}

    def connect() -> None:
        try:
            # not the default client: one left connecting would be closed, and waited for, at exit
            outcome["client"] = client(address, timeout=DASK_CONNECT_SECONDS, set_as_default=False)
        except BaseException as error:  # reported below, on the calling thread
            outcome["error"] = error

    thread = threading.Thread(target=connect, name="nidataset-dask-connect", daemon=True)
    thread.start()
    thread.join(DASK_DEADLINE_SECONDS)
    if thread.is_alive():
        raise UsageError(
            f"no Dask scheduler answered at {address} within {DASK_DEADLINE_SECONDS} s: what accepts "
            "connections there does not speak Dask (the dashboard's port, another server?)"
        )
    if "error" in outcome:
        error = outcome["error"]
        text = str(error).strip()
        detail = text.splitlines()[0] if text else "not a Dask scheduler address, such as tcp://host:8786"
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {detail}")
    return outcome["client"]


def pad_value_argument(text: str) -> float | str:
    """``--pad-value``: a number, or ``min`` (each volume's smallest real value)."""
    return "min" if text == "min" else number_argument(text)
