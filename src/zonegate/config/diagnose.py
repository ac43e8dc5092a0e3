"""Turn validation failures into ``ConfigProblem``s that name file, line and key path.

pydantic reports errors by location tuples that follow the schema, not the file (a
discriminated union inserts its tag, a bad dict key ends in ``[key]``); this module maps them
back to the file's keys and lines and rewrites the messages so they say how to fix things.
The schema's cross-reference check only runs once every field is valid, so when there are
field errors it is run again on a lenient copy of the data, and all problems come out at once.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from zonegate.config.schema import Config, ReferenceProblems
from zonegate.config.yamlsource import Path_, SourceDoc, dotted
from zonegate.errors import ConfigProblem

_NAME_RULE = (
    "names start with a letter or digit and use only letters, digits and '._@:/-' "
    "(at most 128 characters)"
)
_PLAIN = {
    "model_type": "expected a mapping of keys to values",
    "dict_type": "expected a mapping of keys to values",
    "list_type": "expected a list, e.g. [a, b]",
}
_CREDENTIAL_HINT = (
    " (this value came from ${...} interpolation, which is for non-secret values: write "
    "'env:NAME' so the secret is read at run time and never enters the config)"
)


def validation_problems(exc: ValidationError, doc: SourceDoc, source: str) -> list[ConfigProblem]:
    """Every error in ``exc`` as a problem; cross-references are checked even past field errors."""
    skip = {dotted(p) for p in doc.unusable}
    problems: list[ConfigProblem] = []
    field_paths: list[str] = []
    references: list[tuple[str, str]] = []
    for err in exc.errors():
        ctx = err.get("ctx") or {}
        if isinstance(ctx.get("error"), ReferenceProblems):
            references.extend(ctx["error"].problems)
            continue
        path, model = _resolve(err["loc"])
        where = dotted(path)
        field_paths.append(where)
        if _covered(where, skip):
            continue
        message = _message(err, path, model, doc)
        problems.append(ConfigProblem(message, path=where, source=source, line=doc.line_of(path)))
    if not references and field_paths:
        references = _references_despite(doc.data, field_paths)
    for where, message in references:
        if _covered(where, skip):
            continue
        path = _split(where, doc.data)
        problems.append(ConfigProblem(message, path=where, source=source, line=doc.line_of(path)))
    return problems


def _covered(where: str, paths: Iterable[str]) -> bool:
    """Whether ``where`` is one of ``paths`` or lies under one of them."""
    return any(where == p or where.startswith(p + ".") for p in paths)


def _message(err: ErrorDetails, path: Path_, model: type[BaseModel] | None, doc: SourceDoc) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    loc = err["loc"]
    if kind == "extra_forbidden" and model is not None:
        key = str(path[-1])
        allowed = list(model.model_fields)
        message = f"unknown key {key!r}; allowed here: {', '.join(allowed)}"
        close = difflib.get_close_matches(key, allowed, n=1)
        return message + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return f"missing required key {str(path[-1])!r}; add it"
    if kind == "union_tag_not_found":
        return f"missing key 'type': say which kind this is, one of {_expected_tags(loc)}"
    if kind == "union_tag_invalid":
        return f"unknown type {ctx.get('tag')!r}; use one of {ctx.get('expected_tags')}"
    if loc and loc[-1] == "[key]" and kind == "string_pattern_mismatch":
        return f"invalid name {str(path[-1])!r}: {_NAME_RULE}"
    message = _PLAIN.get(kind) or str(err["msg"])
    if kind in ("value_error", "assertion_error"):
        message = message.split(", ", 1)[1] if ", " in message else message
    else:
        message = message[:1].lower() + message[1:]
    if err.get("input") is None and kind.endswith("_type"):
        message = f"no value given; {message}"
    if path in doc.interpolated and "credential" in message:
        message += _CREDENTIAL_HINT
    return message


def _expected_tags(loc: tuple[int | str, ...]) -> str:
    tags = [repr(t) for t in _union_tags(_walk(loc)[2])]
    return ", ".join(tags) or "the documented types"


def _resolve(loc: tuple[int | str, ...]) -> tuple[Path_, type[BaseModel] | None]:
    """Map a pydantic location to the file's key path and the model that owns its last key."""
    path, owner, _ = _walk(loc)
    return path, owner


