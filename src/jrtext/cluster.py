"""The NLP stage on a Dask cluster: batches of documents annotated on workers, stored here.

A Dask task reads a batch of planned documents, checks their language and runs them through
the spaCy pipeline, which each worker process loads once; it returns plain dataclasses
(``DocumentWrite`` with its ``Annotation``), never spaCy ``Doc`` objects. The flow stays
the one writer: each batch is stored in one transaction as soon as it comes back, so a
crash loses at most the batches in flight, and a re-run skips what was stored.

Workers read the files themselves, so they need the package installed and the corpus, the
knowledge base and the cue words at the same paths as the flow (see docs/performance.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import duckdb
from spacy.language import Language

from jrtext import language, nlp, store, stream
from jrtext.errors import JrtextError
from jrtext.ingest import DocumentRef
from jrtext.settings import Settings
from jrtext.stance import StanceCues, load_cues
from jrtext.store import DocumentWrite, ProblemRow, RunCounts

PlannedDocument = tuple[str, DocumentRef, bool]  # (source name, ref, is_new), as planned


@dataclass
class BatchResult:
    """What a worker sends back for one batch: rows to store, nothing of spaCy's."""

    writes: list[DocumentWrite] = field(default_factory=list)  # annotated or held back
    problems: list[ProblemRow] = field(default_factory=list)
    languages: list[tuple[str, language.Language, bool]] = field(default_factory=list)
    n_failed: int = 0


_annotating = threading.Lock()  # one spaCy pipeline per process; a worker may run threads


@cache
def worker_pipeline(
    model: str, max_chars: int, kb_folder: str, cues_path: str, analysis_key: str
) -> tuple[Language, StanceCues]:
    """The spaCy pipeline and stance cues, loaded once per worker process.

    ``analysis_key`` covers the knowledge base's and the cues' contents: a process that
    outlives a run (the pool's forkserver, under ``jrtext serve``) never reuses a pipeline
    built from files edited since."""
    return nlp.load_pipeline(model, max_chars, kb_folder), load_cues(Path(cues_path))


def annotate_batch(
    documents: Sequence[PlannedDocument], settings: Settings, analysis_key: str
) -> BatchResult:
    """Read, language-check and annotate one batch (runs on a Dask worker)."""
    result = BatchResult()
    to_annotate: list[DocumentWrite] = []
    for source_name, ref, is_new in documents:
        prepared = stream.prepare_document(source_name, ref, is_new, settings, analysis_key)
        if prepared.problem is not None:
            result.problems.append(prepared.problem)
        if prepared.language_row is not None:
            result.languages.append(prepared.language_row)
        if prepared.document is None:
            result.n_failed += 1
        elif prepared.held_back is not None:
            result.writes.append(prepared.held_back)
        else:
            to_annotate.append(DocumentWrite(prepared.document, None, is_new))
    if to_annotate:
        pipeline, cues = worker_pipeline(
            settings.spacy_model,
            settings.max_chars,
            str(settings.kb_folder),
            str(settings.stance_cues),
            analysis_key,
        )
        texts = [w.document.text for w in to_annotate]
        with _annotating:
            annotations = list(
                nlp.annotate(
                    texts, pipeline, batch_size=settings.spacy_batch_size, stance_cues=cues
                )
            )
        for write, annotation in zip(to_annotate, annotations, strict=True):
            write.annotation = annotation
            result.writes.append(write)
    return result


def store_batch(con: duckdb.DuckDBPyConnection, run_id: str, result: BatchResult) -> RunCounts:
    """One batch's documents, rows and languages in one transaction; its problems after."""

    def with_languages(c: duckdb.DuckDBPyConnection) -> None:
        language.write_languages(c, result.languages)

    written = store.write_chunk(
        con, run_id, result.writes, also=with_languages if result.languages else None
    )
    store.record_problems(con, run_id, result.problems)
    return RunCounts(
        n_new=sum(w.is_new for w in result.writes) - written.duplicates,
        n_changed=sum(not w.is_new for w in result.writes),
        n_failed=result.n_failed,
        n_sentences=written.sentences,
        n_entities=written.entities,
        n_stances=written.stances,
        n_duplicates=written.duplicates,
    )


def batches(plan: stream.RunPlan, size: int) -> Iterator[list[PlannedDocument]]:
    for start in range(0, len(plan.to_annotate), size):
        yield plan.to_annotate[start : start + size]


class BatchFuture(Protocol):
    """A submitted batch: Prefect's future of a Dask task (``PrefectDaskFuture``)."""

    wrapped_future: Any  # the distributed.Future, to wait on several at once

    def result(self) -> BatchResult: ...


def annotate_on_cluster(
    con: duckdb.DuckDBPyConnection,
    plan: stream.RunPlan,
    run_id: str,
    settings: Settings,
    submit: Callable[[list[PlannedDocument]], BatchFuture],
    in_flight: int,
    on_batch: Callable[[RunCounts], None] | None = None,
) -> RunCounts:
    """Submit the plan's documents in batches, at most ``in_flight`` at a time (which bounds
    the memory results wait in), and store each batch as it comes back, in any order."""
    from distributed import as_completed

    counts = RunCounts()
    if plan.metadata_only:  # documents whose text is unchanged: no NLP, stored at once
        done = store_batch(con, run_id, BatchResult(writes=list(plan.metadata_only)))
        counts.add(done)
        if on_batch is not None:
            on_batch(done)
    waiting = batches(plan, settings.dask_batch_documents)
    pending: dict[str, BatchFuture] = {}
    completed: as_completed | None = None

    def submit_next() -> bool:
        nonlocal completed
        batch = next(waiting, None)
        if batch is None:
            return False
        future = submit(batch)
        dask_future = future.wrapped_future
        pending[dask_future.key] = future
        if completed is None:
            completed = as_completed(loop=dask_future.client.loop)
        completed.add(dask_future)
        return True

    for _ in range(in_flight):
        if not submit_next():
            break
    for dask_future in completed or ():
        result = pending.pop(dask_future.key).result()
        done = store_batch(con, run_id, result)
        counts.add(done)
        if on_batch is not None:
            on_batch(done)
        submit_next()
    return counts


def task_runner(address: str | None, workers: int | None):
    """Prefect's Dask task runner: on the scheduler at ``address``, or on a local cluster of
    ``workers`` processes with one thread each, started for the run and closed after it."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": workers or 1,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        },
    )


class ClusterError(JrtextError):
    """The Dask cluster cannot be reached or started; nothing was annotated on it."""


def cluster_threads(runner) -> int:
    """Connect to (or start) the runner's cluster; the worker threads it has now (≥ 1)."""
    try:
        threads = runner.client.nthreads()
    except (OSError, TimeoutError) as exc:
        where = runner.address or "a local cluster"
        raise ClusterError(f"cannot reach the Dask scheduler at {where}: {exc}") from None
    return max(sum(threads.values()), 1)


@contextmanager
def prefect_api_for_workers() -> Iterator[None]:
    """Make sure Dask workers reach the flow's Prefect API: without ``PREFECT_API_URL``,
    Prefect would start a temporary server in every worker process; here one is started
    in this process and its address is passed to the workers with the run's settings."""
    import os

    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    before = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url  # local workers are spawned with it
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield
    finally:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before


def quiet_dask() -> None:
    """Keep Dask's scheduler and worker chatter out of the user's way (warnings still show);
    local workers inherit the setting through the environment."""
    import logging
    import os

    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    logging.getLogger("distributed").setLevel(os.environ["DASK_LOGGING__DISTRIBUTED"].upper())
