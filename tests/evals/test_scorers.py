"""The built-in scorers: pass/fail, value and explanation, edge cases, options, registration."""

from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from zonegate.errors import ConfigError
from zonegate.evals.scorers import registry
from zonegate.evals.scorers.base import EXCERPT, quote
from zonegate.evals.scorers.choice import ChoiceScorer
from zonegate.evals.scorers.contains import ContainsScorer
from zonegate.evals.scorers.match import ExactScorer, NormalisedScorer, normalise_text
from zonegate.evals.scorers.model_graded import JudgeError, ModelGradedScorer, parse_verdict
from zonegate.evals.scorers.numeric import NumericScorer, numbers_in
from zonegate.evals.scorers.regex import RegexScorer
from zonegate.evals.scorers.structured import JsonSchemaScorer, JsonValidScorer, extract_json
from zonegate.evals.types import Item, Score, Scorer, ScorerSpec, Suite

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def item(reference: Any = None, *, prompt: str = "question?", rubric: str | None = None) -> Item:
    return Item(
        id="i1", messages=({"role": "user", "content": prompt},), reference=reference, rubric=rubric
    )


async def score(scorer: Scorer, output: str, reference: Any = None, **kw: Any) -> Score:
    return await scorer.score(item(reference, **kw), output, None)


# -- exact and normalised -------------------------------------------------------------------------


async def test_exact_compares_the_trimmed_output_character_for_character() -> None:
    scorer = ExactScorer()
    passed = await score(scorer, "  Paris\n", "Paris")
    assert (passed.passed, passed.value, passed.scorer) == (True, 1.0, "exact")
    assert "'Paris'" in passed.explanation
    failed = await score(scorer, "paris", "Paris")
    assert (failed.passed, failed.value) == (False, 0.0)
    assert "does not equal" in failed.explanation


async def test_exact_without_strip_counts_whitespace() -> None:
    assert not (await score(ExactScorer(strip=False), "Paris\n", "Paris")).passed


async def test_exact_accepts_any_of_a_list_of_references() -> None:
    scorer = ExactScorer()
    assert (await score(scorer, "Brasilia", ["Brasília", "Brasilia"])).passed
    failed = await score(scorer, "Rio", ["Brasília", "Brasilia"])
    assert "one of 'Brasília', 'Brasilia'" in failed.explanation


def test_reference_scorers_refuse_items_without_a_usable_reference() -> None:
    for scorer in (ExactScorer(), NormalisedScorer()):
        assert scorer.check_item(item(None)) is not None
        assert scorer.check_item(item(42)) is not None
        assert scorer.check_item(item([])) is not None
        assert scorer.check_item(item(["a", 1])) is not None
        assert scorer.check_item(item("a")) is None


async def test_scoring_an_item_without_reference_raises_rather_than_failing_the_output() -> None:
    with pytest.raises(ValueError, match="reference"):
        await score(ExactScorer(), "x", None)


def test_options_are_strict_and_errors_name_the_option() -> None:
    with pytest.raises(ValueError, match="option 'strip'"):
        ExactScorer(strip="yes")
    with pytest.raises(ValueError, match=r"unknown option 'strp' \(allowed: strip\)"):
        ExactScorer(strp=True)


@pytest.mark.parametrize(
    ("output", "reference", "options", "passed"),
    [
        ("  The   PARIS! ", "the paris", {}, True),
        ("ＰＡＲＩＳ", "Paris", {}, True),  # full-width letters, NFKC
        ("ＰＡＲＩＳ", "Paris", {"unicode": False}, False),
        ("STRASSE", "straße", {}, True),  # casefold
        ("paris", "Paris", {"case": False}, False),
        ("U.S.A.", "USA", {}, True),
        ("U.S.A.", "USA", {"punctuation": False}, False),
        ("The Eiffel Tower", "Eiffel Tower", {}, False),
        ("The Eiffel Tower", "Eiffel Tower", {"articles": True}, True),
        ("New \n York", "New York", {}, True),
        ("New \n York", "New York", {"whitespace": False}, False),
    ],
)
async def test_normalised_match(
    output: str, reference: str, options: dict[str, bool], passed: bool
) -> None:
    result = await score(NormalisedScorer(**options), output, reference)
    assert result.passed is passed
    assert result.value == (1.0 if passed else 0.0)
    assert repr(output) in result.explanation  # the raw output is shown next to the normalised