def _walk(loc: tuple[int | str, ...]) -> tuple[Path_, type[BaseModel] | None, Any]:
    """Follow ``loc`` through the schema: (key path in the file, owning model, type reached).

    A discriminated union's tag appears in pydantic locations but not in the file, and
    ``[key]`` marks an invalid dict key; neither becomes part of the key path.
    """
    tp: Any = Config
    path: list[str | int] = []
    owner: type[BaseModel] | None = Config
    for elem in loc:
        if elem == "[key]":
            break
        tp = _unwrap(tp)
        if _is_union(tp):
            member = _tag_member(tp, elem)
            if member is not None:
                tp = member
                continue
            tp = _non_none(tp)
        owner = tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
        path.append(elem)
        tp = _child(tp, elem)
    return tuple(path), owner, _unwrap(tp)


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _non_none(tp: Any) -> Any:
    members = [a for a in typing.get_args(tp) if a is not type(None)]
    return members[0] if len(members) == 1 else tp


def _union_tags(tp: Any) -> list[str]:
    tags: list[str] = []
    if _is_union(tp):
        for member in typing.get_args(tp):
            tags.extend(_literal_tags(_unwrap(member)))
    return tags


def _literal_tags(member: Any) -> list[str]:
    if isinstance(member, type) and issubclass(member, BaseModel):
        field = member.model_fields.get("type")
        if field is not None and typing.get_origin(field.annotation) is Literal:
            return [str(a) for a in typing.get_args(field.annotation)]
    return []


def _tag_member(tp: Any, elem: str | int) -> Any:
    for member in typing.get_args(tp):
        if str(elem) in _literal_tags(_unwrap(member)):
            return _unwrap(member)
    return None


def _child(tp: Any, elem: str | int) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(elem))
        return field.annotation if field is not None else None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin is list and args:
        return args[0]
    return None


def _split(where: str, data: Any) -> Path_:
    """A dotted path from the cross-reference check -> key path (names may contain dots)."""
    path: list[str | int] = []
    rest = where
    node = data
    while rest:
        if isinstance(node, dict):
            keys = [k for k in node if rest == k or rest.startswith(f"{k}.")]
            if not keys:
                break
            key = max(keys, key=len)
            path.append(key)
            node = node[key]
            rest = rest[len(key) + 1 :]
        elif isinstance(node, list):
            head, _, tail = rest.partition(".")
            if not head.isdigit() or int(head) >= len(node):
                break
            path.append(int(head))
            node = node[int(head)]
            rest = tail
        else:
            break
    if rest:
        path.append(rest)
    return tuple(path)


def _references_despite(data: Any, error_paths: list[str]) -> list[tuple[str, str]]:
    """Cross-reference problems of a lenient copy, minus those inside already-reported errors."""
    if not isinstance(data, dict):
        return []
    try:
        config = _construct(Config, data)
        found = config.reference_problems() if isinstance(config, Config) else []
    except (TypeError, AttributeError, ValueError):
        return []
    return [(where, msg) for where, msg in found if not _covered(where, error_paths)]


def _construct(tp: Any, value: Any) -> Any:
    """Best-effort value of type ``tp``: valid parts validated, invalid ones left empty."""
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp is not Config:
            try:
                return tp.model_validate(value)
            except ValidationError:
                pass
        if not isinstance(value, dict):
            value = {}
        fields: dict[str, Any] = {}
        for name, field in tp.model_fields.items():
            if name in value:
                fields[name] = _construct(field.annotation, value[name])
            elif not field.is_required():
                fields[name] = field.get_default(call_default_factory=True)
            else:
                fields[name] = _empty(field.annotation)
        return tp.model_construct(**fields)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is dict and isinstance(value, dict):
        return {k: _construct(args[1], v) for k, v in value.items() if isinstance(k, str)}
    if origin is list and isinstance(value, list):
        return [_construct(args[0], v) for v in value]
    if _is_union(tp):
        for member in map(_unwrap, typing.get_args(tp)):
            if _is_plain(member) and isinstance(value, member):
                return value
        return None
    if _is_plain(tp) and isinstance(value, tp):
        return value
    return _empty(tp)


def _is_plain(tp: Any) -> bool:
    return (
        typing.get_origin(tp) is None
        and isinstance(tp, type)
        and not issubclass(tp, BaseModel)
        and tp is not type(None)
    )


def _empty(tp: Any) -> Any:
    origin = typing.get_origin(_unwrap(tp))
    if origin is dict:
        return {}
    if origin is list:
        return []
    return None
