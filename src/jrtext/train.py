"""Train the position model on ``corpus/labels`` and write it with its model card.

The card records what the model was made from (a hash of the label files and the texts they
point at, label counts by origin), the software that made it, and grouped cross-validated
scores beside the two baselines, so a user can judge it without retraining.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jrtext import __version__
from jrtext.classify import (
    DEFAULT_CUES,
    MODEL_FORMAT,
    RELEVANCE_THRESHOLD,
    PositionModel,
    fit_model,
    save_model,
)
from jrtext.evaluate import CrossValidation, cross_validate, format_report
from jrtext.labels import LabeledSentence, load_labels
from jrtext.settings import PROJECT_ROOT

DEFAULT_LABELS = PROJECT_ROOT / "corpus" / "labels"
DEFAULT_MODEL_DIR = PROJECT_ROOT / "models" / "position"
DEFAULT_CORPUS_ROOT = PROJECT_ROOT.parent / "shared" / "corpus"
C = 1.0  # inverse regularisation, chosen by grouped cross-validation (see model card)


def label_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


def training_data_hash(sentences: list[LabeledSentence]) -> str:
    digest = hashlib.sha256()
    for s in sentences:
        digest.update(json.dumps([s.text, s.context, s.position, s.holder, s.origin]).encode())
    return digest.hexdigest()


def label_counts(sentences: list[LabeledSentence]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter] = {"real": Counter(), "authored": Counter()}
    for s in sentences:
        counts[s.origin][s.position] += 1
    return {origin: dict(sorted(c.items())) for origin, c in counts.items()}


@dataclass
class TrainingResult:
    model: PositionModel
    cv: CrossValidation | None
    card: dict


def train(labels_dir: Path, corpus_root: Path, *, folds: int = 5) -> TrainingResult:
    """Cross-validate (grouped by document), then fit on every sentence."""
    import sklearn
    import spacy

    sentences = load_labels(label_files(labels_dir), corpus_root)
    cv = cross_validate(sentences, n_folds=folds, C=C) if folds > 1 else None
    data_hash = training_data_hash(sentences)
    cues_hash = hashlib.sha256(DEFAULT_CUES.read_bytes()).hexdigest()
    # the version changes with anything that changes predictions: labels, cues, decision
    setup = hashlib.sha256(f"{cues_hash} relevance>={RELEVANCE_THRESHOLD}".encode()).hexdigest()
    meta = {
        "format": MODEL_FORMAT,
        "model_version": f"position-{data_hash[:10]}-{setup[:6]}-c{C:g}",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_data_sha256": data_hash,
        "cues_sha256": cues_hash,
        "label_files": [p.name for p in label_files(labels_dir)],
        "label_counts_by_origin": label_counts(sentences),
        "jrtext_version": __version__,
        "sklearn_version": sklearn.__version__,
        "spacy_version": spacy.__version__,
        "python_version": platform.python_version(),
        "params": {
            "C": C,
            "calibration": "sigmoid, 3-fold",
            "decision": f"on the issue if 1 - P(off_topic) >= {RELEVANCE_THRESHOLD}, then "
            "argmax p/sqrt(prior) over the six positions",
        },
    }
    model = fit_model(
        [s.text for s in sentences],
        [s.context for s in sentences],
        [s.position for s in sentences],
        [s.holder for s in sentences],
        C=C,
        meta=meta,
    )
    card = {
        **meta,
        "cross_validation": None
        if cv is None
        else {
            "folds": cv.n_folds,
            "grouped_by": "document",
            "scored": "real sentences only; authored sentences join every training fold",
            "model": cv.model.as_dict(),
            "keyword_baseline": cv.keyword.as_dict(),
            "majority_baseline": cv.majority.as_dict(),
        },
    }
    return TrainingResult(model, cv, card)


def write(result: TrainingResult, out_dir: Path) -> None:
    save_model(result.model, out_dir)
    (out_dir / "model_card.json").write_text(
        json.dumps(result.card, indent=1) + "\n", encoding="utf-8"
    )
    (out_dir / "model_card.md").write_text(model_card_markdown(result), encoding="utf-8")


def model_card_markdown(result: TrainingResult) -> str:
    card = result.card
    lines = [
        f"# Position model `{card['model_version']}`",
        "",
        "Predicts each sentence's position on the Japan–Russia territorial issue (the labels of",
        "`../shared/codebook.md`) and who holds it. Made by `jrtext train`.",
        "",
        "## Made from",
        "",
        f"- label files: {', '.join(card['label_files'])} (`corpus/labels/`)",
        f"- training data sha256: `{card['training_data_sha256']}`",
        f"- trained {card['trained_at']} with jrtext {card['jrtext_version']}, scikit-learn "
        f"{card['sklearn_version']}, Python {card['python_version']}",
        f"- parameters: {json.dumps(card['params'])}",
        "",
        "| position | real | authored |",
        "|---|---|---|",
    ]
    counts = card["label_counts_by_origin"]
    for label in sorted(set(counts["real"]) | set(counts["authored"])):
        lines.append(
            f"| {label} | {counts['real'].get(label, 0)} | {counts['authored'].get(label, 0)} |"
        )
    lines += [
        "",
        "## Model",
        "",
        "Features: word 1–2-grams and character 2–5-grams (TF-IDF) of the sentence, words of the",
        "previous sentence of the same document (codebook rule 1), and counts of the codebook's",
        "cue phrases per label, negation among them (`corpus/cues/positions.toml`). Position:",
        "logistic regression with sigmoid-calibrated probabilities; the decision weighs each",
        "class by 1/sqrt(its prior) so rare positions are not drowned. Holder: a second logistic",
        "regression over sentences whose position carries a holder.",
    ]
    if result.cv is not None:
        lines += [
            "",
            f"## Grouped {result.cv.n_folds}-fold cross-validation (real sentences only)",
            "",
            "No sentence of a test document is trained on; authored sentences "
            f"({result.cv.n_authored_in_training}) join every training fold and are never scored.",
            "",
            "```",
            format_report("model", result.cv.model),
            "",
            format_report("keyword baseline (codebook cues)", result.cv.keyword),
            "",
            format_report("majority baseline", result.cv.majority),
            "```",
        ]
    return "\n".join(lines) + "\n"
