"""Text shown to people: names on one line, whatever bytes they hold (pure, standard library only)."""

from __future__ import annotations


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