def test_normalise_text_order_and_steps() -> None:
    assert normalise_text("  Ｈｅｌｌｏ,  WORLD!! ") == "hello world"
    assert normalise_text("a  b", whitespace=False) == "a  b"
    assert normalise_text("An apple", articles=True) == "apple"


# -- contains -------------------------------------------------------------------------------------


async def test_contains_any_ignores_case_by_default() -> None:
    scorer = ContainsScorer()
    result = await score(scorer, "The capital of France is PARIS.", "Paris")
    assert (result.passed, result.value) == (True, 1.0)
    assert "found 'Paris'" in result.explanation
    assert not (await score(ContainsScorer(case_sensitive=True), "PARIS", "Paris")).passed


async def test_contains_all_reports_the_share_found() -> None:
    scorer = ContainsScorer(mode="all")
    result = await score(scorer, "red and green", ["red", "green", "blue"])
    assert result.passed is False
    assert result.value == pytest.approx(2 / 3)
    assert "missing 'blue'" in result.explanation
    assert (await score(scorer, "red, green, blue", ["red", "green", "blue"])).passed


async def test_contains_whole_words() -> None:
    assert (await score(ContainsScorer(), "nothing here", "no")).passed
    scorer = ContainsScorer(whole_words=True)
    assert not (await score(scorer, "nothing here", "no")).passed
    assert (await score(scorer, "No, it is not.", "no")).passed
    assert (await score(scorer, "Buenos Aires.", "Buenos Aires")).passed


async def test_contains_values_option_applies_to_every_item() -> None:
    scorer = ContainsScorer(values=["sorry", "cannot"], mode="any")
    assert scorer.check_item(item(None)) is None
    assert (await score(scorer, "Sorry, I cannot help.", None)).passed


def test_contains_refuses_missing_or_empty_texts() -> None:
    assert "values" in (ContainsScorer().check_item(item(None)) or "")
    assert "empty" in (ContainsScorer().check_item(item(["a", ""])) or "")
    with pytest.raises(ValueError, match="empty"):
        ContainsScorer(values=["a", ""])
    with pytest.raises(ValueError, match="option 'mode'"):
        ContainsScorer(mode="most")


async def test_explanations_quote_long_outputs_briefly() -> None:
    output = "x" * 5000 + " Paris"
    result = await score(ContainsScorer(), output, "Paris")
    assert result.passed
    assert len(result.explanation) < 300
    assert "(5006 chars)" in result.explanation
    assert quote("short") == "'short'"
    assert quote("y" * (EXCERPT + 1)).endswith(f"… ({EXCERPT + 1} chars)")


# -- regex ----------------------------------------------------------------------------------------


async def test_regex_search_and_fullmatch() -> None:
    search = RegexScorer(pattern=r"\b\d{4}\b")
    result = await score(search, "It was built in 1889.", None)
    assert result.passed
    assert "'1889' at 16" in result.explanation
    assert not (await score(search, "It was built long ago.", None)).passed
    full = RegexScorer(pattern=r"\d{4}", mode="fullmatch")
    assert (await score(full, " 1889\n", None)).passed
    assert not (await score(full, "in 1889", None)).passed


async def test_regex_pattern_from_the_reference_and_options() -> None:
    scorer = RegexScorer(case_sensitive=False)
    assert scorer.check_item(item(r"paris|lyon")) is None
    assert (await score(scorer, "LYON", r"paris|lyon")).passed
    negated = RegexScorer(pattern=r"(?:sorry|cannot)", negate=True)
    assert (await score(negated, "Here is the answer.", None)).passed
    refused = await score(negated, "I cannot do that.", None)
    assert not refused.passed
    assert "negated" in refused.explanation


async def test_regex_search_finds_a_match_far_into_a_long_output() -> None:
    scorer = RegexScorer(pattern=r"ANSWER: \d+")
    assert (await score(scorer, "x" * 10_000 + " ANSWER: 42", None)).passed


