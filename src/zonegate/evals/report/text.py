"""How numbers and long text read in a report: one place, so Markdown and HTML agree."""

from __future__ import annotations

from decimal import Decimal

from zonegate.evals.report.model import Rate

OUTPUT_LIMIT = 300  # characters of a model output shown in a table cell


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def points(value: float) -> str:
    """A difference of two rates, in signed percentage points."""
    return f"{100 * value:+.1f} pts"


def interval(rate: Rate) -> str:
    if rate.low is None or rate.high is None:
        return "-"
    return f"[{pct(rate.low)}, {pct(rate.high)}]"


def rate_cell(rate: Rate) -> str:
    """``66.7% [20.8%, 93.9%] (2/3)``"""
    if not rate.total:
        return "-"
    return f"{pct(rate.rate)} {interval(rate)} ({rate.passed}/{rate.total})"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def money(value: Decimal | None, currency: str | None = None) -> str:
    if value is None:
        return "unpriced"
    amount = f"{value:.4f}"
    return f"{amount} {currency}" if currency else amount


def p_value(value: float) -> str:
    return f"{value:.4f}" if value >= 0.0001 else f"{value:.2e}"


def truncate(text: str | None, limit: int = OUTPUT_LIMIT) -> str:
    """``text`` cut at ``limit`` characters, saying how much was left out."""
    if text is None:
        return "(no output)"
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"
