"""What ``eval compare`` and ``promote`` share: a route's gate settings, the model serving a
route now, and the verdict drawn for a person."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from zonegate.audit.chain import decimal_text
from zonegate.config.schema import RouteConfig
from zonegate.evals.gate import RunEvidence, Verdict, money, points
from zonegate.store.route_repo import RouteChange

_VERSION_SHOWN = 12


def serving_model(route: RouteConfig, current: RouteChange | None) -> str:
    """The model first on ``route``: its promoted model while that is still a candidate (the
    gateway ignores one the config no longer lists), else the config's first candidate."""
    if current is not None and current.model is not None and current.model in route.candidates:
        return current.model
    return route.candidates[0]


def route_order(route: RouteConfig, current: RouteChange | None) -> list[str]:
    """The route's candidates in the order the gateway tries them now."""
    first = serving_model(route, current)
    return [first, *(c for c in route.candidates if c != first)]


def render_verdict(verdict: Verdict, console: Console) -> None:
    """The 2x2 table, the rates and tests, latency and cost, each check and the verdict."""
    out = console if console.is_terminal else Console(width=160, file=console.file)
    cand, inc = verdict.candidate, verdict.incumbent
    table, ni = verdict.comparison.table, verdict.comparison.noninferiority
    mcnemar = verdict.comparison.mcnemar
    out.print(
        f"[bold]{escape(cand.model)}[/] (candidate) vs [bold]{escape(inc.model)}[/] (incumbent) "
        f"on suite [bold]{escape(verdict.settings.suite)}[/] version "
        f"{verdict.suite_version[:_VERSION_SHOWN]}",
        highlight=False,
    )
    cells = Table(
        "",
        "incumbent passes",
        "incumbent fails",
        title=f"Paired outcomes ({table.n} items, repeats reduced by "
        f"{verdict.comparison.reduction})",
    )
    cells.add_row("candidate passes", str(table.both_pass), str(table.incumbent_only_fail))
    cells.add_row("candidate fails", str(table.candidate_only_fail), str(table.both_fail))
    out.print(cells)

    confidence = f"{(1 - ni.alpha) * 100:g}%"
    numbers = Table("", "candidate", "incumbent", title="Evidence")
    numbers.add_row("run", cand.run_id, inc.run_id)
    numbers.add_row(
        "failure rate", points(table.candidate_failure_rate), points(table.incumbent_failure_rate)
    )
    numbers.add_row("attempts (errors)", _attempts(cand), _attempts(inc))
    numbers.add_row("latency p95", _latency(cand), _latency(inc))
    numbers.add_row("cost per 1k requests", _cost(cand), _cost(inc))
    out.print(numbers)

    tests = Table("", "value", title="Tests", show_header=False)
    tests.add_row("difference d (cand - inc)", f"{table.difference * 100:+.2f} points")
    tests.add_row(
        f"upper {confidence} bound of d (Tango)",
        f"{ni.upper_bound * 100:+.2f} points (margin {ni.margin * 100:.2f})",
    )
    tests.add_row(
        "McNemar exact p (two-sided)", f"{mcnemar.p_value:.4g} (mid-p {mcnemar.mid_p_value:.4g})"
    )
    tests.add_row(
        "non-inferiority p (Tango score)", f"{ni.p_value:.4g} (alpha {ni.alpha:g}, one-sided)"
    )
    out.print(tests)

    checks = Table("check", "result", "detail", title="Gate")
    for check in verdict.checks:
        mark = "[green]pass[/]" if check.passed else "[red]fail[/]"
        checks.add_row(check.name, mark, escape(check.detail))
    out.print(checks)
    if verdict.passed:
        out.print("[bold green]PASS[/]: every check of the gate holds.", highlight=False)
    else:
        names = ", ".join(c.name for c in verdict.failures)
        out.print(f"[bold red]FAIL[/]: {escape(names)} did not hold.", highlight=False)


def _attempts(evidence: RunEvidence) -> str:
    return f"{evidence.attempts} ({evidence.errors})"


def _latency(evidence: RunEvidence) -> str:
    p95 = evidence.latency_p95_ms
    return "-" if p95 is None else f"{p95:.1f} ms"


def _cost(evidence: RunEvidence) -> str:
    cost = evidence.cost_per_1k_requests
    if cost is None:
        return "- (unpriced)"
    return f"{money(cost)} {evidence.currency or ''}".rstrip()


def parse_money(value: str | None, option: str) -> Decimal | None:
    """A non-negative decimal from the command line, or None; ValueError says what is wrong."""
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except ArithmeticError:
        raise ValueError(f"{option} {value!r} is not a number; write e.g. {option} 2.50") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{option} must be a number of 0 or more, got {value!r}")
    return Decimal(decimal_text(amount))
