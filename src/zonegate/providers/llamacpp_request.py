"""OpenAI chat requests as llama-cpp-python's ``create_chat_completion`` takes them.

Pure mapping and validation, no llama.cpp import: what the in-process model cannot honour (tools,
logprobs, unknown response formats, out-of-range logit biases) is refused with ``InvalidRequest``
before a generation slot is taken. ``logit_bias`` is returned separately because the provider
applies it itself: llama-cpp-python 0.3.36 drops the caller's logits processors when it is also
given ``logit_bias`` (``LogitsProcessorList.extend`` returns None).
"""

from __future__ import annotations

from typing import Any

from zonegate.errors import InvalidRequest
from zonegate.wire.openai_chat import ChatCompletionRequest, ChatMessage


def chat_arguments(
    request: ChatCompletionRequest, *, model_id: str, served_model: str, n_vocab: int
) -> tuple[dict[str, Any], dict[int, float]]:
    """``create_chat_completion`` keyword arguments and the logit bias, or ``InvalidRequest``."""
    if request.tools and request.tool_choice != "none":
        raise InvalidRequest(
            f"model {model_id!r} does not support tools; send the request to a model "
            "that does, or leave 'tools' out",
            code="unsupported_parameter",
            param="tools",
        )
    extra = request.model_extra or {}
    if extra.get("logprobs"):
        raise InvalidRequest(
            f"model {model_id!r} does not return logprobs",
            code="unsupported_parameter",
            param="logprobs",
        )
    arguments: dict[str, Any] = {
        "messages": [_message(m) for m in request.messages],
        "model": served_model,
        "max_tokens": request.output_limit(),
    }
    for name in ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty"):
        value = getattr(request, name)
        if value is not None:
            arguments[name] = value
    if request.stop is not None:
        arguments["stop"] = [request.stop] if isinstance(request.stop, str) else request.stop
    response_format = _response_format(request.response_format)
    if response_format is not None:
        arguments["response_format"] = response_format
    return arguments, _logit_bias(extra.get("logit_bias"), n_vocab)


def _message(message: ChatMessage) -> dict[str, Any]:
    """A plain message dict for the chat template; content is always text."""
    role = "system" if message.role == "developer" else message.role
    out: dict[str, Any] = {"role": role, "content": message.text()}
    if message.tool_calls:
        out["tool_calls"] = [call.model_dump(exclude_none=True) for call in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


def _response_format(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI ``response_format`` as llama-cpp-python takes it (JSON grammar, optional schema)."""
    if value is None:
        return None
    kind = value.get("type")
    if kind is None or kind == "text":
        return None
    if kind == "json_object":
        return value
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            return {"type": "json_object", "schema": schema}
    raise InvalidRequest(
        f"unsupported response_format {value!r}: use {{'type': 'json_object'}} or "
        "{'type': 'json_schema', 'json_schema': {'schema': {...}}}",
        code="unsupported_parameter",
        param="response_format",
    )


def _logit_bias(value: object, n_vocab: int) -> dict[int, float]:
    """OpenAI ``logit_bias`` (token id -> bias in [-100, 100]) as a validated mapping."""
    if value is None:
        return {}
    problem = InvalidRequest(
        f"logit_bias must map token ids (0 to {n_vocab - 1}) to numbers between -100 and 100",
        param="logit_bias",
    )
    if not isinstance(value, dict):
        raise problem
    bias: dict[int, float] = {}
    for key, amount in value.items():
        try:
            token, number = int(key), float(amount)
        except (TypeError, ValueError):
            raise problem from None
        if not 0 <= token < n_vocab or not -100 <= number <= 100:
            raise problem
        bias[token] = number
    return bias
