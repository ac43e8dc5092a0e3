"""Drift watch: re-run a route's canary suite against its API models and compare with a baseline.

A vendor can change what answers behind an unchanged model name. For every route with ``drift``
configured, each candidate in a zone whose operator is not ``self`` (an *API model*: one run by
someone else, which can change without a config edit) gets its canary suite run through the
gateway with the output cache off, so every answer is fresh. The run is an ordinary evaluation
run (it records the served model id and system fingerprint of every answer); the check compares
it item by item with the model's baseline run and is recorded as an admin event
(``drift.check``, or ``drift.alarm`` when it raises an alarm) on the route.

The baseline of a (suite version, model) is, unless pinned with ``--baseline RUN``, the *first*
complete run of that suite version against that model id with the suite's own parameters and no
errors: the first known-good state, so slow drift cannot creep in by comparing each run with the
one before. When none exists the current run becomes the baseline and no alarm is raised.

An alarm is raised on evidence only:

- **flips**: exact McNemar test on the items that changed outcome (pass to fail or fail to pass)
  between baseline and now; an alarm when p < the route's ``drift.alpha``;
- **served model id**: any change in the set of model ids the upstream reported.

A change of ``system_fingerprint`` (vendors change backends often without changing answers) and
a change of the configured deployment (a config edit) are warnings; the number of items whose
answer text changed is reported as information (a reworded right answer is not drift). Items
that ended in an error in either run are left out of the comparison; errors in the new run make
a check without an alarm *inconclusive*.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from zonegate.audit.record import AdminEvent
from zonegate.config.schema import Config
from zonegate.errors import InvalidRequest
from zonegate.evals.runner import EvalRunner, effective_parameters
from zonegate.evals.stats import mcnemar_exact, paired_table, reduce_attempts
from zonegate.evals.suite_build import short_version
from zonegate.evals.types import Scorer, Suite
from zonegate.ids import new_id
from zonegate.store.audit_read import iter_chain_rows
from zonegate.store.audit_repo import ADMIN_CHAIN, append_admin_event
from zonegate.store.db import Database
from zonegate.store.eval_repo import AttemptResult, EvalRepository, RunInfo
from zonegate.store.tables import admin_events

Verdict = Literal["ok", "alarm", "baseline", "inconclusive"]
CHECK_ACTION = "drift.check"
ALARM_ACTION = "drift.alarm"
ACTIONS = (CHECK_ACTION, ALARM_ACTION)
SELF_OPERATOR = "self"
LISTED_ITEMS = 50  # flipped item ids kept in a check's record (the counts are always whole)


@dataclass(frozen=True, slots=True)
class DriftTarget:
    """One API model of one route, and the canary suite it is checked with."""

    route: str
    model: str
    suite: str  # the suite reference from the route's ``drift.suite``
    alpha: float


def drift_targets(
    config: Config, routes: Sequence[str] = ()
) -> tuple[list[DriftTarget], list[str]]:
    """The targets of ``routes`` (default: every route with ``drift``) and a note per route
    that has no API model to check. Naming an unknown route or one without ``drift`` raises."""
    if routes:
        for name in routes:
            route = config.routes.get(name)
            if route is None:
                known = ", ".join(sorted(config.routes)) or "none"
                raise InvalidRequest(
                    f"unknown route {name!r} (routes: {known})", code="unknown_route"
                )
            if route.drift is None:
                raise InvalidRequest(
                    f"route {name!r} has no drift check: add 'drift: {{suite: SUITE}}' under "
                    f"routes.{name} in the config",
                    code="drift_not_configured",
                )
        names = list(dict.fromkeys(routes))
    else:
        names = [n for n, r in config.routes.items() if r.drift is not None]
        if not names:
            raise InvalidRequest(
                "no route has a drift check: add 'drift: {suite: SUITE}' under a route in the "
                "config (a small suite of items with known answers)",
                code="drift_not_configured",
            )
    targets: list[DriftTarget] = []
    notes: list[str] = []
    for name in names:
        route = config.routes[name]
        assert route.drift is not None
        api_models = [m for m in route.candidates if is_api_model(config, m)]
        if not api_models:
            notes.append(
                f"route {name!r}: every candidate runs in a zone operated by 'self'; "
                "nothing to check"
            )
        targets.extend(
            DriftTarget(name, m, route.drift.suite, route.drift.alpha) for m in api_models
        )
    return targets, notes


def is_api_model(config: Config, model_id: str) -> bool:
    """A model in a zone someone else operates: its answers can change without a config edit."""
    model = config.models.get(model_id)
    if model is None:
        return False
    zone = config.zones.get(model.zone)
    return zone is not None and zone.operator != SELF_OPERATOR


# -- baselines ----------------------------------------------------------------------------------


def find_baseline(repo: EvalRepository, suite: Suite, model: str) -> RunInfo | None:
    """The first complete, error-free run of this suite version against ``model`` with the
    suite's own parameters (see the module docstring for why the first)."""
    parameters = effective_parameters(suite)
    for run in reversed(repo.list_runs(suite=suite.name)):  # oldest first
        if (
            run.status == "complete"
            and run.suite_version == suite.version
            and run.requested_model == model
            and dict(run.parameters) == parameters
            and run.summary is not None
            and run.summary.get("errors") == 0
        ):
            return run
    return None


