"""JSON Schema (as OpenAI tools and ``response_format`` carry it) -> Gemini's ``Schema`` object.

Gemini's ``parameters`` and ``responseSchema`` take an OpenAPI 3.0 subset and answer HTTP 400 to
any keyword outside it, so the schema is rewritten rather than passed through:

- kept as they are: ``title``, ``description``, ``default``, ``example``, ``pattern``,
  ``minimum``, ``maximum``, ``minLength``, ``maxLength``, ``minItems``, ``maxItems``,
  ``minProperties``, ``maxProperties``, ``propertyOrdering``;
- rewritten: ``type`` (upper-cased; a list of types becomes ``anyOf``), ``"null"`` in a type
  list, an ``anyOf`` / ``oneOf`` branch or an ``enum`` becomes ``nullable``; ``oneOf`` becomes
  ``anyOf``; a string ``const`` becomes a one-value ``enum``; ``$ref`` into ``$defs`` /
  ``definitions`` and a one-schema ``allOf`` are inlined (siblings win); ``required`` keeps only
  names listed in ``properties``; ``type`` is inferred from ``properties`` / ``items``;
- dropped: every other keyword, notably ``additionalProperties``, ``$schema``, ``$id``,
  ``$comment``, ``strict``, ``examples``, ``exclusiveMinimum`` / ``exclusiveMaximum``,
  ``multipleOf``, ``uniqueItems``, ``patternProperties``, ``prefixItems``, ``not``,
  ``if`` / ``then`` / ``else``; ``enum`` with a non-string value; a ``format`` Gemini does not
  list for the type (strings: ``enum``, ``date-time``; numbers: ``float``, ``double``; integers:
  ``int32``, ``int64``).

What cannot be expressed is refused with ``InvalidRequest`` naming the path: a recursive
``$ref`` (inlining would not end), a ``$ref`` outside the document's definitions, ``allOf`` with
more than one schema, an unknown type.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from zonegate.errors import InvalidRequest

_KEPT = (
    "title",
    "description",
    "default",
    "example",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "propertyOrdering",
)
_TYPES = MappingProxyType(
    {
        "string": "STRING",
        "number": "NUMBER",
        "integer": "INTEGER",
        "boolean": "BOOLEAN",
        "array": "ARRAY",
        "object": "OBJECT",
    }
)
_FORMATS = MappingProxyType(
    {
        "STRING": frozenset({"enum", "date-time"}),
        "NUMBER": frozenset({"float", "double"}),
        "INTEGER": frozenset({"int32", "int64"}),
    }
)


def to_gemini_schema(schema: object, path: str) -> dict[str, Any]:
    """``schema`` rewritten into Gemini's subset; ``path`` names it in error messages."""
    if not isinstance(schema, dict):
        raise _invalid(path, "must be a JSON Schema object")
    definitions: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        found = schema.get(key)
        if isinstance(found, dict):
            definitions.update(found)
    return _Converter(definitions).convert(schema, path)


def is_empty_object(schema: dict[str, Any]) -> bool:
    """True for an object schema without properties (Gemini refuses those as ``parameters``)."""
    return schema.get("type") == "OBJECT" and not schema.get("properties")


