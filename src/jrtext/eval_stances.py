"""Score extracted stances against the hand-annotated gold (tests/gold/chapter_stances.jsonl).

A gold stance and a predicted one match when they are in the same sentence, have the same
polarity, the same holder and the same target:

- holder: equal ids when the gold names one; when the gold holder has no id (a group such
  as "many Western leaders"), the predicted holder's mention overlaps the gold's;
- target: equal ids when both have one; otherwise (either has no id) the predicted target
  span overlaps the gold target span.

Matching is one-to-one (maximum bipartite matching). Precision is over predicted stances in
the annotated documents, recall over gold stances. The last line of the report is
``stance_precision=P stance_recall=R n_gold=N``.

Run ``python -m jrtext.eval_stances [--gold FILE] [--corpus DIR] [-v]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language

from jrtext.errors import JrtextError
from jrtext.settings import PROJECT_ROOT
from jrtext.stance import Stance, StanceCues, extract_stances, load_cues

DEFAULT_GOLD = PROJECT_ROOT / "tests" / "gold" / "chapter_stances.jsonl"
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"


class GoldError(JrtextError):
    """The gold file is malformed or no longer matches the corpus text it points at."""


@dataclass(frozen=True, slots=True)
class GoldStance:
    doc: str
    sent_start: int
    sent_end: int
    holder_id: str | None
    holder_start: int | None
    holder_end: int | None
    polarity: str
    target_id: str | None
    target_key: str
    target_start: int
    target_end: int


@dataclass(frozen=True, slots=True)
class StanceScores:
    precision: float
    recall: float
    n_gold: int
    n_predicted: int
    matched: tuple[tuple[int, int], ...]  # (gold index, predicted index)

    def last_line(self) -> str:
        return (
            f"stance_precision={self.precision:.3f} stance_recall={self.recall:.3f} "
            f"n_gold={self.n_gold}"
        )


def read_gold(path: Path) -> list[GoldStance]:
    gold = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            gold.append(
                GoldStance(
                    doc=row["doc"],
                    sent_start=int(row["sent_start"]),
                    sent_end=int(row["sent_end"]),
                    holder_id=row.get("holder_id"),
                    holder_start=row.get("holder_start"),
                    holder_end=row.get("holder_end"),
                    polarity=row["polarity"],
                    target_id=row.get("target_id"),
                    target_key=row.get("target_key", ""),
                    target_start=int(row["target_start"]),
                    target_end=int(row["target_end"]),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldError(f"{path}:{n}: bad gold line ({exc})") from exc
        if gold[-1].holder_id is None and gold[-1].holder_start is None:
            raise GoldError(f"{path}:{n}: a holder without an id needs holder_start/holder_end")
    return gold


def check_gold_text(path: Path, gold_lines: list[dict], text: str) -> None:
    """Every sentence a gold line points at still has the text it was annotated on."""
    for row in gold_lines:
        piece = text[row["sent_start"] : row["sent_end"]]
        if hashlib.sha256(piece.encode("utf-8")).hexdigest() != row["sha256"]:
            raise GoldError(
                f"{path}: {row['doc']} [{row['sent_start']}:{row['sent_end']}] changed since "
                "it was annotated (sha256 differs)"
            )


def _overlaps(a_start: int | None, a_end: int | None, b_start: int, b_end: int) -> bool:
    if a_start is None or a_end is None:
        return False
    return a_start < b_end and b_start < a_end


def stances_match(gold: GoldStance, predicted: Stance) -> bool:
    if not _overlaps(gold.sent_start, gold.sent_end, predicted.start_char, predicted.end_char):
        return False
    if gold.polarity != predicted.polarity:
        return False
    if gold.holder_id is not None:
        if predicted.holder_id != gold.holder_id:
            return False
    elif not _overlaps(
        gold.holder_start, gold.holder_end, predicted.holder_start, predicted.holder_end
    ):
        return False
    if gold.target_id is not None and predicted.target_id is not None:
        return gold.target_id == predicted.target_id
    return _overlaps(
        gold.target_start, gold.target_end, predicted.target_start, predicted.target_end
    )


def score_stances(gold: Sequence[GoldStance], predicted: Sequence[Stance]) -> StanceScores:
    """Precision and recall of ``predicted`` (stances of the gold's documents) against ``gold``.

    Both sequences must refer to one document's character offsets, or the caller must have
    paired them per document (see :func:`evaluate_documents`).
    """
    candidates = [
        [p for p, stance in enumerate(predicted) if stances_match(g, stance)] for g in gold
    ]
    owner: dict[int, int] = {}  # predicted index -> gold index

    def augment(g: int, seen: set[int]) -> bool:
        for p in candidates[g]:
            if p in seen:
                continue
            seen.add(p)
            if p not in owner or augment(owner[p], seen):
                owner[p] = g
                return True
        return False

    for g in range(len(gold)):
        augment(g, set())
    matched = tuple(sorted((g, p) for p, g in owner.items()))
    precision = len(matched) / len(predicted) if predicted else 0.0
    recall = len(matched) / len(gold) if gold else 0.0
    return StanceScores(precision, recall, len(gold), len(predicted), matched)


def domain_pipeline() -> Language:
    """A fresh pipeline as the project runs it (entity linker included)."""
    from jrtext.entities import domain_pipeline as fresh_pipeline

    return fresh_pipeline()


def evaluate_documents(
    gold: Sequence[GoldStance],
    corpus: Path,
    nlp: Language,
    cues: StanceCues,
    gold_path: Path = DEFAULT_GOLD,
    raw_lines: list[dict] | None = None,
) -> tuple[StanceScores, dict[str, list[Stance]]]:
    """Run the pipeline on each gold document and score all of them together."""
    by_doc: dict[str, list[Stance]] = {}
    for name in sorted({g.doc for g in gold}):
        text = (corpus / name).read_text(encoding="utf-8")
        if raw_lines is not None:
            check_gold_text(gold_path, [r for r in raw_lines if r["doc"] == name], text)
        by_doc[name] = extract_stances(nlp(text), cues)
    # offsets are per document: score each, then pool the counts
    matched: list[tuple[int, int]] = []
    predicted: list[Stance] = []
    for name, stances in by_doc.items():
        indices = [i for i, g in enumerate(gold) if g.doc == name]
        scores = score_stances([gold[i] for i in indices], stances)
        matched.extend((indices[g], len(predicted) + p) for g, p in scores.matched)
        predicted.extend(stances)
    precision = len(matched) / len(predicted) if predicted else 0.0
    recall = len(matched) / len(gold) if gold else 0.0
    return StanceScores(precision, recall, len(gold), len(predicted), tuple(matched)), by_doc


def report(
    gold: Sequence[GoldStance],
    by_doc: dict[str, list[Stance]],
    scores: StanceScores,
    texts: dict[str, str],
    verbose: bool,
    out: Callable[[str], None] = print,
) -> None:
    predicted = [s for stances in by_doc.values() for s in stances]
    hit_gold = {g for g, _ in scores.matched}
    hit_pred = {p for _, p in scores.matched}
    out(f"documents: {len(by_doc)}  gold stances: {len(gold)}  predicted: {len(predicted)}")
    out(f"matched: {len(scores.matched)}")
    if verbose:
        out("\nmissed (gold not found):")
        for i, g in enumerate(gold):
            if i not in hit_gold:
                text = texts[g.doc]
                holder = g.holder_id or text[g.holder_start or 0 : g.holder_end or 0]
                out(f"  [{g.sent_start}] {holder} {g.polarity} {g.target_id or g.target_key}")
        out("\nunmatched predictions:")
        for i, s in enumerate(predicted):
            if i not in hit_pred:
                out(
                    f"  [{s.start_char}] {s.holder_id or s.holder_text} {s.polarity} "
                    f"({s.cue}{', negated' if s.negated else ''}) {s.target_id or s.target_text!r}"
                )
    out(scores.last_line())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jrtext.eval_stances",
        description="Score attributed stances against the hand-annotated gold.",
        epilog="example: python -m jrtext.eval_stances -v",
    )
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="gold JSONL file")
    parser.add_argument(
        "--corpus-root",
        "--corpus",
        dest="corpus",
        type=Path,
        default=Path(os.environ.get("JRTEXT_CORPUS", DEFAULT_CORPUS)),
        help="folder the gold's `doc` paths are relative to (default ../shared/corpus)",
    )
    parser.add_argument("--cues", type=Path, default=None, help="stance cue lexicon (TOML)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses and extras")
    args = parser.parse_args(argv)
    try:
        raw = [
            json.loads(line)
            for line in args.gold.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        gold = read_gold(args.gold)
        cues = load_cues(args.cues)
        nlp = domain_pipeline()
        scores, by_doc = evaluate_documents(gold, args.corpus, nlp, cues, args.gold, raw)
        texts = {name: (args.corpus / name).read_text(encoding="utf-8") for name in by_doc}
    except (OSError, JrtextError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report(gold, by_doc, scores, texts, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
