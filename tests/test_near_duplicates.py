"""Near-duplicate detection (MinHash over word shingles) on texts of the shared corpus."""

from __future__ import annotations

from jrtext.near_duplicates import find, shingles, signature, similarity
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
