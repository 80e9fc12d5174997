"""Domain entities: knowledge-base names linked in context and merged into spaCy's ents.

One fresh pipeline for the module (built from ``base_pipeline()``, so the project's cached
``load_pipeline()`` is never changed), the real spaCy model and the real knowledge base; the
chapter evaluation is the quality gate.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest

from jrtext import eval_entities
from jrtext.entities import LINKER_NAME, MATCHER_NAME, add_domain_components
from jrtext.eval_entities import (
    DEFAULT_GOLD,
    Mention,
    load_gold,
    predict_mentions,
    score_entities,
)
from jrtext.kb import load_kb
from jrtext.nlp import base_pipeline, doc_to_annotation, load_pipeline
from tests.conftest import CHAPTER, CORPUS

_FLOORS = json.loads(Path(__file__).with_name("quality_floors.json").read_text())["entities"]
PRECISION_FLOOR = _FLOORS["precision"]
RECALL_FLOOR = _FLOORS["recall"]


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def nlp(kb):
    pipeline = base_pipeline()
    add_domain_components(pipeline, kb)
    return pipeline


def linked(nlp, text: str) -> list[tuple[str, str, str]]:
    return [(e.text, e.label_, e.kb_id_) for e in nlp(text).ents if e.kb_id_]


def test_components_run_after_ner_in_the_projects_pipeline():
    names = load_pipeline().pipe_names
    assert names.index("ner") < names.index(MATCHER_NAME) < names.index(LINKER_NAME)
    assert names.index("line_breaks_split_sentences") < names.index("parser")
    assert MATCHER_NAME not in base_pipeline().pipe_names


# text -> the linked mentions, each "surface LABEL kb_id"
LINKING_CASES = [
    ("Prime Minister Abe met Putin.", ["Abe PERSON abe", "Putin PERSON putin"]),
    ("Shinzo Abe spoke.", ["Shinzo Abe PERSON abe"]),
    ("Mr. Abe said no.", ["Abe PERSON abe"]),
    ("Putin's visit was postponed.", ["Putin PERSON putin"]),
    ("Putin’s visit was postponed.", ["Putin PERSON putin"]),
    ("Mikhail S. Gorbachev came.", ["Mikhail S. Gorbachev PERSON gorbachev"]),
    ("The Soviet Union collapsed.", ["Soviet Union STATE russia"]),
    ("The USSR broke the pact.", ["USSR STATE russia"]),
    ("The Soviet government refused.", ["Soviet government STATE russia"]),
    ("The Soviets seized the islands.", ["Soviets STATE russia"]),
    ("Moscow rejected the proposal.", ["Moscow STATE russia"]),
    ("The Kremlin rejected the proposal.", ["Kremlin STATE russia"]),
    ("He arrived in Moscow on Monday.", ["Moscow CITY moscow"]),
    ("Talks between Tokyo and Moscow stalled.", ["Tokyo STATE japan", "Moscow STATE russia"]),
    (
        "The islands of Habomai and Shikotan.",
        ["Habomai ISLAND habomai", "Shikotan ISLAND shikotan"],
    ),
    ("Kunashir and Iturup lie north.", ["Kunashir ISLAND kunashiri", "Iturup ISLAND etorofu"]),
    (
        "Russia calls them the Southern Kurils.",
        ["Russia STATE russia", "Southern Kurils REGION northern_territories"],
    ),
    ("They are part of the Kuril Islands.", ["Kuril Islands REGION kuril_islands"]),
    (
        "It rests on the 1956 Joint Declaration.",
        ["1956 Joint Declaration AGREEMENT joint_declaration_1956"],
    ),
    (
        "Russia recognized the Declaration of 1956.",
        ["Russia STATE russia", "Declaration of 1956 AGREEMENT joint_declaration_1956"],
    ),
    (
        "The Soviet–Japanese Neutrality Pact ended.",
        ["Soviet–Japanese Neutrality Pact AGREEMENT neutrality_pact_1941"],
    ),
    ("Japan's Foreign Ministry protested.", ["Japan STATE japan", "Foreign Ministry ORG mofa"]),
    ("The Japanese government maintains its claim.", ["Japanese government STATE japan"]),
    ("The islands are Japanese territory.", []),
    ("He told the Japan Times.", []),
    ("Tell us about the US position.", ["US STATE united_states"]),
    ("Akie Abe visited.", []),
    ("Hatoyama signed it in 1956.", ["Hatoyama PERSON hatoyama_ichiro"]),
    (
        "Yukio Hatoyama went to Crimea. Hatoyama said the vote was fair.",
        [
            "Yukio Hatoyama PERSON hatoyama_yukio",
            "Crimea REGION crimea",
            "Hatoyama PERSON hatoyama_yukio",
        ],
    ),
    ("The MOFA statement and NATO.", ["MOFA ORG mofa", "NATO ORG nato"]),
]


@pytest.mark.parametrize(("text", "expected"), LINKING_CASES)
def test_mentions_are_linked_in_context(nlp, text, expected):
    assert linked(nlp, text) == [tuple(m.rsplit(" ", 2)) for m in expected]


def test_a_kb_match_replaces_a_statistical_entity_and_other_entities_stay(nlp):
    plain = base_pipeline()("Habomai is small. Yoko Hirose wrote in March 2015.")
    assert [(e.text, e.label_) for e in plain.ents if e.text == "Habomai"] == [
        ("Habomai", "PERSON")
    ]  # what spaCy alone says
    doc = nlp("Habomai is small. Yoko Hirose wrote in March 2015.")
    ents = [(e.text, e.label_, e.kb_id_) for e in doc.ents]
    assert ("Habomai", "ISLAND", "habomai") in ents
    assert ("Yoko Hirose", "PERSON", "") in ents
    assert ("March 2015", "DATE", "") in ents


def test_sentence_boundaries_do_not_change(nlp):
    texts = [CHAPTER.read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in sorted((CORPUS / "web").glob("*.txt"))[:15]]
    plain = base_pipeline()
    for text, base, domain in zip(texts, plain.pipe(texts), nlp.pipe(texts), strict=True):
        assert [(s.start_char, s.end_char) for s in base.sents] == [
            (s.start_char, s.end_char) for s in domain.sents
        ]
        annotation = doc_to_annotation(domain)  # entities still sit inside their sentences
        for e in annotation.entities:
            assert text[e.start_char : e.end_char] == e.text


def test_two_processes_give_the_same_entities(nlp):
    texts = [
        "Prime Minister Abe met Putin in Moscow.",
        "The Habomai islets and Shikotan.",
        "The USSR and the Soviet Union; Tokyo protested.",
        "Yukio Hatoyama went to Crimea. Hatoyama said so.",
    ] * 3
    single = [[(e.text, e.label_, e.kb_id_) for e in d.ents] for d in nlp.pipe(texts)]
    forked = [
        [(e.text, e.label_, e.kb_id_) for e in d.ents]
        for d in nlp.pipe(texts, n_process=2, batch_size=2)
    ]
    assert forked == single
    assert ("Habomai", "ISLAND", "habomai") in forked[1]


def test_the_chapter_meets_the_precision_and_recall_floors(nlp):
    gold, texts = load_gold(DEFAULT_GOLD, CORPUS)
    scores = score_entities(gold, predict_mentions(texts, nlp))
    assert scores.n_gold == len(gold) >= 400
    assert scores.precision >= PRECISION_FLOOR, scores.false_positives
    assert scores.recall >= RECALL_FLOOR, scores.false_negatives


def test_the_gold_file_is_consistent_with_the_corpus_and_the_kb(kb):
    text = CHAPTER.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in DEFAULT_GOLD.read_text(encoding="utf-8").splitlines()]
    assert [r["start"] for r in rows] == sorted(r["start"] for r in rows)
    for before, after in itertools.pairwise(rows):
        assert before["end"] <= after["start"]  # no nesting, no overlap
    for r in rows:
        assert r["doc"] == "chapter/000_7dc69556dcd7cdd8.txt"
        span = text[r["start"] : r["end"]]
        assert span == span.strip() and span
        assert hashlib.sha256(span.encode("utf-8")).hexdigest() == r["sha256"]
        assert kb[r["canonical_id"]].type == r["domain_type"]


def test_scores_count_exact_and_overlapping_spans():
    gold = [Mention("d", 0, 5, "japan"), Mention("d", 10, 22, "joint_declaration_1956")]
    predicted = [
        Mention("d", 0, 5, "japan"),
        Mention("d", 15, 22, "joint_declaration_1956"),  # overlaps, not exact
        Mention("d", 30, 35, "russia"),  # not in gold
    ]
    scores = score_entities(gold, predicted)
    assert (scores.precision, scores.recall) == (1 / 3, 1 / 2)
    assert (scores.lenient_precision, scores.lenient_recall) == (2 / 3, 1.0)
    assert scores.false_positives == (predicted[1], predicted[2])
    assert scores.false_negatives == (gold[1],)
    empty = score_entities([], [])
    assert (empty.precision, empty.recall, empty.n_gold) == (0.0, 0.0, 0)


def test_a_wrong_id_on_the_right_span_is_an_error_even_leniently():
    scores = score_entities([Mention("d", 0, 5, "tokyo")], [Mention("d", 0, 5, "japan")])
    assert (scores.precision, scores.recall, scores.lenient_recall) == (0.0, 0.0, 0.0)


def test_main_prints_the_report_ending_in_one_machine_line(nlp, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("jrtext.entities.domain_pipeline", lambda kb=None: nlp)
    text = CHAPTER.read_text(encoding="utf-8")
    start = text.index("Habomai")
    row = {
        "doc": "chapter/000_7dc69556dcd7cdd8.txt",
        "start": start,
        "end": start + 7,
        "sha256": hashlib.sha256(b"Habomai").hexdigest(),
        "canonical_id": "habomai",
        "domain_type": "ISLAND",
    }
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert eval_entities.main(["--gold", str(gold), "--corpus-root", str(CORPUS)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("entity_precision=0.") and last.endswith(" entity_recall=1.000 n_gold=1")

    row["sha256"] = "0" * 64
    gold.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert eval_entities.main(["--gold", str(gold), "--corpus-root", str(CORPUS)]) == 2
    assert "no longer matches" in capsys.readouterr().err
