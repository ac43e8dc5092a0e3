"""What a report says, as data: built from run documents alone, rendered by ``markdown``/``html``.

Headline numbers of a run (pass rate and interval, tokens, cost, latency percentiles) are the
ones its document's summary holds, the same ones ``zonegate eval show`` prints; the breakdowns
(per tag, per item, failures) are computed here from the document's results with the same
counting rules (an errored attempt is a failure; Wilson intervals, or item-clustered ones with
repeats).

Which runs are compared: the first run given is the candidate; every later run on the same suite
version is an incumbent it is compared with (one paired comparison each). Runs on another suite
version are shown but not compared: their items differ, so pairing them would mean nothing.
With ``zonegate eval report --latest`` the newest run comes first, so it is the candidate.

The verdict of a comparison is the gate's (``zonegate.evals.gate.judge``, as ``zonegate eval
compare`` gives it) with the report's margin, alpha and minimum of paired items; ``reading``
adds what the two tests say in one word.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from zonegate.errors import ZonegateError
from zonegate.evals.gate import GateSettings, Verdict as GateVerdict, judge
from zonegate.evals.report.reading import Reading, read_tests
from zonegate.evals.run_portable import StoredRun, stored_run
from zonegate.evals.stats import (
    PairedComparison,
    clustered_pass_rate,
    reduce_attempts,
    wilson_interval,
)
from zonegate.store.eval_repo import MIN_PREFIX

CONFIDENCE = 0.95
DEFAULT_MIN_ITEMS = GateSettings(suite="any").min_items  # the gate's own default
UNTAGGED = "(untagged)"
Role = Literal["candidate", "incumbent"]


@dataclass(frozen=True, slots=True)
class Rate:
    """Passed attempts of a group with the interval of the rate (None when empty)."""

    passed: int
    total: int
    low: float | None
    high: float | None
    method: str | None  # "wilson" or "cluster_robust"

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt: what the model said and why it failed (scorer explanations or the
    error)."""

    item_id: str
    attempt: int
    output: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunReport:
    run_id: str
    model: str
    served: tuple[str, ...]
    suite_name: str
    suite_version: str
    status: str
    created_at: str
    repeats: int
    parameters: Mapping[str, Any]
    config_hash: str
    rate: Rate
    items: int
    planned: int
    errors: int
    error_codes: Mapping[str, int]
    tags: Mapping[str, Rate]
    item_passes: Mapping[str, tuple[bool, ...]]
    outputs: Mapping[str, tuple[str | None, ...]]
    latency_p50: float | None
    latency_p95: float | None
    latencies: tuple[float, ...]
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal | None  # None: no attempt was priced
    priced: int  # answered attempts with a cost
    currency: str | None
    failures: tuple[Failure, ...]
    role: Role | None = None
    short_id: str = ""  # the shortest prefix (8+) telling this run from the others shown

    @property
    def label(self) -> str:
        return f"{self.model} ({self.short_id or self.run_id[:MIN_PREFIX]})"

    @property
    def attempts(self) -> int:
        return self.rate.total

    @property
    def tokens_per_request(self) -> float | None:
        total = self.prompt_tokens + self.completion_tokens
        return total / self.attempts if self.attempts else None

    @property
    def cost_per_1k(self) -> Decimal | None:
        """What 1,000 requests cost at the mean of the priced answered attempts, as the gate
        computes it (answers from the cache counted at their original price, so runs with and
        without cache compare)."""
        if self.cost is None or not self.priced:
            return None
        return self.cost * 1000 / self.priced


@dataclass(frozen=True, slots=True)
class DiscordantItem:
    """An item one model passes and the other fails (after reducing repeats)."""

    item_id: str
    candidate_passed: bool
    candidate_outcome: str  # "k/n"
    incumbent_outcome: str
    candidate_output: str | None
    incumbent_output: str | None


@dataclass(frozen=True, slots=True)
class ComparisonReport:
    candidate: str
    incumbent: str
    gate: GateVerdict | None
    reading: Reading | None
    problem: str | None  # why no comparison could be made
    discordant: tuple[DiscordantItem, ...]

    @property
    def comparison(self) -> PairedComparison | None:
        return None if self.gate is None else self.gate.comparison


@dataclass(frozen=True, slots=True)
class Report:
    runs: tuple[RunReport, ...]
    comparisons: tuple[ComparisonReport, ...]
    settings: GateSettings
    generated_at: datetime
    notes: tuple[str, ...]

    @property
    def margin(self) -> float:
        return self.settings.margin

    @property
    def alpha(self) -> float:
        return self.settings.alpha

    @property
    def title(self) -> str:
        names = sorted({r.suite_name for r in self.runs})
        return f"Evaluation report: {', '.join(names)}"

    def run(self, run_id: str) -> RunReport:
        return next(r for r in self.runs if r.run_id == run_id)


