"""Anthropic Messages requests in, the gateway's chat shapes through, Anthropic messages out.

An Anthropic-compatible endpoint validates the body with ``parse_messages_request``, turns it
into the canonical ``ChatCompletionRequest`` with ``messages_to_chat``, and answers with
``chat_to_message`` (or, streaming, ``ChatChunksToEvents`` in ``anthropic_sse``). Pure: no I/O.

The mapping, and where it has to choose:

- ``system`` (text or text blocks) becomes the first system message; text blocks stay content
  parts. ``tool_use`` blocks become assistant ``tool_calls`` (arguments as JSON text) and each
  ``tool_result`` a ``tool`` message, placed before the rest of its user turn as the chat shape
  needs. A result marked ``is_error`` is prefixed ``Error:`` (the chat shape has no such flag).
- Images (base64 or URL) become ``image_url`` parts, base64 PDFs ``file`` parts and text
  documents text parts, in user turns only; what the chat shape cannot carry (Files API
  references, PDF URLs, images in tool results or assistant turns, server tools, block types
  such as ``search_result``) is refused with ``InvalidRequest`` naming the path. Earlier
  ``thinking`` blocks in assistant turns are dropped, as Anthropic drops them itself.
- ``tool_choice`` any/auto/none/tool becomes required/auto/none/a named function, and
  ``disable_parallel_tool_use`` becomes ``parallel_tool_calls: false``; ``stop_sequences`` is
  ``stop``, ``metadata.user_id`` is ``user`` and other string metadata (zonegate's labels) stays
  metadata. ``temperature`` and ``top_p`` (sent by clients of API versions before 2026-10-21)
  carry over; ``top_k`` has no chat counterpart that every upstream accepts, so it does not.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from zonegate.errors import InvalidRequest, UpstreamError
from zonegate.wire.anthropic import (
    Base64Source,
    Block,
    ContentSource,
    DocumentBlock,
    ImageBlock,
    MessagesRequest,
    PlainTextSource,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
    UrlSource,
)
from zonegate.wire.openai_chat import (
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    ContentPart,
    FunctionCall,
    ToolCall,
    Usage,
)

# finish_reason -> stop_reason; anything else (a server's own reason) reads as a natural end.
CHAT_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
_SUPPORTED_BLOCKS = "text, image, document, tool_use and tool_result"
_DROPPED_ASSISTANT_BLOCKS = frozenset({"thinking", "redacted_thinking"})
_PDF = "application/pdf"
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


# -- request: Anthropic -> chat ----------------------------------------------------------------


def messages_to_chat(req: MessagesRequest) -> ChatCompletionRequest:
    """The canonical chat request for an Anthropic one, or ``InvalidRequest`` for what the chat
    shape cannot carry (the message names the path and what to send instead)."""
    messages: list[ChatMessage] = []
    if req.system:
        messages.append(ChatMessage(role="system", content=_text_content(req.system)))
    for i, message in enumerate(req.messages):
        where = f"messages[{i}]"
        if message.role == "user":
            messages.extend(_user_turn(message.content, where))
        elif message.role == "assistant":
            messages.append(_assistant_turn(message.content, where))
        else:
            messages.append(
                ChatMessage(role="system", content=_system_turn(message.content, where))
            )
    out: dict[str, Any] = {"model": req.model, "messages": messages, "max_tokens": req.max_tokens}
    if req.stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    for name in ("temperature", "top_p"):
        value = getattr(req, name)
        if value is not None:
            out[name] = value
    if req.stop_sequences:
        out["stop"] = req.stop_sequences
    if req.tools:
        out["tools"] = [_chat_tool(tool, f"tools[{i}]") for i, tool in enumerate(req.tools)]
    if req.tool_choice is not None and req.tools:  # chat upstreams refuse one without tools
        choice = req.tool_choice
        if choice.type == "tool":
            out["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
        else:
            out["tool_choice"] = _TOOL_CHOICES[choice.type]
        if choice.disable_parallel_tool_use:
            out["parallel_tool_calls"] = False
    if req.metadata is not None:
        if req.metadata.user_id:
            out["user"] = req.metadata.user_id
        labels = {k: v for k, v in (req.metadata.model_extra or {}).items() if isinstance(v, str)}
        if labels:
            out["metadata"] = labels
    return ChatCompletionRequest.model_validate(out)


def _text_content(content: str | list[TextBlock]) -> str | list[ContentPart]:
    if isinstance(content, str):
        return content
    return _parts([ContentPart(type="text", text=block.text) for block in content])


def _parts(parts: list[ContentPart]) -> str | list[ContentPart]:
    """One text part reads as plain text, which every chat upstream accepts."""
    if len(parts) == 1 and parts[0].type == "text" and parts[0].text is not None:
        return parts[0].text
    return parts


def _system_turn(content: str | list[Block], where: str) -> str | list[ContentPart]:
    if isinstance(content, str):
        return content
    texts: list[TextBlock] = []
    for j, block in enumerate(content):
        if not isinstance(block, TextBlock):
            raise _refuse(
                f"{where}.content[{j}]", f"a system turn holds only text, not {block.type!r}"
            )
        texts.append(block)
    return _text_content(texts)


def _user_turn(content: str | list[Block], where: str) -> list[ChatMessage]:
    """Tool results first (each its own ``tool`` message), then the rest of the turn."""
    if isinstance(content, str):
        return [ChatMessage(role="user", content=content)]
    results: list[ChatMessage] = []
    parts: list[ContentPart] = []
    for j, block in enumerate(content):
        at = f"{where}.content[{j}]"
        if isinstance(block, ToolResultBlock):
            results.append(
                ChatMessage(
                    role="tool", tool_call_id=block.tool_use_id, content=_tool_result(block, at)
                )
            )
        else:
            parts.extend(_user_parts(block, at))
    if parts or not results:
        results.append(ChatMessage(role="user", content=_parts(parts)))
    return results


def _user_parts(block: Block, at: str) -> list[ContentPart]:
    if isinstance(block, TextBlock):
        return [ContentPart(type="text", text=block.text)]
    if isinstance(block, ImageBlock):
        return [_image_part(block, at)]
    if isinstance(block, DocumentBlock):
        return _document_parts(block, at)
    if isinstance(block, ToolUseBlock):
        raise _refuse(at, "tool_use blocks belong in assistant turns")
    raise _refuse(
        at, f"content block type {block.type!r} is not supported here; use {_SUPPORTED_BLOCKS}"
    )


def _image_part(block: ImageBlock, at: str) -> ContentPart:
    source = block.source
    if isinstance(source, Base64Source):
        url = f"data:{source.media_type};base64,{source.data}"
    elif isinstance(source, UrlSource):
        url = source.url
    else:
        raise _refuse(
            f"{at}.source",
            f"an image source of type {source.type!r} cannot be forwarded; send the image "
            "as base64 data or a URL",
        )
    return ContentPart.model_validate({"type": "image_url", "image_url": {"url": url}})


def _document_parts(block: DocumentBlock, at: str) -> list[ContentPart]:
    source = block.source
    if isinstance(source, PlainTextSource):
        return [ContentPart(type="text", text=source.data)]
    if isinstance(source, ContentSource):
        content = source.content
        if isinstance(content, str):
            return [ContentPart(type="text", text=content)]
        parts: list[ContentPart] = []
        for k, inner in enumerate(content):
            if not isinstance(inner, TextBlock | ImageBlock):
                raise _refuse(
                    f"{at}.source.content[{k}]",
                    f"a document's content holds text and image blocks, not {inner.type!r}",
                )
            parts.extend(_user_parts(inner, f"{at}.source.content[{k}]"))
        return parts
    if isinstance(source, Base64Source) and source.media_type == _PDF:
        file = {
            "filename": block.title or "document.pdf",
            "file_data": f"data:{_PDF};base64,{source.data}",
        }
        return [ContentPart.model_validate({"type": "file", "file": file})]
    raise _refuse(
        f"{at}.source",
        f"a document source of type {source.type!r} cannot be forwarded; send a PDF as base64 "
        "data, or the text itself",
    )


def _tool_result(block: ToolResultBlock, at: str) -> str:
    content = block.content
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        texts: list[str] = []
        for k, inner in enumerate(content):
            if not isinstance(inner, TextBlock):
                raise _refuse(
                    f"{at}.content[{k}]",
                    f"a tool result can carry only text through this gateway, not {inner.type!r}",
                )
            texts.append(inner.text)
        text = "\n".join(texts)
    if block.is_error:
        return f"Error: {text}" if text else "Error"
    return text


def _assistant_turn(content: str | list[Block], where: str) -> ChatMessage:
    if isinstance(content, str):
        return ChatMessage(role="assistant", content=content)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for j, block in enumerate(content):
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlock):
            arguments = json.dumps(block.input, ensure_ascii=False)
            calls.append(
                ToolCall(id=block.id, function=FunctionCall(name=block.name, arguments=arguments))
            )
        elif block.type not in _DROPPED_ASSISTANT_BLOCKS:
            raise _refuse(
                f"{where}.content[{j}]",
                f"an assistant turn can carry text and tool_use blocks, not {block.type!r}",
            )
    text = "".join(texts)
    if calls:
        return ChatMessage(role="assistant", content=text or None, tool_calls=calls)
    return ChatMessage(role="assistant", content=text)


def _chat_tool(tool: Tool, where: str) -> dict[str, Any]:
    if tool.type not in (None, "custom"):
        raise _refuse(
            where,
            f"tool type {tool.type!r} is an Anthropic server tool, which this gateway cannot "
            "forward; declare custom tools with name, description and input_schema",
        )
    if tool.input_schema is None:
        raise _refuse(f"{where}.input_schema", "a tool needs an input_schema (a JSON Schema)")
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema}
    if tool.description is not None:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def _refuse(path: str, reason: str) -> InvalidRequest:
    return InvalidRequest(f"{path}: {reason}", code="unsupported_content", param=path)


# -- response: chat -> Anthropic ---------------------------------------------------------------


def chat_to_message(completion: ChatCompletion, model: str) -> dict[str, Any]:
    """The Anthropic ``Message`` for a chat completion (its first choice), answering ``model``.

    Tool-call arguments must be a JSON object, as Anthropic's ``input`` is; arguments that are
    not raise ``UpstreamError`` (the upstream's reply cannot be expressed, not the caller's
    fault). Empty arguments read as ``{}``.
    """
    choice = completion.choices[0] if completion.choices else None
    content: list[dict[str, Any]] = []
    finish = None
    if choice is not None:
        finish = choice.finish_reason
        message = choice.message
        refusal = (message.model_extra or {}).get("refusal")
        for text in (message.content, refusal):
            if isinstance(text, str) and text:
                content.append({"type": "text", "text": text})
        for call in message.tool_calls or ():
            content.append(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.function.name,
                    "input": tool_input(call.function.arguments, call.function.name),
                }
            )
    has_tools = any(block["type"] == "tool_use" for block in content)
    return {
        "id": message_id(completion.id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(finish, tool_use=has_tools),
        "stop_sequence": None,
        "usage": anthropic_usage(completion.usage),
    }


def message_id(chat_id: str) -> str:
    """A ``msg_`` id carrying the chat completion's id, so logs on both sides line up."""
    if chat_id.startswith("msg_"):
        return chat_id
    tail = chat_id.removeprefix("chatcmpl-") or uuid.uuid4().hex
    return f"msg_{tail}"


