"""OpenAI chat requests as the body of Gemini's ``generateContent`` (REST, v1beta, camelCase).

Messages become ``contents``: system and developer messages are gathered, in order, into the one
``systemInstruction`` Gemini has; user and tool messages become ``user`` turns, assistant
messages ``model`` turns, and consecutive turns of one role are merged (Gemini wants them to
alternate, and the responses to parallel calls in one turn). Empty text is left out, as Gemini
refuses an empty text part.

Tool calls carry the Gemini thought signature back in ``extra_content.google.thought_signature``
(where responses put it, as Google's own OpenAI-compatible endpoint does). Gemini 3 refuses a
function call of the current turn without one, so an assistant message whose calls lack it (a
client that dropped the field, a history from another model) gets the documented placeholder
``skip_thought_signature_validator`` on its first call. Tool call ids are not sent: Gemini
pairs calls and responses by order and name, and the name of a tool message's function is taken
from the assistant message that made the call.

Images, audio and files are taken inline as ``data:`` URLs only (Gemini does not fetch URLs).
OpenAI parameters with no Gemini counterpart that change the answer (``logprobs``,
``top_logprobs``, ``logit_bias``) are refused; the rest (``user``, ``metadata``,
``parallel_tool_calls``, ``stream_options``, unknown fields) are not sent. ``n`` is at most 1 in
the canonical request, so ``candidateCount`` is left at Gemini's default of 1.
"""

from __future__ import annotations

import json
import re
from types import MappingProxyType
from typing import Any

from zonegate.errors import InvalidRequest
from zonegate.wire.gemini.schema import is_empty_object, to_gemini_schema
from zonegate.wire.openai_chat import ChatCompletionRequest, ChatMessage, ToolCall

SKIP_SIGNATURE = "skip_thought_signature_validator"
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,(.+)", re.DOTALL)
_AUDIO_TYPES = MappingProxyType({"wav": "audio/wav", "mp3": "audio/mp3"})
_MODES = MappingProxyType({"auto": "AUTO", "none": "NONE", "required": "ANY"})
_SAMPLING = (
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("seed", "seed"),
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
)
_UNSUPPORTED = ("logprobs", "top_logprobs", "logit_bias")


def chat_to_generate_content(request: ChatCompletionRequest) -> dict[str, Any]:
    """The JSON body of a ``generateContent`` or ``streamGenerateContent`` call for ``request``."""
    extra = request.model_extra or {}
    for name in _UNSUPPORTED:
        if extra.get(name):
            raise InvalidRequest(
                f"{name} is not supported for Gemini models; leave it out",
                code="unsupported_parameter",
                param=name,
            )
    system, contents = _contents(request.messages)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    declarations, tool_config = _tools(request.tools, request.tool_choice)
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]
    if tool_config is not None:
        body["toolConfig"] = {"functionCallingConfig": tool_config}
    config = _generation_config(request)
    if config:
        body["generationConfig"] = config
    return body


# -- messages -----------------------------------------------------------------------------------


