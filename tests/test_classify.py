"""The position model: committed, current, honest about its errors, usable from the CLI."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from typer.testing import CliRunner

from jrtext.classify import (
    MODEL_FORMAT,
    ModelError,
    decide,
    fit_model,
    load_cues,
    load_model,
    save_model,
    territorial_share_index,
)
from jrtext.cli import app
from jrtext.evaluate import cross_validate
from jrtext.labels import POSITIONS, load_labels
from jrtext.train import DEFAULT_LABELS, DEFAULT_MODEL_DIR, label_files, training_data_hash
from tests.conftest import CORPUS, PROJECT_ROOT

runner = CliRunner()
FLOORS = json.loads((PROJECT_ROOT / "tests" / "quality_floors.json").read_text())["position"]


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def sentences():
    return load_labels(label_files(DEFAULT_LABELS), CORPUS)


def test_committed_model_was_trained_on_the_committed_labels(model, sentences):
    assert model.meta["training_data_sha256"] == training_data_hash(sentences), (
        "labels changed since the model was trained: run `jrtext train`"
    )
    card = json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())
    assert card["model_version"] == model.version
    cues = hashlib.sha256((PROJECT_ROOT / "corpus" / "cues" / "positions.toml").read_bytes())
    assert card["cues_sha256"] == cues.hexdigest(), "cue phrases changed: run `jrtext train`"
    assert card["cross_validation"]["model"]["n"] == sum(s.origin == "real" for s in sentences)


def test_predictions_are_labels_with_calibrated_probabilities(model):
    out = model.predict(
        [
            "The Northern Territories are an inherent part of Japan's territory.",
            "Trade between the two countries grew by ten per cent.",
        ],
        ["", ""],
    )
    for p in out:
        assert abs(sum(p.probabilities.values()) - 1) < 1e-3
        assert p.confidence == pytest.approx(p.probabilities[p.position], abs=1e-3)
        assert (p.holder == "none") == (p.position in ("neutral", "off_topic"))
    assert out[0].position == "four_islands" and out[0].holder == "japan"
    assert out[1].position == "off_topic"


def test_relevance_is_decided_before_the_position():
    """A rare position's weight may not outvote a likelier off_topic; among the positions
    it still decides."""
    classes = ["compromise", "neutral", "off_topic"]
    weights = np.array([4.0, 1.5, 1.5])
    proba = np.array([[0.36, 0.0, 0.64], [0.3, 0.3, 0.4], [0.1, 0.4, 0.5]])
    assert [classes[i] for i in decide(proba, classes, weights)] == [
        "off_topic",
        "compromise",
        "neutral",
    ]


def test_territorial_share_index_is_null_without_positions():
    assert territorial_share_index(["neutral", "shelve", "off_topic"]) == (None, 0)
    assert territorial_share_index(["four_islands", "compromise", "neutral"]) == (0.75, 2)


def test_missing_or_incompatible_model_names_the_fix(tmp_path: Path):
    with pytest.raises(ModelError, match="jrtext train"):
        load_model(tmp_path / "nothing")
    copy = tmp_path / "old"
    shutil.copytree(DEFAULT_MODEL_DIR, copy)
    meta = json.loads((copy / "meta.json").read_text())
    (copy / "meta.json").write_text(json.dumps({**meta, "sklearn_version": "0.24.2"}))
    with pytest.raises(ModelError, match=r"scikit-learn 0\.24\.2.*jrtext train"):
        load_model(copy)
    result = runner.invoke(app, ["classify", "--model", str(copy)], input='{"text": "x"}\n')
    assert result.exit_code == 2 and "jrtext train" in result.output


def test_a_saved_model_predicts_as_it_did_before_saving(tmp_path: Path, sentences):
    """Vocabularies are saved as arrays and rebuilt on load: nothing may shift a column."""
    sample = sentences[::3]
    texts, contexts = [s.text for s in sample], [s.context for s in sample]
    meta = {"format": MODEL_FORMAT, "sklearn_version": sklearn.__version__}
    positions, holders = [s.position for s in sample], [s.holder for s in sample]
    fitted = fit_model(texts, contexts, positions, holders, meta=meta)
    before = fitted.predict(texts, contexts)
    save_model(fitted, tmp_path / "m")
    assert fitted.predict(texts, contexts) == before  # saving leaves the model whole
    assert load_model(tmp_path / "m").predict(texts, contexts) == before


def test_features_counted_word_by_word_are_scikit_learns_to_the_bit(model, sentences):
    """``PositionModel.featurize`` counts character n-grams word by word; the matrix must be
    the fitted ColumnTransformer's own, on real sentences and on awkward white space, case
    and Unicode, twice (the second time from the word cache)."""
    texts = [s.text for s in sentences if s.origin == "real"][:3000]
    contexts = [s.context for s in sentences if s.origin == "real"][:3000]
    texts += ["", "   ", "A\tB\n\nC  d", "İstanbul ÉTAT naïve", "x", "Kuril\u00a0Islands", "ǅemal"]
    contexts += ["", "x", "", "Kuril Islands", "", "", ""]
    frame = pd.DataFrame({"text": texts, "context": contexts})
    expected = model.features.transform(frame)
    for _ in range(2):
        got = model.featurize(frame)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert (abs(got - expected) > 0).nnz == 0
    # cue counts: a context already seen as a sentence reuses its count; one by one, none do
    cues = {name: t for name, t, _ in model.features.transformers_}["cues"]
    one_by_one = sp.vstack([cues.transform(frame.iloc[[i]]) for i in range(len(frame))])
    assert (abs(cues.transform(frame) - one_by_one) > 0).nnz == 0


def test_cue_phrases_must_be_lower_case(tmp_path: Path):
    """They are matched against lower-cased text; an upper-case cue would never match."""
    cues = tmp_path / "cues.toml"
    cues.write_text("[topic]\npatterns = ['\\bkuril', 'Northern Territor']\n")
    with pytest.raises(ValueError, match="Northern Territor"):
        load_cues(cues)
    cues.write_text("[topic]\npatterns = ['\\bkuril\\S*', 'northern territor']\n")
    assert load_cues(cues)["topic"] == ["\\bkuril\\S*", "northern territor"]


def test_eval_prints_the_report_and_the_exact_last_line(tmp_path: Path):
    gold = tmp_path / "gold.jsonl"
    lines = [
        {
            "text": "Japan demands the return of all four islands.",
            "position": "four_islands",
            "holder": "japan",
            "doc": "d1",
            "origin": "real",
        },
        {
            "text": "Moscow says there is no territorial dispute.",
            "position": "russian_sovereignty",
            "holder": "russia",
            "doc": "d1",
            "origin": "real",
        },
        {
            "text": "Oil prices rose.",
            "position": "off_topic",
            "holder": "none",
            "doc": "d2",
            "origin": "real",
        },
        {
            "text": "Authored lines never count.",
            "position": "neutral",
            "holder": "none",
            "doc": "d3",
            "origin": "authored",
        },
    ]
    gold.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    result = runner.invoke(app, ["eval", "--gold", str(gold)])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"macro_f1=\d\.\d{3} relevance_f1=\d\.\d{3} holder_acc=\d\.\d{3} n=3", last)


def test_eval_names_a_line_with_an_unknown_label(tmp_path: Path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"text": "x", "position": "hikiwake", "holder": "japan"}\n')
    result = runner.invoke(app, ["eval", "--gold", str(gold)])
    assert result.exit_code == 2 and "gold.jsonl:1" in result.output


def test_classify_keeps_fields_and_reads_neighbours_as_context():
    lines = [
        {"id": 1, "doc": "a", "text": "Putin proposed settling it on a fifty-fifty basis."},
        {"id": 2, "doc": "a", "text": "Japan rejected the idea."},
        {"id": 3, "text": "The weather was fine."},
    ]
    result = runner.invoke(app, ["classify"], input="\n".join(json.dumps(x) for x in lines))
    assert result.exit_code == 0, result.output
    out = [json.loads(x) for x in result.output.strip().splitlines()]
    assert [o["id"] for o in out] == [1, 2, 3]
    assert all({"position", "holder", "confidence", "text"} <= o.keys() for o in out)
    assert out[0]["position"] == "compromise" and out[0]["holder"] == "russia"


def test_grouped_cross_validation_clears_the_pinned_floors(sentences):
    """Quality gate: scores are recomputed here, real sentences only, grouped by document;
    lowering a floor in tests/quality_floors.json is a reviewed change."""
    cv = cross_validate(sentences, n_folds=5)
    assert cv.model.macro_f1 >= FLOORS["macro_f1"]
    assert cv.model.relevance_f1 >= FLOORS["relevance_f1"]
    assert cv.model.holder_acc >= FLOORS["holder_acc"]
    assert cv.model.macro_f1 >= cv.keyword.macro_f1 + FLOORS["margin_over_keyword_macro_f1"]


def test_classify_reads_input_saved_with_a_byte_order_mark():
    result = runner.invoke(app, ["classify"], input='\ufeff{"text": "Trade grew."}\n')
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["position"] in POSITIONS
