"""The main flow: registry → discover → per chunk (read → NLP → store) → run summary.

Only wiring lives here; every step is a function in ``src/jrtext``. Tasks opt out of
Prefect's input-hashing cache (their inputs are a database connection and documents) and
return small values, so no document text travels through Prefect's result machinery.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from jrtext import classify, near_duplicates, nlp, pipeline, store
from jrtext.fetch import Fetcher
from jrtext.kb import KnowledgeBase, load_kb
from jrtext.settings import Settings, get_settings
from jrtext.sources import Registry, load_registry
from jrtext.stance import StanceCues, load_cues
from jrtext.store import KnownDocument, RunCounts
from jrtext.web import WebSession


def _transient(task_, task_run, state) -> bool:
    """Retry only what may pass: I/O errors and a busy database, not bugs or bad input."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, OSError | duckdb.IOException | duckdb.TransactionException)


@task(cache_policy=NO_CACHE)
def load_sources(path: Path) -> Registry:
    return load_registry(path)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient)
def discover_documents(registry: Registry, web_session=None, con=None) -> pipeline.Discovery:
    return pipeline.discover_all(registry, web_session, con)


@task(cache_policy=NO_CACHE)
def load_knowledge_base(settings: Settings) -> KnowledgeBase:
    return load_kb(settings.kb_folder)


@task(cache_policy=NO_CACHE)
def load_nlp(settings: Settings):
    return nlp.load_pipeline(settings.spacy_model, settings.max_chars, str(settings.kb_folder))


@task(cache_policy=NO_CACHE)
def load_stance_cues(settings: Settings) -> StanceCues:
    return load_cues(settings.stance_cues)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient)
def read_known_documents(con: duckdb.DuckDBPyConnection) -> dict[str, KnownDocument]:
    return store.known_documents(con)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_transient)
def process_chunk(
    con,
    nlp_pipeline,
    refs,
    known,
    run_id: str,
    settings: Settings,
    stance_cues,
    analysis: str,
    web_session=None,
) -> RunCounts:
    return pipeline.process_chunk(
        con, nlp_pipeline, refs, known, run_id, settings, stance_cues, analysis, web_session
    ).counts


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_transient)
def flag_near_duplicates(con, settings: Settings) -> int:
    return near_duplicates.refresh(con, settings.near_duplicate_threshold)


@task(cache_policy=NO_CACHE)
def load_position_model(settings: Settings) -> classify.PositionModel:
    return classify.load_model(settings.model_dir)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_transient)
def classify_sentences(con, model: classify.PositionModel, settings: Settings) -> int:
    return pipeline.classify_pending(con, model, settings.classify_batch_documents)


@dataclass
class RunSummary:
    run_id: str
    db: str
    sources: str
    seconds: float
    counts: RunCounts
    problems: list[tuple[str, str, str]]  # (error, location, detail)

    def as_dict(self) -> dict:
        return asdict(self)


@flow(name="jrtext-run", log_prints=False)
def run_pipeline(sources: str | None = None, db: str | None = None) -> RunSummary:
    """Read every source of the registry and store documents, sentences and entities."""
    started = time.perf_counter()
    settings = get_settings(sources=sources, db=db)
    logger = get_run_logger()
    registry = load_sources(settings.sources)
    kb = load_knowledge_base(settings)
    nlp_pipeline = load_nlp(settings)
    stance_cues = load_stance_cues(settings)
    analysis = nlp.analysis_key(nlp_pipeline, kb.fingerprint, settings.stance_cues)
    run_id = pipeline.new_run_id()
    flow_run = get_run_context().flow_run
    counts = RunCounts()
    with store.connect(settings.db) as con, Fetcher(settings) as fetcher:
        store.start_run(con, run_id, str(registry.path), str(flow_run.id) if flow_run else None)
        web_session = WebSession.open(con, fetcher)
        found = discover_documents(registry, web_session, con)
        store.record_problems(con, run_id, found.problems)
        store.replace_entity_catalog(con, kb.catalog_rows())
        counts.n_failed += len(found.problems)
        try:
            known = read_known_documents(con)
            for chunk in pipeline.chunks(found.refs, settings.chunk_size):
                counts.add(
                    process_chunk(
                        con,
                        nlp_pipeline,
                        chunk,
                        known,
                        run_id,
                        settings,
                        stance_cues,
                        analysis,
                        web_session,
                    )
                )
                logger.info("%d/%d documents done", counts.n_seen, len(found.refs))
            flag_near_duplicates(con, settings)
            try:
                model = load_position_model(settings)
            except classify.ModelError as exc:
                store.record_problems(
                    con,
                    run_id,
                    [
                        store.ProblemRow(
                            None, str(settings.model_dir), "classify", "no_model", str(exc)
                        )
                    ],
                )
            else:
                counts.n_positions += classify_sentences(con, model, settings)
        except BaseException:
            store.finish_run(con, run_id, counts, status="failed")
            raise
        store.finish_run(con, run_id, counts)
        problems = con.execute(
            'SELECT error, location, detail FROM problems WHERE run_id = ? ORDER BY "at"',
            [run_id],
        ).fetchall()
    return RunSummary(
        run_id,
        str(settings.db),
        str(registry.path),
        round(time.perf_counter() - started, 2),
        counts,
        problems,
    )
