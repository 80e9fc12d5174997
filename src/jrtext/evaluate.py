"""Scores that cannot flatter: grouped cross-validation, real sentences only, two baselines.

Definitions (issue 7): ``macro_f1`` is F1 averaged over the six on-topic labels, predictions
ranging over all seven (an on-topic sentence predicted ``off_topic`` counts against its
label); ``relevance_f1`` is F1 of on-topic against ``off_topic``; ``holder_acc`` is holder
accuracy over sentences whose gold position carries a holder; ``n`` the real sentences scored.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold

from jrtext.classify import Prediction, fit_model, load_cues
from jrtext.labels import ON_TOPIC, POSITIONS, WITH_HOLDER, LabeledSentence


@dataclass
class Scores:
    macro_f1: float
    relevance_f1: float
    holder_acc: float
    n: int
    per_label: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)

    def last_line(self) -> str:
        return (
            f"macro_f1={self.macro_f1:.3f} relevance_f1={self.relevance_f1:.3f} "
            f"holder_acc={self.holder_acc:.3f} n={self.n}"
        )

    def as_dict(self) -> dict:
        return {
            "macro_f1": round(self.macro_f1, 4),
            "relevance_f1": round(self.relevance_f1, 4),
            "holder_acc": round(self.holder_acc, 4),
            "n": self.n,
            "per_label": self.per_label,
            "confusion_labels": list(POSITIONS),
            "confusion": self.confusion,
        }


def score(
    gold_positions: Sequence[str], gold_holders: Sequence[str], predicted: Sequence[Prediction]
) -> Scores:
    pred_positions = [p.position for p in predicted]
    n = len(gold_positions)
    if n == 0:
        return Scores(0.0, 0.0, 0.0, 0)
    macro = f1_score(
        gold_positions, pred_positions, labels=list(ON_TOPIC), average="macro", zero_division=0
    )
    relevance = f1_score(
        [g != "off_topic" for g in gold_positions],
        [p != "off_topic" for p in pred_positions],
        zero_division=0,
    )
    with_holder = [i for i, g in enumerate(gold_positions) if g in WITH_HOLDER]
    holder_acc = (
        (sum(predicted[i].holder == gold_holders[i] for i in with_holder) / len(with_holder))
        if with_holder
        else 0.0
    )
    p, r, f, s = precision_recall_fscore_support(
        gold_positions, pred_positions, labels=list(POSITIONS), zero_division=0
    )
    per_label = {
        label: {
            "precision": round(float(p[i]), 3),
            "recall": round(float(r[i]), 3),
            "f1": round(float(f[i]), 3),
            "support": int(s[i]),
        }
        for i, label in enumerate(POSITIONS)
    }
    matrix = confusion_matrix(gold_positions, pred_positions, labels=list(POSITIONS)).tolist()
    return Scores(float(macro), float(relevance), float(holder_acc), n, per_label, matrix)


def keyword_baseline(
    texts: Sequence[str], train_positions: Sequence[str], train_holders: Sequence[str]
) -> list[Prediction]:
    """The codebook's cue phrases, counted: no topic or cue word → off_topic; the label with
    most cues among the five outcomes, else neutral; its most common holder in training."""
    cues = load_cues()
    compiled = {g: re.compile("|".join(f"(?:{p})" for p in pats), re.I) for g, pats in cues.items()}
    usual_holder = {}
    for label in WITH_HOLDER:
        holders = [h for p, h in zip(train_positions, train_holders, strict=True) if p == label]
        usual_holder[label] = Counter(holders).most_common(1)[0][0] if holders else "japan"
    out = []
    for text in texts:
        hits = {label: len(compiled[label].findall(text)) for label in WITH_HOLDER}
        topic = len(compiled["topic"].findall(text))
        best = max(hits, key=lambda k: hits[k])
        if hits[best] > 0 and (topic or best != "four_islands"):
            out.append(Prediction(best, usual_holder[best], 1.0, {}))
        elif topic:
            out.append(Prediction("neutral", "none", 1.0, {}))
        else:
            out.append(Prediction("off_topic", "none", 1.0, {}))
    return out


def majority_baseline(n: int, train_positions: Sequence[str]) -> list[Prediction]:
    label = Counter(train_positions).most_common(1)[0][0]
    return [Prediction(label, "none", 1.0, {}) for _ in range(n)]


@dataclass
class CrossValidation:
    model: Scores
    keyword: Scores
    majority: Scores
    n_folds: int
    n_authored_in_training: int


def cross_validate(
    sentences: Sequence[LabeledSentence], *, n_folds: int = 5, C: float = 1.0
) -> CrossValidation:
    """Grouped by document: no sentence of a test document is trained on; authored sentences
    join every training fold and are never scored."""
    real = [s for s in sentences if s.origin == "real"]
    authored = [s for s in sentences if s.origin == "authored"]
    groups = [s.doc for s in real]
    predictions: list[Prediction | None] = [None] * len(real)
    keyword: list[Prediction | None] = [None] * len(real)
    majority: list[Prediction | None] = [None] * len(real)
    for train_idx, test_idx in GroupKFold(n_splits=n_folds).split(real, groups=groups):
        train = [real[i] for i in train_idx] + authored
        test = [real[i] for i in test_idx]
        model = fit_model(
            [s.text for s in train],
            [s.context for s in train],
            [s.position for s in train],
            [s.holder for s in train],
            C=C,
        )
        fold_pred = model.predict([s.text for s in test], [s.context for s in test])
        fold_kw = keyword_baseline(
            [s.text for s in test], [s.position for s in train], [s.holder for s in train]
        )
        fold_major = majority_baseline(len(test), [s.position for s in train])
        for j, i in enumerate(test_idx):
            predictions[i], keyword[i], majority[i] = fold_pred[j], fold_kw[j], fold_major[j]
    gold_p = [s.position for s in real]
    gold_h = [s.holder for s in real]
    return CrossValidation(
        score(gold_p, gold_h, predictions),  # type: ignore[arg-type]
        score(gold_p, gold_h, keyword),  # type: ignore[arg-type]
        score(gold_p, gold_h, majority),  # type: ignore[arg-type]
        n_folds,
        len(authored),
    )


def format_report(title: str, scores: Scores) -> str:
    lines = [title, f"  {scores.last_line()}", "  label                 precision recall  f1     n"]
    for label, m in scores.per_label.items():
        lines.append(
            f"  {label:<21} {m['precision']:>9.3f} {m['recall']:>6.3f} "
            f"{m['f1']:>6.3f} {m['support']:>5}"
        )
    if scores.confusion:
        short = [p[:6] for p in POSITIONS]
        lines.append("  confusion (rows gold, columns predicted): " + " ".join(short))
        for label, row in zip(POSITIONS, scores.confusion, strict=True):
            lines.append(f"  {label:<21} " + " ".join(f"{v:>6}" for v in row))
    return "\n".join(lines)


__all__ = ["CrossValidation", "Scores", "cross_validate", "format_report", "np", "score"]
