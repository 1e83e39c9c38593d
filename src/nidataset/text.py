"""Text shown to people: names on one line, whatever bytes they hold (pure, standard library only)."""

from __future__ import annotations

from collections.abc import Sequence


def printable(name: str) -> str:
    """``name`` on one line: control characters and line separators as backslash escapes.

    A file name may hold a newline; a one-line report must not be split by it.

    >>> printable("a\\nb.nii"), printable("café.nii")
    ('a\\\\nb.nii', 'café.nii')
    """
    if name.isprintable():
        return name
    return "".join(char if char.isprintable() or char == " " else _escaped(char) for char in name)


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    if char in "\n\r\t":
        return repr(char)[1:-1]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def first_few(names: Sequence[str], limit: int = 5, separator: str = ", ") -> str:
    """The first ``limit`` names, then how many more, for a one-line message.

    >>> first_few(list("abcdefg")), first_few(["x", "y"], separator="; "), first_few(list("abc"), 2, "; ")
    ('a, b, c, d, e and 2 more', 'x; y', 'a; b; and 1 more')
    """
    shown = separator.join(names[:limit])
    more = len(names) - limit
    return shown + (f"{separator.strip(' ,')} and {more} more" if more > 0 else "")
