"""Attributed stances: each construction on short sentences of our own, the cue lexicon, the
scorer, the gold file, and the quality gate on the chapter (real spaCy model, real entity
linker)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from jrtext.eval_stances import (
    DEFAULT_GOLD,
    GoldStance,
    main,
    read_gold,
    score_stances,
)
from jrtext.stance import Stance, StanceCuesError, extract_stances, load_cues

# The gate's floors, pinned with the others in tests/quality_floors.json.
_FLOORS = json.loads(Path(__file__).with_name("quality_floors.json").read_text())["stances"]
PRECISION_FLOOR = _FLOORS["precision"]
RECALL_FLOOR = _FLOORS["recall"]


@pytest.fixture(scope="module")
def domain_nlp():
    """A fresh pipeline with the domain entity linker (the cached one is left alone)."""
    from jrtext.eval_stances import domain_pipeline

    return domain_pipeline()


@pytest.fixture(scope="module")
def cues():
    return load_cues()


@pytest.fixture
def stances(domain_nlp, cues):
    def run(text: str) -> list[Stance]:
        return extract_stances(domain_nlp(text), cues)

    return run


@pytest.fixture
def triples(stances):
    """(holder, polarity, target) with ids where there are ids, else the texts."""

    def run(text: str) -> set[tuple[str, str, str]]:
        return {
            (s.holder_id or s.holder_text, s.polarity, s.target_id or s.target_text)
            for s in stances(text)
        }

    return run


# --------------------------------------------------------------------------- voice


def test_active_voice(stances):
    (stance,) = stances("Japan rejected the Russian proposal.")
    assert (stance.holder_id, stance.cue, stance.polarity) == ("japan", "reject", "oppose")
    assert stance.target_text == "the Russian proposal"
    assert not stance.negated


def test_passive_voice_holder_is_the_agent(triples):
    assert triples("The proposal was rejected by Japan.") == {("japan", "oppose", "The proposal")}


def test_offsets_point_into_the_text(stances):
    text = "Trade grew. Japan strongly opposes the militarization of the islands."
    (stance,) = stances(text)
    assert text[stance.start_char : stance.end_char] == text[12:]
    assert text[stance.holder_start : stance.holder_end] == "Japan"
    assert text[stance.target_start : stance.target_end] == stance.target_text
    assert stance.target_text == "the militarization of the islands"


# --------------------------------------------------------------------------- negation


def test_negation_flips_polarity(stances):
    (stance,) = stances("Russia did not accept the Japanese plan for joint development.")
    assert (stance.holder_id, stance.polarity, stance.negated) == ("russia", "oppose", True)
    assert stance.cue == "accept"


def test_negated_noun_and_adjective(triples):
    assert triples("Japan has no objection to the plan.") == {("japan", "support", "the plan")}
    assert triples("Tokyo is not opposed to joint economic activities on the islands.") == {
        ("japan", "support", "joint economic activities on the islands")
    }


def test_a_negative_holder_negates(stances):
    (stance,) = stances("No Soviet leader had been willing to discuss the islands.")
    assert (stance.holder_text, stance.polarity, stance.negated) == (
        "No Soviet leader",
        "oppose",
        True,
    )


def test_not_only_is_not_negation(stances):
    found = stances("Japan supports not only the talks but also the exchanges.")
    assert found and all(s.polarity == "support" and not s.negated for s in found)


# --------------------------------------------------------------------------- reported speech


def test_reported_speech_the_embedded_subject_holds_the_stance(triples):
    found = triples("Lavrov said that Russia recognized the 1956 Joint Declaration.")
    assert found == {("russia", "support", "joint_declaration_1956")}


def test_pronoun_inside_reported_speech(triples):
    assert triples("Putin said that he was favorable toward a compromise.") == {
        ("putin", "support", "a compromise")
    }


# --------------------------------------------------------------------------- nouns, adjectives


def test_nominal_cues(triples):
    assert triples("Japan's opposition to the deployment of missiles remains firm.") == {
        ("japan", "oppose", "the deployment of missiles")
    }
    assert triples("Tokyo expressed support for the peace treaty.") == {
        ("japan", "support", "the peace treaty")
    }
    assert ("Many Western leaders", "oppose", "the annexation") in triples(
        "Many Western leaders refused to attend the ceremony in protest of the annexation."
    )
    assert ("japan", "support", "improving relations") in triples(
        "Japan, in the hope of improving relations, welcomed the visit."
    )


def test_aid_is_not_a_stance(stances):
    assert stances("Japan provided technical and financial support in areas such as health.") == []


def test_predicative_adjectives(triples):
    assert triples("Russia is ready to negotiate with Japan.") == {
        ("russia", "support", "negotiate with Japan")
    }
    assert triples("The Japanese government has been reluctant to impose sanctions.") == {
        ("japan", "oppose", "impose sanctions")
    }
    assert triples("The Japanese public is strongly opposed to any compromise.") == {
        ("The Japanese public", "oppose", "any compromise")
    }


def test_stance_frames(triples):
    assert triples("China maintains a stance against Japan.") == {("china", "oppose", "japan")}
    assert triples("Russia, which holds an anti-NATO stance, deepened its ties with China.") == {
        ("russia", "oppose", "nato")
    }
    assert triples("Russia's position is that Japan should accept the 1956 Declaration.") == {
        ("russia", "support", "Japan should accept the 1956 Declaration")
    }


# --------------------------------------------------------------------------- complements


def test_xcomp_chains_compose(stances):
    (stance,) = stances("Japan refused to accept the offer.")
    assert (stance.holder_id, stance.polarity, stance.target_text) == (
        "japan",
        "oppose",
        "the offer",
    )
    (stance,) = stances("The United States urged Japan to reject the deal.")
    assert (stance.holder_id, stance.polarity, stance.target_text) == (
        "united_states",
        "oppose",
        "the deal",
    )


def test_infinitive_target(triples):
    assert triples("Japan agreed to continue the negotiations.") == {
        ("japan", "support", "continue the negotiations")
    }
    assert triples("The Soviet Union declined to discuss the territorial issue.") == {
        ("russia", "oppose", "discuss the territorial issue")
    }


def test_proposals_and_demands_take_clauses(triples):
    assert triples("Abe suggested that the dispute should be settled through talks.") == {
        ("abe", "support", "the dispute should be settled through talks")
    }
    assert triples("Koizumi demanded that Russia return all four islands.") == {
        ("koizumi", "support", "Russia return all four islands")
    }
    assert triples("Japan wants Russia to return the islands.") == {
        ("japan", "support", "Russia to return the islands")
    }


def test_phrasal_verbs(triples):
    assert triples("China and Russia push back against the United States.") == {
        ("china", "oppose", "united_states"),
        ("russia", "oppose", "united_states"),
    }
    assert triples("Japan called for the return of the islands.") == {
        ("japan", "support", "the return of the islands")
    }


# --------------------------------------------------------------------------- coordination


def test_coordinated_holders_and_targets(triples):
    assert triples("Japan and China criticized the plan and the visit.") == {
        ("japan", "oppose", "the plan"),
        ("china", "oppose", "the plan"),
        ("japan", "oppose", "the visit"),
        ("china", "oppose", "the visit"),
    }


def test_coordinated_clauses_keep_their_own_subjects(triples):
    assert triples(
        "Abe hoped to sign a peace treaty with Russia, but Putin was unwilling to return "
        "the islands."
    ) == {
        ("abe", "support", "sign a peace treaty with Russia"),
        ("putin", "oppose", "return the islands"),
    }


def test_participle_takes_the_main_subject(triples):
    assert triples(
        "Japan and Russia softened their positions, agreeing upon a plan for talks."
    ) == {("japan", "support", "a plan for talks"), ("russia", "support", "a plan for talks")}


# --------------------------------------------------------------------------- pronouns


def test_he_resolves_to_the_last_person(stances):
    text = "Putin met reporters in Moscow. He rejected the Japanese proposal."
    (stance,) = stances(text)
    assert (stance.holder_id, stance.holder_text, stance.polarity) == ("putin", "Putin", "oppose")
    assert text[stance.holder_start : stance.holder_end] == "He"


def test_they_resolves_to_a_coordinated_subject(triples):
    assert triples("Japan and Russia held talks in Tokyo. They agreed on a new framework.") == {
        ("japan", "support", "a new framework"),
        ("russia", "support", "a new framework"),
    }


def test_it_resolves_to_a_state_or_government(triples):
    assert triples("The Japanese government issued a statement. It welcomed the agreement.") == {
        ("japan", "support", "the agreement")
    }
    assert triples("The Japanese government demonstrated its willingness to accept the offer.") == {
        ("japan", "support", "the offer")
    }


def test_the_two_leaders_resolve_to_a_pair(triples):
    assert triples("Putin met Abe in Sochi. The two leaders agreed to resume the talks.") == {
        ("putin", "support", "resume the talks"),
        ("abe", "support", "resume the talks"),
    }


def test_we_is_not_resolved(stances):
    assert stances("We support the proposal.") == []


# --------------------------------------------------------------------------- not stances


@pytest.mark.parametrize(
    "text",
    [
        "Japan should support the plan.",  # advice
        "Japan must accept the compromise.",
        "If Russia accepted the plan, talks would resume.",  # hypothesis
        "Japan is expected by the US to support its ally.",  # passive matrix
        "It was not easy for the Soviet leaders to accept the integration.",  # for-to
        "This suggested that the islands might be returned.",  # a claim, no actor
        "They insist that they made the peace in the region.",  # a claim
        "The Tokyo Declaration recognized the 1956 Joint Declaration.",  # a document
        "Japanese exports declined in 2014.",  # no holder, no target
        "Those States violate generally recognized human rights.",  # a participle
        "The reforms enable the Council to fulfil its mandate in promoting peace.",  # control
        "The road map keeps the deadline in view as it seeks to meet the goals.",  # "it"
        "Create a flexible policy and support the talks.",  # imperative
    ],
)
def test_not_a_stance(stances, text):
    assert stances(text) == []


def test_hoped_for_stance_is_not_asserted(triples):
    found = triples("Japan hopes that the Assembly will support the initiative.")
    assert {holder for holder, _, _ in found} == {"japan"}


# --------------------------------------------------------------------------- cue lexicon


def test_cue_lexicon_loads(cues):
    assert cues.verbs["reject"][0].polarity == "oppose"
    assert cues.verbs["support"][0].polarity == "support"
    assert cues.nouns["opposition"].polarity == "oppose"
    assert "against" in cues.frame_preps
    assert {"call"} <= set(cues.verbs)
    assert cues.verb_forms["hoped"] == "hope"  # the lemmatizer reads "hoped" as "hop"


def test_cue_lexicon_errors_are_specific(tmp_path: Path):
    bad = tmp_path / "cues.toml"
    bad.write_text('verbs = [ { lemma = "reject", polarity = "against" } ]\n')
    with pytest.raises(StanceCuesError, match=r"verbs\[1\] \(reject\): polarity"):
        load_cues(bad)
    bad.write_text("verbs = [")
    with pytest.raises(StanceCuesError, match="not valid TOML"):
        load_cues(bad)
    with pytest.raises(StanceCuesError, match="cannot read"):
        load_cues(tmp_path / "missing.toml")


# --------------------------------------------------------------------------- scoring


def _stance(holder_id, polarity, target_id, target=(50, 60), holder=(10, 15), sent=(0, 100)):
    return Stance(
        holder_text="x",
        holder_id=holder_id,
        cue="support",
        polarity=polarity,
        target_text="y",
        target_id=target_id,
        negated=False,
        start_char=sent[0],
        end_char=sent[1],
        holder_start=holder[0],
        holder_end=holder[1],
        target_start=target[0],
        target_end=target[1],
    )


def _gold(holder_id, polarity, target_id, target=(50, 60), holder=(10, 15), sent=(0, 100)):
    return GoldStance(
        doc="d",
        sent_start=sent[0],
        sent_end=sent[1],
        holder_id=holder_id,
        holder_start=holder[0],
        holder_end=holder[1],
        polarity=polarity,
        target_id=target_id,
        target_key="y",
        target_start=target[0],
        target_end=target[1],
    )


def test_scoring_matches_ids_or_spans():
    gold = [
        _gold("japan", "oppose", "russia"),  # ids on both sides
        _gold("japan", "support", None, target=(70, 80)),  # span target
        _gold(None, "oppose", None, holder=(20, 25)),  # holder without id: by span
    ]
    predicted = [
        _stance("japan", "oppose", "russia", target=(0, 5)),  # ids equal: spans irrelevant
        _stance("japan", "support", "kunashiri", target=(75, 90)),  # no gold id: overlap
        _stance("putin", "oppose", None, holder=(22, 24)),  # gold holder has no id: overlap
        _stance("japan", "oppose", "china"),  # ids differ
        _stance("japan", "oppose", "russia", sent=(200, 300)),  # another sentence
    ]
    scores = score_stances(gold, predicted)
    assert scores.matched == ((0, 0), (1, 1), (2, 2))
    assert scores.precision == pytest.approx(3 / 5)
    assert scores.recall == 1.0
    assert scores.last_line() == "stance_precision=0.600 stance_recall=1.000 n_gold=3"


def test_scoring_is_one_to_one():
    gold = [_gold("japan", "oppose", None), _gold("japan", "oppose", None)]
    scores = score_stances(gold, [_stance("japan", "oppose", None)])
    assert (scores.precision, scores.recall) == (1.0, 0.5)
    assert (
        score_stances([], []).last_line() == "stance_precision=0.000 stance_recall=0.000 n_gold=0"
    )


# --------------------------------------------------------------------------- gold and gate


def test_gold_file_is_well_formed(corpus):
    from jrtext.kb import load_kb
    from jrtext.nlp import sentence_spans

    kb_ids = set(load_kb().entities)
    rows = [json.loads(line) for line in DEFAULT_GOLD.read_text().splitlines() if line.strip()]
    gold = read_gold(DEFAULT_GOLD)
    assert len(rows) == len(gold) > 0
    texts = {row["doc"]: (corpus / row["doc"]).read_text(encoding="utf-8") for row in rows}
    sentences = {
        doc: {(s.start_char, s.end_char) for s in sentence_spans(t)} for doc, t in texts.items()
    }
    for row, g in zip(rows, gold, strict=True):
        text = texts[g.doc]
        sentence = text[g.sent_start : g.sent_end]
        assert hashlib.sha256(sentence.encode()).hexdigest() == row["sha256"]
        assert (g.sent_start, g.sent_end) in sentences[g.doc], "not a pipeline sentence"
        assert g.polarity in ("support", "oppose")
        assert g.sent_start <= g.target_start < g.target_end <= g.sent_end
        if g.holder_start is not None:
            assert g.sent_start <= g.holder_start < g.holder_end <= g.sent_end
        for entity_id in (g.holder_id, g.target_id):
            assert entity_id is None or entity_id in kb_ids, entity_id
        assert 1 <= len(g.target_key.split()) <= 5


def test_chapter_stances_meet_the_floors(domain_nlp, capsys):
    assert main([]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    found = re.fullmatch(
        r"stance_precision=(\d\.\d{3}) stance_recall=(\d\.\d{3}) n_gold=(\d+)", last
    )
    assert found, last
    precision, recall, n_gold = float(found[1]), float(found[2]), int(found[3])
    assert n_gold == len(read_gold(DEFAULT_GOLD))
    assert precision >= PRECISION_FLOOR, last
    assert recall >= RECALL_FLOOR, last