def test_regex_refuses_unsafe_or_missing_patterns() -> None:
    with pytest.raises(ValueError, match="exponential"):
        RegexScorer(pattern=r"(a+)+$")
    with pytest.raises(ValueError, match="empty text"):
        RegexScorer(pattern=r"a*")
    scorer = RegexScorer()
    assert "refused" in (scorer.check_item(item(r"(\w+\s?)*x")) or "")
    assert "pattern" in (scorer.check_item(item(None)) or "")


# -- numeric --------------------------------------------------------------------------------------


def test_numbers_in_reads_signs_separators_decimals_and_exponents() -> None:
    assert numbers_in("It costs 1,234.50 dollars, -3 today, 2e3 later") == [1234.5, -3, 2000]
    assert numbers_in("pages 5-7") == [5, 7]
    assert numbers_in("A4 paper, v2") == []
    assert numbers_in("about 42.") == [42]


async def test_numeric_picks_the_last_number_by_default() -> None:
    result = await score(NumericScorer(), "12 apples and 30 pears make 42.", 42)
    assert (result.passed, result.value) == (True, 1.0)
    assert "last of 3 number(s), 42, matches reference 42 (exactly)" in result.explanation
    first = await score(NumericScorer(pick="first"), "12 apples and 30 pears make 42.", 42)
    assert not first.passed
    assert "first of 3 number(s), 12, does not match" in first.explanation


async def test_numeric_tolerances() -> None:
    assert (await score(NumericScorer(abs_tol=0.01), "pi is 3.14159", 3.14)).passed
    assert not (await score(NumericScorer(abs_tol=0.001), "pi is 3.14159", 3.14)).passed
    assert (await score(NumericScorer(rel_tol=0.05), "about 1,030", "1000")).passed
    assert not (await score(NumericScorer(rel_tol=0.01), "about 1,030", "1000")).passed


async def test_numeric_without_a_number_fails_and_bad_references_are_refused() -> None:
    result = await score(NumericScorer(), "I do not know.", 7)
    assert not result.passed
    assert "no number" in result.explanation
    scorer = NumericScorer()
    assert scorer.check_item(item("seven")) is not None
    assert scorer.check_item(item(True)) is not None
    assert scorer.check_item(item(" 1,000 ")) is None
    with pytest.raises(ValueError, match="abs_tol"):
        NumericScorer(abs_tol=-1)
    with pytest.raises(ValueError, match="pick"):
        NumericScorer(pick="middle")


# -- choice ---------------------------------------------------------------------------------------


async def test_choice_takes_the_first_label_in_the_output() -> None:
    scorer = ChoiceScorer(labels=["positive", "negative"])
    result = await score(scorer, "Negative, not positive.", "negative")
    assert (result.passed, result.value) == (True, 1.0)
    assert "label 'negative' (at 0) is the reference" in result.explanation
    wrong = await score(scorer, "This review is positive.", "negative")
    assert not wrong.passed
    assert "'positive'" in wrong.explanation


async def test_choice_whole_words_case_and_no_label() -> None:
    scorer = ChoiceScorer(labels=["positive", "negative"])
    none = await score(scorer, "It is positively mixed.", "positive")
    assert not none.passed
    assert "no label" in none.explanation
    assert (await score(scorer, "POSITIVE", "positive")).passed
    strict = ChoiceScorer(labels=["positive", "negative"], case_sensitive=True)
    assert not (await score(strict, "POSITIVE", "positive")).passed


async def test_choice_prefers_the_longer_label_starting_at_the_same_place() -> None:
    scorer = ChoiceScorer(labels=["New", "New York"])
    assert scorer.label_of("New York, clearly") == ("New York", 0)
    assert (await score(scorer, "New York, clearly", "New York")).passed


def test_choice_options_and_item_checks() -> None:
    scorer = ChoiceScorer(labels=["A", "B", "C", "D"])
    assert scorer.check_item(item("B")) is None
    problem = scorer.check_item(item("E"))
    assert problem is not None
    assert "not one of the labels" in problem
    with pytest.raises(ValueError, match="repeats a label"):
        ChoiceScorer(labels=["yes", "Yes"])
    with pytest.raises(ValueError, match="labels"):
        ChoiceScorer(labels=["only"])
    with pytest.raises(ValueError, match="missing required option 'labels'"):
        ChoiceScorer()


