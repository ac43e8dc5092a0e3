"""The runner through a real in-process gateway (fake upstreams only): what each attempt
records, retries, the cache, the concurrency bound, interruption and resume, and audit."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.evals.runner_support import (
    ANSWERS,
    CARD,
    PROMPTS,
    AskJudge,
    Broken,
    Exact,
    NonEmpty,
    ScriptedUpstream,
    eval_gateway,
    loaded_config,
    make_suite,
    wait_for,
)
from tests.store.backends import db_url, pg_schema_url, pg_user  # noqa: F401 - fixtures
from zonegate.audit.export import iter_records
from zonegate.config.load import LoadedConfig
from zonegate.errors import InvalidRequest, UpstreamError, UpstreamTimeout
from zonegate.evals.client import GatewayClient
from zonegate.evals.document import run_document
from zonegate.evals.runner import (
    EvalRunner,
    ResumeRefused,
    RetryPolicy,
    RunOptions,
    check_resumable,
    effective_parameters,
)
from zonegate.evals.types import Scorer
from zonegate.store.db import Database
from zonegate.store.eval_repo import AttemptResult, EvalRepository, RunInfo
from zonegate.store.keys import KeyRepository


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'eval.db'}")
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def loaded() -> LoadedConfig:
    return loaded_config()


class Sleeps:
    """Records backoff waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def runner(
    db: Database,
    client: GatewayClient,
    loaded: LoadedConfig,
    sleeps: Sleeps | None = None,
    **options: Any,
) -> EvalRunner:
    return EvalRunner(
        EvalRepository(db), client, loaded, options=RunOptions(**options), sleep=sleeps or Sleeps()
    )


class Recorder:
    """A ``RunProgress`` that keeps what it was told."""

    def __init__(self) -> None:
        self.starts: list[tuple[int, list[AttemptResult]]] = []
        self.results: list[AttemptResult] = []

    def started(self, run: RunInfo, total: int, previous: Sequence[AttemptResult]) -> None:
        self.starts.append((total, list(previous)))

    def advanced(self, result: AttemptResult) -> None:
        self.results.append(result)


def by_pair(db: Database, run: RunInfo) -> dict[tuple[str, int], AttemptResult]:
    return {(r.item_id, r.attempt): r for r in EvalRepository(db).results(run.run_id)}


SCORERS: list[Scorer] = [Exact()]


async def test_each_attempt_is_a_real_audited_request_with_its_facts(
    db: Database, loaded: LoadedConfig
) -> None:
    upstreams = {"vendor-model": ScriptedUpstream("vendor-model", answers=ANSWERS)}
    suite = make_suite(PROMPTS)
    async with eval_gateway(loaded, db, upstreams) as client:
        run = await runner(db, client, loaded).run(suite, SCORERS, "assistant", repeats=2)

    assert run.status == "complete"
    assert run.finished_at is not None
    results = by_pair(db, run)
    assert set(results) == {(i, a) for i in PROMPTS for a in (0, 1)}
    assert len(upstreams["vendor-model"].calls) == 6
    add = results[("add", 0)]
    assert (add.passed, add.output, add.error_code, add.cached, add.tries) == (
        True,
        "4",
        None,
        False,
        1,
    )
    assert add.scores == (
        {"scorer": "exact", "passed": True, "value": 1.0, "explanation": "equal"},
    )
    assert (add.model_id, add.served_model, add.system_fingerprint) == (
        "vendor-model",
        "vendor-model-served",
        "fp_1",
    )
    assert (add.prompt_tokens, add.completion_tokens) == (10, 5)
    # 10 input tokens at 1.00 and 5 output tokens at 2.00 per million.
    assert (add.cost, add.currency) == (Decimal("0.00002"), "USD")
    assert add.latency_ms is not None
    assert add.latency_ms > 0
    assert not results[("mul", 1)].passed  # the upstream answers 5 to 2*3
    assert run.summary is not None
    assert run.summary["pass_rate"] == pytest.approx(4 / 6)
    assert run.summary["attempts"] == 6
    assert run.summary["spend"] == "0.00012"
    assert run.served_models == ("vendor-model-served",)
    assert run.parameters == {"max_tokens": 16, "temperature": 0}
    sent = upstreams["vendor-model"].calls[0]
    assert (sent.temperature, sent.output_limit(), sent.stream) == (0, 16, False)

    records = {r["request_id"]: r for r in iter_records(db)}
    trace = uuid.UUID(run.run_id).hex
    for result in results.values():
        record = records[result.request_id]
        assert record["purpose"] == "evaluation"
        assert record["team"] == "default"
        assert record["route"] == "assistant"
        assert record["decision"] == "allow"
        assert record["trace_id"].split("-")[1] == trace
    principal = {r["principal_id"] for r in records.values()}
    [key] = [k for k in KeyRepository(db).list() if k.principal == "eval"]
    assert principal == {key.key_id}
    assert not key.active  # the evaluation key is revoked when the gateway closes


