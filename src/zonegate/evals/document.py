"""The run document: one versioned, self-describing JSON object per run.

It holds everything needed to read a run without the suite file, the config or the database:
the suite as run (items, scorers, parameters, version), the model requested and the models
that served, the config hash, the parameters, package versions, and per (item, attempt) the
output, scores, latency, tokens, cost and the request id of its audit record. ``schema_version``
changes whenever a field changes meaning or disappears; adding fields keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonegate.audit.chain import decimal_text
from zonegate.evals.summary import summarize
from zonegate.store.db import Database
from zonegate.store.eval_repo import AttemptResult, EvalRepository, RunInfo

DOCUMENT_KIND = "zonegate.eval.run"


def run_document(db: Database, run_id: str) -> dict[str, Any]:
    """The document of run ``run_id`` (a whole id or an unambiguous prefix); ``NotFound`` if
    there is none."""
    repo = EvalRepository(db)
    run = repo.resolve(run_id)
    return build_document(run, repo.results(run.run_id))


def build_document(run: RunInfo, results: list[AttemptResult]) -> dict[str, Any]:
    suite = dict(run.suite)
    order = {item["id"]: i for i, item in enumerate(suite.get("items", ()))}
    ordered = sorted(results, key=lambda r: (r.attempt, order.get(r.item_id, len(order))))
    planned = len(order) * run.repeats
    # A finished run's stored summary; an unfinished one's is recomputed from what it holds.
    stored = run.summary if run.status == "complete" else None
    summary = dict(stored) if stored is not None else summarize(ordered, planned=planned)
    return {
        "schema_version": run.schema_version,
        "kind": DOCUMENT_KIND,
        "run_id": run.run_id,
        "status": run.status,
        "created_at": run.created_at.isoformat(),
        "finished_at": None if run.finished_at is None else run.finished_at.isoformat(),
        "suite": suite,
        "model": {
            "requested": run.requested_model,
            "identity": dict(run.model_identity),
            "served": list(run.served_models) or summary.get("served_models", []),
            "model_ids": summary.get("model_ids", []),
        },
        "config": {"hash": run.config_hash, "source": run.config_source},
        "parameters": dict(run.parameters),
        "repeats": run.repeats,
        "cache": {"read": run.use_cache},
        "judge_model": run.judge_model,
        "principal": {"name": run.principal, "team": run.team, "purpose": "evaluation"},
        "packages": dict(run.packages),
        "summary": summary,
        "results": [_result(r) for r in ordered],
        "errors": [_error(r) for r in ordered if r.is_error],
    }


def _result(r: AttemptResult) -> dict[str, Any]:
    return {
        "item_id": r.item_id,
        "attempt": r.attempt,
        "passed": r.passed,
        "output": r.output,
        "scores": [dict(s) for s in r.scores],
        "latency_ms": r.latency_ms,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "cost": None if r.cost is None else decimal_text(r.cost),
        "currency": r.currency,
        "served_model": r.served_model,
        "model_id": r.model_id,
        "system_fingerprint": r.system_fingerprint,
        "request_id": r.request_id,
        "error_code": r.error_code,
        "error_message": r.error_message,
        "cached": r.cached,
        "tries": r.tries,
        "recorded_at": r.recorded_at.isoformat(),
    }


def _error(r: AttemptResult) -> Mapping[str, Any]:
    return {
        "item_id": r.item_id,
        "attempt": r.attempt,
        "error_code": r.error_code,
        "error_message": r.error_message,
        "request_id": r.request_id,
        "tries": r.tries,
    }
