"""Near-duplicate detection (MinHash over word shingles) on texts of the shared corpus."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jrtext.near_duplicates import find, refresh, shingles, signature, similarity
from jrtext.store import connect
from tests.conftest import CORPUS


def text(name: str) -> str:
    return (CORPUS / "web" / f"{name}.txt").read_text(encoding="utf-8")


def syndicated(body: str) -> str:
    return (
        "By Staff Writer | Example Wire\n" + body + "\nThis story first appeared on Example "
        "Wire and is republished with permission. Follow us for more news and analysis."
    )


def exact_jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_the_estimate_is_close_to_the_exact_jaccard_similarity():
    for name in ("p0015", "p0016", "p0020", "p0001"):
        original, copy = text(name), syndicated(text(name))
        estimate = similarity(signature(original), signature(copy))
        assert abs(estimate - exact_jaccard(original, copy)) < 0.1
        assert estimate >= 0.8


def test_a_syndicated_copy_is_flagged_and_different_texts_are_not():
    names = ["p0001", "p0002", "p0004", "p0005", "p0013", "p0015", "p0016", "p0018", "p0020"]
    signatures = {name: signature(text(name)) for name in names}
    signatures["copy-of-p0015"] = signature(syndicated(text("p0015")))
    order = {doc: (i, doc) for i, doc in enumerate(signatures)}
    found = find(signatures, order, threshold=0.8)
    assert [(f.doc_id, f.duplicate_of) for f in found] == [("copy-of-p0015", "p0015")]
    assert found[0].similarity >= 0.8


def test_a_half_rewritten_text_is_not_a_near_duplicate():
    original = text("p0015")
    words = original.split()
    half = " ".join(words[: len(words) // 2]) + " " + text("p0016")
    assert similarity(signature(original), signature(half)) < 0.8


def test_in_one_batch_the_longer_text_is_the_copy_whatever_the_ids(tmp_path: Path):
    """Documents of one write share ``ingested_at``: the id must not decide which is the copy."""
    original, copy = text("p0015"), syndicated(text("p0015"))
    stamp = datetime(2026, 1, 1)
    with connect(tmp_path / "t.duckdb") as con:
        for doc_id, body in (("b-original", original), ("a-copy", copy)):
            con.execute(
                "INSERT INTO documents (doc_id, source, kind, location, format, content_sha256,"
                " fingerprint, n_chars, text, ingested_at, run_id)"
                " VALUES (?, 's', 'news', ?, 'html', ?, ?, ?, ?, ?, 'r')",
                [doc_id, doc_id, doc_id, doc_id, len(body), body, stamp],
            )
        assert refresh(con, threshold=0.8) == 1
        pairs = con.execute("SELECT doc_id, duplicate_of FROM near_duplicates").fetchall()
    assert pairs == [("a-copy", "b-original")]