def check_pinned(run: RunInfo, suite: Suite, model: str) -> None:
    """Refuse a pinned baseline that cannot be compared with a drift run of ``suite``."""
    if run.status != "complete":
        raise InvalidRequest(
            f"baseline run {run.run_id} is {run.status}: pin a complete run",
            code="invalid_baseline",
        )
    if run.suite_version != suite.version:
        raise InvalidRequest(
            f"baseline run {run.run_id} is of suite {run.suite_name!r} version "
            f"{short_version(run.suite_version)}, but the canary suite is now version "
            f"{short_version(suite.version)}: pin a run of the current version, or none",
            code="invalid_baseline",
        )
    if run.requested_model != model:
        raise InvalidRequest(
            f"baseline run {run.run_id} ran against {run.requested_model!r}, not {model!r}",
            code="invalid_baseline",
        )
    if dict(run.parameters) != effective_parameters(suite):
        raise InvalidRequest(
            f"baseline run {run.run_id} was made with parameters {dict(run.parameters)}, not "
            f"the suite's {effective_parameters(suite)}: answers would differ for that reason "
            "alone; pin a run made with the suite's parameters",
            code="invalid_baseline",
        )


def assign_pinned(
    pinned: Sequence[RunInfo], targets: Sequence[tuple[DriftTarget, Suite]]
) -> dict[tuple[str, str], RunInfo]:
    """Each pinned run for the targets whose model and suite it was run with, checked; a pinned
    run that fits no target raises (a typo must not silently fall back to the default)."""
    chosen: dict[tuple[str, str], RunInfo] = {}
    for run in pinned:
        fits = [
            (t, s)
            for t, s in targets
            if t.model == run.requested_model and s.name == run.suite_name
        ]
        if not fits:
            checked = ", ".join(f"{t.model} ({s.name})" for t, s in targets) or "none"
            raise InvalidRequest(
                f"baseline run {run.run_id} ({run.suite_name!r} against "
                f"{run.requested_model!r}) fits none of the models checked: {checked}",
                code="invalid_baseline",
            )
        for target, suite in fits:
            check_pinned(run, suite, target.model)
            key = (target.route, target.model)
            if key in chosen and chosen[key].run_id != run.run_id:
                raise InvalidRequest(
                    f"two baselines pinned for {target.model!r} on route {target.route!r}: "
                    f"{chosen[key].run_id} and {run.run_id}",
                    code="invalid_baseline",
                )
            chosen[key] = run
    return chosen


