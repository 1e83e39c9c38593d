"""The command line's own words: the Python API's option names in a message, as flags.

The API's messages name its parameters (``image_format='png'``, ``pass window=``), as a Python caller
needs. At the command line the same message is translated here, with the parser's own mapping from
each option's destination to its flag (``image_format`` -> ``--format``): no second list to keep.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

#: A value written after ``name=``: quoted text, a parenthesised tuple, or a bare word or number.
_VALUE = r"""('[^']*'|"[^"]*"|\([^()]*\)|[\w.+-]+)?"""


def flags_of(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Each option's destination (its Python name) and its action, as the parser defines them."""
    return {action.dest: action for action in parser._actions if action.dest != argparse.SUPPRESS}


def flag(action: argparse.Action) -> str:
    """How the command line writes an option: its long flag, or a positional's metavar."""
    if action.option_strings:
        return next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])
    metavar = action.metavar if isinstance(action.metavar, str) else None
    return metavar or action.dest.upper()


def translator(parser: argparse.ArgumentParser) -> Callable[[str], str]:
    """A function that rewrites a message's Python option names as ``parser``'s flags.

    ``name=value`` becomes ``--flag value`` (quotes dropped; a tuple becomes ``H W`` for a two-value
    option, ``C,W`` otherwise); ``name=`` alone becomes ``--flag``; a bare name with an underscore
    (``target_size``, ``nii_folder``) becomes its flag, and so does a name that starts the message
    before " must " (the option checks' "workers must be ..."). Other words are left alone:
    "window" alone is English as well as a parameter.

    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("--format", dest="image_format")
    >>> _ = parser.add_argument("--window")
    >>> translator(parser)("image_format='png' holds uint8: pass window= or keep image_format='tiff'")
    '--format png holds uint8: pass --window or keep --format tiff'
    """
    actions = flags_of(parser)
    if not actions:
        return lambda text: text
    names = "|".join(re.escape(name) for name in sorted(actions, key=len, reverse=True))
    assigned = re.compile(rf"(?<![\w.-])({names})={_VALUE}")
    underscored = "|".join(re.escape(name) for name in actions if "_" in name) or "(?!)"
    bare = re.compile(rf"(?<![\w.=-])({underscored})(?![\w=])( \([^()]*\))?")
    must = re.compile(rf"^({names})(?= must )")  # an option check's "workers must be ..."

    def as_flags(match: re.Match[str]) -> str:
        action = actions[match.group(1)]
        value = match.group(2) and match.group(2).strip()
        return flag(action) if value is None else f"{flag(action)} {_cli_value(value, action)}"

    def translate(text: str) -> str:
        text = assigned.sub(as_flags, text)
        text = must.sub(lambda match: flag(actions[match.group(1)]), text)
        return bare.sub(as_flags, text)

    return translate


def _cli_value(value: str, action: argparse.Action) -> str:
    """A Python value as the command line writes it: ``'png'`` -> ``png``, ``(40.0, 80.0)`` -> ``40,80``."""
    if value[:1] in "'\"":
        return value[1:-1]
    if not value.startswith("("):
        return value
    parts = [_number(part.strip().strip("'\"")) for part in value[1:-1].split(",") if part.strip()]
    return (" " if action.nargs == 2 else ",").join(parts)


def _number(text: str) -> str:
    try:
        return f"{float(text):g}"
    except ValueError:
        return text
