"""Label files: the committed ones hold; a broken line is named and stops the load."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from jrtext.labels import POSITIONS, LabelError, load_label_file, load_labels
from jrtext.nlp import doc_to_annotation
from tests.conftest import CORPUS, PROJECT_ROOT

LABELS = PROJECT_ROOT / "corpus" / "labels"


@pytest.fixture(scope="module")
def committed():
    return load_labels(sorted(LABELS.glob("*.jsonl")), CORPUS)


def test_committed_labels_load_and_cover_every_position(committed):
    real = Counter(s.position for s in committed if s.origin == "real")
    authored = Counter(s.position for s in committed if s.origin == "authored")
    assert set(real) == set(POSITIONS) and sum(real.values()) >= 1600
    assert set(authored) <= set(POSITIONS)
    for s in committed:
        assert (s.holder == "none") == (s.position in ("neutral", "off_topic")), s.where


def test_real_labels_are_the_pipelines_own_sentences(committed, nlp):
    by_doc: dict[str, set[tuple[int, int]]] = {}
    for s in committed:
        if s.origin == "real":
            by_doc.setdefault(s.doc, set()).add((s.start, s.end))
    sample = sorted(d for d in by_doc if d.startswith(("chapter/", "web/p02")))
    texts = [(CORPUS / d).read_text(encoding="utf-8") for d in sample]
    for doc, parsed in zip(sample, nlp.pipe(texts), strict=True):
        spans = {(x.start_char, x.end_char) for x in doc_to_annotation(parsed).sentences}
        assert by_doc[doc] <= spans, doc


def test_a_changed_text_stops_the_load_at_its_line(tmp_path: Path):
    good = {
        "doc": "chapter/000_7dc69556dcd7cdd8.txt",
        "start": 0,
        "end": 12,
        "position": "off_topic",
        "holder": "none",
        "origin": "real",
    }
    text = (CORPUS / good["doc"]).read_text(encoding="utf-8")[0:12]
    good["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    bad = {**good, "sha256": "0" * 64}
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(LabelError, match=r"labels\.jsonl:2: .*no longer matches"):
        load_label_file(path, CORPUS)


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ('{"text": "x", "position": "five_islands", "holder": "japan"}', "unknown position"),
        ('{"text": "x", "position": "shelve", "holder": "korea"}', "unknown holder"),
        (
            '{"text": "x", "position": "shelve", "holder": "japan", "origin": "guess"}',
            "unknown origin",
        ),
        ('{"doc": "web/p0002.txt", "position": "neutral", "holder": "none"}', "needs 'text'"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, line: str, needle: str):
    path = tmp_path / "gold.jsonl"
    path.write_text(
        '{"text": "ok", "position": "neutral", "holder": "none"}\n' + line + "\n", encoding="utf-8"
    )
    with pytest.raises(LabelError) as info:
        load_label_file(path, CORPUS)
    assert f"{path}:2:" in str(info.value) and needle in str(info.value)


def test_neighbouring_lines_of_one_doc_give_context(tmp_path: Path):
    lines = [
        {
            "text": "Putin proposed a fifty-fifty split.",
            "position": "compromise",
            "holder": "russia",
            "doc": "a",
        },
        {"text": "Tokyo rejected it.", "position": "four_islands", "holder": "japan", "doc": "a"},
        {"text": "Trade grew.", "position": "off_topic", "holder": "none", "doc": "b"},
    ]
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    loaded = load_label_file(path, CORPUS)
    assert [s.context for s in loaded] == ["", "Putin proposed a fifty-fifty split.", ""]


BOM_DOC = "ungdc/Session 51 - 1996/USA_51_1996.txt"  # a corpus file that starts with a BOM


@pytest.mark.parametrize("counts_bom", [True, False])
def test_offsets_load_whether_or_not_they_count_a_byte_order_mark(tmp_path: Path, counts_bom: bool):
    raw = (CORPUS / BOM_DOC).read_text(encoding="utf-8")
    assert raw.startswith("\ufeff")
    document = raw if counts_bom else raw[1:]
    start = document.index("United Nations")
    text = document[start : start + 14]
    line = {
        "doc": BOM_DOC,
        "start": start,
        "end": start + 14,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "position": "off_topic",
        "holder": "none",
    }
    path = tmp_path / "gold.jsonl"
    # the gold file itself saved "UTF-8 with BOM", as some editors do
    path.write_text(json.dumps(line) + "\n", encoding="utf-8-sig")
    assert [s.text for s in load_label_file(path, CORPUS)] == ["United Nations"]
