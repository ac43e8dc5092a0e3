"""Anthropic Messages API wire types: the inbound ``POST /v1/messages`` request, and the upstream
message and stream events an Anthropic provider reads back.

Like the OpenAI types, every model keeps unknown fields. Content blocks and sources of a type the
gateway does not model validate as ``OtherBlock`` / ``OtherSource`` instead of failing on the
discriminator, so the translation can refuse them by path with a message that says what is
supported (``messages[2].content[0]: content block type 'thinking' ...``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from zonegate.errors import InvalidRequest

# Union branches are tagged with a ":" in their name, which no field name has: validation error
# locations drop them, so a path reads ``messages[0].content[1].source`` whatever the union.
_TAG_MARK = ":"


class _Open(BaseModel):
    """Tolerant of fields Anthropic may add; validated where we depend on them."""

    model_config = ConfigDict(extra="allow")


def _by_type(known: frozenset[str], prefix: str) -> Callable[[Any], str]:
    """A discriminator on ``type`` that sends every type not in ``known`` to the fallback."""

    def tag(value: Any) -> str:
        kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        return f"{prefix}:{kind if isinstance(kind, str) and kind in known else 'other'}"

    return tag


def _str_or_list(value: Any) -> str:
    return "value:str" if isinstance(value, str) else "value:list"


# -- sources -----------------------------------------------------------------------------------


class Base64Source(_Open):
    type: Literal["base64"]
    media_type: str
    data: str


class UrlSource(_Open):
    type: Literal["url"]
    url: str


class PlainTextSource(_Open):
    type: Literal["text"]
    media_type: str = "text/plain"
    data: str


class ContentSource(_Open):
    type: Literal["content"]
    content: BlocksOrText


class OtherSource(_Open):
    """A source the gateway does not forward (``file`` references to the Files API, ...)."""

    type: str


Source = Annotated[
    Annotated[Base64Source, Tag("source:base64")]
    | Annotated[UrlSource, Tag("source:url")]
    | Annotated[PlainTextSource, Tag("source:text")]
    | Annotated[ContentSource, Tag("source:content")]
    | Annotated[OtherSource, Tag("source:other")],
    Discriminator(_by_type(frozenset({"base64", "url", "text", "content"}), "source")),
]


# -- content blocks ----------------------------------------------------------------------------


class TextBlock(_Open):
    type: Literal["text"]
    text: str


class ImageBlock(_Open):
    type: Literal["image"]
    source: Source


class DocumentBlock(_Open):
    type: Literal["document"]
    source: Source
    title: str | None = None
    context: str | None = None


class ToolUseBlock(_Open):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Open):
    type: Literal["tool_result"]
    tool_use_id: str
    content: BlocksOrText | None = None
    is_error: bool = False


class OtherBlock(_Open):
    """A block the gateway does not model: thinking, server tools, search results, ..."""

    type: str


Block = Annotated[
    Annotated[TextBlock, Tag("block:text")]
    | Annotated[ImageBlock, Tag("block:image")]
    | Annotated[DocumentBlock, Tag("block:document")]
    | Annotated[ToolUseBlock, Tag("block:tool_use")]
    | Annotated[ToolResultBlock, Tag("block:tool_result")]
    | Annotated[OtherBlock, Tag("block:other")],
    Discriminator(
        _by_type(frozenset({"text", "image", "document", "tool_use", "tool_result"}), "block")
    ),
]

BlocksOrText = Annotated[
    Annotated[str, Tag("value:str")] | Annotated[list[Block], Tag("value:list")],
    Discriminator(_str_or_list),
]

TextBlocksOrText = Annotated[
    Annotated[str, Tag("value:str")] | Annotated[list[TextBlock], Tag("value:list")],
    Discriminator(_str_or_list),
]

ContentSource.model_rebuild()
ToolResultBlock.model_rebuild()


# -- the request -------------------------------------------------------------------------------


class Message(_Open):
    # ``system`` turns inside ``messages`` are accepted as newer SDKs can send them.
    role: Literal["user", "assistant", "system"]
    content: BlocksOrText


class Tool(_Open):
    name: str = Field(min_length=1)
    description: str | None = None
    # Required for custom tools; server tools (``type`` set) have none, and are refused later.
    input_schema: dict[str, Any] | None = None
    type: str | None = None


class ToolChoice(_Open):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None

    @model_validator(mode="after")
    def _named(self) -> ToolChoice:
        if self.type == "tool" and not self.name:
            raise ValueError("a tool_choice of type 'tool' needs the name of the tool to call")
        return self


class Metadata(_Open):
    user_id: str | None = None


class MessagesRequest(_Open):
    model: str = Field(min_length=1)
    max_tokens: int = Field(ge=1)
    messages: list[Message] = Field(min_length=1)
    system: TextBlocksOrText | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0)
    stream: bool = False
    metadata: Metadata | None = None


def parse_messages_request(data: Any) -> MessagesRequest:
    """Validate a ``/v1/messages`` body, or ``InvalidRequest`` naming each bad field's path."""
    try:
        return MessagesRequest.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        described = "; ".join(f"{error_path(e['loc']) or 'body'}: {e['msg']}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidRequest(
            f"invalid messages request: {described}{more}",
            param=error_path(errors[0]["loc"]) or None,
        ) from None


