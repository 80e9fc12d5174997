"""Attributed stances: who supports or opposes what, read off the dependency parse.

A stance is a cue (a verb, noun or adjective of support or opposition, listed as data in
``corpus/kb/stance_cues.toml``) with a *holder* that can hold a position (a person, state,
organisation, government, public) and a *target* (its object or complement). The rules are
syntactic and general, not fitted to any one text:

- active and passive voice ("Japan rejected X", "X was rejected by Japan");
- negation flips the polarity ("Russia did not accept X" opposes X, ``negated=True``);
- reported speech: a reporting verb is not a cue, the embedded clause's own subject holds
  the embedded stance ("Lavrov stated that Russia recognized X": Russia supports X);
- infinitive chains compose ("Japan refused to accept X" opposes X), subject control is
  followed ("agreed to continue negotiations"), object control and passive matrices are not
  asserted stances ("Japan is expected to support X" says nothing of Japan's position);
- coordinated holders and targets give one stance each;
- noun cues ("Japan's opposition to X", "expressed support for X", "in the hope of X"),
  predicative adjectives ("reluctant to X", "favorable toward X"), stance frames ("a stance
  against X", "an anti-X stance", "a tough stance on X");
- pronoun holders ("he", "its", "they") resolve to the nearest fitting earlier person, state,
  organisation or group in the same or the preceding sentences; "the two (leaders)" to the
  nearest pair;
- what is not asserted is not a stance: advice (should/must/ought, "needs to"), an
  imperative, a hypothesis ("if ..."), a for-to or subject-bearing infinitive ("it was not
  easy for Moscow to accept X", "allow Ukrainians to agree"), a clause that is itself hoped
  for, proposed or demanded ("we hope that the Assembly will support X": only the hope).

:func:`extract_stances` is pure: it reads a parsed :class:`~spacy.tokens.Doc` (with the
domain entity linker's ``ent.kb_id_`` where present) and returns :class:`Stance` records.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from spacy.tokens import Doc, Span, Token

from jrtext.errors import JrtextError
from jrtext.settings import PROJECT_ROOT

Polarity = Literal["support", "oppose"]
ClauseRule = Literal["any", "deontic", "none"]

DEFAULT_CUES_PATH = PROJECT_ROOT / "corpus" / "kb" / "stance_cues.toml"
POLARITIES: tuple[Polarity, ...] = ("support", "oppose")
CLAUSE_RULES: tuple[ClauseRule, ...] = ("any", "deontic", "none")

# How far back a pronoun looks for its antecedent, in sentences before its own.
PRONOUN_WINDOW_SENTENCES = 3
_PERSON_PRONOUNS = frozenset({"he", "him", "his", "himself", "she", "her", "hers", "herself"})
_SINGULAR_PRONOUNS = frozenset({"it", "its", "itself"})
_PLURAL_PRONOUNS = frozenset({"they", "them", "their", "theirs", "themselves"})
_RELATIVE_PRONOUNS = frozenset({"who", "which", "that", "whom", "whose"})
_PAIR_WORDS = frozenset({"two", "both"})
_PERSON_HOLDER_NOUNS = frozenset({"leader", "president", "minister", "premier", "chancellor"})
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj"})


class StanceCuesError(JrtextError):
    """The stance cue lexicon (stance_cues.toml) is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Cue:
    """One cue word: its lemma, polarity and how it takes its target."""

    lemma: str
    polarity: Polarity
    preps: frozenset[str] = frozenset()
    particle: str | None = None
    clause: ClauseRule = "none"
    takes_object: bool = True
    note: str = ""


@dataclass(frozen=True, slots=True)
class StanceCues:
    """The cue lexicon, as loaded from ``stance_cues.toml`` (see the file's header)."""

    verbs: Mapping[str, tuple[Cue, ...]]
    verb_forms: Mapping[str, str]  # inflected form -> lemma, where the lemmatizer slips
    nouns: Mapping[str, Cue]
    adjectives: Mapping[str, Cue]
    carrier_verbs: frozenset[str]
    stance_nouns: frozenset[str]
    stance_noun_preps: frozenset[str]
    stance_modifiers: Mapping[str, Polarity]
    prefixes: Mapping[str, Polarity]
    frame_preps: Mapping[str, Polarity]
    holder_nouns: frozenset[str]
    holder_labels: frozenset[str]
    person_labels: frozenset[str]
    collective_labels: frozenset[str]
    deontic: frozenset[str]
    unasserted_marks: frozenset[str]


@dataclass(frozen=True, slots=True)
class Stance:
    """A holder's support for or opposition to a target, in one sentence of a document.

    ``start_char``/``end_char`` span the sentence (trimmed of white space) in ``doc.text``.
    ``holder_start``/``holder_end`` span the holder's mention in that sentence (the pronoun,
    for a resolved pronoun, while ``holder_text``/``holder_id`` are its antecedent's);
    ``target_start``/``target_end`` span the target phrase.
    """

    holder_text: str
    holder_id: str | None
    cue: str
    polarity: Polarity
    target_text: str
    target_id: str | None
    negated: bool
    start_char: int
    end_char: int
    holder_start: int
    holder_end: int
    target_start: int
    target_end: int


# --------------------------------------------------------------------------- loading