def stop_reason(finish_reason: str | None, *, tool_use: bool) -> str:
    """Anthropic's ``stop_reason`` for a chat ``finish_reason``.

    Some servers finish a tool call with ``stop``; a reply that calls tools reads as
    ``tool_use`` unless it was cut short.
    """
    reason = CHAT_TO_STOP.get(finish_reason or "", "end_turn")
    if tool_use and reason == "end_turn":
        return "tool_use"
    return reason


def anthropic_usage(usage: Usage | None) -> dict[str, int]:
    """Anthropic counts cached prompt tokens apart from ``input_tokens``."""
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    cached = cached_tokens(usage)
    out = {
        "input_tokens": max(usage.prompt_tokens - cached, 0),
        "output_tokens": usage.completion_tokens,
    }
    if cached:
        out["cache_read_input_tokens"] = cached
    return out


def cached_tokens(usage: Usage) -> int:
    details = (usage.model_extra or {}).get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return cached if isinstance(cached, int) and cached > 0 else 0


def tool_input(arguments: str, name: str) -> dict[str, Any]:
    """A tool call's arguments as Anthropic's ``input`` object."""
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise UpstreamError(
            f"the upstream called tool {name!r} with arguments that are not a JSON object, "
            "which an Anthropic tool_use block cannot carry",
            code="upstream_bad_response",
        )
    return value


# -- errors ------------------------------------------------------------------------------------


def anthropic_error_type(status: int) -> str:
    """Anthropic's error ``type`` for an HTTP status (``api_error`` for other server errors)."""
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def anthropic_error_body(status: int, message: str) -> dict[str, Any]:
    """The body Anthropic's API and SDKs use for errors."""
    return {"type": "error", "error": {"type": anthropic_error_type(status), "message": message}}
