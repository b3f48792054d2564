"""The HTML report of a run: sections with key numbers, tables and figures, one file."""

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robusthep.atomic import atomic_write_text

__all__ = ["Section", "format_quantity", "write_report"]


@dataclass(frozen=True)
class Section:
    """One section of a report.

    Attributes:
        title: the heading.
        text: a paragraph (plain text; blank lines separate paragraphs).
        numbers: label → quantity (see :func:`~robusthep.report.quantity`), shown as a list.
        table: ``(header, rows)`` of strings, e.g. one row per model.
        figures: PNG paths relative to the report's folder, embedded in order.
        links: ``(label, href)`` pairs, hrefs relative to the report's folder.
        commands: ``(label, shell command)`` pairs, each shown verbatim in a code block.
        anchor: the heading's ``id``, so that other pages and the same page can link to
            ``#anchor``; none when empty.
    """

    title: str
    text: str = ""
    numbers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    table: tuple[Sequence[str], Sequence[Sequence[str]]] | None = None
    figures: Sequence[str] = ()
    links: Sequence[tuple[str, str]] = ()
    commands: Sequence[tuple[str, str]] = ()
    anchor: str = ""


def format_quantity(stored: Mapping[str, Any], digits: int = 3) -> str:
    """A quantity as text: ``"7.12 ± 1.2 mpg^2"``; counts and pure numbers without a unit.

    Arguments:
        stored: ``{"value": ..., "unit": ..., "std": ...}``.
        digits: significant digits.

    Returns:
        The text.

    Example:
        >>> format_quantity({"value": 7.1234, "std": 1.204, "unit": "mpg^2"})
        '7.12 ± 1.2 mpg^2'
        >>> format_quantity({"value": [0, 6260], "unit": "count"})
        '[0, 6260]'
    """

    def number(v: float) -> str:
        # Integers (counts, epochs) in full: 6260, not 6.26e+03.
        return str(v) if isinstance(v, int) else f"{v:.{digits}g}"

    value = stored["value"]
    if isinstance(value, list):
        text = "[" + ", ".join(number(v) for v in value) + "]"
    else:
        text = number(value)
    if stored.get("std") is not None:
        text += f" ± {stored['std']:.{max(digits - 1, 1)}g}"
    unit = stored.get("unit", "")
    return text if unit in ("1", "count", "") else f"{text} {unit}"


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .3rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; margin: .8rem 0; }
td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
dl.numbers { display: grid; grid-template-columns: max-content auto; gap: .15rem 1.2rem; }
dl.numbers dt { color: #555; } dl.numbers dd { margin: 0; font-family: monospace; }
figure { display: inline-block; margin: .5rem; } figure img { max-width: 33rem; }
code, pre { background: #f5f5f5; padding: .1rem .3rem; }
pre { padding: .5rem; overflow-x: auto; } pre code { padding: 0; }
"""


def _section_html(section: Section) -> list[str]:
    anchor = f' id="{html.escape(section.anchor, quote=True)}"' if section.anchor else ""
    parts = [f"<h2{anchor}>{html.escape(section.title)}</h2>"]
    for paragraph in section.text.split("\n\n"):
        if paragraph.strip():
            parts.append(f"<p>{html.escape(paragraph.strip())}</p>")
    if section.numbers:
        parts.append('<dl class="numbers">')
        for label, stored in section.numbers.items():
            parts.append(
                f"<dt>{html.escape(label)}</dt><dd>{html.escape(format_quantity(stored))}</dd>"
            )
        parts.append("</dl>")
    for label, command in section.commands:
        parts.append(f"<p>{html.escape(label)}:</p><pre><code>{html.escape(command)}</code></pre>")
    if section.table is not None:
        header, rows = section.table
        parts.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header))
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    for figure_path in section.figures:
        src = html.escape(figure_path, quote=True)
        parts.append(
            f'<figure><a href="{src}"><img src="{src}" alt="{src}"></a>'
            f"<figcaption>{html.escape(Path(figure_path).name)}</figcaption></figure>"
        )
    if section.links:
        parts.append("<ul>")
        for label, href in section.links:
            parts.append(
                f'<li><a href="{html.escape(href, quote=True)}">{html.escape(label)}</a></li>'
            )
        parts.append("</ul>")
    return parts


def write_report(
    path: str | os.PathLike,
    *,
    title: str,
    sections: Sequence[Section],
    command: str | None = None,
    results_file: str | None = "results.json",
    config_file: str | None = "config.toml",
) -> Path:
    """Write a self-contained HTML report (figures are linked relative to its folder).

    Arguments:
        path: the HTML file to write (atomically).
        title: the page title.
        sections: the sections, in order.
        command: the shell command that reproduces the run, shown verbatim.
        results_file: the machine-readable results beside the report, linked; None for none.
        config_file: the configuration that was run, linked; None for none.

    Returns:
        The path written.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
        >>> section = Section("Fit", numbers={"RMSE": {"value": 0.1, "unit": "GeV"}})
        >>> text = write_report(out, title="Toy", sections=[section], command="robusthep toys")
        >>> "0.1 GeV" in out.read_text() and "robusthep toys" in out.read_text()
        True
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if command:
        parts.append(f"<p>Reproduce with: <code>{html.escape(command)}</code></p>")
    files = [
        (name, label)
        for name, label in (
            (results_file, "results (JSON, with units)"),
            (config_file, "configuration that was run (TOML)"),
        )
        if name
    ]
    if files:
        parts.append(
            "<p>"
            + " · ".join(
                f'<a href="{html.escape(name, quote=True)}">{html.escape(label)}</a>'
                for name, label in files
            )
            + "</p>"
        )
    for section in sections:
        parts.extend(_section_html(section))
    parts.append("</body></html>")
    return atomic_write_text(path, "\n".join(parts) + "\n")