def _contents(messages: list[ChatMessage]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The system instruction's parts and the conversation's turns."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, for the tool messages that follow
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if message.role in ("system", "developer"):
            system.extend(_text_part(_plain_text(message, where)))
            continue
        if message.role == "user":
            role, parts = "user", _user_parts(message, where)
        elif message.role == "assistant":
            role, parts = "model", _assistant_parts(message, where, names)
        elif message.role == "tool":
            role, parts = "user", [_function_response(message, where, names)]
        else:
            raise InvalidRequest(
                f"{where}.role: the deprecated 'function' role is not supported for Gemini "
                "models; use 'tools' and 'tool' messages",
                param=f"{where}.role",
            )
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    if not contents:
        raise InvalidRequest(
            "messages: Gemini needs at least one user, assistant or tool message with content",
            param="messages",
        )
    return system, contents


def _text_part(text: str) -> list[dict[str, Any]]:
    return [{"text": text}] if text else []


def _plain_text(message: ChatMessage, where: str) -> str:
    """The text of a message that may hold only text (system, assistant, tool)."""
    if isinstance(message.content, list):
        for j, part in enumerate(message.content):
            if part.type != "text":
                raise _unsupported_part(f"{where}.content[{j}]", part.type, message.role)
    return message.text()


def _user_parts(message: ChatMessage, where: str) -> list[dict[str, Any]]:
    if not isinstance(message.content, list):
        return _text_part(message.content or "")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(message.content):
        at = f"{where}.content[{j}]"
        extra = part.model_extra or {}
        if part.type == "text":
            parts.extend(_text_part(part.text or ""))
        elif part.type == "image_url":
            image = extra.get("image_url")
            url = image.get("url") if isinstance(image, dict) else None
            parts.append(_inline(url, f"{at}.image_url.url"))
        elif part.type == "file":
            file = extra.get("file")
            data = file.get("file_data") if isinstance(file, dict) else None
            parts.append(_inline(data, f"{at}.file.file_data"))
        elif part.type == "input_audio":
            parts.append(_audio(extra.get("input_audio"), f"{at}.input_audio"))
        else:
            raise _unsupported_part(at, part.type, "user")
    return parts


def _inline(url: object, at: str) -> dict[str, Any]:
    """A ``data:<mime>;base64,<data>`` URL as an ``inlineData`` part."""
    match = _DATA_URL.fullmatch(url.strip()) if isinstance(url, str) else None
    if match is None:
        raise InvalidRequest(
            f"{at}: Gemini models take images and files inline only; send a "
            "'data:<media type>;base64,<data>' URL (web URLs and file ids are not fetched)",
            param=at,
        )
    return {"inlineData": {"mimeType": match[1], "data": match[2]}}


def _audio(audio: object, at: str) -> dict[str, Any]:
    fmt = audio.get("format") if isinstance(audio, dict) else None
    data = audio.get("data") if isinstance(audio, dict) else None
    mime = _AUDIO_TYPES.get(fmt) if isinstance(fmt, str) else None
    if mime is None or not isinstance(data, str) or not data:
        raise InvalidRequest(
            f"{at}: needs base64 'data' and a 'format' of {', '.join(_AUDIO_TYPES)}", param=at
        )
    return {"inlineData": {"mimeType": mime, "data": data}}


def _unsupported_part(at: str, kind: str, role: str) -> InvalidRequest:
    return InvalidRequest(
        f"{at}: content part type {kind!r} is not supported in {role} messages for Gemini models",
        code="unsupported_content",
        param=at,
    )


def _assistant_parts(
    message: ChatMessage, where: str, names: dict[str, str]
) -> list[dict[str, Any]]:
    parts = _text_part(_plain_text(message, where))
    for j, call in enumerate(message.tool_calls or ()):
        args = _arguments(call.function.arguments, f"{where}.tool_calls[{j}].function.arguments")
        names[call.id] = call.function.name
        part: dict[str, Any] = {"functionCall": {"name": call.function.name, "args": args}}
        signature = _signature(call)
        if signature is None and j == 0:
            signature = SKIP_SIGNATURE
        if signature is not None:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def _arguments(text: str, at: str) -> dict[str, Any]:
    if not text.strip():
        return {}  # some clients send "" for a call without arguments
    try:
        args = json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(
            f"{at}: is not valid JSON ({exc.args[0]}); send the arguments the model produced",
            param=at,
        ) from None
    if not isinstance(args, dict):
        raise InvalidRequest(f"{at}: must be a JSON object", param=at)
    return args


def _signature(call: ToolCall) -> str | None:
    """The thought signature a Gemini response attached to this call, if the client kept it."""
    extra = (call.model_extra or {}).get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    return signature if isinstance(signature, str) and signature else None


def _function_response(message: ChatMessage, where: str, names: dict[str, str]) -> dict[str, Any]:
    call_id = message.tool_call_id
    name = names.get(call_id) if call_id is not None else None
    name = name or message.name
    if not name:
        raise InvalidRequest(
            f"{where}.tool_call_id: {call_id!r} is not the id of a tool call in an earlier "
            "assistant message; Gemini needs the name of the function that answered",
            param=f"{where}.tool_call_id",
        )
    text = _plain_text(message, where)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    response = parsed if isinstance(parsed, dict) else {"result": text}
    return {"functionResponse": {"name": name, "response": response}}


# -- tools --------------------------------------------------------------------------------------


def _tools(
    tools: list[dict[str, Any]] | None, choice: str | dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Function declarations and the function-calling config."""
    declarations = [_declaration(tool, f"tools[{i}]") for i, tool in enumerate(tools or ())]
    declared = [d["name"] for d in declarations]
    for name in declared:
        if declared.count(name) > 1:
            raise InvalidRequest(f"tools: function {name!r} is declared twice", param="tools")
    if choice is None:
        return declarations, None
    mode, allowed = _choice(choice)
    if not declarations:
        if mode in ("AUTO", "NONE"):
            return [], None
        raise InvalidRequest(
            f"tool_choice {choice!r} needs 'tools'; declare the functions the model may call",
            param="tool_choice",
        )
    for name in allowed or ():
        if name not in declared:
            raise InvalidRequest(
                f"tool_choice names function {name!r}, which is not in 'tools'",
                param="tool_choice",
            )
    config: dict[str, Any] = {"mode": mode}
    if allowed is not None and mode == "ANY":
        config["allowedFunctionNames"] = allowed
    elif allowed is not None:
        # Gemini takes allowedFunctionNames with mode ANY only: offer just the allowed ones.
        declarations = [d for d in declarations if d["name"] in allowed]
    return declarations, config


def _declaration(tool: dict[str, Any], where: str) -> dict[str, Any]:
    function = tool.get("function")
    if tool.get("type") != "function":
        raise InvalidRequest(
            f"{where}.type: only 'function' tools are supported for Gemini models",
            param=f"{where}.type",
        )
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(function, dict) or not isinstance(name, str) or not name:
        raise InvalidRequest(
            f"{where}.function.name: a function tool needs a name", param=f"{where}.function"
        )
    declaration: dict[str, Any] = {"name": name}
    description = function.get("description")
    if isinstance(description, str) and description:
        declaration["description"] = description
    if function.get("parameters") is not None:
        schema = to_gemini_schema(function["parameters"], f"{where}.function.parameters")
        if not is_empty_object(schema):  # Gemini refuses an object without properties here
            declaration["parameters"] = schema
    return declaration


def _choice(choice: str | dict[str, Any]) -> tuple[str, list[str] | None]:
    """Gemini's calling mode and the allowed function names for an OpenAI ``tool_choice``."""
    if isinstance(choice, str) and choice in _MODES:
        return _MODES[choice], None
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            return "ANY", [name]
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        spec = choice.get("allowed_tools")
        mode = spec.get("mode") if isinstance(spec, dict) else None
        tools = spec.get("tools") if isinstance(spec, dict) else None
        if mode in ("auto", "required") and isinstance(tools, list):
            names = [
                t["function"]["name"]
                for t in tools
                if isinstance(t, dict)
                and isinstance(t.get("function"), dict)
                and isinstance(t["function"].get("name"), str)
            ]
            if len(names) == len(tools) and names:
                return _MODES[mode], names
    raise InvalidRequest(
        f"unsupported tool_choice {choice!r}: use 'auto', 'none', 'required', "
        "{'type': 'function', 'function': {'name': ...}} or an 'allowed_tools' choice",
        param="tool_choice",
    )


# -- generation config --------------------------------------------------------------------------


def _generation_config(request: ChatCompletionRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for ours, theirs in _SAMPLING:
        value = getattr(request, ours)
        if value is not None:
            config[theirs] = value
    limit = request.output_limit()
    if limit is not None:
        config["maxOutputTokens"] = limit
    stop = [request.stop] if isinstance(request.stop, str) else request.stop
    if stop:
        config["stopSequences"] = stop
    config.update(_response_format(request.response_format))
    return config


def _response_format(value: dict[str, Any] | None) -> dict[str, Any]:
    kind = value.get("type") if value is not None else "text"
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    spec = value.get("json_schema") if value is not None else None
    if kind == "json_schema" and isinstance(spec, dict):
        config: dict[str, Any] = {"responseMimeType": "application/json"}
        if spec.get("schema") is not None:
            path = "response_format.json_schema.schema"
            config["responseSchema"] = to_gemini_schema(spec["schema"], path)
        return config
    raise InvalidRequest(
        f"unsupported response_format {value!r}: use {{'type': 'text'}}, "
        "{'type': 'json_object'} or {'type': 'json_schema', 'json_schema': {'schema': {...}}}",
        code="unsupported_parameter",
        param="response_format",
    )
