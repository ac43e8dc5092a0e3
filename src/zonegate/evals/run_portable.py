"""A run as one portable JSONL file: the run document split into lines, and back into a database.

Line 1 is a header: ``{"zonegate_run": 1, "results": <count>, ...}`` followed by every field of
the run document (``zonegate.evals.document``) except ``results`` and ``errors``; every further
line is one entry of the document's ``results`` (one per item and attempt). A tool that knows the
run document reads the export without knowing zonegate; ``errors`` is left out because it is the
errored results again.

Importing keeps the run id. Ids are globally unique (UUIDv7), request ids in the results point
at audit records under that id, and reports cite it, so a new id would cut those links; the
price is that a database can hold a run once: importing a run it already has is refused, not
merged or overwritten. The file is checked in full before anything is written (format, counts,
items against the suite, pass/fail against the scores, the summary against the results), so an
edited or truncated file is refused with file and line. Unknown fields are refused too: a newer
export is not silently cut down to what this version knows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from zonegate.errors import ConfigError, ConfigProblem, InvalidRequest
from zonegate.evals.document import DOCUMENT_KIND
from zonegate.evals.runner import SCHEMA_VERSION
from zonegate.evals.suite_source import read_jsonl, read_text
from zonegate.store.db import Database
from zonegate.store.eval_repo import AttemptResult, EvalRepository, RunInfo, RunStatus

RUN_FORMAT = 1
_LEFT_OUT = ("results", "errors")


def export_text(document: Mapping[str, Any]) -> str:
    """The run document as portable JSONL (see the module docstring); deterministic."""
    header = {k: v for k, v in document.items() if k not in _LEFT_OUT}
    lines = [_dumps({"zonegate_run": RUN_FORMAT, "results": len(document["results"]), **header})]
    lines.extend(_dumps(result) for result in document["results"])
    return "\n".join(lines) + "\n"


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


# -- reading -------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Model(_Strict):
    requested: StrictStr
    identity: dict[str, Any]
    served: list[StrictStr]
    model_ids: list[StrictStr]


class _Config(_Strict):
    hash: StrictStr
    source: StrictStr


class _Cache(_Strict):
    read: StrictBool


class _Principal(_Strict):
    name: StrictStr
    team: StrictStr
    purpose: StrictStr


class _SuiteItem(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    id: StrictStr


class _Suite(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    name: StrictStr
    version: StrictStr
    items: list[_SuiteItem]


class _Header(BaseModel):
    """The export's own fields on line 1; the rest of the line is the document's head."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    zonegate_run: StrictInt
    results: StrictInt = Field(ge=0)


class _Head(_Strict):
    """The run document without ``results`` and ``errors``."""

    schema_version: StrictInt = Field(ge=1)
    kind: StrictStr
    run_id: StrictStr = Field(min_length=1)
    status: RunStatus
    created_at: AwareDatetime
    finished_at: AwareDatetime | None
    suite: dict[str, Any]
    model: _Model
    config: _Config
    parameters: dict[str, Any]
    repeats: StrictInt = Field(ge=1)
    cache: _Cache
    judge_model: StrictStr | None
    principal: _Principal
    packages: dict[str, StrictStr]
    summary: dict[str, Any]


