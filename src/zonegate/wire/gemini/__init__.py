"""Translation between the canonical OpenAI chat shapes and Google's Gemini API (REST, v1beta).

Pure functions and one stateful stream translator, no I/O: the ``gemini`` provider sends what
``chat_to_generate_content`` builds to ``generateContent`` / ``streamGenerateContent?alt=sse`` and
reads the answers back with ``generate_content_to_chat`` / ``GeminiStreamToChunks``;
``error_from_gemini`` reads Google's error bodies. The modules say what maps to what:
``request`` (messages, tools, generation config), ``schema`` (JSON Schema to Gemini's subset),
``response`` (completions, finish reasons, usage, errors) and ``stream``.
"""

from zonegate.wire.gemini.request import chat_to_generate_content
from zonegate.wire.gemini.response import error_from_gemini, generate_content_to_chat
from zonegate.wire.gemini.schema import to_gemini_schema
from zonegate.wire.gemini.stream import GeminiStreamToChunks

__all__ = [
    "GeminiStreamToChunks",
    "chat_to_generate_content",
    "error_from_gemini",
    "generate_content_to_chat",
    "to_gemini_schema",
]