def build_report(
    documents: Sequence[Mapping[str, Any]],
    *,
    margin: float = 0.02,
    alpha: float = 0.05,
    min_items: int = DEFAULT_MIN_ITEMS,
    generated_at: datetime | None = None,
) -> Report:
    """The report of ``documents`` (run documents, candidate first; see the module docstring).

    ``ValueError`` for no documents, the same run twice, or a margin, alpha or minimum out of
    range."""
    if not documents:
        raise ValueError("a report needs at least one run")
    first = documents[0]["suite"]
    settings = GateSettings(
        suite=str(first["name"]), margin=margin, alpha=alpha, min_items=min_items
    )
    ids = [str(d["run_id"]) for d in documents]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"run {repeated[0]} is given more than once")
    shorts = _short_ids(ids)
    runs = [_with(_run(d), short_id=shorts[str(d["run_id"])]) for d in documents]
    stored = {str(d["run_id"]): stored_run(d) for d in documents}
    candidate = runs[0]
    comparisons: list[ComparisonReport] = []
    notes: list[str] = []
    for other in runs[1:]:
        if other.suite_version != candidate.suite_version:
            notes.append(
                f"{other.label} ran {other.suite_name} version {other.suite_version[:19]}, not "
                f"the candidate's {candidate.suite_version[:19]}: shown, not compared"
            )
            continue
        comparisons.append(
            _compare(settings, (candidate, stored[candidate.run_id]), (other, stored[other.run_id]))
        )
    if comparisons:
        incumbents = {c.incumbent for c in comparisons}
        runs = [
            _with(r, role="candidate" if r is candidate else "incumbent")
            if r is candidate or r.run_id in incumbents
            else r
            for r in runs
        ]
    return Report(
        runs=tuple(runs),
        comparisons=tuple(comparisons),
        settings=settings,
        generated_at=generated_at or datetime.now(UTC),
        notes=tuple(notes),
    )


def _with(run: RunReport, **changes: Any) -> RunReport:
    fields = {name: getattr(run, name) for name in RunReport.__dataclass_fields__}
    return RunReport(**{**fields, **changes})


def _short_ids(ids: Sequence[str]) -> dict[str, str]:
    """Run ids made of a timestamp first (UUIDv7) share long prefixes when made together, so
    each gets the shortest prefix of at least 8 characters no other run shown starts with."""
    out = {}
    for run_id in ids:
        length = MIN_PREFIX
        while length < len(run_id) and any(
            o != run_id and o.startswith(run_id[:length]) for o in ids
        ):
            length += 1
        out[run_id] = run_id[:length]
    return out


def _run(doc: Mapping[str, Any]) -> RunReport:
    suite = doc["suite"]
    summary = doc["summary"]
    results: list[Mapping[str, Any]] = list(doc["results"])
    order = {str(item["id"]): n for n, item in enumerate(suite.get("items", ()))}
    tags_of = {str(item["id"]): tuple(item.get("tags") or ()) for item in suite.get("items", ())}
    per_item: dict[str, list[bool]] = defaultdict(list)
    outputs: dict[str, list[str | None]] = defaultdict(list)
    for r in sorted(results, key=lambda r: int(r["attempt"])):
        per_item[str(r["item_id"])].append(bool(r["passed"]))
        outputs[str(r["item_id"])].append(r.get("output"))
    ranked = sorted(per_item, key=lambda i: (order.get(i, len(order)), i))
    position = {item_id: n for n, item_id in enumerate(ranked)}
    latency = summary.get("latency_ms") or {}
    priced = [r for r in results if r.get("cost") is not None and r.get("error_code") is None]
    currency = summary.get("currency")
    return RunReport(
        run_id=str(doc["run_id"]),
        model=str(doc["model"]["requested"]),
        served=tuple(doc["model"].get("served") or ()),
        suite_name=str(suite["name"]),
        suite_version=str(suite["version"]),
        status=str(doc["status"]),
        created_at=str(doc["created_at"]),
        repeats=int(doc["repeats"]),
        parameters=dict(doc.get("parameters") or {}),
        config_hash=str(doc["config"]["hash"]),
        rate=_rate(per_item),
        items=len(per_item),
        planned=int(summary.get("planned") or len(order) * int(doc["repeats"])),
        errors=sum(1 for r in results if r.get("error_code") is not None),
        error_codes=dict(summary.get("error_codes") or {}),
        tags=_tags(per_item, tags_of),
        item_passes={i: tuple(per_item[i]) for i in ranked},
        outputs={i: tuple(outputs[i]) for i in ranked},
        latency_p50=latency.get("p50"),
        latency_p95=latency.get("p95"),
        latencies=tuple(
            float(r["latency_ms"])
            for r in results
            if r.get("latency_ms") is not None
            and not r.get("cached")
            and r.get("error_code") is None
        ),
        prompt_tokens=int(summary.get("prompt_tokens") or 0),
        completion_tokens=int(summary.get("completion_tokens") or 0),
        cost=sum((Decimal(str(r["cost"])) for r in priced), Decimal(0)) if priced else None,
        priced=len(priced),
        currency=currency if isinstance(currency, str) else None,
        failures=tuple(
            _failure(r)
            for r in sorted(results, key=lambda r: (position[str(r["item_id"])], r["attempt"]))
            if not r["passed"]
        ),
    )


