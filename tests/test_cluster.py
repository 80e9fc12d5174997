"""Distributed mode: NLP on a real local Dask cluster stores what the default path stores."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import dask
import duckdb
import pytest

from tests.conftest import CHAPTER, CORPUS, PROJECT_ROOT, write_registry

SPEECHES = sorted((CORPUS / "ungdc").glob("Session 3*/RUS_*.txt"))[:2]
COMPARED = {  # every column but the run's own (run_id, ingested_at)
    "documents": "doc_id, source, title, published, location, content_sha256, fingerprint, text",
    "sentences": "doc_id, sent_idx, start_char, end_char, text",
    "entities": "*",
    "stances": "*",
    "document_languages": "*",
    "positions": "*",
}


def chapter_and_speeches(tmp_path: Path) -> Path:
    """The chapter and two UN speeches, as files the test may not change."""
    assert len(SPEECHES) == 2
    for path in SPEECHES:
        target = tmp_path / "ungdc" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    body = (
        f'[[source]]\nname = "Stimson Center"\ntype = "files"\nkind = "think_tank"\n'
        f'path = "{CHAPTER.parent}"\nglob = "*.txt"\n\n'
        '[[source]]\nname = "UN"\ntype = "ungdc"\npath = "ungdc"\n'
    )
    return write_registry(tmp_path / "sources.toml", body)


def rows(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            table: con.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
            for table, columns in COMPARED.items()
        }


def test_local_cluster_stores_what_the_default_path_does_and_a_rerun_adds_nothing(
    tmp_path, monkeypatch, prefect_harness
):
    from flows.pipeline import run_pipeline
    from jrtext import nlp

    registry = chapter_and_speeches(tmp_path)
    monkeypatch.setenv("JRTEXT_DASK_BATCH_DOCUMENTS", "2")  # two batches: three documents
    default = run_pipeline(sources=str(registry), db=str(tmp_path / "default.duckdb"))
    assert default.counts.n_new == 3

    nlp.load_pipeline.cache_clear()
    on_dask = run_pipeline(sources=str(registry), db=str(tmp_path / "dask.duckdb"), workers=2)
    assert nlp.load_pipeline.cache_info().misses == 0  # spaCy ran on the workers only
    assert on_dask.counts == default.counts
    stored = rows(tmp_path / "dask.duckdb")
    assert stored == rows(tmp_path / "default.duckdb")
    assert len(stored["sentences"]) > 300 and stored["entities"] and stored["stances"]
    # classified as batches are stored (and the rest after): every sentence once, same model
    assert len(stored["positions"]) == len(stored["sentences"]) == on_dask.counts.n_positions

    again = run_pipeline(sources=str(registry), db=str(tmp_path / "dask.duckdb"), workers=2)
    assert (again.counts.n_unchanged, again.counts.n_new, again.counts.n_sentences) == (3, 0, 0)
    assert rows(tmp_path / "dask.duckdb") == stored

    # the population check reads such a database (bench/position_population.py)
    script = PROJECT_ROOT / "bench" / "position_population.py"
    population = subprocess.run(
        [sys.executable, str(script), "--db", str(tmp_path / "dask.duckdb")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "UN speeches: 2, sentences: " in population.stdout
    assert re.search(r"precision=\d\.\d\d recall=\d\.\d\d false_positives=\d+$", population.stdout)


def test_a_bad_scheduler_address_fails_the_run(tmp_path, prefect_harness):
    from flows.pipeline import run_pipeline
    from jrtext.cluster import ClusterError

    registry = chapter_and_speeches(tmp_path)
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "2s"}),
        pytest.raises(
            ClusterError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
        ),
    ):
        run_pipeline(
            sources=str(registry), db=str(tmp_path / "x.duckdb"), dask_address="tcp://127.0.0.1:9"
        )
    with duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True) as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("failed",)]
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (0,)