def load_cues(path: Path | None = None) -> StanceCues:
    """Read the cue lexicon; ``path`` defaults to ``corpus/kb/stance_cues.toml``."""
    path = path or DEFAULT_CUES_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StanceCuesError(f"{path}: cannot read the stance cues ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise StanceCuesError(f"{path}: not valid TOML: {exc}") from exc
    verbs: dict[str, list[Cue]] = {}
    for cue in _cues(data, "verbs", path):
        verbs.setdefault(cue.lemma, []).append(cue)
    return StanceCues(
        verbs={lemma: tuple(found) for lemma, found in verbs.items()},
        verb_forms={form: lemma for lemma in verbs for form in _inflections(lemma)},
        nouns={cue.lemma: cue for cue in _cues(data, "nouns", path)},
        adjectives={cue.lemma: cue for cue in _cues(data, "adjectives", path)},
        carrier_verbs=_words(data, "carrier_verbs", path),
        stance_nouns=_words(data, "stance_nouns", path),
        stance_noun_preps=_words(data, "stance_noun_preps", path),
        stance_modifiers=_polarities(data, "stance_modifiers", path),
        prefixes=_polarities(data, "prefixes", path),
        frame_preps=_polarities(data, "frame_preps", path),
        holder_nouns=_words(data, "holder_nouns", path),
        holder_labels=_words(data, "holder_labels", path, lower=False),
        person_labels=_words(data, "person_labels", path, lower=False),
        collective_labels=_words(data, "collective_labels", path, lower=False),
        deontic=_words(data, "deontic", path),
        unasserted_marks=_words(data, "unasserted_marks", path),
    )


def _inflections(lemma: str) -> set[str]:
    """Regular forms of a verb: the lemmatizer reads some as other words ("hoped" -> "hop")."""
    stem = lemma[:-1] if lemma.endswith("e") else lemma
    forms = {lemma, lemma + "s", lemma + "es", stem + "ed", stem + "ing"}
    if lemma.endswith("y") and len(lemma) > 2 and lemma[-2] not in "aeiou":
        forms |= {lemma[:-1] + "ies", lemma[:-1] + "ied"}
    return forms


_CUE_KEYS = frozenset({"lemma", "polarity", "preps", "particle", "clause", "object", "note"})


def _cues(data: dict, key: str, path: Path) -> list[Cue]:
    entries = data.get(key)
    if not isinstance(entries, list):
        raise StanceCuesError(f"{path}: `{key}` must be a list of {{ lemma, polarity }} tables")
    cues = []
    for n, entry in enumerate(entries, 1):
        where = f"{path}: {key}[{n}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("lemma"), str):
            raise StanceCuesError(f"{where}: needs a `lemma` string")
        unknown = set(entry) - _CUE_KEYS
        if unknown:
            raise StanceCuesError(f"{where} ({entry['lemma']}): unknown field {sorted(unknown)}")
        polarity = entry.get("polarity")
        if polarity not in POLARITIES:
            raise StanceCuesError(f"{where} ({entry['lemma']}): polarity must be support|oppose")
        clause = entry.get("clause", "none")
        if clause not in CLAUSE_RULES:
            raise StanceCuesError(f"{where} ({entry['lemma']}): clause must be any|deontic|none")
        preps = entry.get("preps", [])
        if not isinstance(preps, list) or not all(isinstance(p, str) for p in preps):
            raise StanceCuesError(f"{where} ({entry['lemma']}): preps must be a list of strings")
        particle = entry.get("particle")
        takes_object = entry.get("object", True)
        if not isinstance(takes_object, bool):
            raise StanceCuesError(f"{where} ({entry['lemma']}): object must be true or false")
        cues.append(
            Cue(
                lemma=entry["lemma"].lower(),
                polarity=cast(Polarity, polarity),
                preps=frozenset(p.lower() for p in preps),
                particle=particle.lower() if isinstance(particle, str) else None,
                clause=cast(ClauseRule, clause),
                takes_object=takes_object,
                note=str(entry.get("note", "")),
            )
        )
    return cues


def _words(data: dict, key: str, path: Path, *, lower: bool = True) -> frozenset[str]:
    words = data.get(key)
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise StanceCuesError(f"{path}: `{key}` must be a list of strings")
    return frozenset(w.lower() if lower else w for w in words)


def _polarities(data: dict, key: str, path: Path) -> dict[str, Polarity]:
    return {cue.lemma: cue.polarity for cue in _cues(data, key, path)}


# --------------------------------------------------------------------------- extraction


def extract_stances(doc: Doc, cues: StanceCues) -> list[Stance]:
    """Every stance the parse of ``doc`` attributes to a holder, in text order."""
    extractor = _Extractor(doc, cues)
    forms, lemmas = _cue_words(cues)
    found: dict[tuple, Stance] = {}
    for token in doc:
        # a token none of whose cue lookups can match yields nothing: skip the rules
        if token.lower_ not in forms and token.lemma_.lower() not in lemmas:
            continue
        for stance in extractor.stances_at(token):
            key = (
                stance.holder_id or stance.holder_text,
                stance.holder_start,
                stance.polarity,
                stance.target_start,
                stance.target_end,
            )
            found.setdefault(key, stance)
    return sorted(found.values(), key=lambda s: (s.start_char, s.target_start, s.holder_start))


def _cue_words(cues: StanceCues) -> tuple[frozenset[str], frozenset[str]]:
    """Every word form and lemma that a lookup of ``_Extractor.stances_at`` keys on: the
    forms (``token.lower_``) and lemmas (``token.lemma_.lower()``) a cue token must have."""
    forms = frozenset(cues.prefixes) | frozenset(cues.adjectives) | frozenset(cues.verb_forms)
    lemmas = (
        frozenset(cues.stance_nouns)
        | frozenset(cues.adjectives)
        | frozenset(cues.verbs)
        | frozenset(cues.nouns)
        | {key.rsplit(" ", 1)[-1] for key in cues.nouns}  # two-word cues end in the lemma
    )
    return forms, lemmas


@dataclass(frozen=True, slots=True)
class _Holder:
    text: str
    id: str | None
    start: int
    end: int
    negates: bool = False  # "no Soviet leader had been willing to ..."


@dataclass(frozen=True, slots=True)
class _Target:
    start: int  # token indices, end exclusive
    end: int
    head: Token
    polarity: Polarity
    negated: bool = False


def _flip(polarity: Polarity) -> Polarity:
    return "oppose" if polarity == "support" else "support"


def _compose(outer: Polarity, inner: Polarity) -> Polarity:
    """refuse (oppose) to accept (support) X = oppose X; agree (support) to reject X = oppose."""
    return outer if inner == "support" else _flip(outer)


class _Extractor:
    """The rules, with the per-document lookups they share (entities, sentence order)."""

    def __init__(self, doc: Doc, cues: StanceCues) -> None:
        self.doc = doc
        self.cues = cues
        self.ent_of: dict[int, Span] = {}
        for ent in doc.ents:
            for i in range(ent.start, ent.end):
                self.ent_of[i] = ent
        self.sent_starts = sorted({sent.start for sent in doc.sents})

    # ------------------------------------------------------------------ cue lookup

    def verb_cue(self, token: Token) -> Cue | None:
        if token.pos_ != "VERB" or token.dep_ == "amod":
            return None
        if token.tag_ == "VBN" and token.head.i > token.i and token.head.pos_ == "NOUN":
            return None  # "generally recognized human rights": an adjective
        lemma = token.lemma_.lower()
        if lemma not in self.cues.verbs:
            lemma = self.cues.verb_forms.get(token.lower_, lemma)
        variants = self.cues.verbs.get(lemma)
        if not variants:
            return None
        # "push back against": the parser gives the particle as prt, advmod or prep
        particles = {c.lower_ for c in token.children if c.dep_ in ("prt", "prep", "advmod")}
        has_prt = any(c.dep_ == "prt" for c in token.children)
        for cue in variants:
            if cue.particle and cue.particle in particles:
                return cue
        for cue in variants:
            if cue.particle is None and not has_prt:
                return cue
        return None

    def adjective_cue(self, token: Token) -> Cue | None:
        cue = self.cues.adjectives.get(token.lower_) or self.cues.adjectives.get(
            token.lemma_.lower()
        )
        if cue is None:
            return None
        predicative = token.dep_ in ("acomp", "oprd", "xcomp", "conj", "ccomp")
        if predicative and (token.pos_ == "ADJ" or token.tag_ == "VBN"):
            return cue
        # "Japan is opposed to X": a participle the parser reads as a passive verb
        children = list(token.children)
        passive = any(c.dep_ == "auxpass" for c in children)
        if token.tag_ == "VBN" and passive and not any(c.dep_ == "agent" for c in children):
            return cue
        return None

    def noun_cue(self, token: Token) -> Cue | None:
        if token.pos_ not in ("NOUN", "PROPN"):
            return None
        lemma = token.lemma_.lower()
        cue = self.cues.nouns.get(lemma)
        if cue is None:  # two-word cues: "good will"
            for child in token.children:
                if child.dep_ in ("amod", "compound") and child.i == token.i - 1:
                    cue = self.cues.nouns.get(f"{child.lower_} {lemma}")
        return cue

    def any_cue(self, token: Token) -> tuple[str, Cue] | None:
        adjective = self.adjective_cue(token)
        if adjective:
            return "adj", adjective
        verb = self.verb_cue(token)
        if verb:
            return "verb", verb
        noun = self.noun_cue(token)
        if noun:
            return "noun", noun
        return None

    # ------------------------------------------------------------------ entry point

    def stances_at(self, token: Token) -> list[Stance]:
        if token.lower_ in self.cues.prefixes:
            return self.prefix_stances(token)
        if token.pos_ == "NOUN" and token.lemma_.lower() in self.cues.stance_nouns:
            return self.frame_stances(token)
        found = self.any_cue(token)
        if found is None or self.is_embedded_cue(token):
            return []
        kind, cue = found
        if kind == "verb":
            holders = self.verb_holders(token)
        elif kind == "adj":
            holders = self.adjective_holders(token)
        else:
            holders = self.noun_holders(token)
        if not holders:
            return []
        targets = self.targets(token, kind, cue, cue.polarity)
        negated = self.is_negated(token, kind)
        return self.make(token, cue.lemma, holders, targets, negated)

    def make(
        self,
        cue_token: Token,
        lemma: str,
        holders: Iterable[_Holder],
        targets: Iterable[_Target],
        negated: bool,
    ) -> list[Stance]:
        sent = cue_token.sent
        text = sent.text
        start = sent.start_char + len(text) - len(text.lstrip())
        end = sent.start_char + len(text.rstrip())
        out = []
        targets = list(targets)
        for holder in holders:
            for target in targets:
                span = self.doc[target.start : target.end]
                is_negated = negated ^ target.negated ^ holder.negates
                polarity = _flip(target.polarity) if is_negated else target.polarity
                out.append(
                    Stance(
                        holder_text=holder.text,
                        holder_id=holder.id,
                        cue=lemma,
                        polarity=polarity,
                        target_text=span.text,
                        target_id=self.entity_id(target.head),
                        negated=is_negated,
                        start_char=start,
                        end_char=end,
                        holder_start=holder.start,
                        holder_end=holder.end,
                        target_start=span.start_char,
                        target_end=span.end_char,
                    )
                )
        return out

    # ------------------------------------------------------------------ holders

    def verb_holders(self, verb: Token) -> list[_Holder]:
        if verb.dep_ == "acl" and verb.tag_ == "VBN":  # "the plan rejected by Japan"
            return self.agent_holders(verb)
        if any(c.dep_ in ("nsubjpass", "auxpass") for c in verb.children):
            if self.is_blocked(verb):
                return []
            return self.agent_holders(verb)
        return self.clause_holders(verb, from_cue=True)

    def agent_holders(self, verb: Token) -> list[_Holder]:
        for child in verb.children:
            if child.dep_ == "agent":
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        return self.np_holders(pobj)
        return []

    def adjective_holders(self, adjective: Token) -> list[_Holder]:
        if adjective.tag_ == "VBN" and any(c.dep_ == "nsubjpass" for c in adjective.children):
            # "Japan is opposed to ...", parsed as a passive
            subjects = [c for c in adjective.children if c.dep_ == "nsubjpass"]
            if self.is_blocked(adjective) or not subjects:
                return []
            return self.np_holders(subjects[0])
        node = adjective
        while node.dep_ == "conj" and node.head.pos_ == "ADJ":
            node = node.head
        subjects = [c for c in node.children if c.dep_ == "nsubj"]
        if subjects:  # "Japan ready to talk" (small clause)
            return self.np_holders(subjects[0])
        if node.dep_ not in ("acomp", "oprd", "xcomp", "ccomp"):
            return []
        return self.clause_holders(node.head, from_cue=False)

    def clause_holders(
        self, predicate: Token, *, from_cue: bool, frame: bool = False
    ) -> list[_Holder]:
        """The subject that holds what ``predicate`` says, following control and coordination.

        Empty when nobody is asserted to hold it: advice (should/must), a hypothesis (if),
        an imperative, object control or a passive matrix ("expected to support"). Only a
        noun frame's clause takes the controlling object ("caused Japan to expand ... in the
        hope of X": Japan hopes), not a cue's ("enable the Organization to fulfil its
        mandate in promoting peace" does not say that the Organization promotes peace).
        """
        node = predicate
        first = from_cue
        for _ in range(12):
            if self.is_blocked(node) or (first and self.is_infinitive_with_subject(node)):
                return []
            subject = next((c for c in node.children if c.dep_ == "nsubj"), None)
            if subject is not None:
                if not first and subject.lower_ == "it" and node.lemma_ == "be":
                    return []  # "It is important to support X": an expletive
                return self.np_holders(subject)
            head = node.head
            if head is node:
                return []
            if node.dep_ == "xcomp":
                passive_subject = next((c for c in head.children if c.dep_ == "nsubjpass"), None)
                obj = next((c for c in head.children if c.dep_ in ("dobj", "obj")), None)
                if first and (passive_subject is not None or obj is not None):
                    return []  # "Japan is expected to support X", "urged Japan to accept X"
                if obj is not None:  # "caused Japan to expand ... in the hope of X"
                    return self.np_holders(obj) if frame else []
                if passive_subject is not None:
                    return self.np_holders(passive_subject) if frame else []
                if head.lemma_ in ("need", "have") and any(
                    c.dep_ == "aux" and c.lower_ == "to" for c in node.children
                ):
                    return []  # "Japan needs to accept X": advice
            elif node.dep_ == "advcl":
                if any(c.dep_ == "mark" for c in node.children):
                    return []
            elif node.dep_ in ("pcomp", "pobj"):
                head = head.head if head.dep_ == "prep" else head
            elif node.dep_ not in ("conj", "prep"):
                return []
            node = head
            first = False
        return []

    def is_infinitive_with_subject(self, node: Token) -> bool:
        """ "allow Ukrainians to agree", "wants Russia to return": not the subject's stance."""
        children = list(node.children)
        return any(c.dep_ == "aux" and c.lower_ == "to" for c in children) and any(
            c.dep_ in _SUBJECT_DEPS for c in children
        )

    def is_blocked(self, node: Token) -> bool:
        for child in node.children:
            if child.dep_ in ("aux", "auxpass") and child.lower_ in self.cues.deontic:
                return True
            if child.dep_ == "mark" and child.lower_ in self.cues.unasserted_marks:
                return True
        return False

    def noun_holders(self, noun: Token, *, modifiers: bool = True) -> list[_Holder]:
        for child in noun.children:
            if child.dep_ == "poss":
                return self.np_holders(child)
        for child in noun.children:
            if child.dep_ == "prep" and child.lower_ in ("from", "by"):
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        holders = self.np_holders(pobj)
                        if holders:
                            return holders
        for child in noun.children:
            if modifiers and child.dep_ in ("amod", "compound") and child.i in self.ent_of:
                holders = self.entity_holders(child)
                if holders:
                    return holders
        while noun.dep_ == "conj":
            noun = noun.head
        head = noun.head
        if noun.dep_ == "relcl" or head is noun:
            return []
        if noun.dep_ in ("dobj", "obj") and head.lemma_.lower() in self.cues.carrier_verbs:
            if self.any_cue(head) is not None:
                return []
            return self.clause_holders(head, from_cue=False, frame=True)
        if noun.dep_ == "pobj" and head.dep_ == "prep" and head.lower_ in ("in", "out"):
            # "in the hope(s) of/that", "in protest of", "in support of", "in favor of"; the
            # phrase may be attached to the verb's object ("attend the ceremony in protest")
            governor = head.head
            while governor.pos_ in ("NOUN", "PROPN") and governor.dep_ in ("dobj", "obj"):
                governor = governor.head
            return self.clause_holders(governor, from_cue=False, frame=True)
        if noun.dep_ in ("nsubj", "nsubjpass"):
            # "a demand (that is) shared by the public", "support was voiced by Japan"
            for verb in (head, *head.conjuncts):
                if verb.lemma_.lower() in self.cues.carrier_verbs:
                    holders = self.agent_holders(verb)
                    if holders:
                        return holders
        return []

    def np_holders(self, token: Token) -> list[_Holder]:
        """Holders named by the noun phrase headed by ``token`` and its conjuncts."""
        holders: list[_Holder] = []
        for head in (token, *token.conjuncts):
            negates = any(c.dep_ == "det" and c.lower_ in ("no", "neither") for c in head.children)
            holders.extend(
                _Holder(h.text, h.id, h.start, h.end, negates) if negates else h
                for h in self.holder(head)
            )
        return holders

    def holder(self, token: Token) -> list[_Holder]:
        lower = token.lower_
        if lower in _RELATIVE_PRONOUNS and token.head.dep_ == "relcl":
            antecedent = token.head.head
            if antecedent.dep_ == "pobj" and antecedent.head.head.dep_ == "attr":
                antecedent = antecedent.head.head  # "X is one of the countries that ..."
            if antecedent.dep_ == "attr" and antecedent.head.lemma_ == "be":
                # "China is the only country that pledges ...": the copula's subject
                subject = next((c for c in antecedent.head.children if c.dep_ == "nsubj"), None)
                if subject is not None:
                    return self.holder(subject)
            return self.holder(antecedent)
        if token.pos_ == "PRON":
            return self.resolve_pronoun(token)
        if lower in _PAIR_WORDS and token.dep_ in _SUBJECT_DEPS:
            return self.mention(token, self.resolve_pair(token, None))
        if token.i in self.ent_of:
            return self.entity_holders(token)
        for child in token.children:
            # "Russia's President Vladimir Putin and Japan's Prime Minister Shinzo Abe"
            if child.dep_ == "appos" and child.i in self.ent_of:
                holders = self.np_holders(child)
                if holders:
                    return holders
        if token.lemma_.lower() in self.cues.holder_nouns or lower in self.cues.holder_nouns:
            if token.tag_ in ("NNS", "NNPS") and any(
                c.lower_ in _PAIR_WORDS for c in token.children if c.dep_ in ("nummod", "det")
            ):
                wanted = (
                    self.cues.person_labels
                    if token.lemma_.lower() in _PERSON_HOLDER_NOUNS
                    else self.cues.collective_labels
                )
                return self.mention(token, self.resolve_pair(token, wanted))
            return [self.noun_phrase_holder(token)]
        return []

    def entity_holders(self, token: Token) -> list[_Holder]:
        ent = self.ent_of[token.i]
        if ent.label_ not in self.cues.holder_labels:
            return []
        return [_Holder(ent.text, ent.kb_id_ or None, ent.start_char, ent.end_char)]

    def noun_phrase_holder(self, token: Token) -> _Holder:
        """ "the Japanese government" -> japan; "many Western leaders" -> no id."""
        holder_id = None
        for child in token.children:
            if child.dep_ in ("amod", "compound", "poss", "nmod") and child.i in self.ent_of:
                ent = self.ent_of[child.i]
                if ent.label_ in self.cues.holder_labels and ent.kb_id_:
                    holder_id = ent.kb_id_
                    break
            if child.dep_ == "prep" and child.lower_ == "of":
                for pobj in child.children:
                    ent = self.ent_of.get(pobj.i)
                    if ent is not None and ent.label_ in self.cues.holder_labels and ent.kb_id_:
                        holder_id = ent.kb_id_
        start = token.left_edge.i
        span = self.doc[start : token.i + 1]
        return _Holder(span.text, holder_id, span.start_char, span.end_char)

    def mention(self, token: Token, antecedents: list[_Holder]) -> list[_Holder]:
        """Antecedents' names and ids at the mention's place in the sentence."""
        start = token.left_edge.i if token.pos_ != "PRON" else token.i
        span = self.doc[start : token.i + 1]
        return [_Holder(a.text, a.id, span.start_char, span.end_char) for a in antecedents]

    # ------------------------------------------------------------------ anaphora

    def window_start(self, token: Token) -> int:
        own = bisect_right(self.sent_starts, token.i) - 1
        return self.sent_starts[max(0, own - PRONOUN_WINDOW_SENTENCES)]

    def resolve_pronoun(self, pronoun: Token, depth: int = 0) -> list[_Holder]:
        lower = pronoun.lower_
        if lower in _PERSON_PRONOUNS:
            wanted: frozenset[str] | None = self.cues.person_labels
        elif lower in _SINGULAR_PRONOUNS:
            wanted = self.cues.collective_labels
        elif lower in _PLURAL_PRONOUNS:
            wanted = None
        else:
            return []  # I, we, you: the speaker is not resolved
        parallel = self.parallel_subject(pronoun)
        if parallel is not None:
            # "The treaty states ..., but it does not recognize ...": the subject of the
            # clause the pronoun's clause is coordinated with, actor or not
            if parallel.pos_ == "PRON":
                found = self.resolve_pronoun(parallel, depth + 1) if depth < 3 else []
                return self.mention(pronoun, found)
            return self.mention(pronoun, self.np_holders(parallel))
        found = self.antecedents(pronoun, wanted, plural=wanted is None, depth=depth)
        return self.mention(pronoun, found)

    def parallel_subject(self, pronoun: Token) -> Token | None:
        if pronoun.dep_ != "nsubj" or pronoun.head.dep_ != "conj":
            return None
        first = pronoun.head.head
        subject = next((c for c in first.children if c.dep_ == "nsubj"), None)
        if subject is None or subject.lower_ in _RELATIVE_PRONOUNS:
            return None
        if subject.pos_ == "PRON" and subject.lower_ not in (
            _PERSON_PRONOUNS | _SINGULAR_PRONOUNS | _PLURAL_PRONOUNS
        ):
            return None
        return subject

    def antecedents(
        self, pronoun: Token, wanted: frozenset[str] | None, *, plural: bool, depth: int
    ) -> list[_Holder]:
        """What a third-person pronoun refers to, if it is a holder.

        he/she: the nearest person, a subject first, then any mention. it/they: the nearest
        earlier subject that agrees in number decides; when that is not an actor ("the road
        map ... as it seeks"), the pronoun has no holder.
        """
        span = range(pronoun.i - 1, self.window_start(pronoun) - 1, -1)
        if wanted is self.cues.person_labels:
            for subjects_only in (True, False):
                for i in span:
                    token = self.doc[i]
                    if subjects_only and token.dep_ not in _SUBJECT_DEPS:
                        continue
                    ent = self.ent_of.get(i)
                    if ent is not None and ent.root == token and ent.label_ in wanted:
                        return [_Holder(ent.text, ent.kb_id_ or None, ent.start_char, ent.end_char)]
            return []
        for i in span:
            token = self.doc[i]
            if token.dep_ in _SUBJECT_DEPS:
                referent = self.subject_referent(token, plural, depth)
                if referent is not None:
                    return referent
        return []

    def subject_referent(self, token: Token, plural: bool, depth: int) -> list[_Holder] | None:
        """The holders a subject names, [] for a non-actor, None if it does not agree."""
        lower = token.lower_
        if lower in _RELATIVE_PRONOUNS and token.head.dep_ == "relcl":
            token = token.head.head
            lower = token.lower_
        if token.pos_ == "PRON":
            agrees = lower in (_PLURAL_PRONOUNS if plural else _SINGULAR_PRONOUNS)
            if not agrees:
                return None  # I, we, you, or the other number
            return self.resolve_pronoun(token, depth + 1) if depth < 3 else []
        if lower in _PAIR_WORDS:
            return self.resolve_pair(token, None) if plural else None
        if token.conjuncts:
            if not plural:
                return None
            group = self.np_holders(token)
            return group if len(group) >= 2 else []
        ent = self.ent_of.get(token.i)
        if ent is not None:
            if ent.label_ in self.cues.person_labels:
                return None
            # a state or organisation is "it" or, as a government, "they"
            return self.entity_holders(token)
        if (token.tag_ in ("NNS", "NNPS")) != plural:
            return None
        return self.holder(token) if token.pos_ in ("NOUN", "PROPN") else []

    def resolve_pair(self, token: Token, wanted: frozenset[str] | None) -> list[_Holder]:
        """ "the two leaders", "both sides": the nearest earlier pair of actors.

        A coordinated pair ("Abe and Putin") or a group of two already resolved ("they"),
        else the two nearest distinct actors of the wanted kind ("Putin met Abe").
        """
        start = self.window_start(token)
        for i in range(token.i - 1, start - 1, -1):
            candidate = self.doc[i]
            if candidate.dep_ in _SUBJECT_DEPS and candidate.pos_ == "PRON":
                group = self.resolve_pronoun(candidate, 1)
                if len(group) == 2:
                    return group
                continue
            if candidate.dep_ in _SUBJECT_DEPS and candidate.lower_ in _PAIR_WORDS:
                group = self.resolve_pair(candidate, wanted)
                if group:
                    return group
                continue
            if candidate.dep_ == "conj" or len(candidate.conjuncts) != 1:
                continue
            pair = [candidate, candidate.conjuncts[0]]
            ents = [self.ent_of.get(t.i) for t in pair]
            if all(
                e is not None and e.root == t and e.label_ in (wanted or self.cues.holder_labels)
                for e, t in zip(ents, pair, strict=True)
            ):
                return [
                    _Holder(e.text, e.kb_id_ or None, e.start_char, e.end_char)
                    for e in ents
                    if e is not None
                ]
        nearest: dict[str, _Holder] = {}
        for i in range(token.i - 1, start - 1, -1):
            ent = self.ent_of.get(i)
            if ent is None or ent.root.i != i or not ent.kb_id_:
                continue
            if ent.label_ in (wanted or self.cues.holder_labels):
                nearest.setdefault(
                    ent.kb_id_, _Holder(ent.text, ent.kb_id_, ent.start_char, ent.end_char)
                )
                if len(nearest) == 2:
                    return list(nearest.values())
        return []

    # ------------------------------------------------------------------ targets

    def is_embedded_cue(self, token: Token) -> bool:
        """A cue in the infinitive of another cue is read through the outer one.

        "refused to accept X", "willingness to accept X", "proposes starting X"; not a
        participle that modifies a noun cue ("a protest demanding X" is read on its own).
        """
        if token.dep_ == "xcomp" or (token.dep_ == "acl" and self.is_to_infinitive(token)):
            return self.any_cue(token.head) is not None
        if token.dep_ in ("ccomp", "acl"):
            # "We hope that the Assembly will support X": hoped for, proposed or demanded,
            # not asserted; the outer cue's target is the clause
            outer = self.any_cue(token.head)
            return outer is not None and outer[1].clause != "none"
        return False

    def targets(self, cue_token: Token, kind: str, cue: Cue, polarity: Polarity) -> list[_Target]:
        found = self.raw_targets(cue_token, kind, cue, polarity)
        # a target is a thing, an action or a proposition: not "much more", not "very", not
        # a piece of a hyphenated word the parser split ("the non" of "non-proliferation")
        return [
            t
            for t in found
            if t.head.pos_ not in ("ADJ", "ADV", "ADP", "PART", "PUNCT")
            and t.head.tag_ not in ("WP", "WDT")  # "bicker over what they agreed upon"
            and t.head.is_alpha
            and not self.before_hyphen(t.end)
        ]

    def before_hyphen(self, end: int) -> bool:
        doc = self.doc
        return end < len(doc) and doc[end].text == "-" and not doc[end - 1].whitespace_

    def raw_targets(
        self, cue_token: Token, kind: str, cue: Cue, polarity: Polarity
    ) -> list[_Target]:
        found: list[_Target] = []
        children = list(cue_token.children)
        if kind == "verb":
            if cue_token.dep_ == "acl" and cue_token.tag_ == "VBN":
                return [self.phrase_target(cue_token.head, polarity)]
            passive = [c for c in children if c.dep_ == "nsubjpass"]
            if passive:
                return [
                    self.phrase_target(t, polarity) for t in (passive[0], *passive[0].conjuncts)
                ]
            objects = [
                c
                for c in children
                if c.dep_ in ("dobj", "obj") and not self.is_list_marker(c) and cue.takes_object
            ]
            xcomps = [c for c in children if c.dep_ == "xcomp"]
            for obj in objects:
                if obj.lower_ in _RELATIVE_PRONOUNS and cue_token.dep_ == "relcl":
                    found.append(self.phrase_target(cue_token.head, polarity, drop_relcl=True))
                    continue
                if xcomps:  # "urged Japan to accept X": the urged action
                    if self.any_cue(xcomps[0]) is not None:  # "urged Japan to reject X"
                        found.extend(self.complement_targets(xcomps[0], polarity))
                        continue
                    span = self.doc[obj.left_edge.i : xcomps[0].right_edge.i + 1]
                    found.append(_Target(span.start, span.end, xcomps[0], polarity))
                    continue
                found.extend(self.phrase_target(t, polarity) for t in (obj, *obj.conjuncts))
            if not objects:
                for xcomp in xcomps:
                    found.extend(self.complement_targets(xcomp, polarity))
            if (
                not found
                and cue_token.dep_ == "relcl"
                and not any(c.dep_ in ("prep", "ccomp") for c in children)
            ):  # "the norms Japan upholds"
                found.append(self.phrase_target(cue_token.head, polarity, drop_relcl=True))
            if cue.clause == "deontic" and not found:
                # gerund complements the parser reads as adverbial: "recommends resolving X"
                for child in children:
                    if (
                        child.dep_ == "advcl"
                        and child.tag_ == "VBG"
                        and not any(c.dep_ in ("mark", "nsubj") for c in child.children)
                    ):
                        found.extend(
                            self.phrase_target(t, polarity) for t in (child, *child.conjuncts)
                        )
        else:
            for child in children:
                if (child.dep_ == "xcomp" and self.is_infinitive(child)) or (
                    child.dep_ == "acl" and self.is_to_infinitive(child)
                ):
                    found.extend(self.complement_targets(child, polarity))
        # a verb's preposition gives the target when nothing closer does ("wish to end the
        # strife for their own purposes"), or always for a phrasal verb ("call for X")
        if kind != "verb" or cue.particle is not None or not found:
            for child in children:
                if child.dep_ == "prep" and child.lower_ in cue.preps:
                    found.extend(self.prep_targets(child, polarity))
        if cue.clause != "none":
            for child in children:
                if child.dep_ == "ccomp" or (child.dep_ == "acl" and not self.is_infinitive(child)):
                    for clause in (child, *child.conjuncts):
                        if cue.clause == "any" or self.is_deontic_clause(clause):
                            found.append(self.clause_target(clause, polarity))
        return found

    def is_list_marker(self, token: Token) -> bool:
        """An item marker ("1)", "2.", "(a)") that the parser may take for an object."""
        following = self.doc[token.i + 1] if token.i + 1 < len(self.doc) else None
        short = token.like_num or (token.is_alpha and len(token) == 1)
        return short and following is not None and following.text in (")", ".")

    def is_infinitive(self, token: Token) -> bool:
        if token.tag_ == "VBG" and not any(c.dep_ == "nsubj" for c in token.children):
            return True
        return self.is_to_infinitive(token)

    def is_to_infinitive(self, token: Token) -> bool:
        return token.tag_ == "VB" and any(
            c.dep_ == "aux" and c.lower_ == "to" for c in token.children
        )

    def complement_targets(self, verb: Token, outer: Polarity) -> list[_Target]:
        """The infinitive's action, or, when it is itself a cue, what that cue targets."""
        out: list[_Target] = []
        for conjunct in (verb, *verb.conjuncts):
            found = self.any_cue(conjunct)
            if found is not None:
                kind, cue = found
                inner = self.targets(conjunct, kind, cue, _compose(outer, cue.polarity))
                if inner:
                    negated = self.is_negated(conjunct, kind)
                    out.extend(
                        _Target(t.start, t.end, t.head, t.polarity, t.negated != negated)
                        for t in inner
                    )
                    continue
            out.append(self.phrase_target(conjunct, outer))
        return out

    def prep_targets(self, prep: Token, polarity: Polarity) -> list[_Target]:
        out: list[_Target] = []
        for child in prep.children:
            if child.dep_ == "pobj":
                out.extend(self.phrase_target(t, polarity) for t in (child, *child.conjuncts))
            elif child.dep_ == "pcomp":
                out.extend(self.complement_targets(child, polarity))
        return out

    def phrase_target(
        self, head: Token, polarity: Polarity, *, drop_relcl: bool = False
    ) -> _Target:
        skipped: set[int] = set()
        for child in head.children:
            if child.dep_ in ("conj", "cc", "preconj") or (drop_relcl and child.dep_ == "relcl"):
                skipped.update(t.i for t in child.subtree)
            if child.dep_ == "punct" and any(
                c.dep_ == "conj" and c.i > child.i for c in head.children
            ):
                skipped.add(child.i)
        kept = [t.i for t in head.subtree if t.i not in skipped]
        return self.trimmed(min(kept), max(kept) + 1, head, polarity)

    def clause_target(self, verb: Token, polarity: Polarity) -> _Target:
        skipped: set[int] = set()
        for child in verb.children:
            if child.dep_ in ("conj", "cc"):
                skipped.update(t.i for t in child.subtree)
        kept = [t.i for t in verb.subtree if t.i not in skipped]
        return self.trimmed(min(kept), max(kept) + 1, verb, polarity)

    def trimmed(self, start: int, end: int, head: Token, polarity: Polarity) -> _Target:
        doc = self.doc
        while start > 1 and doc[start - 1].text == "-" and not doc[start - 2].whitespace_:
            start -= 2  # "co-operation": the parser's head is the part after the hyphen
        while start < head.i and (
            doc[start].is_punct or doc[start].dep_ in ("mark", "cc") or doc[start].lower_ == "to"
        ):
            start += 1
        while end - 1 > head.i and (doc[end - 1].is_punct or doc[end - 1].is_space):
            end -= 1
        return _Target(start, end, head, polarity)

    def is_deontic_clause(self, verb: Token) -> bool:
        if any(
            c.dep_ in ("aux", "auxpass") and c.lower_ in self.cues.deontic for c in verb.children
        ):
            return True
        # bare subjunctive: "demanded that Russia return the islands"; an infinitive with
        # its own subject: "wants Russia to return the islands"
        has_subject = any(c.dep_ in _SUBJECT_DEPS for c in verb.children)
        has_aux = any(c.dep_ in ("aux", "auxpass") and c.lower_ != "to" for c in verb.children)
        return verb.tag_ == "VB" and has_subject and not has_aux

    # ------------------------------------------------------------------ negation

    def is_negated(self, token: Token, kind: str) -> bool:
        nodes = [token]
        if kind == "adj" and token.dep_ in ("acomp", "oprd", "xcomp"):
            nodes.append(token.head)
        if kind == "noun":
            if any(c.dep_ == "det" and c.lower_ == "no" for c in token.children):
                return True
            if token.dep_ in ("dobj", "obj"):
                nodes.append(token.head)
        for node in nodes:
            for child in node.children:
                if child.dep_ == "neg":
                    following = self.doc[child.i + 1] if child.i + 1 < len(self.doc) else None
                    if following is None or following.lower_ != "only":
                        return True
        return False

    # ------------------------------------------------------------------ frames

    def frame_stances(self, noun: Token) -> list[Stance]:
        """ "a stance against X", "a tough stance on X", "X's position is that Y should ..."."""
        targets: list[_Target] = []
        modifier = next(
            (
                self.cues.stance_modifiers[c.lemma_.lower()]
                for c in noun.children
                if c.dep_ == "amod" and c.lemma_.lower() in self.cues.stance_modifiers
            ),
            None,
        )
        owner = noun
        while owner.dep_ == "conj":
            owner = owner.head
        preps = [c for c in noun.children if c.dep_ == "prep"]
        if owner.dep_ in ("dobj", "obj") and owner.head.lemma_.lower() in self.cues.carrier_verbs:
            # "share the same stance on X, often against Y": the parser may attach to the verb
            preps += [c for c in owner.head.children if c.dep_ == "prep" and c.i > noun.i]
        for prep in preps:
            lower = prep.lower_
            if lower in self.cues.frame_preps:
                targets.extend(self.prep_targets(prep, self.cues.frame_preps[lower]))
            elif modifier is not None and lower in self.cues.stance_noun_preps:
                targets.extend(self.prep_targets(prep, modifier))
        if noun.dep_ == "nsubj" and noun.head.lemma_ == "be":
            for child in noun.head.children:
                if child.dep_ in ("ccomp", "attr") and child.pos_ in ("VERB", "AUX"):
                    for clause in (child, *child.conjuncts):
                        if self.is_deontic_clause(clause):
                            targets.append(self.clause_target(clause, "support"))
        if not targets:
            return []
        holders = self.noun_holders(noun)
        return self.make(noun, noun.lemma_.lower(), holders, targets, self.is_negated(noun, "noun"))

    def prefix_stances(self, prefix: Token) -> list[Stance]:
        """ "an anti-Japan stance", "pro-Western views": the prefix's object and its holder."""
        doc = self.doc
        polarity = self.cues.prefixes[prefix.lower_]
        first = prefix.i + 2
        if first >= len(doc) or doc[prefix.i + 1].text not in ("-", "‐") or not doc[first].is_alpha:
            return []
        end = first + 1
        while end < len(doc) and doc[end].is_alpha and doc[end - 1].whitespace_:
            # the phrase's own head noun ("stance" of "anti-Japan stance") is not the object
            if (
                end == self.phrase_head(doc[first]).i
                or doc[end].lemma_.lower() in self.cues.stance_nouns
            ):
                break
            end += 1
        target = _Target(first, end, doc[end - 1], polarity)
        # not a modifier: "Cuban anti-terrorist fighters" are not Cuba's stance
        holders = self.noun_holders(self.phrase_owner(doc[first]), modifiers=False)
        return self.make(prefix, prefix.lower_, holders, [target], False)

    def phrase_head(self, token: Token) -> Token:
        node = token
        while node.dep_ in ("amod", "compound", "nmod") and node.head.i > node.i:
            node = node.head
        return node

    def phrase_owner(self, token: Token) -> Token:
        """The noun heading the whole phrase: the one a verb, possessor or clause governs."""
        node = token
        for _ in range(8):
            if node.dep_ in ("amod", "compound", "nmod", "npadvmod", "punct", "conj", "appos"):
                node = node.head
            else:
                break
        return node

    # ------------------------------------------------------------------ ids

    def entity_id(self, token: Token) -> str | None:
        ent = self.ent_of.get(token.i)
        return (ent.kb_id_ or None) if ent is not None else None


__all__ = [
    "DEFAULT_CUES_PATH",
    "Cue",
    "Stance",
    "StanceCues",
    "StanceCuesError",
    "extract_stances",
    "load_cues",
]
