"""Names, organisations and places found by a spaCy named-entity pipeline (optional).

Patterns cannot tell a person's name from any other capitalised word, so this detector hands the
text to a spaCy pipeline that a site installs itself: spaCy is not a dependency of zonegate and
no model is ever downloaded; the offline default is patterns only. The pipeline is loaded once,
when the detector is built, with every component that does not set entities switched off (taggers,
parsers and lemmatisers cost time and find nothing here). Missing spaCy or a missing model is a
start-up error that says what to install.

It is not ``joinable``: a statistical model reads context across a separator, so it runs on each
text of a request on its own. Long texts are cut into chunks at line, sentence or word breaks,
which bounds memory and keeps under spaCy's ``max_length``. spaCy is imported through
``importlib`` and handled as ``Any``, so this module type-checks whether spaCy is installed or
not.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from zonegate.guards.base import Finding

DEFAULT_ENTITIES: Mapping[str, str] = {
    "PERSON": "person_name",  # English pipelines (OntoNotes labels)
    "PER": "person_name",  # most other languages' pipelines (WikiNER labels)
    "ORG": "organization",
    "GPE": "location",  # countries, cities, states
    "LOC": "location",  # other places: mountains, rivers, regions
}
DEFAULT_MODEL = "en_core_web_sm"
DEFAULT_MAX_CHUNK = 50_000
# New strings the pipeline's vocabulary may keep for good (about 25 MB: common words, cached for
# speed); past that, what a call adds is freed when it returns (see ``NerDetector._zone``).
VOCAB_GROWTH = 50_000

# Components kept even when their declared outputs do not say "doc.ents".
_ENTITY_FACTORIES = frozenset({"ner", "beam_ner", "entity_ruler"})
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Where a chunk may end, best first: a blank line, a line, a sentence, a word.
_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", " ")


class NerSetupError(RuntimeError):
    """spaCy or the pipeline could not be loaded, or the options make no sense."""


class NerDetector:
    """Findings where the pipeline tags an entity whose label ``entities`` maps to a type.

    ``entities`` maps spaCy labels to finding types (``PERSON`` -> ``person_name``); labels not in
    it are ignored. Entities shorter than ``min_length`` characters or holding no letter are
    dropped (stray single letters and numbers tagged ``ORG`` are model noise, not names).
    ``all_components`` keeps every component of the pipeline running, for entity patterns that
    match on tags or lemmas. Texts longer than ``max_chunk`` characters are processed in chunks.
    """

    __slots__ = (
        "_entities",
        "_keep_until",
        "_lock",
        "_max_chunk",
        "_min_length",
        "_model",
        "_nlp",
        "data_class",
    )

    type: str = "ner"
    joinable: ClassVar[bool] = False
    needs_digits: ClassVar[bool] = False

    def __init__(
        self,
        *,
        data_class: str,
        model: str | Path = DEFAULT_MODEL,
        entities: Mapping[str, str] | None = None,
        min_length: int = 2,
        max_chunk: int = DEFAULT_MAX_CHUNK,
        all_components: bool = False,
    ) -> None:
        self.data_class = data_class
        self._entities = _check_entities(DEFAULT_ENTITIES if entities is None else entities)
        if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 1:
            raise NerSetupError(
                f"min_length must be a whole number of at least 1, not {min_length!r}"
            )
        if isinstance(max_chunk, bool) or not isinstance(max_chunk, int) or max_chunk < 1000:
            raise NerSetupError(
                f"max_chunk must be a whole number of at least 1000, not {max_chunk!r}"
            )
        if not isinstance(model, str | Path) or not str(model).strip():
            raise NerSetupError(
                f"model must name an installed spaCy pipeline package or a pipeline directory, "
                f"not {model!r}"
            )
        self._min_length = min_length
        self._model = str(model)
        self._nlp = _load(self._model)
        if not all_components:
            _keep_entity_components(self._nlp, self._model)
        _check_labels(self._nlp, self._model, self._entities)
        self._max_chunk = min(max_chunk, int(self._nlp.max_length))
        self._keep_until = len(self._nlp.vocab.strings) + VOCAB_GROWTH
        # spaCy objects are not safe to share between threads, and memory zones do not nest.
        self._lock = threading.Lock()

    def detect(self, text: str) -> list[Finding]:
        if not any(ch.isalpha() for ch in text):
            return []
        chunks = split(text, self._max_chunk)
        spans: list[tuple[int, int, str]] = []
        with self._lock, self._zone():
            docs = self._nlp.pipe([chunk for _, chunk in chunks])
            for (offset, _chunk), doc in zip(chunks, docs, strict=True):
                for ent in doc.ents:
                    finding_type = self._entities.get(ent.label_)
                    if finding_type is not None:
                        spans.append((offset + ent.start_char, offset + ent.end_char, finding_type))
        found: list[Finding] = []
        for start, end, finding_type in spans:
            if end - start < self._min_length:
                continue
            if not any(ch.isalpha() for ch in text[start:end]):
                continue
            found.append(Finding(finding_type, start, end, self.data_class))
        return found

    def _zone(self) -> contextlib.AbstractContextManager[object]:
        """spaCy keeps every new word it sees in its vocabulary and tokenizer cache, so a
        long-running gateway would grow without bound. The first ``VOCAB_GROWTH`` strings are
        kept (common words, whose cached tokenisation is several times faster); past that each
        call runs in a memory zone that frees what it added."""
        if len(self._nlp.vocab.strings) < self._keep_until:
            return contextlib.nullcontext()
        zone: contextlib.AbstractContextManager[object] = self._nlp.memory_zone()
        return zone

    def __repr__(self) -> str:
        return f"NerDetector(model={self._model!r}, data_class={self.data_class!r})"


def split(text: str, size: int) -> list[tuple[int, str]]:
    """``text`` as chunks of at most ``size`` characters, each with its offset.

    A chunk ends at the last blank line, line break, sentence end or space in its second half, so
    an entity is cut only when a text has no break at all for ``size / 2`` characters.
    """
    if len(text) <= size:
        return [(0, text)]
    chunks: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > size:
        end = start + size
        cut = end
        for mark in _BREAKS:
            at = text.rfind(mark, start + size // 2, end)
            if at != -1:
                cut = at + len(mark)
                break
        chunks.append((start, text[start:cut]))
        start = cut
    chunks.append((start, text[start:]))
    return chunks


def _check_entities(entities: object) -> dict[str, str]:
    if not isinstance(entities, Mapping) or not entities:
        raise NerSetupError(
            "entities must map spaCy labels to finding types, e.g. "
            f"{{PERSON: person_name, ORG: organization}}; got {entities!r}"
        )
    checked: dict[str, str] = {}
    for label, finding_type in entities.items():
        if not isinstance(label, str) or not label:
            raise NerSetupError(
                f"entities: a spaCy label must be a non-empty string, not {label!r}"
            )
        if not isinstance(finding_type, str) or _TYPE_NAME.fullmatch(finding_type) is None:
            raise NerSetupError(
                f"entities.{label}: the finding type must be lower-case letters, digits and "
                f"'_', starting with a letter, at most 40 characters (e.g. person_name); got "
                f"{finding_type!r}"
            )
        checked[label] = finding_type
    return checked


def _load(model: str) -> Any:
    """The spaCy pipeline ``model`` names: an installed package or a saved pipeline's directory."""
    try:
        spacy: Any = importlib.import_module("spacy")
    except ModuleNotFoundError as exc:
        if exc.name != "spacy":
            raise NerSetupError(f"spaCy could not be imported: {exc}") from exc
        raise NerSetupError(
            "spaCy is not installed; install it with 'pip install spacy' and a pipeline with "
            f"'python -m spacy download {DEFAULT_MODEL}', or disable this detector "
            "(detectors.ner.enabled: false)"
        ) from None
    path = Path(model).expanduser()
    looks_like_path = path.is_absolute() or "/" in model or "\\" in model or model.startswith(".")
    if looks_like_path and not path.exists():
        raise NerSetupError(
            f"no spaCy pipeline at {model!r}: the directory does not exist (save one with "
            "nlp.to_disk(path), or give an installed package name such as "
            f"{DEFAULT_MODEL!r})"
        )
    try:
        return spacy.load(path if path.exists() else model)
    except OSError as exc:
        if path.exists():
            raise NerSetupError(
                f"{model!r} is not a loadable spaCy pipeline directory (it needs the "
                f"config.cfg and meta.json that nlp.to_disk writes): {exc}"
            ) from exc
        raise NerSetupError(
            f"spaCy pipeline {model!r} is not installed; install it with "
            f"'python -m spacy download {model}' (or pip install its package), or set "
            "detectors.ner.options.model to an installed pipeline or a pipeline directory"
        ) from exc
    except Exception as exc:
        raise NerSetupError(
            f"spaCy pipeline {model!r} could not be loaded ({type(exc).__name__}: {exc}); it may "
            "have been built for another spaCy version"
        ) from exc


