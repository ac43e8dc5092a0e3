"""Gemini ``GenerateContentResponse`` bodies read into chat-completion pieces.

Only the first candidate is read (requests ask for one). Text parts are joined, leaving out
thought summaries (``thought: true``); function calls become tool calls whose id is Gemini's own
when it sends one and ``call_<32 hex digits>`` otherwise, with the call's thought signature in
``extra_content.google.thought_signature`` so that the next request can send it back. Other part
kinds (code execution, inline media) are not requested and are left out.

Finish reasons: ``STOP`` -> ``stop``, or ``tool_calls`` when the answer holds function calls;
``MAX_TOKENS`` -> ``length``; the safety, recitation, blocklist and sensitive-data stops ->
``content_filter``; any other -> ``stop`` (``tool_calls`` with calls). Gemini's own reason is
kept on the choice as ``native_finish_reason``. A prompt Gemini refused outright (no candidates,
``promptFeedback.blockReason``) is answered as an empty ``content_filter`` completion, the way
OpenAI reports a filtered prompt's answer, with the block reason as ``native_finish_reason``.

Usage: ``prompt_tokens`` is ``promptTokenCount`` plus ``toolUsePromptTokenCount``;
``completion_tokens`` is ``candidatesTokenCount`` plus ``thoughtsTokenCount`` (thinking is billed
as output, and OpenAI counts reasoning tokens as completion tokens), the latter also reported as
``completion_tokens_details.reasoning_tokens``; cached prompt tokens as
``prompt_tokens_details.cached_tokens``.

A body that is not shaped like a response raises ``UpstreamError`` (``upstream_bad_response``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from zonegate.errors import UpstreamError
from zonegate.wire.openai_chat import (
    AssistantMessage,
    ChatCompletion,
    Choice,
    ToolCall,
    Usage,
)

_FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)
_MAX_MESSAGE = 300


@dataclass
class Turn:
    """What one response (or one streamed event) says, validated."""

    response_id: str | None = None
    model_version: str | None = None
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    native_finish: str | None = None
    block_reason: str | None = None
    usage: Usage | None = None
    has_candidate: bool = False


def generate_content_to_chat(
    body: object, served_model: str, *, created: int | None = None
) -> ChatCompletion:
    """A chat completion from a ``generateContent`` response body (parsed JSON)."""
    turn = read_turn(body)
    if not turn.has_candidate and turn.block_reason is None:
        raise _malformed("it has neither candidates nor a promptFeedback.blockReason")
    reason = finish_reason(turn)
    if turn.calls:
        message = AssistantMessage(content=turn.text or None, tool_calls=turn.calls)
    else:
        message = AssistantMessage(content=turn.text)
    choice: dict[str, Any] = {"message": message, "finish_reason": reason or "stop"}
    native = turn.native_finish or turn.block_reason
    if native:
        choice["native_finish_reason"] = native
    return ChatCompletion(
        id=turn.response_id or completion_id(),
        created=int(time.time()) if created is None else created,
        model=turn.model_version or served_model,
        choices=[Choice.model_validate(choice)],
        usage=turn.usage,
    )


def finish_reason(turn: Turn, *, calls_made: bool = False) -> str | None:
    """The OpenAI finish reason for ``turn``; None while the answer is not finished."""
    if turn.native_finish is None:
        return "content_filter" if turn.block_reason is not None else None
    if turn.native_finish == "MAX_TOKENS":
        return "length"
    if turn.native_finish in _FILTERED:
        return "content_filter"
    return "tool_calls" if turn.calls or calls_made else "stop"


def read_turn(body: object, *, error_code: str = "upstream_error") -> Turn:
    """Validate one response body; an error body raises ``UpstreamError`` with ``error_code``."""
    if not isinstance(body, dict):
        raise _malformed("it is not a JSON object")
    if "error" in body:
        raise UpstreamError(
            f"Gemini reported an error: {error_from_gemini(0, body)}",
            code=error_code,
        )
    turn = Turn(
        response_id=_optional_str(body, "responseId", "responseId"),
        model_version=_optional_str(body, "modelVersion", "modelVersion"),
        usage=_usage(body.get("usageMetadata")),
    )
    feedback = body.get("promptFeedback")
    if feedback is not None:
        if not isinstance(feedback, dict):
            raise _malformed("promptFeedback is not an object")
        turn.block_reason = _optional_str(feedback, "blockReason", "promptFeedback.blockReason")
    candidates = body.get("candidates", [])
    if not isinstance(candidates, list):
        raise _malformed("candidates is not a list")
    if candidates:
        _read_candidate(candidates[0], turn)
    return turn


def _read_candidate(candidate: object, turn: Turn) -> None:
    if not isinstance(candidate, dict):
        raise _malformed("candidates[0] is not an object")
    turn.has_candidate = True
    turn.native_finish = _optional_str(candidate, "finishReason", "candidates[0].finishReason")
    content = candidate.get("content", {})
    if not isinstance(content, dict):
        raise _malformed("candidates[0].content is not an object")
    parts = content.get("parts", [])
    if not isinstance(parts, list):
        raise _malformed("candidates[0].content.parts is not a list")
    texts: list[str] = []
    for j, part in enumerate(parts):
        where = f"candidates[0].content.parts[{j}]"
        if not isinstance(part, dict):
            raise _malformed(f"{where} is not an object")
        text = _optional_str(part, "text", f"{where}.text")
        if text is not None and not part.get("thought"):
            texts.append(text)
        if "functionCall" in part:
            turn.calls.append(_tool_call(part, where))
    turn.text = "".join(texts)


def _tool_call(part: dict[str, Any], where: str) -> ToolCall:
    call = part["functionCall"]
    if not isinstance(call, dict):
        raise _malformed(f"{where}.functionCall is not an object")
    name = _optional_str(call, "name", f"{where}.functionCall.name")
    if not name:
        raise _malformed(f"{where}.functionCall has no name")
    args = call.get("args", {})
    if not isinstance(args, dict):
        raise _malformed(f"{where}.functionCall.args is not an object")
    call_id = _optional_str(call, "id", f"{where}.functionCall.id") or f"call_{uuid.uuid4().hex}"
    signature = _optional_str(part, "thoughtSignature", f"{where}.thoughtSignature")
    data: dict[str, Any] = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
    }
    if signature:
        data["extra_content"] = {"google": {"thought_signature": signature}}
    return ToolCall.model_validate(data)


def _usage(meta: object) -> Usage | None:
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise _malformed("usageMetadata is not an object")

    def count(key: str) -> int:
        value = meta.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _malformed(f"usageMetadata.{key} is not a token count")
        return value

    prompt = count("promptTokenCount") + count("toolUsePromptTokenCount")
    thoughts = count("thoughtsTokenCount")
    completion = count("candidatesTokenCount") + thoughts
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": count("totalTokenCount") or prompt + completion,
    }
    if thoughts:
        usage["completion_tokens_details"] = {"reasoning_tokens": thoughts}
    cached = count("cachedContentTokenCount")
    if cached:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return Usage.model_validate(usage)


def _optional_str(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _malformed(f"{where} is not a string")
    return value


def _malformed(problem: str) -> UpstreamError:
    return UpstreamError(
        f"Gemini returned a malformed response: {problem}", code="upstream_bad_response"
    )


def completion_id() -> str:
    """An id for a completion whose response carried none."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def error_from_gemini(status: int, body: bytes | str | object) -> str:
    """The readable message of a Google API error body, shortened, for an upstream error.

    Google answers ``{"error": {"code", "message", "status", "details"}}`` (a one-element list of
    that from a stream without ``alt=sse``); the message is returned with the status name and
    the ``ErrorInfo`` reason when there are, e.g. ``API key not valid. (INVALID_ARGUMENT,
    API_KEY_INVALID)``. A body in another shape gives its text, or the HTTP status if empty.
    """
    data = body
    if isinstance(body, bytes | str):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            data = json.loads(text)
        except ValueError:
            return _shorten(text.strip()) or f"no error message (HTTP {status})"
    if isinstance(data, list) and data:
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(error, dict) or not isinstance(message, str) or not message:
        return _shorten(json.dumps(data)) if data else f"no error message (HTTP {status})"
    labels = [error["status"]] if isinstance(error.get("status"), str) else []
    details = error.get("details")
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            labels.append(detail["reason"])
    return _shorten(message) + (f" ({', '.join(labels)})" if labels else "")


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."
