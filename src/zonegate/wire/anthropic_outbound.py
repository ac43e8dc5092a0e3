"""Chat requests as Anthropic Messages requests, and Anthropic replies back as chat completions:
what a provider calling Anthropic's API needs. Pure: no I/O.

Where the shapes differ:

- system and developer messages, wherever they stand, become the top-level ``system`` blocks, in
  order; consecutive ``tool`` messages and the user message after them become one user turn of
  ``tool_result`` blocks then its content (Anthropic wants results first, right after the call).
- tool-call ids keep only the characters Anthropic allows in one (letters, digits, ``_``,
  ``-``); the others become ``_``, alike in the call and in its result.
- ``image_url`` parts become image blocks (a ``data:`` URL as base64), ``file`` parts holding
  PDF data document blocks; audio, file ids and other parts are refused with ``InvalidRequest``.
- ``response_format`` ``json_schema`` becomes ``output_config.format`` (Anthropic's structured
  outputs). ``json_object`` has no counterpart, so it is asked for in the system prompt: a best
  effort, not a guarantee.
- ``temperature``, ``top_p`` and ``top_k`` are sent only when asked (``sampling=True``): API
  version 2026-10-21, the one SDK 2.x sends, refuses them at any value, and some recent models
  refuse them whatever the version. When they are sent, a temperature above 1 (Anthropic's
  maximum) is refused rather than silently changed. ``logprobs`` is refused; ``seed``, the
  penalties and ``logit_bias`` have no counterpart and are not sent, nor is zonegate's
  ``metadata``. ``user`` is ``metadata.user_id``.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from pydantic import ValidationError

from zonegate.errors import InvalidRequest, UpstreamError
from zonegate.wire.anthropic import ResponseMessage, TextBlock, ToolUseBlock, error_path
from zonegate.wire.openai_chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    ContentPart,
    FunctionCall,
    ToolCall,
    Usage,
)

# stop_reason -> finish_reason; unknown reasons read as a natural stop.
STOP_TO_CHAT = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
IGNORED_BLOCKS = frozenset({"thinking", "redacted_thinking"})
JSON_OBJECT_INSTRUCTION = (
    "Reply with one valid JSON object and nothing else: no prose, no code fences."
)
_DATA_URL = re.compile(r"data:([^;,]+);base64,(.*)", re.DOTALL)
_MAX_TEMPERATURE = 1.0
_NOT_IN_TOOL_ID = re.compile(r"[^A-Za-z0-9_-]")
# The ``anthropic-version`` header the bodies built here are written for.
ANTHROPIC_VERSION = "2026-10-21"

Block = dict[str, Any]


# -- request: chat -> Anthropic ----------------------------------------------------------------


def chat_to_messages_request(
    req: ChatCompletionRequest,
    upstream_model: str,
    default_max_tokens: int,
    *,
    stream: bool = False,
    sampling: bool = False,
) -> dict[str, Any]:
    """The Anthropic Messages body for a chat request, or ``InvalidRequest`` for what Anthropic
    cannot be asked (naming the field). ``max_tokens`` is required there: the request's own
    limit, else ``default_max_tokens``. ``sampling`` sends temperature, top_p and top_k, for an
    older API version and a model that still take them."""
    extra = req.model_extra or {}
    if extra.get("logprobs"):
        raise _invalid("logprobs", "Anthropic models do not return logprobs; leave it out")
    system: list[Block] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(req.messages):
        where = f"messages[{i}]"
        if message.role in ("system", "developer"):
            system += _text_blocks(message, where)
        elif message.role == "user":
            _add(turns, "user", _user_blocks(message, where))
        elif message.role == "assistant":
            _add(turns, "assistant", _assistant_blocks(message, where))
        elif message.role == "tool":
            _add(turns, "user", [_tool_result(message, where)])
        else:
            raise _invalid(
                f"{where}.role",
                "'function' messages (the deprecated function-calling API) cannot be forwarded; "
                "send tool_calls and tool messages",
            )
    body: dict[str, Any] = {
        "model": upstream_model,
        "max_tokens": req.output_limit() or default_max_tokens,
        "messages": turns,
    }
    system += _response_format(req.response_format, body)
    if system:
        body["system"] = system
    if sampling:
        body.update(_sampling(req))
    if req.stop is not None:
        body["stop_sequences"] = [req.stop] if isinstance(req.stop, str) else req.stop
    if req.tools:
        body["tools"] = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(req.tools)]
        choice = _tool_choice(req.tool_choice, parallel=extra.get("parallel_tool_calls", True))
        if choice is not None:
            body["tool_choice"] = choice
    if req.user:
        body["metadata"] = {"user_id": req.user}
    if stream:
        body["stream"] = True
    return body


def _sampling(req: ChatCompletionRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if req.temperature is not None:
        if req.temperature > _MAX_TEMPERATURE:
            raise _invalid(
                "temperature",
                f"temperature {req.temperature:g} is above 1, the most Anthropic models accept "
                "(their scale is 0 to 1); send a value from 0 to 1",
            )
        out["temperature"] = req.temperature
    if req.top_p is not None:
        out["top_p"] = req.top_p
    top_k = (req.model_extra or {}).get("top_k")
    if isinstance(top_k, int) and not isinstance(top_k, bool):
        out["top_k"] = top_k
    return out


def _add(turns: list[dict[str, Any]], role: str, blocks: list[Block]) -> None:
    """Consecutive turns of one role are one Anthropic turn (tool results then user text)."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"] += blocks
    else:
        turns.append({"role": role, "content": blocks})


