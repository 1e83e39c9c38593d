"""``report.html``: one static page that says what a run did, with every volume's previews.

It opens from disk in any browser: no server, no network, no script and no font from elsewhere, only
the preview PNGs beside it, referenced by relative links. Every name is escaped; a file name that is
not valid UTF-8 is shown with backslash escapes.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from ..naming import printable

#: Inline, so the page needs nothing else; readable in light and dark.
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin: 1.5em 0 .4em; }
table { border-collapse: collapse; width: 100%; } td, th { padding: .35em .6em; vertical-align: top; }
th { text-align: left; background: #e8e8e8; } tr { border-bottom: 1px solid #ddd; }
tr.skipped td { background: #fdecea; } .reason { color: #a12622; font-weight: 600; }
.summary { font-size: 1.05em; } .muted { color: #666; } code { font-size: .95em; }
figure { display: inline-block; vertical-align: top; margin: .3em .6em .3em 0; }
figure img { max-width: 380px; height: auto; border: 1px solid #ccc; background: #000; }
figcaption { font-size: .85em; color: #555; }
"""


REUSED = ' <span class="muted">(complete from an earlier run)</span>'


@dataclass(frozen=True)
class InputRow:
    """What the report shows of one input file."""

    name: str
    counts: tuple[int, ...] = ()
    reason: str | None = None
    reused: bool = False
    shape: tuple[int, ...] | None = None
    spacing: tuple[float, ...] | None = None
    dtype: str | None = None
    axcodes: str | None = None
    value_range: tuple[float, float] | None = None
    previews: tuple[tuple[str, str], ...] = ()  # (view, relative path)
    folders: tuple[tuple[str, str], ...] = ()  # (view, relative path)
    notes: tuple[str, ...] = field(default_factory=tuple)


def render_report(
    *,
    title: str,
    summary: str,
    seconds: float,
    views: Sequence[str],
    what: str,
    settings: Sequence[tuple[str, str]],
    rows: Sequence[InputRow],
) -> str:
    """The report's HTML."""
    skipped = [row for row in rows if row.reason is not None]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_text(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{_text(title)}</h1>",
        f'<p class="summary">{_text(summary)} in {seconds:.1f} s.</p>',
        '<p class="muted">' + "; ".join(f"{_text(k)}: <code>{_text(v)}</code>" for k, v in settings) + "</p>",
    ]
    if skipped:
        parts.append(f"<h2>Skipped ({len(skipped)})</h2><ul>")
        parts += [
            f'<li>{_text(r.name)}: <span class="reason">{_text(r.reason or "")}</span></li>' for r in skipped
        ]
        parts.append("</ul>")
    parts.append(f"<h2>Inputs ({len(rows)})</h2>")
    parts.append(_table(rows, views, what))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _table(rows: Sequence[InputRow], views: Sequence[str], what: str) -> str:
    head = ["file", "shape", "spacing (mm)", "dtype", "orientation", "value range"]
    head += [f"{view} {what}" for view in views]
    lines = ["<table><thead><tr>" + "".join(f"<th>{_text(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in rows:
        cells = [
            _text(row.name)
            + (' <span class="muted">(complete from an earlier run)</span>' if row.reused else ""),
            _text(" x ".join(str(n) for n in row.shape)) if row.shape else "",
            _text(" x ".join(f"{s:g}" for s in row.spacing)) if row.spacing else "",
            _text(row.dtype or ""),
            _text(row.axcodes or ""),
            _text(f"{row.value_range[0]:g} .. {row.value_range[1]:g}") if row.value_range else "",
        ]
        if row.reason is not None:
            cells.append(f'<span class="reason">skipped: {_text(row.reason)}</span>')
            cells += [""] * (len(views) - 1)
        else:
            links = dict(row.folders)
            cells += [
                _link(links[v], str(n)) if v in links else str(n)
                for v, n in zip(views, row.counts, strict=True)
            ]
        css = ' class="skipped"' if row.reason is not None else ""
        lines.append(f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        if row.previews or row.notes:
            figures = "".join(_figure(row.name, view, path) for view, path in row.previews)
            notes = "".join(f'<p class="muted">{_text(note)}</p>' for note in row.notes)
            lines.append(f'<tr><td colspan="{len(head)}">{figures}{notes}</td></tr>')
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _figure(name: str, view: str, path: str) -> str:
    image = f'<img src="{_href(path)}" alt="{_text(name)} {_text(view)} preview">'
    return f'<figure><a href="{_href(path)}">{image}</a><figcaption>{_text(view)}</figcaption></figure>'


def _text(value: str) -> str:
    return html.escape(printable(value), quote=True)


def _href(path: str) -> str:
    """A relative link: the file name's own bytes percent-encoded, so a name that is not UTF-8 still
    links to its file (a browser maps ``%E9`` back to that byte)."""
    return html.escape(quote(os.fsencode(path.replace(os.sep, "/")), safe="/"), quote=True)


def _link(path: str, label: str) -> str:
    return f'<a href="{_href(path)}">{_text(label)}</a>'
