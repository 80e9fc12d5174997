"""Precision and recall of the domain entity linker against hand-annotated gold mentions.

Run ``python -m jrtext.eval_entities [--gold FILE] [--corpus-root DIR]``. The report ends
with one machine-readable line::

    entity_precision=0.973 entity_recall=0.941 n_gold=408

Exact scores count a predicted mention right when its span and canonical id equal a gold
mention's; lenient scores when it overlaps a gold mention with the same id. Precision is
over predicted mentions that have a knowledge-base id; recall over gold mentions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jrtext.errors import JrtextError
from jrtext.settings import PROJECT_ROOT

DEFAULT_GOLD = PROJECT_ROOT / "tests" / "gold" / "chapter_entities.jsonl"
DEFAULT_CORPUS_ROOT = PROJECT_ROOT.parent / "shared" / "corpus"


class GoldError(JrtextError):
    """A gold file is malformed or no longer matches the corpus text it points into."""


@dataclass(frozen=True, slots=True, order=True)
class Mention:
    """A linked mention: ``text[start:end]`` of document ``doc`` refers to ``canonical_id``."""

    doc: str
    start: int
    end: int
    canonical_id: str
    domain_type: str = ""


@dataclass(frozen=True, slots=True)
class EntityScores:
    n_gold: int
    n_predicted: int
    exact_true_positives: int
    precision: float
    recall: float
    lenient_precision: float
    lenient_recall: float
    false_positives: tuple[Mention, ...]
    false_negatives: tuple[Mention, ...]

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def score_entities(gold: Iterable[Mention], predicted: Iterable[Mention]) -> EntityScores:
    """Exact and lenient precision and recall of ``predicted`` against ``gold``.

    Mentions are compared on (doc, start, end, canonical_id); ``domain_type`` is not
    compared (it follows from the id). An empty side scores 0.
    """
    gold_set = {(m.doc, m.start, m.end, m.canonical_id): m for m in gold}
    pred_set = {(m.doc, m.start, m.end, m.canonical_id): m for m in predicted}
    hits = gold_set.keys() & pred_set.keys()

    def overlaps(a: Mention, others: Iterable[Mention]) -> bool:
        return any(
            a.doc == b.doc
            and a.canonical_id == b.canonical_id
            and a.start < b.end
            and b.start < a.end
            for b in others
        )

    by_doc_gold: dict[str, list[Mention]] = {}
    for m in gold_set.values():
        by_doc_gold.setdefault(m.doc, []).append(m)
    by_doc_pred: dict[str, list[Mention]] = {}
    for m in pred_set.values():
        by_doc_pred.setdefault(m.doc, []).append(m)
    lenient_pred = sum(overlaps(m, by_doc_gold.get(m.doc, [])) for m in pred_set.values())
    lenient_gold = sum(overlaps(m, by_doc_pred.get(m.doc, [])) for m in gold_set.values())
    n_gold, n_pred = len(gold_set), len(pred_set)
    return EntityScores(
        n_gold=n_gold,
        n_predicted=n_pred,
        exact_true_positives=len(hits),
        precision=len(hits) / n_pred if n_pred else 0.0,
        recall=len(hits) / n_gold if n_gold else 0.0,
        lenient_precision=lenient_pred / n_pred if n_pred else 0.0,
        lenient_recall=lenient_gold / n_gold if n_gold else 0.0,
        false_positives=tuple(sorted(pred_set[k] for k in pred_set.keys() - hits)),
        false_negatives=tuple(sorted(gold_set[k] for k in gold_set.keys() - hits)),
    )


def load_gold(path: Path, corpus_root: Path) -> tuple[list[Mention], dict[str, str]]:
    """Gold mentions and the texts they point into; each span's sha256 is checked."""
    mentions: list[Mention] = []
    texts: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GoldError(f"{path}: cannot be read: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            mention = Mention(
                str(row["doc"]),
                int(row["start"]),
                int(row["end"]),
                str(row["canonical_id"]),
                str(row["domain_type"]),
            )
            digest = str(row["sha256"])
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldError(f"{path}:{number}: not a gold mention: {exc}") from exc
        if mention.doc not in texts:
            doc_path = corpus_root / mention.doc
            try:
                texts[mention.doc] = doc_path.read_text(encoding="utf-8")
            except OSError as exc:
                raise GoldError(f"{path}:{number}: {doc_path}: cannot be read: {exc}") from exc
        span = texts[mention.doc][mention.start : mention.end]
        if hashlib.sha256(span.encode("utf-8")).hexdigest() != digest:
            raise GoldError(
                f"{path}:{number}: the text at {mention.doc}[{mention.start}:{mention.end}] "
                "no longer matches the gold sha256 (the corpus file changed)"
            )
        mentions.append(mention)
    return mentions, texts


def predict_mentions(texts: dict[str, str], nlp) -> list[Mention]:
    """Linked mentions (entities with a kb id) the pipeline finds in each text."""
    names = list(texts)
    found: list[Mention] = []
    for name, doc in zip(names, nlp.pipe(texts[n] for n in names), strict=True):
        found.extend(
            Mention(name, e.start_char, e.end_char, e.kb_id_, e.label_)
            for e in doc.ents
            if e.kb_id_
        )
    return found


def format_report(scores: EntityScores, texts: dict[str, str], max_errors: int = 40) -> str:
    def show(m: Mention) -> str:
        text = texts.get(m.doc, "")
        snippet = text[m.start : m.end].replace("\n", " ")
        return f"  {m.doc}[{m.start}:{m.end}] {snippet!r} -> {m.canonical_id}"

    lines = [
        f"gold mentions:      {scores.n_gold}",
        f"predicted (linked): {scores.n_predicted}",
        f"exact:   precision {scores.precision:.3f}  recall {scores.recall:.3f}  "
        f"F1 {scores.f1:.3f}  ({scores.exact_true_positives} right)",
        f"lenient: precision {scores.lenient_precision:.3f}  "
        f"recall {scores.lenient_recall:.3f}  (overlapping span, same id)",
    ]
    missed = Counter(m.canonical_id for m in scores.false_negatives)
    if missed:
        lines.append("missed by id: " + ", ".join(f"{k} {v}" for k, v in missed.most_common()))
    for title, errors in (
        ("false positives", scores.false_positives),
        ("false negatives", scores.false_negatives),
    ):
        lines.append(f"{title} ({len(errors)}):")
        lines.extend(show(m) for m in errors[:max_errors])
        if len(errors) > max_errors:
            lines.append(f"  … {len(errors) - max_errors} more")
    lines.append(
        f"entity_precision={scores.precision:.3f} entity_recall={scores.recall:.3f} "
        f"n_gold={scores.n_gold}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jrtext.eval_entities",
        description="Score the domain entity linker against gold mentions.",
        epilog="example: python -m jrtext.eval_entities --gold tests/gold/chapter_entities.jsonl",
    )
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="gold JSONL file")
    parser.add_argument(
        "--corpus-root", type=Path, default=DEFAULT_CORPUS_ROOT, help="shared corpus folder"
    )
    parser.add_argument("--kb", type=Path, default=None, help="knowledge-base folder")
    parser.add_argument("--max-errors", type=int, default=40, help="errors listed per kind")
    args = parser.parse_args(argv)

    from jrtext.entities import domain_pipeline
    from jrtext.kb import load_kb

    try:
        gold, texts = load_gold(args.gold, args.corpus_root)
        nlp = domain_pipeline(load_kb(args.kb))
    except JrtextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scores = score_entities(gold, predict_mentions(texts, nlp))
    print(format_report(scores, texts, args.max_errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
