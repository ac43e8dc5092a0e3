"""The shape of ``suite.yaml``, of one item, and of an export header, validated strictly.

Unknown keys are errors (a misspelt ``refrence`` would otherwise silently score nothing), and
types are not coerced (``max_tokens: "16"`` is refused, not read as 16).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zonegate.errors import ConfigProblem
from zonegate.evals.suite_source import KeyPath

SUITE_FORMAT = 1  # bump when the canonical content (and so every version) changes meaning

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
Tag = Annotated[str, Field(min_length=1, max_length=128)]
ItemId = Annotated[str, Field(pattern=r"^\S(?:.{0,198}\S)?$")]

_NAME_RULE = "start with a letter or digit and use only letters, digits and '._-' (at most 128)"
_ID_RULE = "a non-empty string without leading or trailing spaces, at most 200 characters"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class MessageModel(_Strict):
    """An OpenAI chat message."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _has_content(self) -> MessageModel:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError("a message needs 'content'")
        return self


class ItemModel(_Strict):
    """One line of ``items.jsonl`` (or one entry of an inline ``items:`` list)."""

    id: ItemId
    prompt: str | None = Field(None, min_length=1)
    messages: list[MessageModel] | None = Field(None, min_length=1)
    reference: Any = None
    rubric: str | None = Field(None, min_length=1)
    tags: list[Tag] = []
    metadata: dict[str, Any] = {}

    @model_validator(mode="after")
    def _one_input(self) -> ItemModel:
        if self.prompt is None and self.messages is None:
            raise ValueError(
                "an item needs 'prompt' (one user message) or 'messages' (a chat conversation)"
            )
        if self.prompt is not None and self.messages is not None:
            raise ValueError("an item has either 'prompt' or 'messages', not both")
        return self


class ScorerEntry(_Strict):
    name: Name
    options: dict[str, Any] = {}


class ParametersModel(_Strict):
    """Default request parameters for the suite's calls (a run may override them)."""

    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    response_format: dict[str, Any] | None = None


class _SuiteFields(_Strict):
    name: Name
    description: str = ""
    route: str | None = Field(None, min_length=1)
    tags: list[Tag] = []
    parameters: ParametersModel = ParametersModel()
    scorers: list[ScorerEntry] = Field(min_length=1)

    @field_validator("scorers", mode="before")
    @classmethod
    def _bare_names(cls, value: Any) -> Any:
        return [bare_name(v) for v in value] if isinstance(value, list) else value


class SuiteModel(_SuiteFields):
    """``suite.yaml``. ``items`` is a JSONL path relative to the file (default ``items.jsonl``)
    or a list of items; ``system`` is prepended to every item that has no system message."""

    system: str | None = Field(None, min_length=1)
    items: str | list[dict[str, Any]] = "items.jsonl"


class ExportHeader(_SuiteFields):
    """The first line of an exported suite; ``version`` and ``items`` (a count) are checks."""

    zonegate_suite: Literal[1]
    version: str | None = None
    items: int | None = Field(None, ge=0)


def bare_name(value: Any) -> Any:
    """``- exact`` in a scorer list is short for ``- {name: exact}``."""
    return {"name": value} if isinstance(value, str) else value


# Which model owns the keys at each (generalised) location, for "unknown key" messages.
_OWNERS: dict[tuple[str, ...], type[BaseModel]] = {
    ("suite",): SuiteModel,
    ("suite", "parameters"): ParametersModel,
    ("suite", "scorers", "#"): ScorerEntry,
    ("header",): ExportHeader,
    ("header", "parameters"): ParametersModel,
    ("header", "scorers", "#"): ScorerEntry,
    ("item",): ItemModel,
    ("item", "messages", "#"): MessageModel,
}


def problems_from(
    exc: ValidationError,
    kind: Literal["suite", "header", "item"],
    *,
    source: str,
    line_of: Callable[[KeyPath], int | None],
    prefix: KeyPath = (),
) -> list[ConfigProblem]:
    """``exc`` as problems naming file, line and key path (below ``prefix``)."""
    problems = []
    for err in exc.errors():
        loc: KeyPath = tuple(err["loc"])
        path = (*prefix, *loc)
        where = ".".join(str(p) for p in path)
        problems.append(
            ConfigProblem(_message(err, kind, loc), path=where, source=source, line=line_of(path))
        )
    return problems


def _message(err: Any, kind: str, loc: KeyPath) -> str:
    kind_of_error = err["type"]
    if kind_of_error == "extra_forbidden":
        key = str(loc[-1])
        owner = _OWNERS.get((kind, *("#" if isinstance(p, int) else p for p in loc[:-1])))
        if owner is None:
            return f"unknown key {key!r}"
        allowed = list(owner.model_fields)
        hint = ""
        if key == "version" and owner is SuiteModel:
            hint = " (a suite's version is computed from its content, never written)"
        else:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {key!r}; allowed here: {', '.join(allowed)}{hint}"
    if kind_of_error == "missing":
        return f"missing required key {str(loc[-1])!r}; add it"
    if kind_of_error == "string_pattern_mismatch":
        if loc and loc[-1] == "id":
            return f"invalid item id: use {_ID_RULE}"
        return f"invalid name: {_NAME_RULE}"
    message = str(err["msg"])
    if kind_of_error in ("value_error", "assertion_error"):
        return message.split(", ", 1)[1] if ", " in message else message
    return message[:1].lower() + message[1:]
