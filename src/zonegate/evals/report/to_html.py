"""A report as one self-contained HTML file: inline CSS, plots as base64 PNG data URIs, no
script and no external asset, so it can be mailed or archived as is.

Every piece of text goes through ``html.escape``; on top of that a Content-Security-Policy
allows no script at all, so even a mistake in escaping could not run what a model wrote.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from zonegate.evals.report.blocks import Block, Callout, Image, Paragraph, Section, Table
from zonegate.evals.report.content import sections
from zonegate.evals.report.model import Report
from zonegate.evals.report.plots import Plot, make_plots

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
  max-width: 80rem; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
  border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .88rem; }
caption { text-align: left; font-style: italic; padding-bottom: .3rem; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; vertical-align: top;
  text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { font-family: ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap;
  word-break: break-word; max-width: 36rem; font-size: .8rem; }
.callout { border-left: .35rem solid; padding: .6rem 1rem; margin: 1rem 0; }
.good { border-color: #2a9d55; background: #eef8f1; }
.bad { border-color: #c03d3d; background: #fbefef; }
.callout strong { display: block; font-size: 1.1rem; }
img { max-width: 100%; height: auto; display: block; margin: .8rem 0; }
"""


def data_uri(plot: Plot) -> str:
    return "data:image/png;base64," + base64.b64encode(plot.png).decode("ascii")


def render_html(report: Report, plots: list[Plot]) -> str:
    title = escape(report.title)
    body = [f"<h1>{title}</h1>"]
    for section in sections(report, plots):
        body.extend(_section(section))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def write_html(report: Report, path: Path) -> list[Path]:
    """Write the report to ``path``; the files written (just that one)."""
    path.write_text(render_html(report, make_plots(report)), encoding="utf-8")
    return [path]


def _section(section: Section) -> list[str]:
    level = min(6, max(1, section.level))
    out = [f"<section><h{level}>{escape(section.title)}</h{level}>"]
    out.extend(_block(b) for b in section.blocks)
    out.append("</section>")
    return out


def _block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Callout):
        kind = "good" if block.good else "bad"
        return (
            f'<div class="callout {kind}"><strong>{escape(block.title)}</strong>'
            f"{escape(block.text)}</div>"
        )
    if isinstance(block, Image):
        return f'<img alt="{escape(block.plot.alt)}" src="{data_uri(block.plot)}">'
    return _table(block)


def _table(table: Table) -> str:
    out = ["<table>"]
    if table.caption:
        out.append(f"<caption>{escape(table.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in table.headers) + "</tr>")
    out.append("</thead><tbody>")
    for row in table.rows:
        cells = "".join(f"<td{_class(table, i)}>{escape(c)}</td>" for i, c in enumerate(row))
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _class(table: Table, column: int) -> str:
    if column in table.text:
        return ' class="text"'
    if column in table.right:
        return ' class="num"'
    return ""
