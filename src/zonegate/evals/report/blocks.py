"""The building blocks of a rendered report, shared by the Markdown and HTML renderers.

``content`` lays a report out as sections of these blocks, holding plain text only; each
renderer escapes that text for its format, so what a model wrote can never become markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zonegate.evals.report.plots import Plot


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class Callout:
    """A highlighted statement (the verdict): ``good`` colours it."""

    title: str
    text: str
    good: bool


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of plain-text cells; ``right`` are numeric columns, ``text`` are long free text
    (model outputs, explanations) shown wrapped."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = frozenset()
    text: frozenset[int] = frozenset()
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Image:
    plot: Plot


Block = Paragraph | Callout | Table | Image


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    level: int = 2
