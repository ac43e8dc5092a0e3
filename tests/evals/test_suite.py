"""Suites: loading, versions, validation errors with file and line, export/import, discovery,
and the shipped examples."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from zonegate.errors import ConfigError
from zonegate.evals.suite import (
    EXAMPLES_DIR,
    canonical_content,
    default_roots,
    export_suite,
    export_text,
    find_suites,
    import_suite,
    load_suite,
    resolve_suite,
    short_version,
    suite_paths,
    suite_version,
)
from zonegate.evals.suite_build import MAX_PROBLEMS
from zonegate.evals.types import Suite

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

SUITE_YAML = """\
name: mini
description: Two questions.
route: qa
tags: [demo]
parameters:
  temperature: 0
  max_tokens: 16
scorers:
  - name: contains
    options: {whole_words: true}
"""
ITEMS: list[dict[str, Any]] = [
    {"id": "fr", "prompt": "Capital of France?", "reference": "Paris", "tags": ["europe"]},
    {
        "id": "jp",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of Japan?"},
        ],
        "reference": ["Tokyo", "Tōkyō"],
        "metadata": {"difficulty": 1},
    },
]


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write_suite(
    directory: Path, suite_yaml: str = SUITE_YAML, items: str | list[dict[str, Any]] = ITEMS
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "suite.yaml").write_text(suite_yaml, encoding="utf-8")
    text = items if isinstance(items, str) else jsonl(items)
    (directory / "items.jsonl").write_text(text, encoding="utf-8")
    return directory


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_suite(path)
    return [str(p) for p in caught.value.problems]


# -- loading ------------------------------------------------------------------------------------


def test_a_directory_suite_loads_with_prompts_as_user_messages(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path / "mini"))
    assert (suite.name, suite.description, suite.route, suite.tags) == (
        "mini",
        "Two questions.",
        "qa",
        ("demo",),
    )
    assert dict(suite.parameters) == {"temperature": 0.0, "max_tokens": 16}
    assert [(s.name, dict(s.options)) for s in suite.scorers] == [
        ("contains", {"whole_words": True})
    ]
    fr, jp = suite.items
    assert fr.messages == ({"role": "user", "content": "Capital of France?"},)
    assert (fr.reference, fr.tags, fr.rubric) == ("Paris", ("europe",), None)
    assert jp.messages[0] == {"role": "system", "content": "Be brief."}
    assert jp.reference == ["Tokyo", "Tōkyō"]
    assert dict(jp.metadata) == {"difficulty": 1}
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", suite.version)
    assert suite.version == suite_version(suite)


def test_a_single_file_with_inline_items_or_an_items_path(tmp_path: Path) -> None:
    inline = tmp_path / "inline.yaml"
    inline.write_text(
        SUITE_YAML + "items:\n" + "".join(f"  - {json.dumps(r)}\n" for r in ITEMS),
        encoding="utf-8",
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "qa.jsonl").write_text(jsonl(ITEMS), encoding="utf-8")
    pointed = tmp_path / "pointed.yaml"
    pointed.write_text(SUITE_YAML + "items: data/qa.jsonl\n", encoding="utf-8")
    directory = load_suite(write_suite(tmp_path / "dir"))
    # Same content, three layouts: one version.
    assert load_suite(inline).version == load_suite(pointed).version == directory.version
    assert load_suite(inline) == directory


def test_the_system_prompt_goes_first_unless_an_item_has_its_own(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path / "s", SUITE_YAML + "system: Answer briefly.\n"))
    fr, jp = suite.items
    assert fr.messages[0] == {"role": "system", "content": "Answer briefly."}
    assert fr.messages[1]["role"] == "user"
    assert jp.messages[0] == {"role": "system", "content": "Be brief."}
    assert len(jp.messages) == 2


def test_scorers_may_be_bare_names(tmp_path: Path) -> None:
    text = SUITE_YAML.replace(
        "  - name: contains\n    options: {whole_words: true}\n", "  - exact\n"
    )
    suite = load_suite(
        write_suite(tmp_path / "s", text, [{"id": "a", "prompt": "q", "reference": "x"}])
    )
    assert [(s.name, dict(s.options)) for s in suite.scorers] == [("exact", {})]


# -- versions -----------------------------------------------------------------------------------


def test_formatting_comments_and_key_order_do_not_change_the_version(tmp_path: Path) -> None:
    original = load_suite(write_suite(tmp_path / "a")).version
    reformatted_yaml = """\