def _text_blocks(message: ChatMessage, where: str) -> list[Block]:
    content = message.content
    if content is None or isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[Block] = []
    for j, part in enumerate(content):
        if part.type != "text":
            raise _invalid(
                f"{where}.content[{j}]",
                f"a {message.role} message can carry only text parts here, not {part.type!r}",
            )
        if part.text:
            blocks.append({"type": "text", "text": part.text})
    return blocks


def _user_blocks(message: ChatMessage, where: str) -> list[Block]:
    content = message.content
    if content is None or isinstance(content, str):
        return [{"type": "text", "text": content or ""}]
    return [_user_block(part, f"{where}.content[{j}]") for j, part in enumerate(content)]


def _user_block(part: ContentPart, at: str) -> Block:
    extra = part.model_extra or {}
    if part.type == "text":
        return {"type": "text", "text": part.text or ""}
    if part.type == "image_url":
        image = extra.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str):
            found = _DATA_URL.fullmatch(url)
            if found is not None:
                source = {"type": "base64", "media_type": found[1], "data": found[2]}
                return {"type": "image", "source": source}
            if url.startswith(("https://", "http://")):
                return {"type": "image", "source": {"type": "url", "url": url}}
        raise _invalid(
            f"{at}.image_url.url",
            "an image must be an http(s) URL or a base64 data: URL",
        )
    if part.type == "file":
        file = extra.get("file")
        data = file.get("file_data") if isinstance(file, dict) else None
        found = _DATA_URL.fullmatch(data) if isinstance(data, str) else None
        if found is not None and found[1] == "application/pdf":
            block: Block = {
                "type": "document",
                "source": {"type": "base64", "media_type": found[1], "data": found[2]},
            }
            filename = file.get("filename") if isinstance(file, dict) else None
            if isinstance(filename, str) and filename:
                block["title"] = filename
            return block
        raise _invalid(
            f"{at}.file",
            "only a PDF sent inline (file_data as a base64 data: URL) can be forwarded to "
            "Anthropic; file ids and other file types cannot",
        )
    raise _invalid(at, f"a {part.type!r} content part cannot be forwarded to Anthropic")


def _assistant_blocks(message: ChatMessage, where: str) -> list[Block]:
    blocks = _text_blocks(message, where)
    for k, call in enumerate(message.tool_calls or ()):
        at = f"{where}.tool_calls[{k}].function.arguments"
        arguments = call.function.arguments
        try:
            value = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            raise _invalid(at, "the arguments are not valid JSON") from None
        if not isinstance(value, dict):
            raise _invalid(at, "the arguments must be a JSON object")
        blocks.append(
            {
                "type": "tool_use",
                "id": _tool_id(call.id),
                "name": call.function.name,
                "input": value,
            }
        )
    return blocks


def _tool_result(message: ChatMessage, where: str) -> Block:
    if not message.tool_call_id:
        raise _invalid(
            f"{where}.tool_call_id", "a tool message needs the id of the tool call it answers"
        )
    texts = _text_blocks(message, where)
    return {
        "type": "tool_result",
        "tool_use_id": _tool_id(message.tool_call_id),
        "content": "".join(block["text"] for block in texts),
    }


def _tool_id(call_id: str) -> str:
    return _NOT_IN_TOOL_ID.sub("_", call_id)


