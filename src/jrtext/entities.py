"""Domain entities in spaCy: knowledge-base names found, linked in context, merged into ents.

Two components run after ``ner`` (they read the parse and spaCy's entities, and change
neither the tokens nor the sentence boundaries):

``jrtext_kb_matcher``
    finds candidate mentions with phrase matchers over every surface form of the knowledge
    base (case-insensitive, except all-capital forms such as "US" or "NATO", which must match
    exactly), full names with a middle initial or patronymic around family names ("Mikhail
    S. Gorbachev"), and token patterns for demonyms before an actor noun ("the Japanese
    government") and plural demonyms ("the Soviets"). Candidates go to
    ``doc.spans["jrtext_kb_candidates"]`` with the rule as label and the entity id as
    ``kb_id``.

PhraseMatcher was measured against spaCy's EntityRuler with the same surface forms: the
ruler cannot use context (a capital as actor or place, demonyms, years, family names shared
by two people) and scores 0.977 / 0.922 on the chapter gold, against 0.998 / 0.983 here; the
components add about 6% to the pipeline's time.
``jrtext_kb_linker``
    decides each candidate in context: a bare family name goes to the bearer the document
    names in full nearest before it (else after it, else the person the family name is an
    alias of); a capital used as the actor is its state ("Tokyo protested"), used as a place
    it is the city ("in Tokyo"); a year written against an agreement joins the mention; a
    generic name ("Foreign Ministry", "Joint Declaration") is linked only when its state or
    year is written against it; a name that is part of a brand ("Japan Times") is dropped.
    The longest mentions win, and they replace any overlapping statistical entity in
    ``doc.ents`` (label = domain type, ``kb_id_`` = canonical id); spaCy's other entities
    keep their label and an empty ``kb_id_``.

Use :func:`add_domain_components` on a loaded pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span, Token

from jrtext.kb import Entity, KnowledgeBase, load_kb, normalize_name

MATCHER_NAME = "jrtext_kb_matcher"
LINKER_NAME = "jrtext_kb_linker"
CANDIDATES_KEY = "jrtext_kb_candidates"

# Candidate rules (the label of a candidate span).
NAME = "NAME"  # a surface form of the entity
FAMILY = "FAMILY"  # a family name that is not an alias of this person
GENERIC = "GENERIC"  # a generic name, linked only with its state or year beside it
DEMONYM = "DEMONYM"  # demonym + actor noun: "Japanese government"
PLURAL = "PLURAL"  # "the Soviets", "the Russians"

_DASHES = ("-", "–", "—")
_APOSTROPHES = ("'", "’")
_MIDDLE = re.compile(r"(?:[A-Z]\.|[A-Z][a-z]+(?:ovich|evich|ich|ovna|evna))$")
_POSSESSIVES = frozenset({"'s", "’s", "'", "’"})
_POSSESSIVE_OR_STOP = _POSSESSIVES | {".", ","}
_DATELINE_AFTER = frozenset({",", "(", "-", "--", "—", "–"})


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    kb_id: str
    label: str
    rank: int  # lower wins between equally long overlapping mentions


class KBMatcher:
    """Candidate mentions of knowledge-base entities (see the module docstring)."""

    def __init__(self, nlp: Language, name: str = MATCHER_NAME, kb_folder: str = "") -> None:
        self.name = name
        self.vocab = nlp.vocab
        self._tokenizer = nlp.tokenizer
        self.kb_folder = kb_folder
        self.kb: KnowledgeBase | None = None

    def set_kb(self, kb: KnowledgeBase) -> None:
        """Use ``kb`` and build the matchers from it."""
        self.kb = kb
        self._lower = PhraseMatcher(self.vocab, attr="LOWER")
        self._exact = PhraseMatcher(self.vocab, attr="ORTH")
        self._tokens = Matcher(self.vocab)
        self._given_names: dict[str, list[list[str]]] = {}
        lower: dict[str, list[str]] = {}
        exact: dict[str, list[str]] = {}
        for entity in kb:
            for form in entity.surface_forms:
                _add_form(lower, exact, f"{NAME}|{entity.id}", form)
            for generic in entity.get("generic_names", []):
                _add_form(lower, exact, f"{GENERIC}|{entity.id}", generic)
            if entity.type == "PERSON":
                _add_form(lower, exact, f"{FAMILY}|{entity.id}", entity.get("family_name"))
                self._given_names[entity.id] = [
                    [t.lower_ for t in self._tokenizer(given)]
                    for given in entity.get("given_names")
                ]
            if entity.type == "STATE":
                self._add_demonym_patterns(entity, kb.linking.actor_heads)
        for key, forms in lower.items():
            self._lower.add(key, list(self._tokenizer.pipe(forms)))
        for key, forms in exact.items():
            self._exact.add(key, list(self._tokenizer.pipe(forms)))

    def _with_middle_names(self, doc: Doc, family: Span) -> Iterator[Span]:
        """Full names with one or two middle initials or a patronymic before ``family``.

        "Mikhail S. Gorbachev", "George H. W. Bush", "Vladimir Vladimirovich Putin": looked
        for around family-name candidates, which is much cheaper than a token pattern for
        every person.
        """
        end = family.end
        for n_middle in (1, 2):
            middle_start = family.start - n_middle
            if middle_start < 1 or not all(
                _MIDDLE.match(t.text) for t in doc[middle_start : family.start]
            ):
                return
            for given in self._given_names[family.kb_id_]:
                start = middle_start - len(given)
                if start >= 0 and [t.lower_ for t in doc[start:middle_start]] == given:
                    yield Span(doc, start, end, label=NAME, kb_id=family.kb_id_)

    def _add_demonym_patterns(self, state: Entity, heads: frozenset[str]) -> None:
        if heads:
            for demonym in state.get("demonyms", []):
                words = [{"LOWER": t.lower_} for t in self._tokenizer(demonym)]
                self._tokens.add(
                    f"{DEMONYM}|{state.id}", [[*words, {"LOWER": {"IN": sorted(heads)}}]]
                )
        for plural in state.get("plural_demonyms", []):
            words = [{"LOWER": t.lower_} for t in self._tokenizer(plural)]
            self._tokens.add(f"{PLURAL}|{state.id}", [[{"LOWER": "the"}, *words]])

    def __call__(self, doc: Doc) -> Doc:
        if self.kb is None:
            self.set_kb(load_kb(Path(self.kb_folder) if self.kb_folder else None))
        descriptors = self.kb.linking.descriptor_nouns
        spans: list[Span] = []
        for matcher, case_blind in (
            (self._lower, True),
            (self._exact, False),
            (self._tokens, True),
        ):
            for key, start, end in matcher(doc):
                rule, kb_id = self.vocab.strings[key].split("|", 1)
                if rule == PLURAL:
                    start += 1  # "the" is not part of the mention
                span = doc[start:end]
                if case_blind and not any(c.isupper() for c in span.text):
                    continue  # "china", "us", "diet": a common word, not the name
                if len(span) > 1 and span[-1].text in descriptors:
                    continue  # "Nemuro city": the name is "Nemuro", another candidate
                spans.append(Span(doc, start, end, label=rule, kb_id=kb_id))
        spans += [
            full for s in spans if s.label_ == FAMILY for full in self._with_middle_names(doc, s)
        ]
        doc.spans[CANDIDATES_KEY] = sorted(spans, key=lambda s: (s.start, -s.end))
        return doc


def _add_form(lower: dict[str, list[str]], exact: dict[str, list[str]], key: str, form: str):
    """File ``form`` and its dash and apostrophe variants under ``key``.

    A form with no lower-case letter ("US", "NATO", "G7") must match exactly, so that "us"
    and "Us" are not the United States; any other form matches in any case that has a
    capital letter (the matcher drops all-lower-case matches).
    """
    target = exact if not any(c.islower() for c in form) else lower
    target.setdefault(key, []).extend(_variants(form))


def _variants(form: str) -> list[str]:
    variants = {form}
    if any(d in form for d in _DASHES):
        for dash in _DASHES:
            variants.add("".join(dash if c in _DASHES else c for c in form))
    for variant in list(variants):
        if any(a in variant for a in _APOSTROPHES):
            for apostrophe in _APOSTROPHES:
                variants.add("".join(apostrophe if c in _APOSTROPHES else c for c in variant))
    return sorted(variants)


class KBLinker:
    """Decide candidate mentions in context and merge them into ``doc.ents``."""

    def __init__(self, nlp: Language, name: str = LINKER_NAME, kb_folder: str = "") -> None:
        self.name = name
        self.kb_folder = kb_folder
        self.kb: KnowledgeBase | None = None

    def set_kb(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._family = kb.people_by_family_name()
        self._surface = kb.surface_index()

    def __call__(self, doc: Doc) -> Doc:
        if self.kb is None:
            self.set_kb(load_kb(Path(self.kb_folder) if self.kb_folder else None))
        candidates = list(doc.spans[CANDIDATES_KEY]) if CANDIDATES_KEY in doc.spans else []
        mentions = _longest_first(self._resolve(doc, candidates))
        kb_spans = [Span(doc, m.start, m.end, label=m.label, kb_id=m.kb_id) for m in mentions]
        taken = {i for span in kb_spans for i in range(span.start, span.end)}
        others = [e for e in doc.ents if not any(i in taken for i in range(e.start, e.end))]
        doc.ents = sorted([*kb_spans, *others], key=lambda s: s.start)
        return doc

    def _resolve(self, doc: Doc, candidates: list[Span]) -> Iterator[_Mention]:
        assert self.kb is not None
        kb = self.kb
        full_names = self._full_name_mentions(candidates)
        covered = {i for span in candidates for i in range(span.start, span.end)}
        by_end: dict[int, set[str]] = {}
        for span in candidates:
            if span.label_ == NAME:
                by_end.setdefault(span.end, set()).add(span.kb_id_)
        for span in candidates:
            entity = kb[span.kb_id_]
            rule = span.label_
            if rule in (NAME, FAMILY) and entity.type == "PERSON" and _is_family_name(span, entity):
                if _after_unknown_given_name(doc, span, covered, kb):
                    continue
                person = self._bearer(span, full_names)
                if person is not None:
                    yield _Mention(span.start, span.end, person, "PERSON", 0)
            elif rule == FAMILY:
                continue  # a full name made of a family name alone is handled above
            elif rule == NAME:
                if entity.type != "PERSON" and _after_unknown_given_name(doc, span, covered, kb):
                    continue
                if _is_brand(doc, span, kb):
                    continue
                if entity.type == "AGREEMENT":
                    start, end = _with_year(doc, span, entity.get("year"))
                    yield _Mention(start, end, entity.id, entity.type, 0)
                elif entity.type == "CITY" and entity.get("capital_of"):
                    if _used_as_place(doc, span, kb):
                        yield _Mention(span.start, span.end, entity.id, "CITY", 0)
                    else:
                        state = kb[entity.get("capital_of")]
                        yield _Mention(span.start, span.end, state.id, state.type, 0)
                else:
                    yield _Mention(span.start, span.end, entity.id, entity.type, 0)
            elif rule == GENERIC:
                mention = _generic(doc, span, entity, by_end)
                if mention is not None:
                    yield mention
            elif rule == DEMONYM:
                if doc[span.end - 1].dep_ != "compound":  # "Russian state media" is not
                    yield _Mention(span.start, span.end, entity.id, entity.type, 1)
            elif rule == PLURAL and not _modifies_next(doc, span):
                yield _Mention(span.start, span.end, entity.id, entity.type, 2)

    def _full_name_mentions(self, candidates: list[Span]) -> list[tuple[int, str]]:
        assert self.kb is not None
        found = []
        for span in candidates:
            entity = self.kb[span.kb_id_]
            if (
                span.label_ == NAME
                and entity.type == "PERSON"
                and not _is_family_name(span, entity)
            ):
                found.append((span.start, entity.id))
        return found

    def _bearer(self, span: Span, full_names: list[tuple[int, str]]) -> str | None:
        """The person a bare family name refers to, or None if it cannot be told."""
        bearers = self._family.get(normalize_name(span.text), [])
        ids = {p.id for p in bearers}
        named = [(start, pid) for start, pid in full_names if pid in ids]
        before = [pid for start, pid in named if start < span.start]
        if before:
            return before[-1]
        after = [pid for start, pid in named if start > span.start]
        if after:
            return after[0]
        default = self._surface.get(normalize_name(span.text))
        return default if default in ids else None


def _is_family_name(span: Span, person: Entity) -> bool:
    return normalize_name(span.text) == normalize_name(person.get("family_name"))


def _after_unknown_given_name(doc: Doc, span: Span, covered: set[int], kb: KnowledgeBase) -> bool:
    """Whether ``span`` ends a person's name spaCy found whose first part is not ours.

    "Akie Abe", "Allen Dulles", "George Washington": the word before is part of the same
    PERSON entity, is capitalised, is no title and is not itself a candidate.
    """
    if span.start == 0:
        return False
    before, first = doc[span.start - 1], doc[span.start]
    return (
        first.ent_type_ == "PERSON"
        and first.ent_iob_ == "I"
        and before.ent_type_ == "PERSON"
        and before.text[:1].isupper()
        and before.is_alpha
        and before.lower_ not in kb.linking.person_titles
        and before.i not in covered
    )


def _is_brand(doc: Doc, span: Span, kb: KnowledgeBase) -> bool:
    """Whether the name belongs to the name of a newspaper, company ... ("Japan Times")."""
    after = doc[span.end].text if span.end < len(doc) else ""
    before = doc[span.start - 1].text if span.start > 0 else ""
    return after in kb.linking.brand_words_after or before in kb.linking.brand_words_before


def _with_year(doc: Doc, span: Span, year: int) -> tuple[int, int]:
    """The span widened to a year written against it: "1956 Declaration", "… of 1956"."""
    start, end = span.start, span.end
    if start > 0 and doc[start - 1].text == str(year):
        start -= 1
    if end + 1 < len(doc) and doc[end].lower_ == "of" and doc[end + 1].text == str(year):
        end += 2
    return start, end


def _generic(doc: Doc, span: Span, entity: Entity, by_end: dict[int, set[str]]) -> _Mention | None:
    """A generic name linked by what is written against it, or None."""
    if entity.type == "AGREEMENT":
        start, end = _with_year(doc, span, entity.get("year"))
        if (start, end) != (span.start, span.end):
            return _Mention(start, end, entity.id, entity.type, 1)
        return None
    state = entity.get("state")
    if state is None:
        return None
    i = span.start
    for _ in range(2):  # "Japan's Foreign Ministry", "Japan. Ministry of Foreign Affairs"
        if i > 0 and doc[i - 1].text in _POSSESSIVE_OR_STOP:
            i -= 1
    if state in by_end.get(i, set()):
        return _Mention(span.start, span.end, entity.id, entity.type, 1)
    return None


def _used_as_place(doc: Doc, span: Span, kb: KnowledgeBase) -> bool:
    """Whether a capital's name is the city rather than its government.

    A place: after a locative preposition ("in Tokyo", also "in Tokyo and Moscow"); after
    "to", "for" or "from" following a word of motion, or as its object ("a visit to Moscow",
    "visited Tokyo"); in a reference ("(Tokyo: Publisher, 2005)"); as a dateline ("TOKYO
    (Reuters) -"); or modifying a noun that is not an actor noun ("the Moscow summit", unlike
    "the Tokyo government"). Never when possessive ("Tokyo's position").
    """
    rules = kb.linking
    token = doc[span.end - 1]
    following = doc[span.end] if span.end < len(doc) else None
    if following is not None and following.text in _POSSESSIVES:
        return False  # "Tokyo's position", "from Moscow's perspective"
    first = token
    while first.dep_ == "conj" and first.head.i < first.i:
        first = first.head
    head = first.head
    previous = doc[span.start - 1] if span.start > 0 else None
    if first is not token:
        previous = doc[first.i - 1] if first.i > 0 else None
    if previous is not None and previous.lower_ in rules.place_prepositions:
        return True
    if first.dep_ == "pobj" and head.lower_ in rules.place_prepositions:
        return True
    if first.dep_ == "dobj" and head.lower_ in rules.motion_words:
        return True  # "Gromyko visited Tokyo"
    if previous is not None and _after_motion(doc, previous, rules.motion_words):
        return True  # "a visit to Moscow", "left for Tokyo"
    if following is not None and following.text == ":":
        return True
    starts_line = span.start == 0 or "\n" in doc[span.start - 1].text_with_ws
    if starts_line and following is not None and following.text in _DATELINE_AFTER:
        return following.text in ",(" or bool(token.whitespace_)  # not "Tokyo-Moscow ties"
    if _hyphenated(doc, span):
        return False  # "Tokyo-Moscow ties", "the Moscow-Beijing axis": the two actors
    if token.dep_ == "compound" and token.head.i > token.i:
        return token.head.lower_ not in rules.actor_heads
    return False


def _hyphenated(doc: Doc, span: Span) -> bool:
    """Whether ``span`` is joined by a dash, with no space, to the word before or after."""
    before = doc[span.start - 1] if span.start > 0 else None
    after = doc[span.end] if span.end < len(doc) else None
    return (before is not None and before.text in _DASHES and not before.whitespace_) or (
        after is not None and after.text in _DASHES and not doc[span.end - 1].whitespace_
    )


def _after_motion(doc: Doc, preposition: Token, motion_words: frozenset[str]) -> bool:
    """Whether ``preposition`` is "to", "for" or "from" after a word of motion."""
    if preposition.lower_ not in ("to", "for", "from") or preposition.i == 0:
        return False
    word_before = doc[preposition.i - 1].lower_
    return word_before in motion_words or preposition.head.lower_ in motion_words


def _modifies_next(doc: Doc, span: Span) -> bool:
    """Whether a plural demonym is an adjective here ("the Japanese people")."""
    if span.end >= len(doc):
        return False
    following = doc[span.end]
    return following.pos_ in {"NOUN", "PROPN", "ADJ", "NUM"} or doc[span.end - 1].dep_ in {
        "amod",
        "compound",
    }


def _longest_first(mentions: Iterable[_Mention]) -> list[_Mention]:
    """Non-overlapping mentions: longer first, then by rule rank, then leftmost."""
    chosen: list[_Mention] = []
    taken: set[int] = set()
    for m in sorted(set(mentions), key=lambda m: (m.start - m.end, m.rank, m.start, m.kb_id)):
        if not any(i in taken for i in range(m.start, m.end)):
            chosen.append(m)
            taken.update(range(m.start, m.end))
    return sorted(chosen, key=lambda m: m.start)


@Language.factory(
    MATCHER_NAME,
    default_config={"kb_folder": ""},
    assigns=["doc.spans"],
    requires=["token.dep"],
)
def make_kb_matcher(nlp: Language, name: str, kb_folder: str) -> KBMatcher:
    """Candidate mentions; the knowledge base is ``kb_folder`` (default ``corpus/kb``)."""
    return KBMatcher(nlp, name, kb_folder)


@Language.factory(
    LINKER_NAME,
    default_config={"kb_folder": ""},
    assigns=["doc.ents", "token.ent_type", "token.ent_kb_id", "token.ent_iob"],
    requires=["token.dep", "token.pos", "doc.spans", "doc.ents"],
)
def make_kb_linker(nlp: Language, name: str, kb_folder: str) -> KBLinker:
    """Links candidates in context and merges them into ``doc.ents``."""
    return KBLinker(nlp, name, kb_folder)


def add_domain_components(nlp: Language, kb: KnowledgeBase) -> None:
    """Add the matcher and the linker after ``ner``, using ``kb``.

    Sentence boundaries are untouched: the components run after the parser and change only
    ``doc.ents`` (and a span group of candidates).
    """
    config = {"kb_folder": str(kb.folder)}
    matcher = nlp.add_pipe(MATCHER_NAME, after="ner", config=config)
    linker = nlp.add_pipe(LINKER_NAME, after=MATCHER_NAME, config=config)
    matcher.set_kb(kb)
    linker.set_kb(kb)


def domain_pipeline(kb: KnowledgeBase | None = None) -> Language:
    """A fresh pipeline with the domain components (the cached ``load_pipeline()`` is kept
    as it is): the configured spaCy model, jrtext's sentence component, the matcher and the
    linker on ``kb`` (default: ``corpus/kb``)."""
    from jrtext.nlp import base_pipeline
    from jrtext.settings import get_settings

    settings = get_settings()
    nlp = base_pipeline(settings.spacy_model, settings.max_chars)
    add_domain_components(nlp, kb if kb is not None else load_kb())
    return nlp


__all__ = [
    "CANDIDATES_KEY",
    "LINKER_NAME",
    "MATCHER_NAME",
    "KBLinker",
    "KBMatcher",
    "add_domain_components",
    "domain_pipeline",
]