# -- JSON -----------------------------------------------------------------------------------------


def test_extract_json_finds_json_in_fences_and_prose() -> None:
    assert extract_json(' {"a": 1} ') == ({"a": 1}, "the whole output")
    assert extract_json('Here:\n```json\n{"a": 1}\n```\nDone') == ({"a": 1}, "a code fence")
    assert extract_json("```\n[1, 2]\n```") == ([1, 2], "a code fence")
    assert extract_json('```json\n{"a": 1}\n') == ({"a": 1}, "a code fence")  # cut off
    assert extract_json('The answer is {"a": [1]} as asked.') == (
        {"a": [1]},
        "text at character 14",
    )
    assert extract_json("no json {here") is None
    assert extract_json("NaN") is None
    assert extract_json('```json\n{"a": 1}\n```', extract=False) is None


async def test_json_valid() -> None:
    scorer = JsonValidScorer()
    result = await score(scorer, '```json\n{"name": "x"}\n```', None)
    assert (result.passed, result.value) == (True, 1.0)
    assert "object in a code fence" in result.explanation
    assert not (await score(scorer, "{'name': 'x'}", None)).passed
    assert not (await score(JsonValidScorer(expect="object"), "[1, 2]", None)).passed
    assert (await score(JsonValidScorer(expect="array"), "[1, 2]", None)).passed


SCHEMA = {
    "type": "object",
    "required": ["name", "age", "city"],
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "city": {"type": "string"},
    },
}
PERSON = {"name": "Maria Lopez", "age": 34, "city": "Madrid"}


async def test_json_schema_validates_and_says_where_it_fails() -> None:
    scorer = JsonSchemaScorer(schema=SCHEMA)
    assert (await score(scorer, '{"name": "M", "age": 3, "city": "X"}', None)).passed
    bad_type = await score(scorer, '{"name": "M", "age": "3", "city": "X"}', None)
    assert not bad_type.passed
    assert "at /age" in bad_type.explanation
    missing = await score(scorer, '{"name": "M", "age": 3}', None)
    assert not missing.passed
    assert "'city' is a required property" in missing.explanation
    assert not (await score(scorer, "Maria is 34.", None)).passed


async def test_json_schema_match_reference_compares_values_loosely() -> None:
    scorer = JsonSchemaScorer(schema=SCHEMA, match_reference=True)
    exact = await score(scorer, '{"name": "maria  LOPEZ", "age": 34, "city": " Madrid"}', PERSON)
    assert (exact.passed, exact.value) == (True, 1.0)
    partial = await score(scorer, '{"name": "Maria Lopez", "age": 35, "city": "Paris"}', PERSON)
    assert partial.passed is False
    assert partial.value == pytest.approx(1 / 3)
    assert "2 of 3 keys differ" in partial.explanation
    assert "'age': got '35', expected '34'" in partial.explanation
    assert scorer.check_item(item("Maria")) is not None
    assert scorer.check_item(item(PERSON)) is None


def test_json_schema_refuses_a_bad_schema() -> None:
    with pytest.raises(ValueError, match="not a valid JSON Schema"):
        JsonSchemaScorer(schema={"type": "thing"})
    with pytest.raises(ValueError, match="missing required option 'schema'"):
        JsonSchemaScorer()


async def test_json_schema_with_an_unresolvable_reference_is_an_error_not_a_fail() -> None:
    scorer = JsonSchemaScorer(schema={"$ref": "https://example.invalid/schema.json"})
    with pytest.raises(ValueError, match="cannot be resolved"):
        await score(scorer, "{}", None)


# -- model graded ---------------------------------------------------------------------------------


