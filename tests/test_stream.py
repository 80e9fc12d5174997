"""One nlp.pipe for the whole run, stored chunk by chunk; deciding what changed before NLP."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from jrtext import ingest, store, stream
from jrtext import nlp as nlp_stage
from jrtext.kb import load_kb
from jrtext.pipeline import discover_all, new_run_id
from jrtext.settings import Settings
from jrtext.sources import load_registry
from jrtext.stance import load_cues
from tests.conftest import CORPUS, write_registry

SPEECHES = sorted((CORPUS / "ungdc").glob("Session 3*/JPN_*.txt"))[:5]


def speeches_registry(tmp_path: Path) -> Path:
    """Five real speeches copied into a UNGDC-shaped folder the test may change."""
    for path in SPEECHES:
        target = tmp_path / "ungdc" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    body = '[[source]]\nname = "UN"\ntype = "ungdc"\npath = "ungdc"\n'
    return write_registry(tmp_path / "sources.toml", body)


def test_analysis_key_without_loading_spacy_is_the_loaded_pipelines(nlp):
    settings = Settings()
    kb = load_kb(settings.kb_folder)
    loaded = nlp_stage.analysis_key(nlp, kb.fingerprint, settings.stance_cues)
    assert stream.analysis_key(settings, kb.fingerprint) == loaded


def test_one_pipe_stores_in_chunks_and_a_vanished_file_is_a_problem(tmp_path, nlp):
    assert len(SPEECHES) == 5
    registry = speeches_registry(tmp_path)
    settings = Settings(chunk_size=2, n_process=2)
    refs = discover_all(load_registry(registry)).refs
    key = stream.analysis_key(settings, load_kb(settings.kb_folder).fingerprint)
    db = tmp_path / "s.duckdb"
    with store.connect(db) as con:
        plan = stream.plan_run(refs, {}, key)
        assert len(plan.to_annotate) == 5 and plan.needs_nlp
        refs[2][1].path.unlink()  # gone between planning and reading
        run_id = new_run_id()
        store.start_run(con, run_id, str(registry), None)
        chunks: list[int] = []
        done = stream.annotate_plan(
            con,
            nlp,
            plan,
            run_id,
            settings,
            load_cues(settings.stance_cues),
            key,
            on_chunk=lambda c: chunks.append(c.n_new),
        )
        assert chunks == [2, 2]
        assert (done.n_new, done.n_failed) == (4, 1)
        assert done.n_sentences > 100 and done.n_stances >= 0
        problems = con.execute("SELECT error, location FROM problems").fetchall()
        assert problems == [("missing", refs[2][1].location)]
        stored = con.execute("SELECT count(*), count(DISTINCT doc_id) FROM sentences").fetchone()
        assert stored[0] == done.n_sentences and stored[1] == 4
        known = store.known_documents(con)

    again = stream.plan_run(discover_all(load_registry(registry)).refs, known, key)
    assert not again.needs_nlp and again.counts.n_unchanged == 4
    with duckdb.connect(str(db)) as con:
        assert stream.has_pending_positions(con, settings.model_dir)  # nothing classified yet
        assert stream.has_pending_positions(con, tmp_path / "no-model")


def test_rows_match_annotating_each_document_alone(tmp_path, nlp):
    registry = speeches_registry(tmp_path)
    settings = Settings(chunk_size=3, n_process=2)
    refs = discover_all(load_registry(registry)).refs
    key = stream.analysis_key(settings, load_kb(settings.kb_folder).fingerprint)
    cues = load_cues(settings.stance_cues)
    with store.connect(tmp_path / "s.duckdb") as con:
        stream.annotate_plan(con, nlp, stream.plan_run(refs, {}, key), "r", settings, cues, key)
        sentences = con.execute(
            "SELECT d.location, s.sent_idx, s.start_char, s.end_char FROM sentences s"
            " JOIN documents d USING (doc_id) ORDER BY ALL"
        ).fetchall()
        entities = con.execute(
            "SELECT d.location, e.start_char, e.label, e.canonical_id FROM entities e"
            " JOIN documents d USING (doc_id) ORDER BY ALL"
        ).fetchall()
        n_stances = con.execute("SELECT count(*) FROM stances").fetchone()[0]
    want_sentences, want_entities, want_stances = [], [], 0
    for _source, ref in refs:
        text = ingest.read_document(ref, *ingest.fingerprint(ref)[1:], "").text
        one = nlp_stage.doc_to_annotation(nlp(text), cues)
        want_sentences += [
            (ref.location, s.sent_idx, s.start_char, s.end_char) for s in one.sentences
        ]
        want_entities += [
            (ref.location, e.start_char, e.label, e.canonical_id) for e in one.entities
        ]
        want_stances += len(one.stances)
    assert sentences == sorted(want_sentences)
    assert entities == sorted(
        want_entities, key=lambda r: (r[0], r[1], r[2], r[3] is None, r[3] or "")
    )
    assert n_stances == want_stances


def test_flow_without_a_model_stores_everything_else_and_a_rerun_loads_nothing(
    tmp_path, monkeypatch, prefect_harness
):
    from flows.pipeline import run_pipeline

    registry = speeches_registry(tmp_path)
    db = tmp_path / "f.duckdb"
    monkeypatch.setenv("JRTEXT_MODEL_DIR", str(tmp_path / "no-model"))
    first = run_pipeline(sources=str(registry), db=str(db))
    assert (first.counts.n_new, first.counts.n_positions) == (5, 0)
    assert [p[0] for p in first.problems] == ["no_model"]

    monkeypatch.delenv("JRTEXT_MODEL_DIR")
    second = run_pipeline(sources=str(registry), db=str(db))  # the model classifies the rest
    assert second.counts.n_unchanged == 5 and second.counts.n_positions == first.counts.n_sentences
    assert second.problems == []

    nlp_stage.load_pipeline.cache_clear()
    third = run_pipeline(sources=str(registry), db=str(db))
    assert (third.counts.n_unchanged, third.counts.n_positions) == (5, 0)
    assert nlp_stage.load_pipeline.cache_info().misses == 0  # spaCy was not loaded
