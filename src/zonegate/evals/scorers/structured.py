"""Structured output: ``json_valid`` and ``json_schema``.

Models wrap JSON in prose and code fences, so by default (``extract: true``) the JSON is taken
from, in order: the whole output; the first code fence (```` ```json ... ``` ````, an unclosed
last fence counting up to the end) whose body parses; the first object or array embedded in the
text. With ``extract: false`` the whole output, trimmed, must be JSON. ``NaN`` and ``Infinity``
are not JSON and are refused.

``json_schema`` validates against ``schema`` (its ``$schema`` picks the draft, 2020-12 by
default; references outside the schema are never fetched). With ``match_reference`` the item's
reference, an object, must also agree with the output on each of its keys: strings compare
ignoring case, Unicode form and extra whitespace, numbers by value. Its value is then the share
of reference keys that agree (0 when the JSON is missing or invalid); it passes when all do.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from jsonschema import exceptions as schema_errors, validators
from jsonschema.protocols import Validator
from pydantic import Field
from referencing.exceptions import Unresolvable

from zonegate.evals.scorers.base import BaseScorer, Options, parse_options, quote
from zonegate.evals.scorers.match import normalise_text
from zonegate.evals.types import Item, Judge, Score

MAX_CANDIDATES = 64  # embedded '{' / '[' positions tried before giving up
_FENCE = "```"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _parse(text: str) -> tuple[bool, Any]:
    try:
        return True, _DECODER.decode(text)
    except (ValueError, RecursionError):
        return False, None


def _fences(text: str) -> list[str]:
    """Bodies of the code fences in ``text`` (the info string line dropped)."""
    parts = text.split(_FENCE)
    bodies = []
    for i in range(1, len(parts), 2):
        body = parts[i]
        first, newline, rest = body.partition("\n")
        bodies.append(rest if newline and not first.strip().startswith(("{", "[")) else body)
    return bodies


def extract_json(text: str, *, extract: bool = True) -> tuple[Any, str] | None:
    """The JSON value in ``text`` and where it was found, or ``None`` (see the module doc)."""
    ok, value = _parse(text.strip())
    if ok:
        return value, "the whole output"
    if not extract:
        return None
    for body in _fences(text):
        ok, value = _parse(body.strip())
        if ok:
            return value, "a code fence"
    tried = 0
    for pos, ch in enumerate(text):
        if ch not in "{[":
            continue
        tried += 1
        if tried > MAX_CANDIDATES:
            break
        try:
            value, _end = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            continue
        return value, f"text at character {pos}"
    return None


class JsonValidOptions(Options):
    extract: bool = True
    expect: Literal["any", "object", "array"] = "any"


_KIND = {"object": dict, "array": list}


class JsonValidScorer(BaseScorer):
    """Passes when the output holds JSON (of the expected kind)."""

    name = "json_valid"

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(JsonValidOptions, self.name, options)

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        found = extract_json(output, extract=self.options.extract)
        if found is None:
            return self.result(False, f"no JSON in output {quote(output)}")
        value, where = found
        expect = self.options.expect
        if expect != "any" and not isinstance(value, _KIND[expect]):
            return self.result(
                False, f"JSON in {where} is a {_json_type(value)}, not an {expect}: {quote(output)}"
            )
        return self.result(True, f"valid JSON {_json_type(value)} in {where}")


class JsonSchemaOptions(Options):
    json_schema: dict[str, Any] = Field(alias="schema")
    extract: bool = True
    match_reference: bool = False


class JsonSchemaScorer(BaseScorer):
    """Passes when the output's JSON validates against the schema (and matches the reference)."""

    name = "json_schema"

    def __init__(self, **options: Any) -> None:
        self.options = parse_options(JsonSchemaOptions, self.name, options)
        schema = self.options.json_schema
        cls = validators.validator_for(schema, default=validators.Draft202012Validator)
        try:
            cls.check_schema(schema)
        except schema_errors.SchemaError as exc:
            raise ValueError(
                f"bad options for scorer 'json_schema': option 'schema' is not a valid JSON "
                f"Schema: {exc.message} (at {_pointer(exc.absolute_path)})"
            ) from None
        self._validator: Validator = cls(schema)

    def check_item(self, item: Item) -> str | None:
        if self.options.match_reference and not isinstance(item.reference, dict):
            return "scorer 'json_schema' with match_reference needs a 'reference' that is an object"
        return None

    async def score(self, item: Item, output: str, judge: Judge | None) -> Score:
        found = extract_json(output, extract=self.options.extract)
        if found is None:
            return self.result(False, f"no JSON in output {quote(output)}")
        value, where = found
        try:
            error = schema_errors.best_match(self._validator.iter_errors(value))
        except Unresolvable as exc:
            raise ValueError(f"the schema has a reference that cannot be resolved: {exc}") from None
        if error is not None:
            return self.result(
                False,
                f"JSON in {where} fails the schema at {_pointer(error.absolute_path)}: "
                f"{quote(error.message, 120)}",
            )
        if not self.options.match_reference:
            return self.result(True, f"JSON in {where} is valid against the schema")
        reference = item.reference
        if not isinstance(reference, dict):
            raise ValueError(f"item {item.id!r}: {self.check_item(item)}")
        return self._against_reference(value, reference, where)

    def _against_reference(self, value: Any, reference: dict[str, Any], where: str) -> Score:
        if not isinstance(value, dict):
            return self.result(False, f"JSON in {where} is a {_json_type(value)}, not an object")
        wrong = [k for k in reference if k not in value or not same_json(value[k], reference[k])]
        total = len(reference)
        if not wrong:
            return self.result(True, f"JSON in {where} is valid and matches all {total} keys")
        details = "; ".join(
            f"{k!r}: got {_excerpt(value[k]) if k in value else 'nothing'}, "
            f"expected {_excerpt(reference[k])}"
            for k in wrong[:5]
        )
        return self.result(
            False,
            f"JSON in {where} is valid but {len(wrong)} of {total} keys differ: {details}",
            (total - len(wrong)) / total,
        )


def _excerpt(value: Any) -> str:
    return quote(json.dumps(value, ensure_ascii=False), 40)


def same_json(got: Any, expected: Any) -> bool:
    """JSON equality with forgiving strings (case, Unicode form, whitespace) and exact numbers."""
    if isinstance(expected, str):
        return isinstance(got, str) and _loose(got) == _loose(expected)
    if isinstance(expected, bool) or isinstance(got, bool):
        return got is expected
    if isinstance(expected, int | float):
        return isinstance(got, int | float) and got == expected
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and got.keys() == expected.keys()
            and all(same_json(got[k], expected[k]) for k in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(same_json(g, e) for g, e in zip(got, expected, strict=True))
        )
    return got is None and expected is None


def _loose(text: str) -> str:
    return normalise_text(text, punctuation=False)


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _pointer(path: Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "the top level"