# the same suite, written differently
scorers:
- options:
    whole_words: yes
  name: contains
parameters: {max_tokens: 16, temperature: 0.0}
tags:
  - demo
route: "qa"
description: 'Two questions.'
name: mini
"""
    reformatted_items = "\n\n".join(
        json.dumps(dict(reversed(list(r.items()))), indent=None, separators=(" ,", " : "))
        for r in ITEMS
    )
    again = load_suite(write_suite(tmp_path / "b", reformatted_yaml, reformatted_items + "\n\n"))
    assert again.version == original


def test_a_prompt_and_the_same_single_user_message_are_the_same_content(tmp_path: Path) -> None:
    as_messages = [
        {"id": "fr", "messages": [{"role": "user", "content": "Capital of France?"}], **rest}
        for rest in [{"reference": "Paris", "tags": ["europe"]}]
    ]
    a = load_suite(write_suite(tmp_path / "a", items=ITEMS[:1]))
    b = load_suite(write_suite(tmp_path / "b", items=as_messages))
    assert a.version == b.version


EDITS: dict[str, tuple[str | None, list[dict[str, Any]]]] = {
    "reference": (None, [{**ITEMS[0], "reference": "Lyon"}, ITEMS[1]]),
    "prompt": (None, [{**ITEMS[0], "prompt": "Capital of France? "}, ITEMS[1]]),
    "item order": (None, [ITEMS[1], ITEMS[0]]),
    "added item": (
        None,
        [*ITEMS, {"id": "it", "prompt": "Capital of Italy?", "reference": "Rome"}],
    ),
    "item tags": (None, [{**ITEMS[0], "tags": []}, ITEMS[1]]),
    "metadata": (None, [ITEMS[0], {**ITEMS[1], "metadata": {"difficulty": 2}}]),
    "rubric": (None, [{**ITEMS[0], "rubric": "Names the city."}, ITEMS[1]]),
    "scorer option": (SUITE_YAML.replace("whole_words: true", "whole_words: false"), ITEMS),
    "parameter": (SUITE_YAML.replace("max_tokens: 16", "max_tokens: 17"), ITEMS),
    "description": (SUITE_YAML.replace("Two questions.", "Two questions"), ITEMS),
    "name": (SUITE_YAML.replace("name: mini", "name: mini2"), ITEMS),
    "route": (SUITE_YAML.replace("route: qa", "route: qa2"), ITEMS),
    "system prompt": (SUITE_YAML + "system: Be brief.\n", ITEMS),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_any_content_edit_makes_a_new_version(tmp_path: Path, edit: str) -> None:
    original = load_suite(write_suite(tmp_path / "a"))
    suite_yaml, items = EDITS[edit]
    edited = load_suite(write_suite(tmp_path / "b", suite_yaml or SUITE_YAML, items))
    assert edited.version != original.version


def test_the_version_is_the_sha256_of_sorted_compact_json(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path / "s"))
    content = canonical_content(suite)
    decoded = json.loads(content)
    assert content == json.dumps(
        decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert decoded["name"] == "mini"
    assert [i["id"] for i in decoded["items"]] == ["fr", "jp"]
    assert "version" not in decoded


def test_the_version_algorithm_is_pinned(tmp_path: Path) -> None:
    """Stored runs name suites by version: this must not drift between releases (a change to
    the canonical content is a new SUITE_FORMAT, and this value changes with it)."""
    suite = load_suite(
        write_suite(
            tmp_path / "p",
            "name: pinned\nscorers: [exact]\n",
            [{"id": "a", "prompt": "1+1?", "reference": "2"}],
        )
    )
    assert suite.version == (
        "sha256:ec71445d986dcd67b89e382546ee6664e767326844e11e52688cf77126fb375f"
    )
    assert short_version(suite.version) == suite.version[7:19]


# -- validation -----------------------------------------------------------------------------------


def test_bad_jsonl_lines_are_reported_with_their_line_numbers(tmp_path: Path) -> None:
    items = "\n".join(
        [
            json.dumps({"id": "a", "prompt": "q", "reference": "x"}),
            json.dumps({"id": "a", "prompt": "q", "reference": "y"}),
            "",
            json.dumps({"id": "b", "reference": "x"}),
            '{"id": "c", "prompt": "q",}',
            json.dumps({"id": "d", "prompt": "q", "messages": [], "reference": "x"}),
            json.dumps({"id": "e", "prompt": "q", "refrence": "x"}),
            json.dumps(
                {"id": "f", "messages": [{"role": "bot", "content": "hi"}], "reference": "x"}
            ),
            '{"id": "g", "prompt": "q", "reference": NaN}',
            '{"id": "h", "id": "i", "prompt": "q"}',
            json.dumps({"id": " j", "prompt": "q", "reference": "x"}),
        ]
    )
    directory = write_suite(tmp_path / "s", items=items)
    source = str(directory / "items.jsonl")
    problems = problems_of(directory)
    assert problems == [
        f"{source}:2: id: item id 'a' is already used (line 1); ids are unique in a suite",
        f"{source}:4: an item needs 'prompt' (one user message) or 'messages' (a chat "
        "conversation)",
        f"{source}:5: invalid JSON at column 27: Expecting property name enclosed in double quotes",
        f"{source}:6: messages: list should have at least 1 item after validation, not 0",
        f"{source}:7: refrence: unknown key 'refrence'; allowed here: id, prompt, messages, "
        "reference, rubric, tags, metadata (did you mean 'reference'?)",
        f"{source}:8: messages.0.role: input should be 'system', 'developer', 'user', "
        "'assistant' or 'tool'",
        f"{source}:9: NaN is not a JSON value",
        f"{source}:10: key 'id' appears twice in one object; keep one",
        f"{source}:11: id: invalid item id: use a non-empty string without leading or trailing "
        "spaces, at most 200 characters",
    ]


def test_an_item_with_both_prompt_and_messages_is_refused(tmp_path: Path) -> None:
    both = [{"id": "a", "prompt": "q", "messages": [{"role": "user", "content": "q"}]}]
    directory = write_suite(tmp_path / "s", items=both)
    assert problems_of(directory) == [
        f"{directory / 'items.jsonl'}:1: an item has either 'prompt' or 'messages', not both"
    ]


def test_suite_yaml_problems_name_their_lines(tmp_path: Path) -> None:
    suite_yaml = """\
