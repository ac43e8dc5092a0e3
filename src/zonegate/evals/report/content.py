"""A report laid out as sections: overview, comparisons with their verdicts, per tag, latency and
cost, per item, failures, run details. Plain text only; the renderers escape it."""

from __future__ import annotations

from collections.abc import Sequence

from zonegate.evals.report import text as fmt
from zonegate.evals.report.blocks import Block, Callout, Image, Paragraph, Section, Table
from zonegate.evals.report.model import ComparisonReport, Report, RunReport
from zonegate.evals.report.plots import Plot

MAX_FAILURES = 200  # failed attempts listed per run
MAX_ITEMS = 1000  # rows of the per-item table


def sections(report: Report, plots: Sequence[Plot]) -> list[Section]:
    by_name = {p.name: p for p in plots}
    out = [_overview(report, by_name.get("pass-rates"))]
    out.extend(_comparison(report, c) for c in report.comparisons)
    if any(r.tags for r in report.runs):
        out.append(_tags(report, by_name.get("tags")))
    out.append(_cost(report, [by_name[n] for n in ("latency", "cost") if n in by_name]))
    out.append(_items(report))
    out.append(_failures(report))
    out.append(_details(report))
    return out


def _images(*plots: Plot | None) -> list[Block]:
    return [Image(p) for p in plots if p is not None]


def _overview(report: Report, plot: Plot | None) -> Section:
    blocks: list[Block] = [
        Paragraph(
            f"Generated {report.generated_at.isoformat(timespec='seconds')} from "
            f"{len(report.runs)} run(s). Pass rates count every attempt (an error is a "
            "failure) with a 95% interval: Wilson's, or clustered by item with repeats."
        )
    ]
    if report.comparisons:
        blocks.append(
            Paragraph(
                f"The first run is the candidate, compared item by item with each other run of "
                f"the same suite version (repeats reduced by {report.settings.reduction} vote): "
                "exact McNemar test (two-sided) and Tango's non-inferiority test at a margin of "
                f"{fmt.pct(report.margin)} and alpha {report.alpha:g}. The verdict is the gate's, "
                f"as `zonegate eval compare` gives it: non-inferior, on at least "
                f"{report.settings.min_items} paired items."
            )
        )
    blocks.extend(Paragraph(note) for note in report.notes)
    rows = tuple(
        (
            r.role or "",
            r.run_id,
            r.model,
            ", ".join(r.served) or "-",
            f"{r.suite_name} {r.suite_version.removeprefix('sha256:')[:12]}",
            _settings(r),
            r.status,
            f"{r.attempts}/{r.planned}",
            fmt.pct(r.rate.rate),
            fmt.interval(r.rate),
            str(r.errors),
        )
        for r in report.runs
    )
    blocks.append(
        Table(
            (
                "role",
                "run",
                "model",
                "served by",
                "suite",
                "settings",
                "status",
                "attempts",
                "pass rate",
                "95% interval",
                "errors",
            ),
            rows,
            right=frozenset({7, 8, 10}),
        )
    )
    blocks.extend(_images(plot))
    return Section("Overview", tuple(blocks))


def _settings(run: RunReport) -> str:
    """What a run set on top of its suite: its parameters and repeats."""
    parameters = [f"{k}={v}" for k, v in sorted(run.parameters.items())]
    return ", ".join([*parameters, f"repeats={run.repeats}"])


def _comparison(report: Report, c: ComparisonReport) -> Section:
    candidate, incumbent = report.run(c.candidate), report.run(c.incumbent)
    title = f"Candidate {candidate.label} vs incumbent {incumbent.label}"
    if c.gate is None or c.reading is None:
        return Section(title, (Paragraph(f"Not compared: {c.problem}"),))
    gate, reading = c.gate, c.reading
    t = gate.comparison.table
    ni = gate.comparison.noninferiority
    mc = gate.comparison.mcnemar
    failed = ", ".join(check.name for check in gate.failures)
    blocks: list[Block] = [
        Callout(
            f"Verdict: {'PASS' if gate.passed else 'FAIL'} (tests read: {reading.title})",
            (
                "The gate passes: the candidate may replace the incumbent. "
                if gate.passed
                else f"The gate fails ({failed}): keep the incumbent. "
            )
            + f"Tests: {reading.reason}.",
            gate.passed,
        ),
        Table(
            ("check", "result", "detail"),
            tuple((ch.name, "pass" if ch.passed else "fail", ch.detail) for ch in gate.checks),
            text=frozenset({2}),
            caption="Gate checks",
        ),
        Table(
            ("", "incumbent passes", "incumbent fails", "total"),
            (
                (
                    "candidate passes",
                    str(t.both_pass),
                    str(t.incumbent_only_fail),
                    str(t.both_pass + t.incumbent_only_fail),
                ),
                (
                    "candidate fails",
                    str(t.candidate_only_fail),
                    str(t.both_fail),
                    str(t.candidate_only_fail + t.both_fail),
                ),
                (
                    "total",
                    str(t.both_pass + t.candidate_only_fail),
                    str(t.incumbent_only_fail + t.both_fail),
                    str(t.n),
                ),
            ),
            right=frozenset({1, 2, 3}),
            caption="Paired outcomes per item (discordance table)",
        ),
        Table(
            ("statistic", "value"),
            (
                ("items compared", str(t.n)),
                ("discordant items", f"{t.discordant} ({fmt.pct(t.discordance_rate)})"),
                ("candidate failure rate", fmt.pct(t.candidate_failure_rate)),
                ("incumbent failure rate", fmt.pct(t.incumbent_failure_rate)),
                ("difference (candidate - incumbent)", fmt.points(t.difference)),
                ("McNemar exact p (two-sided)", fmt.p_value(mc.p_value)),
                ("McNemar mid-p", fmt.p_value(mc.mid_p_value)),
                (f"Tango statistic at margin {fmt.pct(ni.margin)}", f"{ni.statistic:.3f}"),
                ("non-inferiority p (one-sided)", fmt.p_value(ni.p_value)),
                (
                    f"upper {100 * (1 - ni.alpha):g}% bound of the difference",
                    fmt.points(ni.upper_bound),
                ),
                ("non-inferior", "yes" if ni.non_inferior else "no"),
            ),
            right=frozenset({1}),
        ),
    ]
    if c.discordant:
        blocks.append(
            Table(
                ("item", "candidate", "incumbent", "candidate output", "incumbent output"),
                tuple(
                    (
                        d.item_id,
                        f"{'pass' if d.candidate_passed else 'fail'} {d.candidate_outcome}",
                        f"{'fail' if d.candidate_passed else 'pass'} {d.incumbent_outcome}",
                        fmt.truncate(d.candidate_output),
                        fmt.truncate(d.incumbent_output),
                    )
                    for d in c.discordant
                ),
                text=frozenset({3, 4}),
                caption="Discordant items: one model passes, the other fails",
            )
        )
    return Section(title, tuple(blocks))


