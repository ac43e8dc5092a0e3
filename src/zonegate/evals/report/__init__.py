"""Evaluation reports: one or more runs as Markdown (with PNG plots beside it) or as one
self-contained HTML file, with the paired comparison and its verdict when runs share a suite
version. ``build_report`` makes the data (``model``), ``write_report`` renders it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from zonegate.evals.report.model import (
    ComparisonReport,
    DiscordantItem,
    Failure,
    Rate,
    Report,
    RunReport,
    build_report,
)
from zonegate.evals.report.plots import Plot, make_plots
from zonegate.evals.report.reading import Reading, read_tests
from zonegate.evals.report.to_html import render_html, write_html
from zonegate.evals.report.to_markdown import render_markdown, write_markdown

ReportFormat = Literal["md", "html"]
FORMATS: tuple[ReportFormat, ...] = ("md", "html")


def write_report(report: Report, path: Path, fmt: ReportFormat) -> list[Path]:
    """Render ``report`` to ``path`` in ``fmt``; every file written (the report first). Missing
    parent directories are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "md":
        return write_markdown(report, path)
    if fmt == "html":
        return write_html(report, path)
    raise ValueError(f"unknown report format {fmt!r} (known: {', '.join(FORMATS)})")


__all__ = [
    "FORMATS",
    "ComparisonReport",
    "DiscordantItem",
    "Failure",
    "Plot",
    "Rate",
    "Reading",
    "Report",
    "ReportFormat",
    "RunReport",
    "build_report",
    "make_plots",
    "read_tests",
    "render_html",
    "render_markdown",
    "write_html",
    "write_markdown",
    "write_report",
]