class _Score(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    scorer: StrictStr
    passed: StrictBool


class _Result(_Strict):
    item_id: StrictStr
    attempt: StrictInt = Field(ge=0)  # counted from 0, as the runner does
    passed: StrictBool
    output: StrictStr | None
    scores: list[_Score]
    latency_ms: float | None = Field(ge=0)
    prompt_tokens: StrictInt | None = Field(ge=0)
    completion_tokens: StrictInt | None = Field(ge=0)
    cost: Decimal | None
    currency: StrictStr | None
    served_model: StrictStr | None
    model_id: StrictStr | None
    system_fingerprint: StrictStr | None
    request_id: StrictStr | None
    error_code: StrictStr | None
    error_message: StrictStr | None
    cached: StrictBool
    tries: StrictInt = Field(ge=0)
    recorded_at: AwareDatetime


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A run as ``EvalRepository`` stores it: the run and its results."""

    run: RunInfo
    results: tuple[AttemptResult, ...]


def stored_run(document: Mapping[str, Any]) -> StoredRun:
    """The run a run document describes (the inverse of ``build_document``); ``ValueError``
    when it is not a valid document."""
    head_fields = {k: v for k, v in document.items() if k not in _LEFT_OUT}
    try:
        head = _Head.model_validate(head_fields)
        suite = _Suite.model_validate(head.suite)
        lines = [_Result.model_validate(raw) for raw in document["results"]]
    except ValidationError as exc:
        raise ValueError(f"not a valid run document: {exc}") from None
    results = [_attempt(line, raw) for line, raw in zip(lines, document["results"], strict=True)]
    return StoredRun(_run_info(head, suite), tuple(results))


def read_export(path: Path) -> StoredRun:
    """The run in an exported JSONL file; ``ConfigError`` naming file and line of each problem."""
    source = str(path)
    values, problems = read_jsonl(read_text(path, "run export"), source)
    if problems:
        raise ConfigError(problems)
    if not values or not isinstance(values[0][1], dict) or "zonegate_run" not in values[0][1]:
        raise ConfigError([_first_line_problem(values, source)])
    header_line, raw_header = values[0]
    try:
        header = _Header.model_validate(raw_header)
        if header.zonegate_run != RUN_FORMAT:  # a later format may change every other field
            raise ConfigError(
                [
                    ConfigProblem(
                        f"run export format {header.zonegate_run} is not one this zonegate "
                        f"reads ({RUN_FORMAT}): import it with a newer zonegate",
                        source=source,
                        line=header_line,
                        path="zonegate_run",
                    )
                ]
            )
        head = _Head.model_validate(
            {k: v for k, v in raw_header.items() if k not in _Header.model_fields}
        )
        suite = _Suite.model_validate(head.suite)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, source, header_line)) from None
    found: list[ConfigProblem] = []
    if head.kind != DOCUMENT_KIND:
        found.append(
            ConfigProblem(
                f"kind is {head.kind!r}, not {DOCUMENT_KIND!r}: not a run document",
                source=source,
                line=header_line,
                path="kind",
            )
        )
    if head.schema_version > SCHEMA_VERSION:
        found.append(
            ConfigProblem(
                f"the run document has schema version {head.schema_version}; this zonegate "
                f"reads up to {SCHEMA_VERSION}: import it with a newer zonegate",
                source=source,
                line=header_line,
                path="schema_version",
            )
        )
    if found:
        raise ConfigError(found)
    results = _results(values[1:], head, suite, source, found)
    _check_totals(header, head, results, len(values) - 1, source, header_line, found)
    if found:
        raise ConfigError(found)
    return StoredRun(_run_info(head, suite), tuple(results))


def _first_line_problem(values: list[tuple[int, Any]], source: str) -> ConfigProblem:
    first = values[0][1] if values else None
    if isinstance(first, dict) and "zonegate_suite" in first:
        return ConfigProblem(
            "this is a suite export, not a run: run it with `zonegate eval run FILE` "
            "(or put it under ./suites)",
            source=source,
            line=values[0][0],
        )
    return ConfigProblem(
        "the first line of a run export is its header, a JSON object with 'zonegate_run': 1 "
        "(write one with `zonegate eval export RUN`)",
        source=source,
        line=values[0][0] if values else None,
    )


def _results(
    lines: list[tuple[int, Any]],
    head: _Head,
    suite: _Suite,
    source: str,
    found: list[ConfigProblem],
) -> list[AttemptResult]:
    items = {item.id for item in suite.items}
    seen: set[tuple[str, int]] = set()
    results: list[AttemptResult] = []
    for number, raw in lines:
        try:
            line = _Result.model_validate(raw)
        except ValidationError as exc:
            found.extend(_problems(exc, source, number))
            continue
        pair = (line.item_id, line.attempt)
        problem = None
        if line.item_id not in items:
            problem = f"item {line.item_id!r} is not in the run's suite"
        elif line.attempt >= head.repeats:
            problem = (
                f"attempt {line.attempt} is past the run's {head.repeats} repeat(s) (attempts "
                "count from 0)"
            )
        elif pair in seen:
            problem = f"item {line.item_id!r} attempt {line.attempt} appears twice"
        elif line.passed != (line.error_code is None and all(s.passed for s in line.scores)):
            problem = (
                f"'passed' is {str(line.passed).lower()} but the scores and error say "
                f"otherwise: the line was edited"
            )
        if problem is not None:
            found.append(ConfigProblem(problem, source=source, line=number))
            continue
        seen.add(pair)
        results.append(_attempt(line, raw))
    return results


def _check_totals(
    header: _Header,
    head: _Head,
    results: list[AttemptResult],
    count: int,
    source: str,
    line: int,
    found: list[ConfigProblem],
) -> None:
    if header.results != count:
        found.append(
            ConfigProblem(
                f"the header says {header.results} results but the file holds {count}: lines "
                "were added or lost",
                source=source,
                line=line,
                path="results",
            )
        )
    if found:
        return
    passed = sum(1 for r in results if r.passed)
    claimed = (head.summary.get("attempts"), head.summary.get("passed"))
    if claimed != (len(results), passed):
        found.append(
            ConfigProblem(
                f"the summary says {claimed[1]}/{claimed[0]} passed but the results hold "
                f"{passed}/{len(results)}: the file was edited",
                source=source,
                line=line,
                path="summary",
            )
        )


def _problems(exc: ValidationError, source: str, line: int) -> list[ConfigProblem]:
    out = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        out.append(ConfigProblem(message, source=source, line=line, path=where))
    return out


def _attempt(line: _Result, raw: Mapping[str, Any]) -> AttemptResult:
    return AttemptResult(
        item_id=line.item_id,
        attempt=line.attempt,
        passed=line.passed,
        output=line.output,
        scores=tuple(dict(s) for s in raw["scores"]),  # as written: scorers may add fields
        latency_ms=line.latency_ms,
        prompt_tokens=line.prompt_tokens,
        completion_tokens=line.completion_tokens,
        cost=line.cost,
        currency=line.currency,
        served_model=line.served_model,
        model_id=line.model_id,
        system_fingerprint=line.system_fingerprint,
        request_id=line.request_id,
        error_code=line.error_code,
        error_message=line.error_message,
        cached=line.cached,
        tries=line.tries,
        recorded_at=line.recorded_at,
    )


def _run_info(header: _Head, suite: _Suite) -> RunInfo:
    return RunInfo(
        run_id=header.run_id,
        schema_version=header.schema_version,
        suite_name=suite.name,
        suite_version=suite.version,
        suite=header.suite,
        requested_model=header.model.requested,
        model_identity=header.model.identity,
        config_hash=header.config.hash,
        config_source=header.config.source,
        parameters=header.parameters,
        repeats=header.repeats,
        use_cache=header.cache.read,
        packages=header.packages,
        principal=header.principal.name,
        team=header.principal.team,
        judge_model=header.judge_model,
        status=header.status,
        created_at=header.created_at,
        finished_at=header.finished_at,
        served_models=tuple(header.model.served),
        summary=header.summary,
    )


# -- writing -------------------------------------------------------------------------------------


def import_run(db: Database, path: Path) -> RunInfo:
    """Read ``path`` and store its run under its own id; ``InvalidRequest`` (code
    ``run_exists``) when the database already has a run with that id.

    The run is created as ``interrupted`` and given its real status once every result is
    stored, so an import stopped half-way is never mistaken for a whole run."""
    exported = read_export(path)
    run = exported.run
    repo = EvalRepository(db)
    existing = repo.get_run(run.run_id)
    if existing is not None:
        raise InvalidRequest(
            f"run {run.run_id} ({existing.suite_name}, {existing.requested_model}, created "
            f"{existing.created_at.isoformat(timespec='seconds')}) is already in this database: "
            "nothing imported (runs keep their id on import; import into another database with "
            "--data-dir)",
            code="run_exists",
        )
    repo.create_run(_with(run, status="interrupted", finished_at=None, summary=None))
    for result in exported.results:
        repo.add_result(run.run_id, result)
    repo.finish(
        run.run_id,
        run.status,
        summary=run.summary,
        served_models=run.served_models,
        finished_at=run.finished_at,
    )
    return run


def _with(run: RunInfo, **changes: Any) -> RunInfo:
    fields = {name: getattr(run, name) for name in RunInfo.__dataclass_fields__}
    return RunInfo(**{**fields, **changes})
