"""The main flow: registry → discover → per chunk (read → NLP → store) → run summary.

Only wiring lives here; every step is a function in ``src/jrtext``. Tasks opt out of
Prefect's input-hashing cache (their inputs are a database connection and documents) and
return small values, so no document text travels through Prefect's result machinery.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from jrtext import access, near_duplicates, nlp, pipeline, progress, store, stream, web
from jrtext import cluster as dask_cluster
from jrtext.errors import JrtextError
from jrtext.fetch import Fetcher
from jrtext.kb import KnowledgeBase, load_kb
from jrtext.pool import annotate_in_pool
from jrtext.settings import Settings, get_settings
from jrtext.sources import Registry, load_registry
from jrtext.stance import StanceCues, load_cues
from jrtext.store import KnownDocument, RunCounts
from jrtext.web import WebSession

if TYPE_CHECKING:  # scikit-learn is imported only by runs that classify
    from jrtext import classify


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


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient)
def plan_documents(refs, known: dict[str, KnownDocument], analysis: str) -> stream.RunPlan:
    return stream.plan_run(refs, known, analysis)


@task(cache_policy=NO_CACHE)
def annotate_and_store(
    con,
    nlp_pipeline,
    plan: stream.RunPlan,
    run_id: str,
    settings: Settings,
    stance_cues,
    analysis: str,
    on_first_document,
    between_chunks=None,
) -> RunCounts:
    logger = get_run_logger()
    done = RunCounts()
    total = plan.counts.n_seen  # every document listed
    already = total - len(plan.to_annotate)  # decided without NLP: unchanged, failed to read

    def on_chunk(chunk: RunCounts) -> None:
        done.add(chunk)
        stored = done.n_new + done.n_changed
        logger.info("%d/%d documents stored", stored, len(plan.to_annotate))
        progress.report(min(already + stored, total), total)
        if between_chunks is not None:
            done.n_positions += between_chunks()

    if nlp_pipeline is None and stream.uses_pool(plan, settings):
        counts = annotate_in_pool(
            con, plan, run_id, settings, analysis, on_chunk, on_first_document
        )
    else:
        counts = stream.annotate_plan(
            con,
            nlp_pipeline,
            plan,
            run_id,
            settings,
            stance_cues,
            analysis,
            on_chunk=on_chunk,
            on_first_document=on_first_document,
        )
    counts.n_positions += done.n_positions
    return counts


@task(cache_policy=NO_CACHE, persist_result=False)
def annotate_batch(documents, settings: Settings, analysis: str) -> dask_cluster.BatchResult:
    """One batch through spaCy on a Dask worker; plain rows come back, not spaCy Docs."""
    return dask_cluster.annotate_batch(documents, settings, analysis)


def annotate_on_dask(
    con,
    plan: stream.RunPlan,
    run_id: str,
    settings: Settings,
    analysis: str,
    dask_address: str | None,
    workers: int | None,
    on_first_batch,
    between_batches=None,
) -> RunCounts:
    """The NLP stage as Dask tasks (prefect-dask); this process stores each batch, and
    classifies stored ones (``between_batches``) while the cluster works on the next."""
    logger = get_run_logger()
    done = RunCounts()

    def on_batch(batch: RunCounts) -> None:
        on_first_batch()
        done.add(batch)
        stored = done.n_new + done.n_changed
        logger.info("%d/%d documents stored", stored, len(plan.to_annotate))
        progress.report(
            min(plan.counts.n_seen - len(plan.to_annotate) + stored, plan.counts.n_seen),
            plan.counts.n_seen,
        )
        if between_batches is not None:
            done.n_positions += between_batches()

    with dask_cluster.task_runner(dask_address, workers) as runner:

        def submit(batch):
            parameters = {"documents": batch, "settings": settings, "analysis": analysis}
            return runner.submit(annotate_batch, parameters)

        in_flight = 2 * dask_cluster.cluster_threads(runner)
        counts = dask_cluster.annotate_on_cluster(
            con, plan, run_id, settings, submit, in_flight, on_batch
        )
    counts.n_positions += done.n_positions
    return counts


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_transient)
def flag_near_duplicates(con, settings: Settings) -> int:
    return near_duplicates.refresh(con, settings.near_duplicate_threshold)


@task(cache_policy=NO_CACHE)
def load_position_model(settings: Settings) -> classify.PositionModel:
    from jrtext.classify import load_model

    return load_model(settings.model_dir)


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
def run_pipeline(
    sources: str | None = None,
    db: str | None = None,
    wait_seconds: float | None = None,
    dask_address: str | None = None,
    workers: int | None = None,
) -> RunSummary:
    """Read every source of the registry and store documents, sentences and entities.

    With ``dask_address`` (a scheduler) or ``workers`` (a local cluster), the NLP of files
    runs on Dask; this process still stores everything.
    """
    started = time.perf_counter()
    settings = get_settings(sources=sources, db=db, writer_wait_seconds=wait_seconds)
    logger = get_run_logger()
    registry = load_sources(settings.sources)
    kb = load_knowledge_base(settings)
    stance_cues = load_stance_cues(settings)
    analysis = stream.analysis_key(settings, kb.fingerprint)
    run_id = pipeline.new_run_id()
    flow_run = get_run_context().flow_run
    counts = RunCounts()
    with (
        access.writer_lock(settings.db, settings.writer_wait_seconds),
        store.connect(settings.db) as con,
        Fetcher(settings) as fetcher,
    ):
        store.start_run(con, run_id, str(registry.path), str(flow_run.id) if flow_run else None)
        web_session = WebSession.open(con, fetcher)
        found = discover_documents(registry, web_session, con)
        store.record_problems(con, run_id, found.problems)
        store.replace_entity_catalog(con, kb.catalog_rows())
        counts.n_failed += len(found.problems)
        try:
            known = read_known_documents(con)
            # files are planned from fingerprints and streamed through one nlp.pipe; web
            # pages are fetched and read chunk by chunk (conditional requests decide)
            file_refs = [(n, r) for n, r in found.refs if not isinstance(r, web.WebRef)]
            web_refs = [(n, r) for n, r in found.refs if isinstance(r, web.WebRef)]
            copies = store.known_file_duplicates(con)
            plan = plan_documents(file_refs, {**copies, **known}, analysis)
            counts.add(plan.counts)
            store.record_problems(con, run_id, plan.problems)
            model_future = []

            def load_model_meanwhile() -> None:
                # in a thread of its own while spaCy runs: started once spaCy's worker
                # processes are forked, as forking beside a busy thread is not safe
                if not model_future:
                    model_future.append(load_position_model.submit(settings))

            def between_chunks() -> int:
                # stored documents are hashed (near-duplicates) and classified while the
                # NLP goes on, once the model has loaded, so that little is left after it
                near_duplicates.hash_new_documents(con)
                if not (model_future and model_future[0].wrapped_future.done()):
                    return 0
                try:
                    model = model_future[0].result()
                except JrtextError:  # no usable model: recorded once the NLP is done
                    return 0
                return pipeline.classify_pending(con, model, settings.classify_batch_documents)

            on_dask = bool(dask_address or workers)
            in_pool = stream.uses_pool(plan, settings)  # spaCy loads in the pool's workers
            files_in_this_process = plan.needs_nlp and not on_dask and not in_pool
            nlp_pipeline = load_nlp(settings) if files_in_this_process else None
            if in_pool:
                # nothing is forked from this process while the pool works (its workers
                # start from a fresh interpreter), so the model loads while they start up
                load_model_meanwhile()
            if on_dask and plan.needs_nlp:  # the cluster is started only for NLP
                counts.add(
                    annotate_on_dask(
                        con,
                        plan,
                        run_id,
                        settings,
                        analysis,
                        dask_address,
                        workers,
                        load_model_meanwhile,
                        between_chunks,
                    )
                )
            elif plan.needs_nlp or plan.metadata_only:
                # spaCy is loaded only when some document's text is new or changed
                counts.add(
                    annotate_and_store(
                        con,
                        nlp_pipeline,
                        plan,
                        run_id,
                        settings,
                        stance_cues,
                        analysis,
                        load_model_meanwhile,
                        between_chunks,
                    )
                )
            if web_refs and nlp_pipeline is None:  # web pages are annotated here
                nlp_pipeline = load_nlp(settings)
            if web_refs and model_future:
                # their nlp.pipe forks worker processes: not while a thread loads the model
                model_future[0].wait()
            for chunk in pipeline.chunks(web_refs, settings.chunk_size):
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
            flag_near_duplicates(con, settings)
            if model_future or stream.has_pending_positions(con, settings.model_dir):
                load_model_meanwhile()
            logger.info("%d/%d documents done", counts.n_seen, len(found.refs))
            progress.report(len(found.refs), len(found.refs))
            try:
                model = model_future[0].result() if model_future else None
            except JrtextError as exc:  # ModelError: no usable model
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
                if model is not None:
                    counts.n_positions += classify_sentences(con, model, settings)
        except BaseException:
            store.finish_run(con, run_id, counts, status="failed")
            raise
        store.finish_run(con, run_id, counts)
        access.publish_snapshot(con, settings.db)
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
