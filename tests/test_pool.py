"""The NLP stage in a pool of worker processes stores exactly what one process stores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from jrtext import store, stream
from jrtext.kb import load_kb
from jrtext.pipeline import discover_all
from jrtext.pool import annotate_in_pool
from jrtext.settings import Settings
from jrtext.sources import load_registry
from jrtext.stance import load_cues
from tests.test_stream import speeches_registry

JRTEXT = str(Path(sys.executable).parent / "jrtext")

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


def _pool_processes(root: int) -> list[int]:
    """The forkserver and its workers among a process's descendants."""
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"multiprocessing.forkserver" in f.read():
                    found.append(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_a_killed_run_leaves_no_worker_behind(tmp_path, prefect_harness):
    from prefect.settings import PREFECT_API_URL

    registry = speeches_registry(tmp_path)
    env = dict(
        os.environ,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),  # no temporary server to leave behind
        JRTEXT_SPACY_BATCH_SIZE="1",
        JRTEXT_MODEL_DIR=str(tmp_path / "none"),
    )
    command = [JRTEXT, "run", "--sources", str(registry), "--db", str(tmp_path / "k.duckdb")]
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        pool = _pool_processes(run.pid)
        while len(pool) < 3:  # the forkserver and two workers
            assert run.poll() is None, "the run ended before its workers were seen"
            assert time.monotonic() < deadline, "no pool workers appeared"
            time.sleep(0.1)
            pool = _pool_processes(run.pid)
    finally:
        run.kill()
        run.wait()
    deadline = time.monotonic() + 20
    while any(_running(pid) for pid in pool):
        assert time.monotonic() < deadline, [p for p in pool if _running(p)]
        time.sleep(0.2)
