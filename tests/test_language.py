"""Language detection: a non-English document is kept, with its language and a problem."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from flows.pipeline import run_pipeline
from jrtext.language import Language, detect, is_analysed
from tests.conftest import CORPUS, write_registry

# Authored for this test (not corpus text): the territorial dispute, in Russian and Japanese.
RUSSIAN = (
    "Россия и Япония до сих пор не подписали мирный договор. Спор о принадлежности южных "
    "Курильских островов остаётся главным препятствием, и переговоры продолжаются много лет."
)
JAPANESE = (
    "日本とロシアは、北方領土問題を解決して平和条約を締結するための交渉を長年続けている。"
    "択捉島、国後島、色丹島、歯舞群島の帰属が問題の核心である。両国の首脳は何度も会談した。"
)


def test_detect_tells_english_from_russian_and_japanese():
    english = (CORPUS / "web" / "p0015.txt").read_text(encoding="utf-8")
    assert detect(english).code == "en"
    assert detect(RUSSIAN).code == "ru" and detect(RUSSIAN).probability > 0.9
    assert detect(JAPANESE).code == "ja"
    assert detect("Kuril Islands").code == "und"  # too short to judge


def test_only_confident_foreign_detections_hold_a_document_back():
    assert is_analysed(Language("en", 0.99), ["en"], 0.9)
    assert is_analysed(Language("und", 0.0), ["en"], 0.9)
    assert not is_analysed(Language("ru", 0.99), ["en"], 0.9)
    assert is_analysed(Language("de", 0.6), ["en"], 0.9)  # unsure: analyse rather than drop


@pytest.mark.integration
@pytest.mark.usefixtures("prefect_harness")
def test_a_non_english_document_is_stored_with_its_language_and_a_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("JRTEXT_N_PROCESS", "1")
    folder = tmp_path / "pages"
    folder.mkdir()
    shutil.copy(CORPUS / "web" / "p0015.txt", folder / "english.txt")
    (folder / "russian.txt").write_text(RUSSIAN, encoding="utf-8")
    (folder / "japanese.html").write_text(
        f"<html><body><article><p>{JAPANESE}</p></article></body></html>", encoding="utf-8"
    )
    sources = write_registry(
        tmp_path / "sources.toml",
        f'[[source]]\nname = "Mixed"\ntype = "files"\nkind = "news"\npath = "{folder}"\n',
    )
    db = tmp_path / "lang.duckdb"
    summary = run_pipeline(sources=str(sources), db=str(db))

    assert summary.counts.n_new == 3 and summary.counts.n_failed == 0
    problems = {loc.rsplit("/", 1)[1]: error for error, loc, _ in summary.problems}
    assert problems == {"russian.txt": "not_english", "japanese.html": "not_english"}
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute(
            "SELECT regexp_extract(d.location, '[^/]+$'), l.language, l.analysed,"
            " (SELECT count(*) FROM sentences s WHERE s.doc_id = d.doc_id)"
            " FROM documents d JOIN document_languages l USING (doc_id) ORDER BY 1"
        ).fetchall()
    assert [(name, lang, analysed) for name, lang, analysed, _ in got] == [
        ("english.txt", "en", True),
        ("japanese.html", "ja", False),
        ("russian.txt", "ru", False),
    ]
    n_sentences = {name: n for name, _, _, n in got}
    assert n_sentences["english.txt"] > 3
    assert n_sentences["russian.txt"] == n_sentences["japanese.html"] == 0
