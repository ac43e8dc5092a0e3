"""The NER detector with real spaCy pipelines built here and loaded by path (no model download)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import fix_random_seed

from tests.gateway.conftest import CONFIG, make_gateway
from zonegate.config.load import load_config_text
from zonegate.config.schema import DEFAULT_DETECTORS, Config
from zonegate.errors import ConfigError
from zonegate.guards.base import Detector, Finding
from zonegate.guards.classify import Classifier
from zonegate.guards.detectors import ner
from zonegate.guards.detectors.ner import NerDetector, NerSetupError, split
from zonegate.guards.detectors.pii import EmailDetector
from zonegate.guards.registry import available_detectors, load_detectors
from zonegate.policy.classes import DataClasses

PATTERNS: list[dict[str, Any]] = [
    {"label": "PERSON", "pattern": "Ada Lovelace"},
    {"label": "PER", "pattern": "Grace Hopper"},  # the label other languages' pipelines use
    {"label": "ORG", "pattern": [{"LOWER": "acme"}, {"LOWER": "corp"}]},
    {"label": "GPE", "pattern": "Paris"},
    {"label": "LOC", "pattern": "Lake Geneva"},
    {"label": "DATE", "pattern": "Monday"},  # not mapped by default
    {"label": "PERSON", "pattern": "Q"},  # shorter than min_length
    {"label": "ORG", "pattern": "1984"},  # no letter
]
TEXT = "Ask Ada Lovelace at ACME corp in Paris on Monday, near Lake Geneva, with Grace Hopper."


@Language.component("zonegate_test_refuses")
def refuses(doc: Doc) -> Doc:
    """A component that finds no entities and must never run inside the detector."""
    raise RuntimeError("a component that sets no entities ran")


def ruler_pipeline(path: Path, patterns: list[dict[str, Any]] = PATTERNS) -> Path:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(patterns)
    nlp.add_pipe("zonegate_test_refuses")
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ruler_pipeline(tmp_path_factory.mktemp("ner") / "model")


def span(text: str, value: str, after: int = 0) -> tuple[int, int]:
    start = text.index(value, after)
    return start, start + len(value)


def test_finds_mapped_entities_with_offsets(model: Path) -> None:
    detector = NerDetector(data_class="confidential", model=str(model))
    expected = [
        Finding("person_name", *span(TEXT, "Ada Lovelace"), "confidential"),
        Finding("organization", *span(TEXT, "ACME corp"), "confidential"),
        Finding("location", *span(TEXT, "Paris"), "confidential"),
        Finding("location", *span(TEXT, "Lake Geneva"), "confidential"),
        Finding("person_name", *span(TEXT, "Grace Hopper"), "confidential"),
    ]
    assert detector.detect(TEXT) == expected
    assert [TEXT[f.start : f.end] for f in expected] == [
        "Ada Lovelace",
        "ACME corp",
        "Paris",
        "Lake Geneva",
        "Grace Hopper",
    ]


def test_is_a_per_text_detector(model: Path) -> None:
    detector = NerDetector(data_class="confidential", model=model)
    assert isinstance(detector, Detector)
    assert detector.type == "ner"
    assert detector.joinable is False
    assert "confidential" in repr(detector)


def test_custom_mapping_and_unknown_labels_are_ignored(model: Path) -> None:
    detector = NerDetector(
        data_class="restricted", model=str(model), entities={"PERSON": "employee", "DATE": "day"}
    )
    assert detector.detect(TEXT) == [
        Finding("employee", *span(TEXT, "Ada Lovelace"), "restricted"),
        Finding("day", *span(TEXT, "Monday"), "restricted"),
    ]


def test_short_and_letterless_entities_are_dropped(model: Path) -> None:
    text = "Q met someone in 1984 and Ada Lovelace."
    detector = NerDetector(data_class="confidential", model=str(model))
    assert detector.detect(text) == [
        Finding("person_name", *span(text, "Ada Lovelace"), "confidential")
    ]
    loose = NerDetector(data_class="confidential", model=str(model), min_length=1)
    assert [f.start for f in loose.detect(text)] == [0, text.index("Ada")]


def test_text_without_letters_or_entities(model: Path) -> None:
    detector = NerDetector(data_class="confidential", model=str(model))
    assert detector.detect("") == []
    assert detector.detect("12 34 -- 56") == []
    assert detector.detect("nothing to see here") == []


def growth(detector: NerDetector) -> int:
    """How many strings 30 calls with new words add to the pipeline's vocabulary."""
    strings = detector._nlp.vocab.strings
    before = len(strings)
    for n in range(30):
        text = f"unseen{n} words{n} for{n} Ada Lovelace here{n} and{n} there{n}"
        assert [f.type for f in detector.detect(text)] == ["person_name"]
    return len(strings) - before


