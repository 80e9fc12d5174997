"""Territorial position of each sentence (codebook labels) and who holds it, with scikit-learn.

The model reads a sentence with the previous sentence of its document as context (codebook
rule 1: "this decision", "he" often take their meaning from the sentence before). Features:
word and character n-grams of the sentence, words of the context, and counts of the
codebook's cue phrases (``corpus/cues/positions.toml``), negation among them.
"""

from __future__ import annotations

import json
import re
import tomllib
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from jrtext.errors import JrtextError
from jrtext.labels import HOLDERS, POSITIONS, TERRITORIAL_SHARE, WITH_HOLDER
from jrtext.settings import PROJECT_ROOT

MODEL_FORMAT = 2  # bump when the saved object's shape changes; older models must be retrained
DEFAULT_CUES = PROJECT_ROOT / "corpus" / "cues" / "positions.toml"


class ModelError(JrtextError):
    """The position model is missing or was made by incompatible software."""


def load_cues(path: Path = DEFAULT_CUES) -> dict[str, list[str]]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    cues = {name: list(table["patterns"]) for name, table in data.items()}
    for name, patterns in cues.items():
        for pattern in patterns:
            letters = re.sub(r"\\.", "", pattern)  # escapes like \b, \S keep their case
            if letters != letters.lower():
                raise ValueError(
                    f"{path}: cue {pattern!r} of [{name}] has upper-case letters; cues are "
                    "matched against lower-cased text, so write them in lower case"
                )
    return cues


class CueCounter(BaseEstimator, TransformerMixin):
    """How many cue phrases of each group a sentence (and its context) contains."""

    def __init__(self, cues: dict[str, list[str]] | None = None) -> None:
        self.cues = cues

    def fit(self, X: pd.DataFrame, y=None) -> CueCounter:
        cues = self.cues if self.cues is not None else load_cues()
        self.groups_ = sorted(cues)
        self.patterns_ = {g: "|".join(f"(?:{p})" for p in cues[g]) for g in self.groups_}
        return self

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        # cue patterns are lower-case: matching lower-cased text is the same as matching
        # case-insensitively, and twice as fast (this runs on every sentence of a run)
        patterns = [_compiled(self.patterns_[g]) for g in self.groups_]
        topic = self.groups_.index("topic") if "topic" in self.groups_ else None
        rows = []
        topic_of: dict[str, int] = {}  # a context is mostly the sentence before: count once
        for text, context in zip(X["text"], X["context"], strict=True):
            lowered = text.lower()
            counts = [len(pattern.findall(lowered)) for pattern in patterns]
            if topic is None:
                counts.append(0)
            else:
                topic_of[text] = counts[topic]
                if context not in topic_of:
                    topic_of[context] = len(patterns[topic].findall(context.lower()))
                counts.append(topic_of[context])
            rows.append(counts)
        return sp.csr_matrix(np.log1p(np.asarray(rows, dtype=float)))

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"cue_{g}" for g in self.groups_] + ["cue_context_topic"])


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """A cue alternation, matched against lower-cased text (``load_cues`` checks the case)."""
    return re.compile(pattern)


def _features(cues: dict[str, list[str]] | None = None) -> ColumnTransformer:
    return ColumnTransformer(
        [
            (
                "words",
                TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True),
                "text",
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=60000,
                ),
                "text",
            ),
            ("context", TfidfVectorizer(min_df=2, sublinear_tf=True), "context"),
            ("cues", CueCounter(cues), ["text", "context"]),
        ],
        transformer_weights={"words": 1.0, "chars": 1.0, "context": 0.35, "cues": 1.0},
    )


def _classifier(C: float) -> CalibratedClassifierCV:
    """One logistic regression, with sigmoid calibration fitted on 3-fold held-out scores."""
    base = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    return CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False)


RELEVANCE_THRESHOLD = 0.5  # part of the model's version (jrtext.train): retrain on a change