def _tool(tool: dict[str, Any], where: str) -> Block:
    function = tool.get("function")
    if tool.get("type") != "function" or not isinstance(function, dict):
        raise _invalid(where, "only function tools can be forwarded to Anthropic")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise _invalid(f"{where}.function.name", "a function tool needs a name")
    schema = function.get("parameters")
    if schema is None:
        schema = {"type": "object", "properties": {}}
    elif not isinstance(schema, dict):
        raise _invalid(f"{where}.function.parameters", "parameters must be a JSON Schema object")
    out: Block = {"name": name, "input_schema": schema}
    description = function.get("description")
    if isinstance(description, str) and description:
        out["description"] = description
    return out


def _tool_choice(choice: str | dict[str, Any] | None, *, parallel: object) -> Block | None:
    if choice is None:
        out: Block = {"type": "auto"}
    elif choice in ("auto", "none"):
        out = {"type": choice}
    elif choice == "required":
        out = {"type": "any"}
    else:
        function = choice.get("function") if isinstance(choice, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise _invalid(
                "tool_choice",
                "use 'auto', 'none', 'required' or {'type': 'function', 'function': {'name': ...}}",
            )
        out = {"type": "tool", "name": name}
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    elif choice is None:
        return None
    return out


def _response_format(response_format: dict[str, Any] | None, body: dict[str, Any]) -> list[Block]:
    """Sets ``output_config`` for a JSON schema; the system text asking for JSON objects."""
    kind = response_format.get("type") if response_format is not None else "text"
    if kind == "text":
        return []
    if kind == "json_object":
        return [{"type": "text", "text": JSON_OBJECT_INSTRUCTION}]
    if kind == "json_schema":
        spec = (response_format or {}).get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise _invalid(
                "response_format.json_schema.schema", "a json_schema format needs its schema"
            )
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        return []
    raise _invalid(
        "response_format.type",
        f"response format {kind!r} cannot be forwarded to Anthropic; use text, json_object or "
        "json_schema",
    )


def _invalid(param: str, reason: str) -> InvalidRequest:
    return InvalidRequest(
        f"{param}: {reason} (the model is served through Anthropic's API)",
        code="unsupported_parameter",
        param=param,
    )


# -- response: Anthropic -> chat ---------------------------------------------------------------


def message_to_chat(body: Any, served_model: str, *, created: int | None = None) -> ChatCompletion:
    """The chat completion for an Anthropic ``Message`` body (raw JSON bytes or text, or parsed);
    ``UpstreamError`` when the body is not one. ``model`` is the one the upstream names,
    ``served_model`` where it names none."""
    try:
        if isinstance(body, bytes | str):
            message = ResponseMessage.model_validate_json(body)
        else:
            message = ResponseMessage.model_validate(body)
    except ValidationError as exc:
        raise bad_response("reply", exc) from None
    texts: list[str] = []
    calls: list[ToolCall] = []
    for j, block in enumerate(message.content):
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlock):
            arguments = json.dumps(block.input, ensure_ascii=False)
            calls.append(
                ToolCall(id=block.id, function=FunctionCall(name=block.name, arguments=arguments))
            )
        elif block.type not in IGNORED_BLOCKS:
            raise UpstreamError(
                f"the Anthropic upstream's reply holds a {block.type!r} block (content[{j}]), "
                "which a chat completion cannot carry",
                code="upstream_bad_response",
            )
    text = "".join(texts)
    reply = AssistantMessage(content=text or (None if calls else ""), tool_calls=calls or None)
    finish = STOP_TO_CHAT.get(message.stop_reason or "", "stop")
    usage = message.usage
    return ChatCompletion(
        id=message.id,
        created=int(time.time()) if created is None else created,
        model=message.model or served_model,
        choices=[Choice(message=reply, finish_reason=finish)],
        usage=chat_usage(
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_creation_input_tokens,
            usage.cache_read_input_tokens,
        ),
    )


def chat_usage(
    input_tokens: int, output_tokens: int, cache_write: int | None, cache_read: int | None
) -> Usage:
    """Chat counts every prompt token, cached or not, in ``prompt_tokens``."""
    prompt = input_tokens + (cache_write or 0) + (cache_read or 0)
    fields: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": output_tokens,
        "total_tokens": prompt + output_tokens,
    }
    if cache_read:
        fields["prompt_tokens_details"] = {"cached_tokens": cache_read}
    return Usage.model_validate(fields)


def bad_response(what: str, exc: ValidationError) -> UpstreamError:
    errors = exc.errors(include_url=False)
    described = "; ".join(f"{error_path(e['loc']) or what}: {e['msg']}" for e in errors[:3])
    return UpstreamError(
        f"the Anthropic upstream sent a malformed {what}: {described}",
        code="upstream_bad_response",
    )