def test_vocabulary_stops_growing_past_its_allowance(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unbounded = growth(NerDetector(data_class="confidential", model=str(model)))
    assert unbounded > 300  # every new word stays while the allowance lasts
    monkeypatch.setattr(ner, "VOCAB_GROWTH", 40)
    bounded = growth(NerDetector(data_class="confidential", model=str(model)))
    assert 40 <= bounded < 40 + 30  # then what a call adds is freed when it returns


def test_long_text_is_processed_in_chunks_with_document_offsets(model: Path) -> None:
    sentence = "The report was reviewed by Ada Lovelace in Paris last week. "
    text = sentence * 120 + "\n" + "x" * 2500 + " Grace Hopper."  # 9,700 characters
    detector = NerDetector(data_class="confidential", model=str(model), max_chunk=1000)
    found = detector.detect(text)
    assert [text[f.start : f.end] for f in found] == ["Ada Lovelace", "Paris"] * 120 + [
        "Grace Hopper"
    ]
    assert found[-1].start == text.index("Grace Hopper")


def test_split_cuts_at_breaks_and_covers_the_text() -> None:
    words = ("word " * 50 + "end of sentence. ") * 20
    text = words + "z" * 900  # no break at all in the last 900 characters
    chunks = split(text, 400)
    assert "".join(chunk for _, chunk in chunks) == text
    assert all(len(chunk) <= 400 for _, chunk in chunks)
    offsets = [offset for offset, _ in chunks]
    assert offsets == sorted(offsets)
    assert offsets[0] == 0
    assert all(a + len(chunk) == b for (a, chunk), b in zip(chunks, offsets[1:], strict=False))
    # Never inside a word where the text has spaces; hard cuts inside the unbroken run.
    in_words = [chunk for offset, chunk in chunks if offset + len(chunk) <= len(words)]
    assert len(in_words) >= 13
    assert all(chunk.endswith(" ") for chunk in in_words)
    assert split("short", 400) == [(0, "short")]


def test_split_prefers_line_and_sentence_ends_to_spaces() -> None:
    sentence_end = "x" * 250 + ". " + "y " * 200
    assert split(sentence_end, 400)[0] == (0, "x" * 250 + ". ")
    line_end = "x " * 120 + "\n" + "y. " * 100
    assert split(line_end, 400)[0] == (0, "x " * 120 + "\n")


def test_components_that_set_no_entities_are_switched_off(model: Path) -> None:
    # The saved pipeline holds a component that raises; only all_components runs it.
    assert NerDetector(data_class="confidential", model=str(model)).detect(TEXT)
    everything = NerDetector(data_class="confidential", model=str(model), all_components=True)
    with pytest.raises(RuntimeError, match="sets no entities"):
        everything.detect(TEXT)


def test_a_shared_embedding_layer_the_recogniser_listens_to_is_kept(tmp_path: Path) -> None:
    # A statistical recogniser reading a shared tok2vec, the way trained pipelines are built.
    # Without its tok2vec it would see zero vectors and find nothing.
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 96, "upstream": "*"}
    nlp.add_pipe(
        "ner",
        config={
            "model": {
                "@architectures": "spacy.TransitionBasedParser.v2",
                "state_type": "ner",
                "extra_state_tokens": False,
                "hidden_width": 16,
                "maxout_pieces": 2,
                "use_upper": True,
                "tok2vec": listener,
            }
        },
    )
    data = [
        ("Ada Lovelace wrote the notes.", [(0, 12, "PERSON")]),
        ("We met Ada Lovelace today.", [(7, 19, "PERSON")]),
        ("The notes were long.", []),
    ]
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in data]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    nlp.add_pipe("zonegate_test_refuses")
    nlp.to_disk(tmp_path / "trained")

    text = "Yesterday Ada Lovelace called."
    detector = NerDetector(data_class="confidential", model=str(tmp_path / "trained"))
    assert detector.detect(text) == [
        Finding("person_name", *span(text, "Ada Lovelace"), "confidential")
    ]


def test_missing_pipeline_directory_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(NerSetupError, match="no spaCy pipeline at") as info:
        NerDetector(data_class="confidential", model=str(missing))
    assert str(missing) in str(info.value)
    assert "nlp.to_disk" in str(info.value)


def test_missing_pipeline_package_says_how_to_install_it() -> None:
    with pytest.raises(NerSetupError) as info:
        NerDetector(data_class="confidential", model="xx_zonegate_absent_sm")
    message = str(info.value)
    assert "'xx_zonegate_absent_sm' is not installed" in message
    assert "python -m spacy download xx_zonegate_absent_sm" in message


def test_directory_that_is_not_a_pipeline(tmp_path: Path) -> None:
    with pytest.raises(NerSetupError, match="not a loadable spaCy pipeline directory"):
        NerDetector(data_class="confidential", model=str(tmp_path))


def test_missing_spacy_says_how_to_install_it(model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "spacy", None)  # what an environment without spaCy does
    with pytest.raises(NerSetupError) as info:
        NerDetector(data_class="confidential", model=str(model))
    message = str(info.value)
    assert "spaCy is not installed" in message
    assert "pip install spacy" in message
    assert "python -m spacy download en_core_web_sm" in message


def test_pipeline_without_an_entity_component(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "blank")
    with pytest.raises(NerSetupError, match="no component that finds entities") as info:
        NerDetector(data_class="confidential", model=str(tmp_path / "blank"))
    assert "sentencizer" in str(info.value)