def _rate(per_item: Mapping[str, Sequence[bool]]) -> Rate:
    """Pass rate over attempts with the summary's interval rule: item-clustered with repeats
    (and at least two items), Wilson otherwise."""
    attempts = [a for v in per_item.values() for a in v]
    passed = sum(attempts)
    if not attempts:
        return Rate(0, 0, None, None, None)
    if any(len(v) > 1 for v in per_item.values()) and len(per_item) >= 2:
        clustered = clustered_pass_rate(per_item.values(), CONFIDENCE)
        return Rate(passed, len(attempts), clustered.low, clustered.high, "cluster_robust")
    low, high = wilson_interval(passed, len(attempts), CONFIDENCE)
    return Rate(passed, len(attempts), low, high, "wilson")


def _tags(
    per_item: Mapping[str, Sequence[bool]], tags_of: Mapping[str, tuple[str, ...]]
) -> dict[str, Rate]:
    """Per tag of the suite's items; items without tags are one more group, when any item has
    tags (a suite without tags has no breakdown)."""
    if not any(tags_of.get(i) for i in per_item):
        return {}
    groups: dict[str, dict[str, Sequence[bool]]] = defaultdict(dict)
    for item_id, attempts in per_item.items():
        for tag in tags_of.get(item_id) or (UNTAGGED,):
            groups[tag][item_id] = attempts
    ordered = sorted(groups, key=lambda t: (t == UNTAGGED, t))
    return {tag: _rate(groups[tag]) for tag in ordered}


def _failure(r: Mapping[str, Any]) -> Failure:
    if r.get("error_code") is not None:
        reasons: tuple[str, ...] = (f"{r['error_code']}: {r.get('error_message') or ''}".strip(),)
    else:
        reasons = tuple(
            f"{s['scorer']}: {s.get('explanation') or 'failed'}"
            for s in r.get("scores") or ()
            if not s.get("passed")
        ) or ("no scorer passed it",)
    return Failure(str(r["item_id"]), int(r["attempt"]), r.get("output"), reasons)


def _compare(
    settings: GateSettings,
    candidate_run: tuple[RunReport, StoredRun],
    incumbent_run: tuple[RunReport, StoredRun],
) -> ComparisonReport:
    (candidate, cand), (incumbent, inc) = candidate_run, incumbent_run
    try:
        gate = judge(settings, cand.run, cand.results, inc.run, inc.results)
    except ZonegateError as exc:
        return ComparisonReport(candidate.run_id, incumbent.run_id, None, None, exc.message, ())
    reduction = gate.comparison.reduction
    discordant = []
    for item_id, attempts in candidate.item_passes.items():
        passed = reduce_attempts(attempts, reduction)
        inc_attempts = incumbent.item_passes[item_id]
        if passed == reduce_attempts(inc_attempts, reduction):
            continue
        discordant.append(
            DiscordantItem(
                item_id=item_id,
                candidate_passed=passed,
                candidate_outcome=f"{sum(attempts)}/{len(attempts)}",
                incumbent_outcome=f"{sum(inc_attempts)}/{len(inc_attempts)}",
                candidate_output=_shown_output(candidate, item_id, passed),
                incumbent_output=_shown_output(incumbent, item_id, not passed),
            )
        )
    return ComparisonReport(
        candidate=candidate.run_id,
        incumbent=incumbent.run_id,
        gate=gate,
        reading=read_tests(gate.comparison),
        problem=None,
        discordant=tuple(discordant),
    )


def _shown_output(run: RunReport, item_id: str, passed: bool) -> str | None:
    """The output of the first attempt whose outcome matches the item's reduced outcome."""
    outcomes = run.item_passes[item_id]
    outputs = run.outputs[item_id]
    for outcome, output in zip(outcomes, outputs, strict=True):
        if outcome == passed:
            return output
    return outputs[0] if outputs else None