def _sets_entities(nlp: Any, name: str) -> bool:
    meta = nlp.get_pipe_meta(name)
    if "doc.ents" in meta.assigns or meta.factory in _ENTITY_FACTORIES:
        return True
    return bool(getattr(nlp.get_pipe(name), "annotate_ents", False))  # a span_ruler may


def _keep_entity_components(nlp: Any, model: str) -> None:
    """Switch off every component that neither sets entities nor feeds one that does."""
    keep = {name for name in nlp.pipe_names if _sets_entities(nlp, name)}
    if not keep:
        raise NerSetupError(
            f"spaCy pipeline {model!r} has no component that finds entities (ner, entity_ruler); "
            f"its components: {', '.join(nlp.pipe_names) or 'none'}"
        )
    for name in nlp.pipe_names:
        # A shared embedding layer (tok2vec, transformer) that an entity component listens to.
        listeners = getattr(nlp.get_pipe(name), "listening_components", None) or ()
        if keep.intersection(listeners):
            keep.add(name)
    for name in nlp.pipe_names:
        if name not in keep:
            nlp.disable_pipe(name)


def _check_labels(nlp: Any, model: str, entities: Mapping[str, str]) -> None:
    """Refuse a mapping of which the pipeline can produce no label (a typo, a wrong model).

    Skipped when some entity component does not say which labels it has.
    """
    labels: set[str] = set()
    for name in nlp.pipe_names:
        if not _sets_entities(nlp, name):
            continue
        own = getattr(nlp.get_pipe(name), "labels", None)
        if own is None:
            return
        labels.update(own)
    if labels and not labels.intersection(entities):
        raise NerSetupError(
            f"none of the mapped labels ({', '.join(sorted(entities))}) is one that spaCy "
            f"pipeline {model!r} produces ({', '.join(sorted(labels))}); fix "
            "detectors.ner.options.entities"
        )