class _Converter:
    """One conversion: the document's definitions and the ``$ref`` chain being inlined."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self._definitions = definitions
        self._inlining: list[str] = []

    def convert(self, node: object, path: str) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise _invalid(path, "must be a JSON Schema object")
        if "$ref" in node:
            return self._inline_ref(node, path)
        if "allOf" in node:
            return self._inline_all_of(node, path)
        out: dict[str, Any] = {key: node[key] for key in _KEPT if key in node}
        declared = node.get("type")
        if isinstance(declared, list):
            return self._type_list(node, declared, out, path)
        nullable = declared == "null"
        kind = None if nullable or declared is None else _gemini_type(declared, path)
        branches = node.get("anyOf", node.get("oneOf"))
        if isinstance(branches, list):
            kept = [b for b in branches if not _is_null(b)]
            nullable = nullable or len(kept) < len(branches)
            if len(kept) == 1:
                rest = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
                merged = self.convert({**kept[0], **rest}, path)
                return {**merged, "nullable": True} if nullable else merged
            out["anyOf"] = [self.convert(b, f"{path}.anyOf[{i}]") for i, b in enumerate(kept)]
        kind, nullable = self._values(node, out, kind, nullable)
        properties = node.get("properties")
        if isinstance(properties, dict):
            kind = kind or "OBJECT"
            out["properties"] = {
                name: self.convert(sub, f"{path}.properties.{name}")
                for name, sub in properties.items()
            }
            required = node.get("required")
            if isinstance(required, list):
                out["required"] = [n for n in required if n in properties]
        items = node.get("items")
        if isinstance(items, dict):
            kind = kind or "ARRAY"
            out["items"] = self.convert(items, f"{path}.items")
        fmt = node.get("format")
        if kind is not None and fmt in _FORMATS.get(kind, ()):
            out["format"] = fmt
        if kind is not None:
            out["type"] = kind
        if nullable:
            out["nullable"] = True
        return out

    def _values(
        self, node: dict[str, Any], out: dict[str, Any], kind: str | None, nullable: bool
    ) -> tuple[str | None, bool]:
        """``const`` and ``enum``: Gemini takes string values only, ``null`` as ``nullable``."""
        values = node.get("enum")
        if "const" in node:
            values = [node["const"]]
        if not isinstance(values, list):
            return kind, nullable
        strings = [v for v in values if v is not None]
        if strings and all(isinstance(v, str) for v in strings):
            out["enum"] = strings
            kind = kind or "STRING"
        return kind, nullable or len(strings) < len(values)

    def _type_list(
        self, node: dict[str, Any], declared: list[Any], out: dict[str, Any], path: str
    ) -> dict[str, Any]:
        kinds = [k for k in declared if k != "null"]
        nullable = len(kinds) < len(declared)
        if len(kinds) == 1:
            converted = self.convert({**node, "type": kinds[0]}, path)
        elif kinds:
            out["anyOf"] = [self.convert({**node, "type": k}, path) for k in kinds]
            converted = out
        else:
            converted = self.convert({**node, "type": "null"}, path)
        return {**converted, "nullable": True} if nullable else converted

    def _inline_ref(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        ref = node["$ref"]
        name = None
        if isinstance(ref, str):
            for prefix in ("#/$defs/", "#/definitions/"):
                if ref.startswith(prefix):
                    name = ref.removeprefix(prefix)
        if name is None or name not in self._definitions:
            raise _invalid(path, f"$ref {ref!r} does not name an entry of the schema's $defs")
        if name in self._inlining:
            raise _invalid(
                path,
                f"$ref {ref!r} is recursive; Gemini schemas cannot refer to themselves, so "
                "give the recursive part a fixed depth",
            )
        rest = {k: v for k, v in node.items() if k != "$ref"}
        self._inlining.append(name)
        try:
            return self.convert({**self._definitions[name], **rest}, path)
        finally:
            self._inlining.pop()

    def _inline_all_of(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        parts = node["allOf"]
        if not (isinstance(parts, list) and len(parts) == 1 and isinstance(parts[0], dict)):
            raise _invalid(
                path, "allOf with more than one schema cannot be expressed in a Gemini schema"
            )
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return self.convert({**parts[0], **rest}, path)


def _is_null(branch: object) -> bool:
    return isinstance(branch, dict) and branch.get("type") == "null"


def _gemini_type(declared: object, path: str) -> str:
    kind = _TYPES.get(declared) if isinstance(declared, str) else None
    if kind is None:
        raise _invalid(path, f"type {declared!r} is not a JSON Schema type")
    return kind


def _invalid(path: str, problem: str) -> InvalidRequest:
    return InvalidRequest(f"{path}: {problem}", code="invalid_schema", param=path)
