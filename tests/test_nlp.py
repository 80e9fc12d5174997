"""Sentences and entities keep exact offsets; line breaks end sentences."""

from __future__ import annotations

from jrtext.nlp import annotate, doc_to_annotation, sentence_spans
from tests.conftest import CHAPTER


def test_offsets_point_at_the_text(nlp):
    text = CHAPTER.read_text(encoding="utf-8")
    annotation = doc_to_annotation(nlp(text))
    assert len(annotation.sentences) >= 150
    for s in annotation.sentences:
        assert text[s.start_char : s.end_char] == s.text
        assert s.text == s.text.strip() and s.text
    assert [s.sent_idx for s in annotation.sentences] == list(range(len(annotation.sentences)))
    for e in annotation.entities:
        assert text[e.start_char : e.end_char] == e.text
        sent = annotation.sentences[e.sent_idx]
        assert sent.start_char <= e.start_char and e.end_char <= sent.end_char


def test_a_line_break_ends_a_sentence_and_a_heading_stays_whole(nlp):
    text = "Japan-Russia Relations: Toward a Peace Treaty\n25 Mar 2015\nPutin met Abe. They talked."
    texts = [s.text for s in sentence_spans(text, nlp)]
    assert texts == [
        "Japan-Russia Relations: Toward a Peace Treaty",
        "25 Mar 2015",
        "Putin met Abe.",
        "They talked.",
    ]


def test_a_bullet_stays_with_its_item(nlp):
    text = "The islands are:\n  • Shikotan in both Russian and Japanese\n  • Habomai"
    texts = [s.text for s in sentence_spans(text, nlp)]
    assert texts == ["The islands are:", "• Shikotan in both Russian and Japanese", "• Habomai"]


def test_annotate_keeps_input_order_across_processes(nlp):
    texts = [f"Document number {i} mentions Tokyo." for i in range(6)]
    results = list(annotate(texts, nlp, n_process=2, batch_size=2))
    assert [r.sentences[0].text for r in results] == texts


def test_hard_wrapped_text_keeps_its_sentences_whole(nlp):
    text = (
        "The delegation of Japan regrets that the Soviet\n"
        "Union has deployed troops on the islands of\n"
        "Kunashiri and Etorofu, which are part of our\n"
        "territory. We ask that this situation be\n"
        "rectified without delay, and that the\n"
        "negotiations be resumed.\n\n"
        "Turning to disarmament, we note progress.\n"
    )
    texts = [s.text for s in sentence_spans(text, nlp)]
    assert len(texts) == 3
    assert texts[0].startswith("The delegation") and texts[0].endswith("territory.")
    assert texts[2] == "Turning to disarmament, we note progress."


def test_a_page_break_inside_a_sentence_does_not_split_it(nlp):
    text = "Chile lies between the Andes to the east and the Pacific to the\n \nwest of it."
    assert len(sentence_spans(text, nlp)) == 1


def test_a_paragraph_number_stays_with_its_paragraph(nlp):
    text = "77. Madam President, we offer our warmest congratulations. We wish you success.\n"
    texts = [s.text for s in sentence_spans(text, nlp)]
    assert texts == [
        "77. Madam President, we offer our warmest congratulations.",
        "We wish you success.",
    ]
