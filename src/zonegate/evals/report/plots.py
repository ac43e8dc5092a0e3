"""The report's figures as PNG bytes, drawn with matplotlib's Agg canvas.

Each figure is a ``Figure`` of its own on an explicit ``FigureCanvasAgg``: no pyplot, so no
global figure registry, no display backend and nothing shared between reports (or threads).
Labels are model names and tags, i.e. anything: ``$`` is escaped so no label is read as
mathtext.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zonegate.evals.report.model import Rate, Report, RunReport

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the CLI
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
CANDIDATE, INCUMBENT, OTHER = "#1f6fb4", "#e07b22", "#7f7f7f"
PALETTE = ("#1f6fb4", "#e07b22", "#2a9d55", "#c03d3d", "#8a5cc2", "#8c564b", "#d45fb4")


@dataclass(frozen=True, slots=True)
class Plot:
    """One figure: ``name`` is file-name safe (``pass-rates``), ``alt`` describes it in words."""

    name: str
    title: str
    alt: str
    png: bytes


def make_plots(report: Report) -> list[Plot]:
    """Pass rates, per-tag pass rates (when the suite has tags), latency CDFs (when any attempt
    was timed) and cost/tokens per request."""
    runs = report.runs
    plots = [pass_rate_plot(runs)]
    if any(r.tags for r in runs):
        plots.append(tag_plot(runs))
    if any(r.latencies for r in runs):
        plots.append(latency_plot(runs))
    plots.append(cost_plot(runs))
    return plots


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    try:
        yield figure
    finally:
        figure.clear()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" entry: the same report renders to the same bytes on every install.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _text(value: str) -> str:
    """A label shown as written (``$`` would otherwise start mathtext)."""
    return value.replace("$", r"\$")


def _colour(run: RunReport, index: int) -> str:
    if run.role == "candidate":
        return CANDIDATE
    if run.role == "incumbent" and index == 1:
        return INCUMBENT
    return PALETTE[index % len(PALETTE)] if run.role is None else OTHER


def _label(run: RunReport) -> str:
    role = f"{run.role}: " if run.role else ""
    return _text(f"{role}{run.label}")


def _legend(figure: Figure, ax: Axes, entries: int) -> None:
    """Below the plot, where it hides no bar or line."""
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(entries, 3), fontsize=8)


def _errors(rates: Sequence[Rate]) -> tuple[list[float], list[list[float]]]:
    """Rates in percent and their asymmetric error-bar lengths (zero where undefined)."""
    values, below, above = [], [], []
    for rate in rates:
        value = 100 * (rate.rate or 0.0)
        values.append(value)
        below.append(value - 100 * rate.low if rate.low is not None else 0.0)
        above.append(100 * rate.high - value if rate.high is not None else 0.0)
    return values, [below, above]


def pass_rate_plot(runs: Sequence[RunReport]) -> Plot:
    height = 1.2 + 0.55 * len(runs)
    with _figure(7.5, height) as figure:
        ax = figure.add_subplot()
        positions = list(range(len(runs)))[::-1]  # the first run on top
        values, errors = _errors([r.rate for r in runs])
        for i, run in enumerate(runs):
            ax.errorbar(
                [values[i]],
                [positions[i]],
                xerr=[[errors[0][i]], [errors[1][i]]],
                fmt="o",
                color=_colour(run, i),
                capsize=5,
                markersize=7,
            )
            ax.annotate(
                f"{values[i]:.1f}%",
                (values[i], positions[i]),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                fontsize=8,
            )
        ax.set_yticks(positions, [_label(r) for r in runs])
        ax.set_xlim(0, 100)
        ax.set_ylim(-0.7, len(runs) - 0.3)
        ax.set_xlabel("pass rate (%), 95% interval")
        ax.grid(axis="x", alpha=0.3)
        ax.set_title("Pass rate per run")
        png = _png(figure)
    return Plot(
        "pass-rates",
        "Pass rates",
        "Pass rate of each run with its 95% interval: "
        + "; ".join(f"{r.label} {v:.1f}%" for r, v in zip(runs, values, strict=True)),
        png,
    )


def tag_plot(runs: Sequence[RunReport]) -> Plot:
    tags = list(dict.fromkeys(t for r in runs for t in r.tags))
    width = min(30.0, max(7.5, 0.35 * len(tags) * len(runs) + 2))
    with _figure(width, 4.2) as figure:
        ax = figure.add_subplot()
        bar = 0.8 / len(runs)
        for i, run in enumerate(runs):
            rates = [run.tags.get(t, Rate(0, 0, None, None, None)) for t in tags]
            values, errors = _errors(rates)
            xs = [n - 0.4 + bar * (i + 0.5) for n in range(len(tags))]
            ax.bar(
                xs,
                values,
                bar,
                yerr=errors,
                capsize=3,
                color=_colour(run, i),
                label=_label(run),
                error_kw={"elinewidth": 1, "alpha": 0.8},
            )
        ax.set_xticks(range(len(tags)), [_text(t) for t in tags], rotation=30, ha="right")
        ax.set_ylim(0, 105)
        ax.set_ylabel("pass rate (%)")
        ax.grid(axis="y", alpha=0.3)
        _legend(figure, ax, len(runs))
        ax.set_title("Pass rate per tag")
        png = _png(figure)
    return Plot(
        "tags",
        "Pass rate per tag",
        f"Pass rate per tag ({', '.join(tags)}) for each run, with 95% intervals",
        png,
    )


def latency_plot(runs: Sequence[RunReport]) -> Plot:
    timed = [(i, r) for i, r in enumerate(runs) if r.latencies]
    with _figure(7.5, 4.0) as figure:
        ax = figure.add_subplot()
        for i, run in timed:
            values = sorted(run.latencies)
            shares = [(k + 1) / len(values) for k in range(len(values))]
            ax.step([values[0], *values], [0.0, *shares], where="post", color=_colour(run, i))
            ax.plot([], [], color=_colour(run, i), label=_label(run))
        for level in (0.5, 0.95):
            ax.axhline(level, color="#999999", linestyle="--", linewidth=0.8)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("latency (ms), answered attempts (cached and errored left out)")
        ax.set_ylabel("share of attempts")
        ax.grid(alpha=0.3)
        _legend(figure, ax, len(timed))
        ax.set_title("Latency distribution (CDF; dashed: p50, p95)")
        png = _png(figure)
    return Plot(
        "latency",
        "Latency",
        "Cumulative distribution of latency per run: "
        + "; ".join(f"{r.label} p50 {r.latency_p50} ms" for _, r in timed),
        png,
    )


def cost_plot(runs: Sequence[RunReport]) -> Plot:
    height = 1.2 + 0.55 * len(runs)
    positions = list(range(len(runs)))[::-1]
    with _figure(10.0, height) as figure:
        cost_ax, token_ax = figure.subplots(1, 2, sharey=True)
        for i, run in enumerate(runs):
            per_1k = run.cost_per_1k
            if per_1k is None:
                cost_ax.text(0, positions[i], "  unpriced", va="center", fontsize=8)
                continue
            cost_ax.barh(positions[i], float(per_1k), color=_colour(run, i), height=0.6)
            cost_ax.annotate(
                f"{per_1k:.4f}",
                (float(per_1k), positions[i]),
                textcoords="offset points",
                xytext=(3, 0),
                va="center",
                fontsize=8,
            )
        currencies = sorted({r.currency for r in runs if r.currency})
        unit = {0: "", 1: f" ({''.join(currencies)})"}.get(len(currencies), " (mixed currencies)")
        cost_ax.set_xlabel(f"cost per 1,000 requests{unit}")
        cost_ax.set_yticks(positions, [_label(r) for r in runs])
        cost_ax.set_ylim(-0.7, len(runs) - 0.3)
        if any(r.cost_per_1k is not None for r in runs):
            cost_ax.margins(x=0.25)
            cost_ax.set_xlim(left=0)
        else:  # nothing to scale: an empty axis with the "unpriced" notes
            cost_ax.set_xlim(0, 1)
            cost_ax.set_xticks([])
        cost_ax.grid(axis="x", alpha=0.3)
        prompt = [r.prompt_tokens / r.attempts if r.attempts else 0.0 for r in runs]
        completion = [r.completion_tokens / r.attempts if r.attempts else 0.0 for r in runs]
        token_ax.barh(positions, prompt, height=0.6, color="#9ecae1", label="prompt")
        token_ax.barh(
            positions, completion, left=prompt, height=0.6, color="#3182bd", label="completion"
        )
        token_ax.set_xlabel("tokens per request")
        token_ax.grid(axis="x", alpha=0.3)
        _legend(figure, token_ax, 2)
        figure.suptitle("Cost and tokens per request")
        png = _png(figure)
    return Plot(
        "cost",
        "Cost and tokens",
        "Cost per 1,000 requests and tokens per request for each run: "
        + "; ".join(
            f"{r.label} {'unpriced' if r.cost_per_1k is None else f'{r.cost_per_1k:.4f}'}"
            for r in runs
        ),
        png,
    )