def error_path(loc: tuple[int | str, ...]) -> str:
    """``('messages', 2, 'content', 'value:list', 0)`` -> ``messages[2].content[0]``: a
    validation error location as a readable path, union tags left out."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _TAG_MARK not in part:
            out += f".{part}" if out else part
    return out


# -- what an Anthropic upstream sends back -----------------------------------------------------


class ResponseUsage(_Open):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class ResponseMessage(_Open):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str = ""
    content: list[Block]
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: ResponseUsage = Field(default_factory=ResponseUsage)


class MessageStartEvent(_Open):
    type: Literal["message_start"]
    message: ResponseMessage


class ContentBlockStartEvent(_Open):
    type: Literal["content_block_start"]
    index: int
    content_block: Block


class BlockDelta(_Open):
    """``text_delta`` carries ``text``, ``input_json_delta`` carries ``partial_json``."""

    type: str
    text: str | None = None
    partial_json: str | None = None


class ContentBlockDeltaEvent(_Open):
    type: Literal["content_block_delta"]
    index: int
    delta: BlockDelta


class StopDelta(_Open):
    stop_reason: str | None = None
    stop_sequence: str | None = None


class DeltaUsage(_Open):
    output_tokens: int = 0
    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class MessageDeltaEvent(_Open):
    type: Literal["message_delta"]
    delta: StopDelta = Field(default_factory=StopDelta)
    usage: DeltaUsage = Field(default_factory=DeltaUsage)


class ErrorDetail(_Open):
    type: str = "api_error"
    message: str = ""


class ErrorEvent(_Open):
    type: Literal["error"]
    error: ErrorDetail = Field(default_factory=ErrorDetail)


class OtherEvent(_Open):
    """Events that carry nothing to translate: ``ping``, ``*_stop`` and types added later."""

    type: str


StreamEvent = Annotated[
    Annotated[MessageStartEvent, Tag("event:message_start")]
    | Annotated[ContentBlockStartEvent, Tag("event:content_block_start")]
    | Annotated[ContentBlockDeltaEvent, Tag("event:content_block_delta")]
    | Annotated[MessageDeltaEvent, Tag("event:message_delta")]
    | Annotated[ErrorEvent, Tag("event:error")]
    | Annotated[OtherEvent, Tag("event:other")],
    Discriminator(
        _by_type(
            frozenset(
                {
                    "message_start",
                    "content_block_start",
                    "content_block_delta",
                    "message_delta",
                    "error",
                }
            ),
            "event",
        )
    ),
]

STREAM_EVENT: TypeAdapter[StreamEvent] = TypeAdapter(StreamEvent)