def decide(proba: np.ndarray, classes: Sequence[str], weights: np.ndarray) -> np.ndarray:
    """Relevance first, then the position: a sentence is on the issue when its calibrated
    probability of being so (1 − P(off_topic)) reaches ``RELEVANCE_THRESHOLD``; only then
    is the weighted argmax taken among the six positions. Weighting all seven at once let
    a rare position at 0.36 beat ``off_topic`` at 0.64, which on a whole UN speech, where
    almost nothing is on the issue, made most positions found false."""
    off = list(classes).index("off_topic")
    weighted = proba * weights
    weighted[:, off] = -np.inf
    on_topic = 1.0 - proba[:, off] >= RELEVANCE_THRESHOLD
    return np.where(on_topic, np.argmax(weighted, axis=1), off)


def decision_weights(positions: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """1/sqrt(prior) per class: calibrated probabilities stay honest, while the decision does
    not drown rare positions (argmax of calibrated probabilities almost never picks them).
    Measured by grouped cross-validation against plain argmax and 1/prior."""
    counts = Counter(positions)
    prior = np.array([counts[c] / len(positions) for c in classes])
    return 1.0 / np.sqrt(np.maximum(prior, 1e-6))


@dataclass
class PositionModel:
    """Fitted features, position and holder classifiers, and the model's provenance."""

    features: ColumnTransformer
    position: CalibratedClassifierCV
    holder: LogisticRegression
    weights: np.ndarray
    meta: dict

    char_counters: dict[str, CharNgramCounter] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def version(self) -> str:
        return str(self.meta.get("model_version", "unknown"))

    def featurize(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """``self.features.transform(frame)``, the same matrix, with character n-grams
        counted word by word (``CharNgramCounter``): a run's largest classification cost."""
        features = self.features
        if not features.sparse_output_:
            return features.transform(frame)
        weights = features.transformer_weights or {}
        blocks = []
        for name, transformer, columns in features.transformers_:
            if transformer == "drop" or name == "remainder":
                continue
            if is_char_wb(transformer):
                if name not in self.char_counters:
                    self.char_counters[name] = CharNgramCounter(transformer)
                block = self.char_counters[name].transform(frame[columns])
            else:
                block = transformer.transform(frame[columns])
            if weights.get(name) is not None:
                block = block * weights[name]
            blocks.append(sp.csr_matrix(block))
        return sp.hstack(blocks).tocsr()

    def predict(self, texts: Sequence[str], contexts: Sequence[str]) -> list[Prediction]:
        frame = pd.DataFrame({"text": list(texts), "context": list(contexts)})
        if frame.empty:
            return []
        matrix = self.featurize(frame)
        proba = self.position.predict_proba(matrix)
        classes = list(self.position.classes_)
        decisions = decide(proba, classes, self.weights)
        holder_classes = list(self.holder.classes_)
        holder_best = np.argmax(self.holder.predict_proba(matrix), axis=1)
        out = []
        for i, best in enumerate(decisions):
            label = classes[int(best)]
            holder = holder_classes[int(holder_best[i])] if label in WITH_HOLDER else "none"
            probabilities = {c: round(float(p), 4) for c, p in zip(classes, proba[i], strict=True)}
            out.append(Prediction(label, holder, float(proba[i][best]), probabilities))
        return out


def is_char_wb(transformer: object) -> bool:
    return (
        isinstance(transformer, TfidfVectorizer)
        and transformer.analyzer == "char_wb"
        and transformer.input == "content"
        and not transformer.binary
    )


class CharNgramCounter:
    """A fitted ``char_wb`` TF-IDF vectorizer's transform, built word by word.

    ``char_wb`` n-grams never cross a word boundary, so a sentence's n-gram counts are the
    sum of its words' counts: (sentences × words) @ (words × n-grams), one sparse product.
    scikit-learn generates and looks up each of a sentence's ~700 n-grams in Python; here
    each distinct word is analysed once and kept (a run of 30,000 sentences has some 30,000
    distinct words). The matrix is the vectorizer's own, bit for bit
    (``tests/test_classify.py``).
    """

    MAX_WORDS = 500_000  # bounds the memory a very long run's distinct words can take

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.vectorizer = vectorizer
        self.preprocess = vectorizer.build_preprocessor()
        self.analyze = vectorizer.build_analyzer()
        self.word_ids: dict[str, int] = {}
        self.word_columns: list[np.ndarray] = []  # per word id: its n-grams' columns
        self.word_ngrams: sp.csr_matrix | None = None  # the words × n-grams counts

    def _add_word(self, word: str) -> int:
        vocabulary = self.vectorizer.vocabulary_
        found = [vocabulary[g] for g in self.analyze(word) if g in vocabulary]
        self.word_columns.append(np.asarray(found, dtype=np.int32))
        self.word_ngrams = None
        self.word_ids[word] = len(self.word_ids)
        return self.word_ids[word]

    def _word_ngram_counts(self) -> sp.csr_matrix:
        if self.word_ngrams is None:
            lengths = [len(c) for c in self.word_columns]
            indptr = np.concatenate([[0], np.cumsum(lengths)])
            indices = np.concatenate(self.word_columns)
            matrix = sp.csr_matrix(
                (np.ones(len(indices), dtype=self.vectorizer.dtype), indices, indptr),
                shape=(len(self.word_columns), len(self.vectorizer.vocabulary_)),
            )
            matrix.sum_duplicates()
            self.word_ngrams = matrix
        return self.word_ngrams

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        if len(self.word_ids) >= self.MAX_WORDS:
            self.word_ids, self.word_columns, self.word_ngrams = {}, [], None
        word_ids = self.word_ids
        ids: list[int] = []
        per_text = np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            words = self.preprocess(self.vectorizer.decode(text)).split()
            for word in words:
                found = word_ids.get(word)
                ids.append(self._add_word(word) if found is None else found)
            per_text[row] = len(words)
        rows = np.repeat(np.arange(len(texts)), per_text)
        text_words = sp.csr_matrix(
            (np.ones(len(ids), dtype=self.vectorizer.dtype), (rows, ids)),
            shape=(len(texts), len(word_ids)),
        )
        if not word_ids:
            return sp.csr_matrix((len(texts), len(self.vectorizer.vocabulary_)))
        matrix = (text_words @ self._word_ngram_counts()).tocsr()
        matrix.sort_indices()  # scikit-learn's rows have their columns in order
        matrix.eliminate_zeros()
        return matrix

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TfidfTransformer.transform's steps, on the same counts."""
        matrix = self.counts(list(texts))
        if self.vectorizer.sublinear_tf:
            np.log(matrix.data, matrix.data)
            matrix.data += 1.0
        if self.vectorizer.use_idf:
            matrix.data *= self.vectorizer.idf_[matrix.indices]
        if self.vectorizer.norm is not None:
            matrix = normalize(matrix, norm=self.vectorizer.norm, copy=False)
        return matrix


@dataclass(frozen=True)
class Prediction:
    position: str
    holder: str
    confidence: float
    probabilities: dict[str, float]


def fit_model(
    texts: Sequence[str],
    contexts: Sequence[str],
    positions: Sequence[str],
    holders: Sequence[str],
    *,
    C: float = 1.0,
    cues: dict[str, list[str]] | None = None,
    meta: dict | None = None,
) -> PositionModel:
    """Fit the position model on all sentences and the holder model on holder-bearing ones."""
    frame = pd.DataFrame({"text": list(texts), "context": list(contexts)})
    features = _features(cues)
    matrix = features.fit_transform(frame)
    _drop_pruned_vocabulary(features)
    position = _classifier(C).fit(matrix, list(positions))
    has_holder = np.array([p in WITH_HOLDER for p in positions])
    holder = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    holder.fit(matrix[has_holder], [h for h, keep in zip(holders, has_holder, strict=True) if keep])
    weights = decision_weights(positions, list(position.classes_))
    return PositionModel(features, position, holder, weights, meta or {})


def _drop_pruned_vocabulary(features: ColumnTransformer) -> None:
    """TfidfVectorizer keeps every term it pruned (``stop_words_``): only size, no use."""
    for _, transformer, _ in features.transformers_:
        if isinstance(transformer, TfidfVectorizer) and hasattr(transformer, "stop_words_"):
            transformer.stop_words_ = None


def territorial_share_index(positions: Sequence[str]) -> tuple[float | None, int]:
    """Mean share of the disputed area left to Japan over sentences that carry one; (None, 0)
    when none does (codebook: null, not zero)."""
    values = [TERRITORIAL_SHARE[p] for p in positions if p in TERRITORIAL_SHARE]
    return (sum(values) / len(values) if values else None), len(values)


def save_model(model: PositionModel, folder: Path) -> Path:
    import skops.io as sio

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.skops"
    vocabularies = _vocabularies_as_arrays(model.features)
    try:
        sio.dump(
            {
                "features": model.features,
                "position": model.position,
                "holder": model.holder,
                "weights": model.weights,
                "vocabularies": vocabularies,
                "format": MODEL_FORMAT,
            },
            path,
            compression=zipfile.ZIP_DEFLATED,
            compresslevel=9,
        )
    finally:
        _restore_vocabularies(model.features, vocabularies)
    (folder / "meta.json").write_text(json.dumps(model.meta, indent=1) + "\n", encoding="utf-8")
    return path


TRUSTED_PREFIXES = (
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "jrtext.classify.CueCounter",
    "re.Pattern",
    "re.compile",
    "builtins.",
)


def load_model(folder: Path) -> PositionModel:
    """Load a saved model, refusing one whose software versions do not match ours."""
    import sklearn
    import skops.io as sio

    path = folder / "model.skops"
    meta_path = folder / "meta.json"
    fix = "train one with `jrtext train` (about a minute)"
    if not path.exists() or not meta_path.exists():
        raise ModelError(f"no position model in {folder}; {fix}")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != MODEL_FORMAT:
        raise ModelError(
            f"{folder}: model format {meta.get('format')} does not match this jrtext "
            f"({MODEL_FORMAT}); {fix}"
        )
    made_with = str(meta.get("sklearn_version", ""))
    if made_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ModelError(
            f"{folder}: made with scikit-learn {made_with}, this is {sklearn.__version__}; {fix}"
        )
    untrusted = sio.get_untrusted_types(file=path)
    unexpected = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if unexpected:
        raise ModelError(f"{folder}: the model file holds unexpected types {unexpected}; {fix}")
    saved = sio.load(path, trusted=untrusted)
    _restore_vocabularies(saved["features"], saved["vocabularies"])
    return PositionModel(
        saved["features"], saved["position"], saved["holder"], saved["weights"], meta
    )


def _vectorizers(features: ColumnTransformer) -> dict[str, TfidfVectorizer]:
    return {name: t for name, t, _ in features.transformers_ if isinstance(t, TfidfVectorizer)}


def _vocabularies_as_arrays(features: ColumnTransformer) -> dict[str, np.ndarray]:
    """Take each vectorizer's vocabulary out as an array of terms in column order: skops
    rebuilds a dict entry by entry (2.4 of 3.7 s to load the model), an array at once."""
    arrays = {}
    for name, vectorizer in _vectorizers(features).items():
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        arrays[name] = np.asarray(terms, dtype=str)
        vectorizer.vocabulary_ = {}
    return arrays


def _restore_vocabularies(features: ColumnTransformer, arrays: dict[str, np.ndarray]) -> None:
    for name, vectorizer in _vectorizers(features).items():
        vectorizer.vocabulary_ = {term: i for i, term in enumerate(arrays[name].tolist())}


__all__ = [
    "HOLDERS",
    "POSITIONS",
    "ModelError",
    "PositionModel",
    "Prediction",
    "fit_model",
    "load_model",
    "save_model",
    "territorial_share_index",
]