class FakeJudge:
    """Records what it was asked and answers with a fixed reply."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.calls: list[list[dict[str, Any]]] = []

    async def __call__(self, messages: list[dict[str, Any]]) -> Any:
        self.calls.append(messages)
        return self.reply


async def test_model_graded_sends_rubric_reference_and_output_and_reads_the_verdict() -> None:
    judge = FakeJudge("The answer names the right city.\nGRADE: PASS\nSCORE: 0.8")
    scorer = ModelGradedScorer()
    assert scorer.needs_judge is True
    graded = await scorer.score(
        item("Paris", prompt="Capital of France?", rubric="Names the capital city."),
        "It is Paris.",
        judge,
    )
    assert (graded.passed, graded.value, graded.scorer) == (True, 0.8, "model_graded")
    assert graded.explanation.startswith("judge: PASS (score 0.8): ")
    [messages] = judge.calls
    assert messages[0]["role"] == "system"
    prompt = messages[1]["content"]
    for part in ("Capital of France?", "Paris", "Names the capital city.", "It is Paris."):
        assert part in prompt


async def test_model_graded_rubric_falls_back_to_option_then_reference() -> None:
    judge = FakeJudge("GRADE: FAIL")
    scorer = ModelGradedScorer(rubric="Is polite.")
    result = await scorer.score(item(None), "Go away.", judge)
    assert (result.passed, result.value) == (False, 0.0)
    assert "Is polite." in judge.calls[0][1]["content"]
    plain = ModelGradedScorer()
    assert plain.check_item(item(None)) is not None
    assert plain.check_item(item("Paris")) is None
    await plain.score(item("Paris"), "Paris", judge)
    assert "agrees with the reference" in judge.calls[1][1]["content"]


def test_parse_verdict_takes_the_last_grade_and_reads_scores() -> None:
    assert parse_verdict("Format is GRADE: PASS or GRADE: FAIL.\n**GRADE: FAIL**") == (False, None)
    assert parse_verdict("grade = pass\nScore: 8/10") == (True, 0.8)
    assert parse_verdict("GRADE: PASS\nSCORE: 1") == (True, 1.0)
    with pytest.raises(JudgeError, match="no 'GRADE"):
        parse_verdict("Looks good to me.")
    with pytest.raises(JudgeError, match=r"outside 0\.\.1"):
        parse_verdict("GRADE: PASS\nSCORE: 7")
    with pytest.raises(JudgeError, match="zero denominator"):
        parse_verdict("GRADE: PASS\nSCORE: 1/0")


async def test_judge_failures_raise_instead_of_failing_the_output() -> None:
    scorer = ModelGradedScorer()
    with pytest.raises(JudgeError):
        await scorer.score(item("x"), "x", FakeJudge("I cannot grade this."))
    with pytest.raises(JudgeError, match="not text"):
        await scorer.score(item("x"), "x", FakeJudge(None))
    with pytest.raises(JudgeError, match="needs a judge"):
        await scorer.score(item("x"), "x", None)

    async def broken(messages: list[dict[str, Any]]) -> str:
        raise ConnectionError("judge unreachable")

    with pytest.raises(ConnectionError):
        await scorer.score(item("x"), "x", broken)


async def test_model_graded_template_and_system() -> None:
    judge = FakeJudge("GRADE: PASS")
    scorer = ModelGradedScorer(
        template="Q: {input}\nA: {output}\nWant: {reference} ({rubric}) {{literal}}",
        system="Be strict.",
    )
    await scorer.score(item("4", prompt="2+2?"), "4", judge)
    system, user = judge.calls[0]
    assert system["content"] == "Be strict."
    assert user["content"].startswith("Q: 2+2?\nA: 4\nWant: 4 (")
    assert user["content"].endswith("{literal}")
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) \{answer\}"):
        ModelGradedScorer(template="{answer} {output}")
    with pytest.raises(ValueError, match="never shows the judge the response"):
        ModelGradedScorer(template="{input}")
    with pytest.raises(ValueError, match="template"):
        ModelGradedScorer(template="{output")


async def test_model_graded_renders_a_conversation_and_structured_references() -> None:
    judge = FakeJudge("GRADE: PASS")
    conversation = Item(
        id="c",
        messages=(
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Extract it."}]},
        ),
        reference={"b": 1, "a": 2},
    )
    await ModelGradedScorer().score(conversation, "{}", judge)
    prompt = judge.calls[0][1]["content"]
    assert "system: Be brief.\n\nuser: Extract it." in prompt
    assert '{"a": 2, "b": 1}' in prompt


# -- registry -------------------------------------------------------------------------------------


def declared() -> dict[str, str]:
    table = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    points: dict[str, str] = table["project"]["entry-points"][registry.GROUP]
    return points


BUILTIN = (
    "exact",
    "normalised",
    "contains",
    "regex",
    "numeric",
    "choice",
    "json_valid",
    "json_schema",
    "model_graded",
)
MINIMAL_OPTIONS: dict[str, dict[str, Any]] = {
    "choice": {"labels": ["a", "b"]},
    "json_schema": {"schema": {"type": "object"}},
}


def test_every_builtin_scorer_is_declared_installed_and_named_as_its_entry_point() -> None:
    assert sorted(declared()) == sorted(BUILTIN)
    installed = registry.available_scorers()
    for name, value in declared().items():
        assert installed[name].value == value
        scorer = registry.build_scorer(ScorerSpec(name, MINIMAL_OPTIONS.get(name, {})))
        assert isinstance(scorer, Scorer)
        assert scorer.name == name
        assert scorer.needs_judge is (name == "model_graded")


def test_build_scorer_errors_name_the_scorer() -> None:
    with pytest.raises(ValueError, match=r"unknown scorer 'nope'; installed scorers: choice, "):
        registry.build_scorer(ScorerSpec("nope"))
    with pytest.raises(ValueError, match=r"bad options for scorer 'exact': unknown option 'x'"):
        registry.build_scorer(ScorerSpec("exact", {"x": 1}))


class PluginScorer:
    """A third-party scorer with explicit keyword arguments."""

    name = "plugin"
    needs_judge = False

    def __init__(self, *, threshold: float = 0.5) -> None:
        self.threshold = threshold

    async def score(self, item: Item, output: str, judge: Any) -> Score:
        return Score(self.name, True, 1.0, "ok")


class NotAScorer:
    def __init__(self) -> None:
        pass


def test_plugins_are_built_through_the_same_path() -> None:
    group = registry.GROUP
    installed = {
        "plugin": EntryPoint("plugin", f"{__name__}:PluginScorer", group),
        "broken": EntryPoint("broken", f"{__name__}:NotAScorer", group),
        "missing": EntryPoint("missing", "no_such_module_zg:Scorer", group),
    }
    built = registry.build_scorer(ScorerSpec("plugin", {"threshold": 0.9}), installed)
    assert isinstance(built, PluginScorer)
    assert built.threshold == 0.9
    with pytest.raises(ValueError, match=r"bad options for scorer 'plugin': .*unexpected keyword"):
        registry.build_scorer(ScorerSpec("plugin", {"limit": 1}), installed)
    with pytest.raises(ValueError, match="does not implement the Scorer protocol"):
        registry.build_scorer(ScorerSpec("broken"), installed)
    with pytest.raises(ValueError, match="could not be imported: ModuleNotFoundError"):
        registry.build_scorer(ScorerSpec("missing"), installed)


def test_build_scorers_reports_every_bad_spec_of_a_suite() -> None:
    suite = Suite(
        name="s",
        description="",
        version="sha256:0",
        scorers=(ScorerSpec("exact"), ScorerSpec("nope"), ScorerSpec("choice", {"labels": []})),
        items=(item("a"),),
    )
    with pytest.raises(ConfigError) as caught:
        registry.build_scorers(suite)
    assert [p.path for p in caught.value.problems] == ["scorers.1", "scorers.2"]
    ok = Suite("s", "", "sha256:0", (ScorerSpec("exact"), ScorerSpec("regex")), (item("a"),))
    assert [s.name for s in registry.build_scorers(ok)] == ["exact", "regex"]


def test_item_problem_uses_the_optional_hook() -> None:
    assert registry.item_problem(ChoiceScorer(labels=["a", "b"]), item("c")) is not None
    assert registry.item_problem(PluginScorer(), item(None)) is None  # no hook: accepted
