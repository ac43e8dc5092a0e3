"""A report as Markdown, with its plots as PNG files beside it, linked by relative path.

Every piece of text is escaped: HTML-special characters become entities (Markdown passes raw
HTML through) and Markdown punctuation gets a backslash, so a model output is shown as written,
never interpreted; line breaks inside a table cell become ``↵``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from zonegate.evals.report.blocks import Block, Callout, Image, Paragraph, Section, Table
from zonegate.evals.report.content import sections
from zonegate.evals.report.model import Report
from zonegate.evals.report.plots import Plot, make_plots

_INLINE = re.compile(r"([\\`*_\[\]|~$])")  # emphasis, code, links, cells, strike, math
_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d+(?=[.)]))")  # headings, lists, rules


def escape(text: str, *, line_start: bool = True) -> str:
    """``text`` as literal Markdown text on one line: HTML-special characters as entities,
    inline punctuation backslash-escaped, and a block marker at the start too when the text
    starts a line (``line_start``; a table cell does not)."""
    flat = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", " ↵ ")
    escaped = _INLINE.sub(r"\\\1", html.escape(flat, quote=False))
    if not line_start:
        return escaped
    return _LINE_START.sub(lambda m: f"{m.group(1)}{_block_marker(m.group(2))}", escaped)


def _block_marker(marker: str) -> str:
    """A list number keeps its digits and escapes what follows (``1\\.``); any other marker
    is escaped itself (``\\#``)."""
    return f"{marker}\\" if marker[0].isdigit() else f"\\{marker}"


def image_names(stem: str, plots: list[Plot]) -> dict[str, str]:
    """The file name of each plot next to ``<stem>.md``."""
    return {p.name: f"{stem}.{p.name}.png" for p in plots}


def render_markdown(report: Report, plots: list[Plot], files: Mapping[str, str]) -> str:
    """The Markdown text; ``files`` maps each plot's name to its (relative) file name."""
    lines = [f"# {escape(report.title)}", ""]
    for section in sections(report, plots):
        lines.extend(_section(section, files))
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(report: Report, path: Path) -> list[Path]:
    """Write ``path`` and its plots (``<stem>.<plot>.png`` beside it); the files written."""
    plots = make_plots(report)
    files = image_names(path.stem, plots)
    written = []
    for plot in plots:
        target = path.with_name(files[plot.name])
        target.write_bytes(plot.png)
        written.append(target)
    path.write_text(render_markdown(report, plots, files), encoding="utf-8")
    return [path, *written]


def _section(section: Section, files: Mapping[str, str]) -> list[str]:
    lines = [f"{'#' * section.level} {escape(section.title)}", ""]
    for block in section.blocks:
        lines.extend(_block(block, files))
        lines.append("")
    return lines


def _block(block: Block, files: Mapping[str, str]) -> list[str]:
    if isinstance(block, Paragraph):
        return [escape(block.text)]
    if isinstance(block, Callout):
        return [f"> **{escape(block.title)}**", ">", f"> {escape(block.text)}"]
    if isinstance(block, Image):
        return [f"![{escape(block.plot.alt)}]({quote(files[block.plot.name])})"]
    return _table(block)


def _table(table: Table) -> list[str]:
    lines = [f"*{escape(table.caption)}*", ""] if table.caption else []
    lines.append("| " + " | ".join(_cell(h) or " " for h in table.headers) + " |")
    lines.append(
        "|"
        + "|".join("---:" if i in table.right else "---" for i in range(len(table.headers)))
        + "|"
    )
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows)
    return lines


def _cell(text: str) -> str:
    return escape(text, line_start=False)