async def test_policy_denials_are_recorded_with_their_code_and_never_retried(
    db: Database, loaded: LoadedConfig
) -> None:
    upstreams = {"vendor-model": ScriptedUpstream("vendor-model", answers=ANSWERS)}
    suite = make_suite({"add": "2+2?", "card": f"charge {CARD} please"})
    sleeps = Sleeps()
    async with eval_gateway(loaded, db, upstreams) as client:
        run = await runner(db, client, loaded, sleeps).run(suite, SCORERS, "assistant")
    denied = by_pair(db, run)[("card", 0)]
    assert denied.error_code == "data_class_exceeds_zones"
    assert denied.error_message
    assert (denied.passed, denied.output, denied.scores, denied.tries) == (False, None, (), 1)
    assert upstreams["vendor-model"].prompts() == ["2+2?"]
    assert sleeps.waits == []
    assert run.summary is not None
    assert (run.summary["pass_rate"], run.summary["errors"]) == (0.5, 1)
    assert run.summary["error_codes"] == {"data_class_exceeds_zones": 1}
    record = next(r for r in iter_records(db) if r["request_id"] == denied.request_id)
    assert (record["decision"], record["purpose"]) == ("deny", "evaluation")
    document = run_document(db, run.run_id)
    assert [e["item_id"] for e in document["errors"]] == ["card"]


async def test_a_team_without_the_route_is_denied_per_attempt(
    db: Database, loaded: LoadedConfig
) -> None:
    upstreams: dict[str, ScriptedUpstream] = {}
    async with eval_gateway(loaded, db, upstreams, team="qa") as client:
        run = await runner(db, client, loaded, team="qa").run(
            make_suite({"add": "2+2?"}), SCORERS, "assistant"
        )
    [result] = by_pair(db, run).values()
    assert result.error_code == "route_not_allowed"
    assert run.team == "qa"


async def test_upstream_failures_are_retried_with_backoff_then_recorded(
    db: Database, loaded: LoadedConfig
) -> None:
    flaky = ScriptedUpstream(
        "vendor-model",
        answers=ANSWERS,
        failures=[UpstreamError("boom", retryable=True), UpstreamTimeout("slow")],
    )
    sleeps = Sleeps()
    async with eval_gateway(loaded, db, {"vendor-model": flaky}) as client:
        first = await runner(db, client, loaded, sleeps, concurrency=1).run(
            make_suite({"add": "2+2?"}), SCORERS, "assistant"
        )
        [recovered] = by_pair(db, first).values()
        assert (recovered.passed, recovered.tries) == (True, 3)
        assert len(sleeps.waits) == 2
        assert all(0 <= w <= 8.0 for w in sleeps.waits)

        flaky.failures = [UpstreamError("down", retryable=True) for _ in range(3)]
        policy = RetryPolicy(tries=3)
        second = await runner(db, client, loaded, sleeps, retry=policy).run(
            make_suite({"cap": "Capital of France?"}), SCORERS, "assistant"
        )
    [failed] = by_pair(db, second).values()
    assert (failed.passed, failed.tries, failed.error_code) == (False, 3, "upstream_error")
    assert len(flaky.calls) == 3 + 3


