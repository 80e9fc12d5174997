"""The NLP stage in a pool of worker processes stores exactly what one process stores."""

from __future__ import annotations

from pathlib import Path

from jrtext import store, stream
from jrtext.kb import load_kb
from jrtext.pipeline import discover_all
from jrtext.pool import annotate_in_pool
from jrtext.settings import Settings
from jrtext.sources import load_registry
from jrtext.stance import load_cues
from tests.test_stream import speeches_registry

TABLES = {
    "documents": "doc_id, location, content_sha256, fingerprint, text",
    "sentences": "*",
    "entities": "*",
    "stances": "*",
    "document_languages": "*",
    "problems": "location, stage, error",
}


def stored(db: Path) -> dict[str, list[tuple]]:
    with store.connect(db, read_only=True) as con:
        return {
            t: con.execute(f"SELECT {c} FROM {t} ORDER BY ALL").fetchall()
            for t, c in TABLES.items()
        }


def test_pool_rows_equal_one_process_and_chunks_are_stored_in_order(tmp_path, nlp):
    registry = speeches_registry(tmp_path)
    settings = Settings(n_process=2, spacy_batch_size=1, chunk_size=2)
    refs = discover_all(load_registry(registry)).refs
    key = stream.analysis_key(settings, load_kb(settings.kb_folder).fingerprint)
    refs[3][1].path.write_bytes(b"")  # an empty file: a problem, the others go on

    with store.connect(tmp_path / "one.duckdb") as con:
        plan = stream.plan_run(refs, {}, key)
        cues = load_cues(settings.stance_cues)
        one = Settings(n_process=1, chunk_size=2)
        alone = stream.annotate_plan(con, nlp, plan, "r", one, cues, key)

    chunks: list[int] = []
    firsts: list[bool] = []
    with store.connect(tmp_path / "pool.duckdb") as con:
        plan = stream.plan_run(refs, {}, key)
        assert stream.uses_pool(plan, settings)
        pooled = annotate_in_pool(
            con,
            plan,
            "r",
            settings,
            key,
            on_chunk=lambda c: chunks.append(c.n_new),
            on_first_document=lambda: firsts.append(True),
        )
    assert pooled == alone and (pooled.n_new, pooled.n_failed) == (4, 1)
    assert chunks == [2, 2] and firsts == [True]
    rows = stored(tmp_path / "pool.duckdb")
    assert rows == stored(tmp_path / "one.duckdb")
    assert rows["problems"] == [(refs[3][1].location, "read", "empty")]
    assert len(rows["sentences"]) > 100 and rows["entities"]
