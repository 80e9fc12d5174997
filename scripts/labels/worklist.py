"""Build the labelling worklist: the pipeline's own sentences of the real corpus, by reference.

Writes JSONL rows ``{id, doc, sent_idx, start, end, sha256, text}`` to a scratch folder outside
the repository (the text is third-party and must not be committed). Labellers return
``id<TAB>position<TAB>holder`` lines; ``build.py`` merges two passes into label files.

    python scripts/labels/worklist.py --corpus ../shared/corpus --out /tmp/labels
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from pathlib import Path

from jrtext.nlp import doc_to_annotation, load_pipeline

# Broad net for the territorial issue in UN speeches; neighbours of a hit are added too,
# since "these islands" or "this question" often carries the topic on.
ISSUE_TERMS = re.compile(
    r"kuril|northern territor|habomai|shikotan|etorofu|iturup|kunashir|chishima|"
    r"northern islands|four islands|territorial (question|problem|issue|dispute)|peace treaty",
    re.IGNORECASE,
)
JAPAN_RUSSIA = re.compile(r"japan|soviet|u\.?s\.?s\.?r|russia", re.IGNORECASE)
OFF_TOPIC_SAMPLE = 300


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rows_for(nlp, corpus: Path, rel_paths: list[str], keep=None):
    texts = [(corpus / p).read_text(encoding="utf-8") for p in rel_paths]
    for rel, doc in zip(rel_paths, nlp.pipe(texts, n_process=2, batch_size=8), strict=True):
        sents = doc_to_annotation(doc).sentences
        chosen = set(range(len(sents))) if keep is None else keep(rel, sents)
        for s in sents:
            if s.sent_idx in chosen:
                yield {
                    "doc": rel,
                    "sent_idx": s.sent_idx,
                    "start": s.start_char,
                    "end": s.end_char,
                    "sha256": sha256(s.text),
                    "text": s.text,
                }


def ungdc_hits(rel: str, sents) -> set[int]:
    country = Path(rel).name[:3]
    hits: set[int] = set()
    for s in sents:
        m = ISSUE_TERMS.search(s.text)
        if not m:
            continue
        broad = m.group(0).lower().startswith(("territorial", "peace treaty"))
        if broad and not (country in {"JPN", "RUS"} and JAPAN_RUSSIA.search(s.text)):
            continue
        hits.update({s.sent_idx - 1, s.sent_idx, s.sent_idx + 1})
    return {i for i in hits if 0 <= i < len(sents)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/labels"))
    args = parser.parse_args()
    corpus: Path = args.corpus.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    nlp = load_pipeline()

    chapter = sorted(str(p.relative_to(corpus)) for p in (corpus / "chapter").glob("*.txt"))
    web = sorted(str(p.relative_to(corpus)) for p in (corpus / "web").glob("*.txt"))
    speeches = sorted(str(p.relative_to(corpus)) for p in (corpus / "ungdc").rglob("*.txt"))
    candidates = []
    for rel in speeches:
        text = (corpus / rel).read_text(encoding="utf-8")
        if ISSUE_TERMS.search(text) and (
            re.search(r"kuril|northern territor|habomai|shikotan|northern islands", text, re.I)
            or Path(rel).name[:3] in {"JPN", "RUS"}
        ):
            candidates.append(rel)

    rng = random.Random(20261124)
    off_pool = [p for p in speeches if Path(p).name[:3] in {"JPN", "RUS", "USA", "CHN"}]
    off_docs = sorted(rng.sample(off_pool, 60))

    def sample_off(rel, sents):
        return set(rng.sample(range(len(sents)), min(5, len(sents))))

    sets = {
        "chapter": list(rows_for(nlp, corpus, chapter)),
        "web": list(rows_for(nlp, corpus, web)),
        "ungdc_topic": list(rows_for(nlp, corpus, candidates, ungdc_hits)),
        "ungdc_sample": list(rows_for(nlp, corpus, off_docs, sample_off)),
    }
    seen: set[tuple[str, int]] = set()
    for name, rows in sets.items():
        with (args.out / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            n = 0
            for row in rows:
                key = (row["doc"], row["start"])
                if key in seen:
                    continue
                seen.add(key)
                n += 1
                row = {"id": f"{name}:{n:05d}", **row}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {n} sentences")


if __name__ == "__main__":
    main()