name: mini suite
descripton: x
version: sha256:abc
parameters:
  temperature: 3
  max_tokens: "16"
scorers:
  - exact
  - name: nonesuch
  - name: regex
    options: {pattern: "(a+)+$"}
  - name: exact
"""
    directory = write_suite(
        tmp_path / "s", suite_yaml, [{"id": "a", "prompt": "q", "reference": "x"}]
    )
    source = str(directory / "suite.yaml")
    problems = problems_of(directory)
    assert problems[0] == (
        f"{source}:1: name: invalid name: start with a letter or digit and use only letters, "
        "digits and '._-' (at most 128)"
    )
    assert problems[1].startswith(
        f"{source}:2: descripton: unknown key 'descripton'; allowed here:"
    )
    assert problems[1].endswith("(did you mean 'description'?)")
    assert problems[2].startswith(f"{source}:3: version: unknown key 'version'")
    assert "computed from its content" in problems[2]
    assert (
        problems[3]
        == f"{source}:5: parameters.temperature: input should be less than or equal to 2"
    )
    assert problems[4] == f"{source}:6: parameters.max_tokens: input should be a valid integer"
    assert problems[5].startswith(
        f"{source}:9: scorers.1: unknown scorer 'nonesuch'; installed scorers: choice, contains"
    )
    assert problems[6].startswith(f"{source}:10: scorers.2: bad options for scorer 'regex'")
    assert "exponential time" in problems[6]
    assert problems[7].startswith(f"{source}:12: scorers.3: scorer 'exact' is listed twice")
    assert len(problems) == 8


def test_items_a_scorer_cannot_score_are_refused_at_load(tmp_path: Path) -> None:
    suite_yaml = "name: labels\nscorers:\n  - name: choice\n    options: {labels: [good, bad]}\n"
    items = [
        {"id": "a", "prompt": "q", "reference": "good"},
        {"id": "b", "prompt": "q", "reference": "maybe"},
        {"id": "c", "prompt": "q"},
    ]
    directory = write_suite(tmp_path / "s", suite_yaml, items)
    source = directory / "items.jsonl"
    assert problems_of(directory) == [
        f"{source}:2: item 'b': scorer 'choice': the reference 'maybe' is not one of the labels "
        "('good', 'bad')",
        f"{source}:3: item 'c': scorer 'choice': the reference None is not one of the labels "
        "('good', 'bad')",
    ]


def test_yaml_booleans_in_scorer_options_get_a_quoting_hint(tmp_path: Path) -> None:
    suite_yaml = "name: yn\nscorers:\n  - name: choice\n    options: {labels: [yes, no]}\n"
    directory = write_suite(
        tmp_path / "s", suite_yaml, [{"id": "a", "prompt": "q", "reference": "yes"}]
    )
    [problem] = problems_of(directory)
    assert problem.startswith(
        f"{directory / 'suite.yaml'}:3: scorers.0: bad options for scorer 'choice': option "
        "'labels.0': input should be a valid string (YAML reads yes/no/on/off as true/false"
    )


def test_inline_item_problems_point_into_the_yaml_file(tmp_path: Path) -> None:
    file = tmp_path / "inline.yaml"
    file.write_text(
        "name: inline\nscorers: [exact]\nitems:\n"
        "  - {id: a, prompt: q, reference: x}\n"
        "  - id: b\n"
        "    prompt: 7\n"
        "    reference: when\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_suite(file)
    assert [str(p) for p in caught.value.problems] == [
        f"{file}:6: items.1.prompt: input should be a valid string"
    ]


def test_yaml_syntax_repeated_keys_and_non_json_values(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nscorers: [exact\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{re.escape(str(broken))}:3: invalid YAML"):
        load_suite(broken)
    repeated = tmp_path / "repeated.yaml"
    repeated.write_text("name: x\nscorers: [exact]\nname: y\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"repeated.yaml:3: key 'name' appears twice \(lines 1 and 3\)"
    ):
        load_suite(repeated)
    nan = tmp_path / "nan.yaml"
    nan.write_text(
        "name: x\nscorers: [exact]\nitems:\n  - {id: a, prompt: q, reference: x, "
        "metadata: {score: .nan}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"nan.yaml:4: items.0.metadata.score: nan is not"):
        load_suite(nan)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nscorers: [exact]\nroute: !!python/object:os.system x\n", r"x.yaml:3: unsupp"),
        ("name: x\nscorers: [exact]\ntags: !!set {a, b}\n", r"x.yaml:3: tags: a set is not a"),
        ("name: &n [*n]\n", "nested too deeply"),
        ("name: x\n---\nname: y\n", r"x.yaml:2: invalid YAML: but found another document"),
    ],
)
def test_yaml_beyond_plain_json_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    file = tmp_path / "x.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected):
        load_suite(file)


def test_dates_in_yaml_stay_text(tmp_path: Path) -> None:
    file = tmp_path / "dated.yaml"
    file.write_text(
        "name: dated\nscorers: [exact]\nitems:\n"
        "  - {id: a, prompt: q, reference: x, metadata: {added: 2024-07-18}}\n",
        encoding="utf-8",
    )
    assert load_suite(file).items[0].metadata == {"added": "2024-07-18"}


def test_missing_files_and_empty_suites(tmp_path: Path) -> None:
    (tmp_path / "empty-dir").mkdir()
    assert problems_of(tmp_path / "empty-dir") == [
        f"{tmp_path / 'empty-dir'}: not a suite: the directory holds no suite.yaml"
    ]
    no_items = tmp_path / "no-items"
    no_items.mkdir()
    (no_items / "suite.yaml").write_text("name: x\nscorers: [exact]\n", encoding="utf-8")
    assert problems_of(no_items) == [
        f"{no_items / 'items.jsonl'}: items file not found: check the path"
    ]
    empty = write_suite(tmp_path / "empty", items="\n")
    assert problems_of(empty) == [f"{empty / 'suite.yaml'}:1: the suite has no items"]
    assert problems_of(tmp_path / "nothing.yaml") == [
        f"{tmp_path / 'nothing.yaml'}: suite file not found: check the path"
    ]
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n", encoding="utf-8")
    assert "a suite file is a mapping" in problems_of(listy)[0]


def test_at_most_a_hundred_problems_are_listed(tmp_path: Path) -> None:
    items = "".join(json.dumps({"id": f"i{n}", "reference": "x"}) + "\n" for n in range(150))
    problems = problems_of(write_suite(tmp_path / "s", items=items))
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == "<config>: ... and 50 more problems"


# -- export / import ----------------------------------------------------------------------------


def test_export_and_import_round_trip_keeps_the_version(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path / "s", SUITE_YAML + "system: Be nice.\n"))
    target = tmp_path / "mini.suite.jsonl"
    export_suite(suite, target)
    lines = target.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["zonegate_suite"] == 1
    assert (header["name"], header["version"], header["items"]) == ("mini", suite.version, 2)
    first = json.loads(lines[1])
    assert first["messages"][0] == {"role": "system", "content": "Be nice."}
    assert "prompt" not in first
    back = import_suite(target)
    assert back == suite
    assert load_suite(target) == suite  # a .jsonl path loads as an export
    assert export_text(back) == export_text(suite)


def test_an_edited_export_is_refused_unless_its_version_is_removed(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path / "s"))
    target = tmp_path / "mini.jsonl"
    lines = export_text(suite).splitlines()
    edited = json.loads(lines[1])
    edited["reference"] = "Lyon"
    target.write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        import_suite(target)
    [problem] = caught.value.problems
    assert str(problem).startswith(f"{target}:1: version: the content's version is ")
    assert "edited after export" in str(problem)
    header = json.loads(lines[0])
    del header["version"]
    target.write_text("\n".join([json.dumps(header), json.dumps(edited), lines[2]]) + "\n")
    accepted = import_suite(target)
    assert accepted.items[0].reference == "Lyon"
    assert accepted.version != suite.version


def test_import_checks_the_header_and_the_item_count(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path / "s"))
    lines = export_text(suite).splitlines()
    short = tmp_path / "short.jsonl"
    short.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"short.jsonl:1: items: the header says 2 items"):
        import_suite(short)
    headless = tmp_path / "headless.jsonl"
    headless.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"headless.jsonl:1: .*missing required key"):
        import_suite(headless)
    not_json = tmp_path / "garbage.jsonl"
    not_json.write_text("garbage\n" + "\n".join(lines[1:]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="first line of a suite export is its header"):
        import_suite(not_json)
    bad_item = tmp_path / "bad-item.jsonl"
    bad_item.write_text("\n".join([*lines, '{"id": "x"}']) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad-item.jsonl:4: an item needs 'prompt'"):
        import_suite(bad_item)


# -- finding --------------------------------------------------------------------------------------


def test_default_roots_are_the_examples_and_dot_suites(tmp_path: Path) -> None:
    assert default_roots(tmp_path) == [EXAMPLES_DIR]
    write_suite(tmp_path / "suites" / "mine")
    assert default_roots(tmp_path) == [EXAMPLES_DIR, tmp_path / "suites"]
    names = [s.name for s in find_suites(cwd=tmp_path)]
    assert names == ["capitals", "json_extract", "sentiment", "mini"]


def test_a_directory_of_suites_holds_directories_and_named_files(tmp_path: Path) -> None:
    root = tmp_path / "suites"
    mini = load_suite(write_suite(root / "b-dir"))
    export_suite(mini, root / "c-export.suite.jsonl")
    (root / "a-file.suite.yaml").write_text(
        "name: filed\nscorers: [exact]\nitems: [{id: a, prompt: q, reference: x}]\n",
        encoding="utf-8",
    )
    (root / "notes.yaml").write_text("not: a suite\n", encoding="utf-8")
    (root / "other").mkdir()
    assert [p.name for p in suite_paths([root])] == [
        "a-file.suite.yaml",
        "b-dir",
        "c-export.suite.jsonl",
    ]
    assert [s.name for s in find_suites([root])] == ["filed", "mini", "mini"]
    # A path given twice (or a suite and its directory's listing) is listed once.
    assert suite_paths([root / "b-dir", root / "b-dir"]) == [root / "b-dir"]


def test_find_suites_reports_every_broken_suite(tmp_path: Path) -> None:
    write_suite(tmp_path / "good")
    write_suite(tmp_path / "bad", items=[{"id": "a"}])
    with pytest.raises(ConfigError) as caught:
        find_suites([tmp_path / "good", tmp_path / "bad", tmp_path / "absent"])
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'bad' / 'items.jsonl'}:1: an item needs 'prompt' (one user message) or "
        "'messages' (a chat conversation)",
        f"{tmp_path / 'absent'}: no such file or directory",
    ]


def test_resolve_suite_by_path_or_name(tmp_path: Path) -> None:
    assert resolve_suite("capitals").name == "capitals"
    path = write_suite(tmp_path / "mine")
    assert resolve_suite(str(path)).name == "mini"
    assert resolve_suite("mini", [tmp_path]).name == "mini"
    with pytest.raises(ConfigError, match=r"no suite named 'nope' .*capitals, json_extract"):
        resolve_suite("nope")
    write_suite(tmp_path / "twin")
    with pytest.raises(ConfigError, match="2 suites are named 'mini'"):
        resolve_suite("mini", [tmp_path])


# -- the shipped examples -------------------------------------------------------------------------

EXAMPLES = {
    "capitals": (20, ["contains"]),
    "sentiment": (20, ["choice"]),
    "json_extract": (15, ["json_valid", "json_schema"]),
}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_shipped_examples_load_as_documented(name: str) -> None:
    suite = load_suite(EXAMPLES_DIR / name)
    count, scorers = EXAMPLES[name]
    assert suite.name == name
    assert len(suite.items) == count
    assert [s.name for s in suite.scorers] == scorers
    assert suite.parameters["temperature"] == 0
    assert 0 < suite.parameters["max_tokens"] <= 64
    assert suite.description


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_shipped_example_versions_survive_copying_reformatting_and_export(
    tmp_path: Path, name: str
) -> None:
    suite = load_suite(EXAMPLES_DIR / name)
    assert load_suite(EXAMPLES_DIR / name).version == suite.version
    copy = tmp_path / name
    shutil.copytree(EXAMPLES_DIR / name, copy)
    rows = [json.loads(line) for line in (copy / "items.jsonl").read_text().splitlines()]
    (copy / "items.jsonl").write_text(
        "\n".join(json.dumps(dict(sorted(r.items())), indent=None) for r in rows) + "\n"
    )
    (copy / "suite.yaml").write_text("# copied\n" + (copy / "suite.yaml").read_text())
    assert load_suite(copy).version == suite.version
    export_suite(suite, tmp_path / "export.jsonl")
    assert import_suite(tmp_path / "export.jsonl").version == suite.version


def test_shipped_example_labels_are_balanced() -> None:
    suite = load_suite(EXAMPLES_DIR / "sentiment")
    labels = [item.reference for item in suite.items]
    assert labels.count("positive") == labels.count("negative") == 10


def test_shipped_examples_are_package_data() -> None:
    table = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    globs = table["tool"]["setuptools"]["package-data"]["zonegate"]
    package = EXAMPLES_DIR.parent.parent
    shipped = {str(p.relative_to(package)) for g in globs for p in package.glob(g)}
    for name in EXAMPLES:
        assert f"evals/examples/{name}/suite.yaml" in shipped
        assert f"evals/examples/{name}/items.jsonl" in shipped


def test_suites_compare_by_content() -> None:
    a = load_suite(EXAMPLES_DIR / "capitals")
    b = load_suite(EXAMPLES_DIR / "capitals")
    assert isinstance(a, Suite)
    assert a == b
    assert hash(a.version) == hash(b.version)