async def test_a_request_past_the_timeout_is_retried(db: Database, loaded: LoadedConfig) -> None:
    hanging = ScriptedUpstream("vendor-model", answers=ANSWERS, hang_first=1)
    async with eval_gateway(loaded, db, {"vendor-model": hanging}) as client:
        run = await runner(db, client, loaded, retry=RetryPolicy(timeout=0.2)).run(
            make_suite({"add": "2+2?"}), SCORERS, "assistant"
        )
    [result] = by_pair(db, run).values()
    assert (result.passed, result.tries, result.output) == (True, 2, "4")


async def test_rate_limits_honour_retry_after_and_denials_stop_at_once(
    db: Database, loaded: LoadedConfig
) -> None:
    # The gateway answers 429 only for its own limits; an HTTP-level double stands in for it.
    def answer(prompt: str, number: int) -> httpx.Response:
        if prompt == "2+2?" and number == 1:
            return httpx.Response(429, headers={"retry-after": "3"}, json={"error": {"code": "rl"}})
        if prompt == "2*3?":
            body = {"error": {"code": "purpose_not_allowed", "message": "not for evaluation"}}
            return httpx.Response(403, json=body)
        return httpx.Response(
            200,
            headers={"x-zonegate-model": "vendor-model", "x-zonegate-request-id": f"r{number}"},
            json={
                "model": "served",
                "choices": [{"message": {"content": "4"}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            },
        )

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        prompt = json.loads(request.content)["messages"][-1]["content"]
        return answer(prompt, len(seen))

    sleeps = Sleeps()
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        client = GatewayClient(http, "zg_key")
        rn = runner(db, client, loaded, sleeps, concurrency=1)
        run = await rn.run(make_suite({"add": "2+2?", "mul": "2*3?"}), SCORERS, "assistant")
    results = by_pair(db, run)
    assert (results[("add", 0)].passed, results[("add", 0)].tries) == (True, 2)
    assert sleeps.waits == [3.0]  # the Retry-After, not a shorter jittered wait
    denied = results[("mul", 0)]
    assert (denied.error_code, denied.tries, denied.passed) == ("purpose_not_allowed", 1, False)
    assert denied.error_message == "not for evaluation"
    assert len(seen) == 3
    assert {r.headers["x-zonegate-purpose"] for r in seen} == {"evaluation"}
    assert {r.headers["authorization"] for r in seen} == {"Bearer zg_key"}
    assert {r.headers["traceparent"].split("-")[1] for r in seen} == {uuid.UUID(run.run_id).hex}


async def test_concurrency_never_exceeds_the_bound(db: Database, loaded: LoadedConfig) -> None:
    gate = asyncio.Event()
    upstream = ScriptedUpstream("vendor-model", gate=gate)
    prompts = {f"q{i}": f"question {i}" for i in range(8)}
    async with eval_gateway(loaded, db, {"vendor-model": upstream}) as client:
        task = asyncio.create_task(
            runner(db, client, loaded, concurrency=3).run(
                make_suite(prompts), [NonEmpty()], "assistant"
            )
        )
        await wait_for(lambda: upstream.in_flight == 3, "three calls in flight")
        for _ in range(50):  # give any extra call every chance to start
            await asyncio.sleep(0)
        assert upstream.in_flight == 3
        gate.set()
        run = await task
    assert upstream.max_in_flight == 3
    assert len(upstream.calls) == 8
    assert run.summary is not None
    assert run.summary["passed"] == 8


async def test_cached_outputs_are_reused_marked_and_cost_nothing(
    db: Database, loaded: LoadedConfig
) -> None:
    upstream = ScriptedUpstream("vendor-model", answers=ANSWERS)
    suite = make_suite(PROMPTS)
    async with eval_gateway(loaded, db, {"vendor-model": upstream}) as client:
        first = await runner(db, client, loaded).run(suite, SCORERS, "assistant", repeats=2)
        assert len(upstream.calls) == 6
        second = await runner(db, client, loaded).run(suite, SCORERS, "assistant", repeats=2)
        assert len(upstream.calls) == 6  # every answer came from the cache
        third = await runner(db, client, loaded).run(suite, SCORERS, "model-less", repeats=1)
        fourth = await runner(db, client, loaded).run(
            suite, SCORERS, "assistant", overrides={"temperature": 0.5}
        )
        assert len(upstream.calls) == 6 + 3  # other parameters: other entries
        fresh = await runner(db, client, loaded).run(suite, SCORERS, "assistant", use_cache=False)
        assert len(upstream.calls) == 6 + 3 + 3
    before, after = by_pair(db, first), by_pair(db, second)
    assert not any(r.cached for r in before.values())
    assert all(r.cached and r.tries == 0 for r in after.values())
    for pair, cached in after.items():
        original = before[pair]
        assert (cached.output, cached.passed, cached.cost) == (
            original.output,
            original.passed,
            original.cost,
        )
        assert cached.request_id == original.request_id  # the call that made the answer
    assert second.summary is not None
    assert first.summary is not None
    assert (second.summary["spend"], second.summary["cost"]) == ("0", first.summary["cost"])
    assert second.summary["cached"] == 6
    assert second.summary["pass_rate"] == first.summary["pass_rate"]
    assert all(r.error_code == "model_not_found" for r in by_pair(db, third).values())
    assert not any(r.cached for r in by_pair(db, fourth).values())
    assert not any(r.cached for r in by_pair(db, fresh).values())
    assert not fresh.use_cache


async def test_a_new_fingerprint_stops_reuse_of_older_answers(
    db: Database, loaded: LoadedConfig
) -> None:
    upstream = ScriptedUpstream("vendor-model", answers=ANSWERS, fingerprint="fp_1")
    async with eval_gateway(loaded, db, {"vendor-model": upstream}) as client:
        await runner(db, client, loaded).run(
            make_suite({"add": "2+2?", "cap": "Capital of France?"}), SCORERS, "assistant"
        )
        upstream.fingerprint = "fp_2"
        # "new" is not cached: its live answer reports fp_2 before the others are looked up.
        suite = make_suite({"new": "2*3?", "add": "2+2?", "cap": "Capital of France?"})
        run = await runner(db, client, loaded, concurrency=1).run(suite, SCORERS, "assistant")
    results = by_pair(db, run)
    assert not any(r.cached for r in results.values())
    assert {r.system_fingerprint for r in results.values()} == {"fp_2"}
    assert len(upstream.calls) == 2 + 3


async def test_an_interrupted_run_resumes_without_redoing_finished_pairs(
    db: Database, loaded: LoadedConfig
) -> None:
    gate = asyncio.Event()
    upstream = ScriptedUpstream("vendor-model", answers=ANSWERS, gate=gate, hold_after=3)
    suite = make_suite(PROMPTS)
    repo = EvalRepository(db)
    async with eval_gateway(loaded, db, {"vendor-model": upstream}) as client:
        rn = runner(db, client, loaded, concurrency=1)
        run = await asyncio.to_thread(rn.create, suite, "assistant", repeats=2)
        task = asyncio.create_task(rn.execute(run, suite, SCORERS))
        await wait_for(lambda: len(upstream.calls) == 4, "the fourth call to be held")
        task.cancel()  # what Ctrl-C does to the running task
        with pytest.raises(asyncio.CancelledError):
            await task
        interrupted = repo.get_run(run.run_id)
        assert interrupted is not None
        assert interrupted.status == "interrupted"
        done = repo.done_pairs(run.run_id)
        assert len(done) == 3
        first_phase = upstream.prompts()

        gate.set()
        progress = Recorder()
        resumer = EvalRunner(
            repo, client, loaded, options=RunOptions(concurrency=2), progress=progress
        )
        resumed = await resumer.resume(interrupted, suite, SCORERS)
    assert resumed.status == "complete"
    [(total, before)] = progress.starts
    assert (total, {(r.item_id, r.attempt) for r in before}) == (6, done)
    assert len(progress.results) == 3
    results = repo.results(run.run_id)
    assert len(results) == 6
    assert {(r.item_id, r.attempt) for r in results} == {(i, a) for i in PROMPTS for a in (0, 1)}
    # The resume asked only for the three missing pairs (the held call was never recorded).
    later = upstream.prompts()[len(first_phase) :]
    assert len(later) == 3
    missing = {(r.item_id, r.attempt) for r in results} - done
    assert sorted(later) == sorted(PROMPTS[item] for item, _ in missing)
    assert resumed.summary is not None
    assert resumed.summary["attempts"] == 6


async def test_a_crashed_run_left_running_can_be_resumed(
    db: Database, loaded: LoadedConfig
) -> None:
    upstream = ScriptedUpstream("vendor-model", answers=ANSWERS)
    suite = make_suite(PROMPTS)
    repo = EvalRepository(db)
    async with eval_gateway(loaded, db, {"vendor-model": upstream}) as client:
        rn = runner(db, client, loaded)
        run = await asyncio.to_thread(rn.create, suite, "assistant")
        # The process died after recording one result: the run is still "running".
        repo.add_result(run.run_id, AttemptResult("add", 0, True, "4", ()))
        resumed = await rn.resume(run, suite, SCORERS)
    assert resumed.status == "complete"
    assert sorted(upstream.prompts()) == sorted([PROMPTS["mul"], PROMPTS["cap"]])


async def test_resume_is_refused_when_the_suite_or_config_changed(
    db: Database, loaded: LoadedConfig
) -> None:
    suite = make_suite(PROMPTS)
    async with eval_gateway(loaded, db, {}) as client:
        rn = runner(db, client, loaded)
        run = await asyncio.to_thread(rn.create, suite, "assistant")
        check_resumable(run, suite, loaded)  # unchanged: fine
        edited = make_suite({**PROMPTS, "sub": "3-2?"})
        with pytest.raises(ResumeRefused, match="suite 'arith' version"):
            await rn.resume(run, edited, SCORERS)
        other_config = loaded_config(loaded.config and _edited_config())
        with pytest.raises(ResumeRefused, match="config loaded now"):
            check_resumable(run, suite, other_config)
        done = await runner(db, client, loaded).run(suite, SCORERS, "assistant")
        with pytest.raises(ResumeRefused, match="already complete"):
            check_resumable(done, suite, loaded)


def _edited_config() -> str:
    from tests.evals.runner_support import CONFIG

    return CONFIG.replace('"1.00"', '"1.50"')


async def test_scorer_failures_and_judges(db: Database, loaded: LoadedConfig) -> None:
    upstreams = {
        "vendor-model": ScriptedUpstream("vendor-model", answers=ANSWERS),
        "local-model": ScriptedUpstream("local-model", answers={}),
    }
    suite = make_suite({"add": "2+2?"})
    async with eval_gateway(loaded, db, upstreams) as client:
        with pytest.raises(InvalidRequest, match="need a judge model"):
            await runner(db, client, loaded).run(suite, [AskJudge()], "assistant")
        broken = await runner(db, client, loaded).run(suite, [Exact(), Broken()], "assistant")
        upstreams["local-model"].answers = {"Is '4' right? yes/no": "yes"}
        judged = await runner(db, client, loaded, judge_model="judge").run(
            suite, [AskJudge()], "assistant"
        )
        unjudged = await runner(db, client, loaded, judge_model="no-such-judge").run(
            suite, [Exact(), AskJudge()], "assistant"
        )
    [failed] = by_pair(db, broken).values()
    assert not failed.passed  # the grade is unknown: an error, which counts as a failure
    assert failed.output == "4"
    assert [s["scorer"] for s in failed.scores] == ["exact"]  # the others' verdicts are kept
    assert failed.error_code == "scorer_failed"
    assert "scorer 'broken' failed: KeyError" in str(failed.error_message)
    [ok] = by_pair(db, judged).values()
    assert ok.passed
    assert ok.scores[0]["explanation"] == "yes"
    judge_records = [r for r in iter_records(db) if r["route"] == "judge"]
    assert len(judge_records) == 1
    assert judge_records[0]["purpose"] == "evaluation"
    [lost] = by_pair(db, unjudged).values()
    assert (lost.passed, lost.error_code, lost.output) == (False, "judge_failed", "4")
    assert "model_not_found" in str(lost.error_message)
    assert unjudged.judge_model == "no-such-judge"


async def test_run_document_is_self_describing(db: Database, loaded: LoadedConfig) -> None:
    upstream = ScriptedUpstream("vendor-model", answers=ANSWERS)
    suite = make_suite(PROMPTS)
    async with eval_gateway(loaded, db, {"vendor-model": upstream}) as client:
        run = await runner(db, client, loaded).run(suite, [Exact(), NonEmpty()], "assistant")
    document = run_document(db, run.run_id[:13])
    json.dumps(document)  # JSON-ready throughout
    assert document["schema_version"] == 1
    assert document["kind"] == "zonegate.eval.run"
    assert document["run_id"] == run.run_id
    assert document["suite"]["version"] == suite.version
    assert [i["id"] for i in document["suite"]["items"]] == list(PROMPTS)
    assert document["suite"]["items"][0]["messages"] == [{"role": "user", "content": "2+2?"}]
    assert document["model"]["requested"] == "assistant"
    assert document["model"]["served"] == ["vendor-model-served"]
    assert document["model"]["identity"]["candidates"][0]["version"] == "2026-01-01"
    assert document["config"]["hash"] == loaded.hash
    assert document["parameters"] == {"max_tokens": 16, "temperature": 0}
    assert {"zonegate", "python", "httpx", "sqlalchemy"} <= set(document["packages"])
    assert [r["item_id"] for r in document["results"]] == list(PROMPTS)
    assert document["results"][0]["cost"] == "0.00002"
    assert document["summary"]["scorers"]["non_empty"]["pass_rate"] == 1.0
    assert document["summary"]["interval"]["method"] == "wilson"
    assert document["errors"] == []


def test_parameters_merge_and_reserved_ones_are_refused() -> None:
    suite = make_suite(PROMPTS, parameters={"temperature": 0.7, "max_tokens": 8})
    assert effective_parameters(suite, {"temperature": 0}) == {"max_tokens": 8, "temperature": 0}
    with pytest.raises(InvalidRequest, match="stream"):
        effective_parameters(suite, {"stream": True})
    with pytest.raises(InvalidRequest, match="model"):
        effective_parameters(make_suite(PROMPTS, parameters={"model": "x"}))


async def test_runs_resume_and_audit_on_each_backend(db_url: str, loaded: LoadedConfig) -> None:  # noqa: F811
    database = Database(db_url)
    database.migrate()
    try:
        gate = asyncio.Event()
        upstream = ScriptedUpstream("vendor-model", answers=ANSWERS, gate=gate, hold_after=2)
        suite = make_suite(PROMPTS)
        async with eval_gateway(loaded, database, {"vendor-model": upstream}) as client:
            rn = runner(database, client, loaded, concurrency=1)
            run = await asyncio.to_thread(rn.create, suite, "assistant")
            task = asyncio.create_task(rn.execute(run, suite, SCORERS))
            await wait_for(lambda: len(upstream.calls) == 3, "the third call to be held")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            gate.set()
            interrupted = EvalRepository(database).get_run(run.run_id)
            assert interrupted is not None
            assert interrupted.status == "interrupted"
            done = await rn.resume(interrupted, suite, SCORERS)
        assert done.status == "complete"
        results = EvalRepository(database).results(run.run_id)
        assert sorted(r.item_id for r in results) == sorted(PROMPTS)
        audited = {r["request_id"]: r for r in iter_records(database)}
        assert all(audited[r.request_id]["purpose"] == "evaluation" for r in results)
    finally:
        database.dispose()
