"""The gate's verdict from stored runs: which runs count, and each check with its numbers."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.evals.gate_support import VERSION_2, fails_at, make_results, make_run, store_run
from zonegate.config.schema import GateConfig
from zonegate.errors import InvalidRequest
from zonegate.evals.gate import (
    GateSettings,
    Verdict,
    evaluate_gate,
    judge,
    latest_complete_run,
    nearest_rank,
)
from zonegate.evals.stats import noninferiority_test, paired_table
from zonegate.store.db import Database
from zonegate.store.eval_repo import EvalRepository

N = 200
# Candidate fails items 0-4, incumbent 5-9: equal failure rates, 10 discordant items.
EVEN_CAND = fails_at(N, range(5))
EVEN_INC = fails_at(N, range(5, 10))
# Candidate fails 0-16, incumbent 15-19: 15 candidate-only, 3 incumbent-only, 2 both.
WORSE_CAND = fails_at(N, range(17))
WORSE_INC = fails_at(N, range(15, 20))
SETTINGS = GateSettings(suite="tickets", margin=0.05, alpha=0.05, min_items=100)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[EvalRepository]:
    db = Database(f"sqlite:///{tmp_path / 'gate.db'}")
    db.migrate()
    try:
        yield EvalRepository(db)
    finally:
        db.dispose()


def verdict_for(
    cand: list[bool],
    inc: list[bool],
    settings: GateSettings = SETTINGS,
    *,
    latency_ms: float | list[float] = 100.0,
    cost: Decimal | None = Decimal("0.001"),
) -> Verdict:
    return judge(
        settings,
        make_run("cand"),
        make_results(cand, latency_ms=latency_ms, cost=cost),
        make_run("inc"),
        make_results(inc),
    )


def test_equal_failure_rates_within_the_margin_pass_with_every_number() -> None:
    verdict = verdict_for(EVEN_CAND, EVEN_INC)
    assert verdict.passed
    table = verdict.comparison.table
    assert (table.both_pass, table.candidate_only_fail, table.incumbent_only_fail) == (190, 5, 5)
    assert table.both_fail == 0
    # The verdict carries the statistics of the independent computation, unchanged.
    expected = noninferiority_test(paired_table(_items(EVEN_CAND), _items(EVEN_INC)), 0.05, 0.05)
    assert verdict.comparison.noninferiority == expected
    assert expected.upper_bound < 0.05
    assert [c.name for c in verdict.checks] == ["min_items", "non_inferiority"]
    payload = verdict.to_json()
    assert payload["passed"] is True
    assert payload["table"] == {
        "both_pass": 190,
        "candidate_only_fail": 5,
        "incumbent_only_fail": 5,
        "both_fail": 0,
        "n": 200,
    }
    assert payload["upper_bound"] == pytest.approx(expected.upper_bound)
    assert payload["noninferiority_p"] == pytest.approx(expected.p_value)
    assert payload["mcnemar_p"] == pytest.approx(1.0)
    assert payload["candidate"]["run_id"] == verdict.candidate.run_id
    assert verdict.run_ids == (verdict.candidate.run_id, verdict.incumbent.run_id)


def test_a_candidate_that_fails_more_is_refused_on_non_inferiority() -> None:
    verdict = verdict_for(WORSE_CAND, WORSE_INC)
    assert not verdict.passed
    assert [c.name for c in verdict.failures] == ["non_inferiority"]
    ni = verdict.comparison.noninferiority
    assert ni.upper_bound >= 0.05
    assert ni.p_value >= 0.05
    detail = verdict.failures[0].detail
    assert "8.50%" in detail  # candidate failure rate 17/200
    assert "2.50%" in detail  # incumbent 5/200
    assert "+6.00 points" in detail  # the observed difference
    assert "not below the margin of 5.00 points" in detail


def test_too_few_paired_items_fail_min_items_even_when_non_inferior() -> None:
    settings = GateSettings(suite="tickets", margin=0.05, min_items=300)
    verdict = verdict_for(EVEN_CAND, EVEN_INC, settings)
    assert not verdict.passed
    assert [c.name for c in verdict.failures] == ["min_items"]
    assert "200 paired items, fewer than the 300" in verdict.failures[0].detail
    assert verdict.comparison.noninferiority.non_inferior


def test_latency_ceiling_uses_the_candidates_nearest_rank_p95() -> None:
    latencies = [float(ms) for ms in range(1, N + 1)]  # p95 of 1..200 is 190
    ceiling = GateSettings(suite="t", margin=0.05, latency_p95_ms=190)
    ok = verdict_for(EVEN_CAND, EVEN_INC, ceiling, latency_ms=latencies)
    assert ok.passed
    assert ok.candidate.latency_p95_ms == 190.0
    lower = GateSettings(suite="t", margin=0.05, latency_p95_ms=189.5)
    slow = verdict_for(EVEN_CAND, EVEN_INC, lower, latency_ms=latencies)
    assert [c.name for c in slow.failures] == ["latency_p95"]
    assert "190.0 ms above the ceiling 189.5 ms" in slow.failures[0].detail


def test_cost_ceiling_per_thousand_requests() -> None:
    cheap = GateSettings(suite="t", margin=0.05, cost_per_1k_requests=Decimal("1.5"))
    verdict = verdict_for(EVEN_CAND, EVEN_INC, cheap, cost=Decimal("0.002"))
    assert verdict.candidate.cost_per_1k_requests == Decimal("2")
    assert [c.name for c in verdict.failures] == ["cost_per_1k"]
    assert "2 USD per 1,000 requests above the ceiling 1.5" in verdict.failures[0].detail
    generous = GateSettings(suite="t", margin=0.05, cost_per_1k_requests=Decimal("2"))
    assert verdict_for(EVEN_CAND, EVEN_INC, generous, cost=Decimal("0.002")).passed


def test_an_unpriced_candidate_cannot_pass_a_cost_ceiling() -> None:
    settings = GateSettings(suite="t", margin=0.05, cost_per_1k_requests=Decimal("100"))
    verdict = verdict_for(EVEN_CAND, EVEN_INC, settings, cost=None)
    assert verdict.candidate.cost_per_1k_requests is None
    assert [c.name for c in verdict.failures] == ["cost_per_1k"]
    assert "pricing" in verdict.failures[0].detail


def test_errors_count_as_failures_and_have_no_latency() -> None:
    cand = make_results([True] * 4, latency_ms=[10.0, 20.0, 30.0, 40.0], errors=[3])
    verdict = judge(
        GateSettings(suite="t", margin=0.5, min_items=1),
        make_run("cand"),
        cand,
        make_run("inc"),
        make_results([True] * 4),
    )
    assert verdict.comparison.table.candidate_only_fail == 1
    assert verdict.candidate.errors == 1
    assert verdict.candidate.latency_p95_ms == 30.0  # the errored 40 ms is not a latency


def test_repeats_are_reduced_by_majority_before_pairing() -> None:
    cand = make_results([[True, False, True], [False, False, True], [True, True, True]])
    inc = make_results([[True, True, True], [True, True, True], [True, True, True]])
    verdict = judge(
        GateSettings(suite="t", margin=0.5, min_items=1), make_run("c"), cand, make_run("i"), inc
    )
    table = verdict.comparison.table
    assert (table.n, table.candidate_only_fail, table.both_pass) == (3, 1, 2)
    assert verdict.candidate.attempts == 9


def test_runs_of_different_suite_versions_are_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        judge(
            SETTINGS,
            make_run("cand"),
            make_results(EVEN_CAND),
            make_run("inc", version=VERSION_2),
            make_results(EVEN_INC),
        )
    assert caught.value.code == "mixed_suite_versions"


def test_runs_that_do_not_cover_the_same_items_are_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        judge(
            SETTINGS,
            make_run("cand"),
            make_results(EVEN_CAND),
            make_run("inc"),
            make_results(EVEN_INC[:-1]),
        )
    assert caught.value.code == "unpaired_runs"
    assert "item-0199" in caught.value.message


def test_the_latest_complete_run_of_each_model_is_the_evidence(repo: EvalRepository) -> None:
    store_run(repo, "cand", WORSE_CAND, minutes=0)
    newest = store_run(repo, "cand", EVEN_CAND, minutes=5)
    store_run(repo, "cand", WORSE_CAND, minutes=9, status="interrupted")
    store_run(repo, "cand", WORSE_CAND, minutes=10, suite="other")
    incumbent = store_run(repo, "inc", EVEN_INC, minutes=1)
    latest = latest_complete_run(repo, "tickets", "cand")
    assert latest is not None
    assert latest.run_id == newest.run_id
    verdict = evaluate_gate(repo, SETTINGS, "cand", "inc")
    assert verdict.passed
    assert verdict.run_ids == (newest.run_id, incumbent.run_id)


def test_mixed_suite_versions_in_the_store_are_refused_clearly(repo: EvalRepository) -> None:
    cand = store_run(repo, "cand", EVEN_CAND, minutes=2, version=VERSION_2)
    inc = store_run(repo, "inc", EVEN_INC, minutes=1)
    with pytest.raises(InvalidRequest) as caught:
        evaluate_gate(repo, SETTINGS, "cand", "inc")
    message = caught.value.message
    assert caught.value.code == "mixed_suite_versions"
    assert cand.run_id in message
    assert inc.run_id in message
    assert "zonegate eval run tickets --model cand --model inc" in message


def test_missing_evidence_names_the_model_without_a_run(repo: EvalRepository) -> None:
    store_run(repo, "inc", EVEN_INC)
    with pytest.raises(InvalidRequest) as caught:
        evaluate_gate(repo, SETTINGS, "cand", "inc")
    assert caught.value.code == "no_evidence"
    assert "'cand'" in caught.value.message
    assert "'inc'" not in caught.value.message.split(":")[0]


def test_a_model_is_not_compared_with_itself(repo: EvalRepository) -> None:
    with pytest.raises(InvalidRequest) as caught:
        evaluate_gate(repo, SETTINGS, "cand", "cand")
    assert caught.value.code == "same_model"


def test_settings_come_from_a_route_gate_and_are_checked() -> None:
    gate = GateConfig(suite="s", margin=0.03, alpha=0.025, min_items=50, latency_p95_ms=800)
    settings = GateSettings.from_config(gate)
    assert (settings.margin, settings.alpha, settings.min_items) == (0.03, 0.025, 50)
    assert settings.latency_p95_ms == 800
    with pytest.raises(ValueError, match="margin"):
        GateSettings(suite="s", margin=0)
    with pytest.raises(ValueError, match="alpha"):
        GateSettings(suite="s", alpha=0.5)


def test_nearest_rank() -> None:
    assert nearest_rank([float(v) for v in range(1, 101)], 95) == 95.0
    assert nearest_rank([7.0], 95) == 7.0
    assert nearest_rank([1.0, 2.0], 95) == 2.0
    with pytest.raises(ValueError, match="no values"):
        nearest_rank([], 95)


def _items(outcomes: list[bool]) -> dict[str, list[bool]]:
    return {f"item-{i:04d}": [passed] for i, passed in enumerate(outcomes)}