# -- comparison ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DriftCheck:
    """One model's drift check: what changed since the baseline, and the verdict."""

    route: str
    model: str
    suite: str
    suite_version: str
    alpha: float
    verdict: Verdict
    run_id: str
    baseline_run_id: str | None = None
    baseline_pinned: bool = False
    paired_items: int = 0
    regressions: tuple[str, ...] = ()  # item ids that went from pass to fail
    improvements: tuple[str, ...] = ()  # from fail to pass
    regression_count: int = 0
    improvement_count: int = 0
    p_value: float | None = None
    answers_changed: int = 0  # items whose (first) answer text differs, whatever the scores
    served_before: tuple[str, ...] = ()
    served_after: tuple[str, ...] = ()
    fingerprints_before: tuple[str, ...] = ()
    fingerprints_after: tuple[str, ...] = ()
    errors: int = 0  # attempts of the new run that ended in an error
    excluded_items: int = 0  # left out: an error in either run
    reasons: tuple[str, ...] = ()  # why an alarm, or why inconclusive
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def alarm(self) -> bool:
        return self.verdict == "alarm"

    @property
    def served_changed(self) -> bool:
        return self.baseline_run_id is not None and self.served_before != self.served_after

    @property
    def fingerprint_changed(self) -> bool:
        return (
            self.baseline_run_id is not None and self.fingerprints_before != self.fingerprints_after
        )

    def to_json(self) -> dict[str, Any]:
        """The record kept in the admin event's ``after`` and printed by ``--json``."""
        return {
            "route": self.route,
            "model": self.model,
            "suite": self.suite,
            "suite_version": self.suite_version,
            "alpha": self.alpha,
            "verdict": self.verdict,
            "run_id": self.run_id,
            "baseline_run_id": self.baseline_run_id,
            "baseline_pinned": self.baseline_pinned,
            "paired_items": self.paired_items,
            "flips": {
                "pass_to_fail": self.regression_count,
                "fail_to_pass": self.improvement_count,
                "pass_to_fail_items": list(self.regressions),
                "fail_to_pass_items": list(self.improvements),
            },
            "mcnemar_p": self.p_value,
            "answers_changed": self.answers_changed,
            "served_models": {
                "baseline": list(self.served_before),
                "now": list(self.served_after),
                "changed": self.served_changed,
            },
            "fingerprints": {
                "baseline": list(self.fingerprints_before),
                "now": list(self.fingerprints_after),
                "changed": self.fingerprint_changed,
            },
            "errors": self.errors,
            "excluded_items": self.excluded_items,
            "reasons": list(self.reasons),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


def min_flips_to_alarm(alpha: float) -> int:
    """Fewest flips, all one way, for which the two-sided exact McNemar p falls below alpha."""
    m = 1
    while 2.0 * 0.5**m >= alpha:
        m += 1
    return m


def compare(
    target: DriftTarget,
    suite: Suite,
    new: RunInfo,
    new_results: Sequence[AttemptResult],
    baseline: RunInfo | None,
    baseline_results: Sequence[AttemptResult] = (),
    *,
    pinned: bool = False,
) -> DriftCheck:
    """The check of ``new`` against ``baseline`` (None: ``new`` becomes the baseline)."""
    errors = sum(1 for r in new_results if r.is_error)
    base = DriftCheck(
        route=target.route,
        model=target.model,
        suite=suite.name,
        suite_version=suite.version,
        alpha=target.alpha,
        verdict="inconclusive",
        run_id=new.run_id,
        errors=errors,
    )
    error_reason = f"{errors} attempt(s) of the new run ended in an error ({_codes(new_results)})"
    if baseline is None:
        if errors:
            return replace(base, reasons=(error_reason,))
        note = (
            f"no baseline for suite {suite.name!r} version {short_version(suite.version)} "
            f"against {target.model!r}: run {new.run_id} is the baseline from now on (no alarm)"
        )
        return replace(
            base,
            verdict="baseline",
            served_after=_values(new_results, "served_model"),
            fingerprints_after=_values(new_results, "system_fingerprint"),
            notes=(note,),
        )
    now, before = _by_item(new_results), _by_item(baseline_results)
    paired = sorted(i for i in now.keys() & before.keys() if _clean(now[i]) and _clean(before[i]))
    regressions = [i for i in paired if _majority(before[i]) and not _majority(now[i])]
    improvements = [i for i in paired if _majority(now[i]) and not _majority(before[i])]
    p_value: float | None = None
    if paired:
        table = paired_table(
            {i: [r.passed for r in now[i]] for i in paired},
            {i: [r.passed for r in before[i]] for i in paired},
        )
        p_value = mcnemar_exact(table).p_value
    now_paired = [r for i in paired for r in now[i]]
    before_paired = [r for i in paired for r in before[i]]
    check = replace(
        base,
        baseline_run_id=baseline.run_id,
        baseline_pinned=pinned,
        paired_items=len(paired),
        regressions=tuple(regressions[:LISTED_ITEMS]),
        improvements=tuple(improvements[:LISTED_ITEMS]),
        regression_count=len(regressions),
        improvement_count=len(improvements),
        p_value=p_value,
        answers_changed=sum(1 for i in paired if now[i][0].output != before[i][0].output),
        served_before=_values(before_paired, "served_model"),
        served_after=_values(now_paired, "served_model"),
        fingerprints_before=_values(before_paired, "system_fingerprint"),
        fingerprints_after=_values(now_paired, "system_fingerprint"),
        excluded_items=len(now.keys() | before.keys()) - len(paired),
    )
    reasons: list[str] = []
    if check.served_changed:
        reasons.append(
            f"served model changed: {_listed(check.served_before)} -> {_listed(check.served_after)}"
        )
    if p_value is not None and p_value < target.alpha:
        reasons.append(
            f"{len(regressions)} item(s) went from pass to fail and {len(improvements)} from "
            f"fail to pass: McNemar p = {p_value:.3g} < alpha {target.alpha:g}"
        )
    verdict: Verdict = "alarm" if reasons else "ok"
    if not reasons and (errors or not paired):
        verdict = "inconclusive"
        reasons = [error_reason] if errors else ["no item answered in both runs"]
    return replace(
        check,
        verdict=verdict,
        reasons=tuple(reasons),
        warnings=_warnings(check, baseline, new, target.alpha),
    )


def _warnings(check: DriftCheck, baseline: RunInfo, new: RunInfo, alpha: float) -> tuple[str, ...]:
    out: list[str] = []
    if check.fingerprint_changed:
        out.append(
            f"system fingerprint changed: {_listed(check.fingerprints_before)} -> "
            f"{_listed(check.fingerprints_after)} (the vendor's backend changed; answers are "
            "compared above)"
        )
    if dict(baseline.model_identity) != dict(new.model_identity):
        out.append(
            f"the configured deployment of {check.model!r} changed since the baseline (a config "
            "edit); pin a new baseline with --baseline if that was intended"
        )
    if check.excluded_items:
        out.append(f"{check.excluded_items} item(s) left out: an error in one of the runs")
    needed = min_flips_to_alarm(alpha)
    if 0 < check.paired_items < needed:
        out.append(
            f"only {check.paired_items} item(s) compared: at alpha {alpha:g} flips can raise an "
            f"alarm only from {needed} items up; add items to the canary suite"
        )
    return tuple(out)


def _by_item(results: Iterable[AttemptResult]) -> dict[str, list[AttemptResult]]:
    grouped: dict[str, list[AttemptResult]] = defaultdict(list)
    for r in sorted(results, key=lambda r: (r.item_id, r.attempt)):
        grouped[r.item_id].append(r)
    return dict(grouped)


def _clean(attempts: Sequence[AttemptResult]) -> bool:
    return not any(r.is_error for r in attempts)


def _majority(attempts: Sequence[AttemptResult]) -> bool:
    """The reduction ``paired_table`` applies: more than half the attempts pass."""
    return reduce_attempts([r.passed for r in attempts], "majority")


def _values(results: Iterable[AttemptResult], name: str) -> tuple[str, ...]:
    return tuple(sorted({v for r in results if (v := getattr(r, name))}))


def _listed(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "(none reported)"


def _codes(results: Iterable[AttemptResult]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for r in results:
        if r.is_error:
            counts[str(r.error_code)] += 1
    return ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()))


# -- running and recording ----------------------------------------------------------------------


@dataclass
class DriftWatch:
    """Runs checks through one evaluation runner and records each as an admin event."""

    db: Database
    runner: EvalRunner
    actor: str = "cli"
    _repo: EvalRepository = field(init=False)

    def __post_init__(self) -> None:
        self._repo = EvalRepository(self.db)

    async def check(
        self,
        target: DriftTarget,
        suite: Suite,
        scorers: Sequence[Scorer],
        pinned: RunInfo | None = None,
    ) -> DriftCheck:
        """Find the baseline, run the suite with the cache off, compare, record the event."""
        baseline = pinned or await asyncio.to_thread(find_baseline, self._repo, suite, target.model)
        new = await self.runner.run(suite, scorers, target.model, use_cache=False)
        new_results = await asyncio.to_thread(self._repo.results, new.run_id)
        baseline_results = (
            await asyncio.to_thread(self._repo.results, baseline.run_id) if baseline else []
        )
        check = compare(
            target, suite, new, new_results, baseline, baseline_results, pinned=pinned is not None
        )
        await asyncio.to_thread(append_admin_event, self.db, drift_event(check, self.actor))
        return check


def drift_event(check: DriftCheck, actor: str) -> AdminEvent:
    """The admin trail's record of one check: ``drift.alarm`` or ``drift.check`` on the route."""
    return AdminEvent(
        event_id=new_id(),
        at=datetime.now(UTC),
        actor=actor,
        action=ALARM_ACTION if check.alarm else CHECK_ACTION,
        subject=route_subject(check.route),
        after=check.to_json(),
    )


def route_subject(route: str) -> str:
    return f"route:{route}"


@dataclass(frozen=True, slots=True)
class RecordedCheck:
    """A check as the admin trail holds it."""

    at: datetime
    action: str
    actor: str
    event_id: str
    check: Mapping[str, Any]

    @property
    def route(self) -> str:
        return str(self.check.get("route", ""))

    @property
    def model(self) -> str:
        return str(self.check.get("model", ""))


def latest_checks(db: Database, routes: Sequence[str] = ()) -> list[RecordedCheck]:
    """The newest recorded check per (route, model), ordered by route then model."""
    where = [admin_events.c.action.in_(ACTIONS)]
    if routes:
        where.append(admin_events.c.subject.in_([route_subject(r) for r in routes]))
    latest: dict[tuple[str, str], RecordedCheck] = {}
    for row in iter_chain_rows(db, ADMIN_CHAIN, where=where, descending=True):
        after = row["after"] if isinstance(row["after"], dict) else {}
        recorded = RecordedCheck(
            at=row["at"],
            action=row["action"],
            actor=row["actor"],
            event_id=row["event_id"],
            check=after,
        )
        latest.setdefault((recorded.route, recorded.model), recorded)
    return [latest[k] for k in sorted(latest)]