def test_mapping_that_matches_no_label_of_the_pipeline(model: Path) -> None:
    with pytest.raises(NerSetupError, match="none of the mapped labels") as info:
        NerDetector(data_class="confidential", model=str(model), entities={"PERSN": "person"})
    assert "PERSON" in str(info.value)  # the labels it does produce are listed


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"entities": ["PERSON"]}, "entities must map spaCy labels"),
        ({"entities": {}}, "entities must map spaCy labels"),
        ({"entities": {"PERSON": "Person Name"}}, "entities.PERSON: the finding type"),
        ({"min_length": 0}, "min_length"),
        ({"max_chunk": 10}, "max_chunk"),
        ({"model": ""}, "model must name"),
    ],
)
def test_bad_options(model: Path, options: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = {"model": str(model), **options}
    with pytest.raises(NerSetupError, match=message):
        NerDetector(data_class="confidential", **kwargs)


def make_config(detectors: dict[str, Any] | None = None) -> Config:
    raw: dict[str, Any] = {
        "zones": {"local": {"ceiling": "restricted"}},
        "models": {"m": {"zone": "local", "provider": {"type": "llamacpp"}}},
    }
    if detectors is not None:
        raw["detectors"] = detectors
    return Config.model_validate(raw)


def test_default_config_does_not_enable_it() -> None:
    assert "ner" not in DEFAULT_DETECTORS
    assert "ner" not in [d.type for d in load_detectors(make_config())]


def test_registered_as_an_entry_point() -> None:
    assert available_detectors()["ner"].load() is NerDetector


def test_built_by_the_registry_with_options(model: Path) -> None:
    options = {
        "model": str(model),
        "entities": {"PERSON": "person_name", "ORG": "organization"},
        "min_length": 2,
    }
    detectors = load_detectors(
        make_config(
            {
                "email": {"data_class": "confidential"},
                "ner": {"data_class": "confidential", "options": options},
            }
        )
    )
    assert [d.type for d in detectors] == [*DEFAULT_DETECTORS, "ner"]  # on top of the built-ins
    assert [f.type for f in detectors[-1].detect(TEXT)] == ["person_name", "organization"]


def test_registry_reports_a_missing_model_as_a_config_problem(tmp_path: Path) -> None:
    config = make_config(
        {"ner": {"data_class": "confidential", "options": {"model": str(tmp_path / "gone")}}}
    )
    with pytest.raises(ConfigError) as info:
        load_detectors(config)
    (problem,) = info.value.problems
    assert problem.path == "detectors.ner"
    assert "could not be built" in problem.message
    assert "no spaCy pipeline at" in problem.message


def test_registry_reports_an_unknown_option(model: Path) -> None:
    config = make_config(
        {"ner": {"data_class": "confidential", "options": {"model": str(model), "modle": "x"}}}
    )
    with pytest.raises(ConfigError) as info:
        load_detectors(config)
    (problem,) = info.value.problems
    assert problem.path == "detectors.ner"
    assert "'modle'" in problem.message


def test_classifier_raises_the_class_and_maps_spans_to_the_texts_sent(model: Path) -> None:
    classes = DataClasses(["public", "internal", "confidential", "restricted"])
    ner = NerDetector(data_class="confidential", model=str(model))
    classifier = Classifier([EmailDetector(data_class="internal"), ner], classes)
    assert classifier.classify(["What is the capital of France?"]).max_rank is None
    # A zero-width space inside the name is removed before detection; the span covers it.
    texts = ["hello", "please ask Ada Love\u200blace"]
    result = classifier.classify(texts)
    assert result.counts == {"person_name": 1}
    assert result.max_rank == classes.rank("confidential")
    (located,) = result.findings
    assert located.text_index == 1
    assert texts[1][located.finding.start : located.finding.end] == "Ada Love\u200blace"


GATEWAY_DETECTORS = """
detectors:
  email: {{data_class: confidential}}
  ner:
    data_class: confidential
    options: {{model: "{model}", entities: {{PERSON: person_name, ORG: organization}}}}
"""


async def test_a_name_keeps_the_request_off_the_vendor_zone(tmp_path: Path, model: Path) -> None:
    loaded = load_config_text(
        CONFIG + GATEWAY_DETECTORS.format(model=model.as_posix()), source="test.yaml"
    )
    async with make_gateway(tmp_path, loaded) as gateway:
        clean = await gateway.chat("Summarise the release notes")
        assert clean.headers["x-zonegate-zone"] == "vendor"
        named = await gateway.chat("Draft a reply to Ada Lovelace about the release")
        assert named.status_code == 200
        assert named.headers["x-zonegate-data-class"] == "confidential"
        assert named.headers["x-zonegate-zone"] == "local"
        assert len(gateway.fakes["vendor-model"].calls) == 1
        request_id = named.headers["x-zonegate-request-id"]
        (record,) = [r for r in gateway.audit() if r["request_id"] == request_id]
        assert record["findings"] == {"person_name": 1}
        assert record["effective_class"] == "confidential"
