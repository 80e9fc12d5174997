"""How the position model does on whole UN speeches, not on a labelled sample.

    .venv/bin/python bench/position_population.py [--db data/jrtext.duckdb]

Cross-validation scores the labelled sentences, where on-topic ones are common. A run reads
every sentence of every speech, where almost none is on the issue, so the share of false
positions matters more there. The UNGDC labels are exhaustive for on-topic sentences (every
speech of every year was searched for the islands, the dispute and the peace treaty: see
corpus/labels/README.md), so every other sentence of those speeches counts as off-topic.
This reads a database made by `jrtext run` and prints, over its UN speeches, the sentences
predicted on the issue that are (TP) and are not (FP) labelled on it, and those missed
(FN). The labelled ones were trained on, so recall here flatters; false positives are
mostly out of sample (all but the few hundred labelled off-topic sentences).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=PROJECT_ROOT / "data" / "jrtext.duckdb")
    parser.add_argument(
        "--labels", type=Path, default=PROJECT_ROOT / "corpus" / "labels" / "ungdc.jsonl"
    )
    args = parser.parse_args(argv)
    # matched on the sentence's text, not its offsets: labels count characters in the file
    # as it is (a UTF-8 byte-order mark included), the pipeline in the text it read
    gold = {}
    for line in args.labels.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gold[(row["doc"], row["sha256"])] = row["position"]
    with duckdb.connect(str(args.db), read_only=True) as con:
        rows = con.execute(
            "SELECT d.location, sha256(s.text), p.position, p.model_version"
            " FROM positions p JOIN sentences s USING (doc_id, sent_idx)"
            " JOIN documents d USING (doc_id) WHERE d.location LIKE '%/ungdc/%'"
        ).fetchall()
    tp = fp = fn = 0
    false_by_label: Counter[str] = Counter()
    documents, versions = set(), set()
    for location, text_sha256, predicted, version in rows:
        doc = "ungdc/" + location.split("/ungdc/", 1)[1]
        documents.add(doc)
        versions.add(version)
        labelled = gold.get((doc, text_sha256), "off_topic")
        if predicted != "off_topic" and labelled != "off_topic":
            tp += 1
        elif predicted != "off_topic":
            fp += 1
            false_by_label[predicted] += 1
        elif labelled != "off_topic":
            fn += 1
    print(f"model: {', '.join(sorted(versions))}")
    print(f"UN speeches: {len(documents)}, sentences: {len(rows):,}, on the issue: {tp + fn}")
    print(f"predicted on the issue: {tp + fp} (labelled so: {tp}, not: {fp}); missed: {fn}")
    print(f"false positions by label: {dict(false_by_label.most_common())}")
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    print(f"precision={precision:.2f} recall={recall:.2f} false_positives={fp}")


if __name__ == "__main__":
    main()