def _tags(report: Report, plot: Plot | None) -> Section:
    tags = list(dict.fromkeys(t for r in report.runs for t in r.tags))
    rows = tuple(
        (tag, *(fmt.rate_cell(r.tags[tag]) if tag in r.tags else "-" for r in report.runs))
        for tag in tags
    )
    table = Table(("tag", *(r.label for r in report.runs)), rows)
    return Section("Pass rate per tag", (table, *_images(plot)))


def _cost(report: Report, plots: Sequence[Plot]) -> Section:
    rows = tuple(
        (
            r.label,
            fmt.ms(r.latency_p50),
            fmt.ms(r.latency_p95),
            str(len(r.latencies)),
            str(r.prompt_tokens),
            str(r.completion_tokens),
            "-" if r.tokens_per_request is None else f"{r.tokens_per_request:.1f}",
            fmt.money(r.cost, r.currency),
            fmt.money(r.cost_per_1k, r.currency),
        )
        for r in report.runs
    )
    table = Table(
        (
            "run",
            "p50 ms",
            "p95 ms",
            "timed",
            "prompt tokens",
            "completion tokens",
            "tokens/request",
            "cost",
            "cost per 1k requests",
        ),
        rows,
        right=frozenset(range(1, 9)),
        caption="Latency over answered attempts (cached and errored ones left out); cost is "
        "what the answers cost, cached ones at their original price",
    )
    return Section("Latency, tokens and cost", (table, *_images(*plots)))


def _items(report: Report) -> Section:
    items = list(dict.fromkeys(i for r in report.runs for i in r.item_passes))
    shown = items[:MAX_ITEMS]
    rows = tuple((item, *(_outcome(r, item) for r in report.runs)) for item in shown)
    blocks: list[Block] = [
        Table(
            ("item", *(r.label for r in report.runs)),
            rows,
            caption="Attempts passed per item",
        )
    ]
    if len(items) > len(shown):
        blocks.append(Paragraph(f"… and {len(items) - len(shown)} more items."))
    return Section("Items", tuple(blocks))


def _outcome(run: RunReport, item: str) -> str:
    attempts = run.item_passes.get(item)
    if attempts is None:
        return "-"
    passed = sum(attempts)
    mark = "pass" if passed == len(attempts) else ("fail" if passed == 0 else "mixed")
    return f"{mark} {passed}/{len(attempts)}"


def _failures(report: Report) -> Section:
    blocks: list[Block] = []
    for run in report.runs:
        if not run.failures:
            blocks.append(Paragraph(f"{run.label}: no failed attempts."))
            continue
        shown = run.failures[:MAX_FAILURES]
        blocks.append(
            Table(
                ("item", "attempt", "output", "why it failed"),
                tuple(
                    (
                        f.item_id,
                        str(f.attempt),
                        fmt.truncate(f.output),
                        fmt.truncate("\n".join(f.reasons)),
                    )
                    for f in shown
                ),
                right=frozenset({1}),
                text=frozenset({2, 3}),
                caption=f"{run.label}: {len(run.failures)} failed attempt(s)",
            )
        )
        if len(run.failures) > len(shown):
            blocks.append(
                Paragraph(
                    f"… and {len(run.failures) - len(shown)} more: "
                    f"`zonegate eval show {run.run_id}` lists them all."
                )
            )
    return Section("Failed attempts", tuple(blocks))


def _details(report: Report) -> Section:
    rows = tuple(
        (
            r.label,
            r.created_at,
            r.suite_version,
            str(r.repeats),
            ", ".join(f"{k}={v}" for k, v in sorted(r.parameters.items())) or "-",
            r.config_hash,
            ", ".join(f"{k} {v}" for k, v in sorted(r.error_codes.items())) or "-",
        )
        for r in report.runs
    )
    table = Table(
        ("run", "created", "suite version", "repeats", "parameters", "config hash", "errors"),
        rows,
        text=frozenset({2, 4, 5}),
    )
    return Section("Run details", (table,))
