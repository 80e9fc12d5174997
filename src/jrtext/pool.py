"""The NLP stage in a pool of worker processes on this machine, returning rows, not Docs.

``nlp.pipe(n_process=N)`` sends every ``Doc`` back to the main process as bytes (tokens,
annotations and the tok2vec tensor) and rebuilds it there, where sentences, entities and
stances are then extracted: work the main process does while the workers want both cores.
Here each worker does the whole per-document job (read, language check, spaCy, rows,
stances: ``cluster.annotate_batch``, the same function Dask workers run) and sends back only
the plain rows; the main process just stores them, chunk by chunk, in document order.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

import duckdb

from jrtext import cluster, forkserver, stream
from jrtext.settings import Settings
from jrtext.store import RunCounts

WAITING_PER_PROCESS = 8  # batches done or running but not yet stored, per process


def exit_with(parent: int) -> None:
    """Worker initializer: end this worker once the run's process is gone (killed), rather
    than block for ever writing a result to a pipe that no one reads any more."""

    def watch() -> None:
        while True:
            time.sleep(1)
            try:
                os.kill(parent, 0)
            except OSError:  # gone (or its number reused by another user's process)
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-run", daemon=True).start()


def annotate_in_pool(
    con: duckdb.DuckDBPyConnection,
    plan: stream.RunPlan,
    run_id: str,
    settings: Settings,
    analysis_key: str,
    on_chunk: Callable[[RunCounts], None] | None = None,
    on_first_document: Callable[[], None] | None = None,
) -> RunCounts:
    """Annotate the plan's documents in ``settings.n_process`` worker processes, in batches
    of ``settings.spacy_batch_size`` documents (as ``nlp.pipe`` batches them), and store
    them as they come back in chunks of ``settings.chunk_size`` documents, one transaction
    each; return what was done.

    A finished batch makes the next one go out at once, from the pool's own thread, so
    workers never wait on this thread while it stores or classifies; at most
    ``WAITING_PER_PROCESS`` batches per process wait to be stored, which bounds memory.
    Workers start from a fresh interpreter (``forkserver``), not a fork of this process and
    its Prefect threads. ``on_first_document`` is called once the first batch is back.
    """
    counts = RunCounts()
    chunk = cluster.BatchResult(writes=list(plan.metadata_only))
    batches = cluster.batches(plan, settings.spacy_batch_size)
    n_batches = -(-len(plan.to_annotate) // settings.spacy_batch_size)
    # the forkserver imports jrtext and loads spaCy once; workers fork from it with both
    context = forkserver.context()
    finished: queue.SimpleQueue[Future[cluster.BatchResult]] = queue.SimpleQueue()
    lock = threading.Lock()
    out = 0  # batches submitted and not yet stored
    limit = WAITING_PER_PROCESS * settings.n_process
    stopped = False  # set when the pool closes, even on an error: nothing more goes out

    def flush() -> None:
        nonlocal chunk
        done = cluster.store_batch(con, run_id, chunk)
        counts.add(done)
        chunk = cluster.BatchResult()
        if on_chunk is not None:
            on_chunk(done)

    with ProcessPoolExecutor(
        settings.n_process, mp_context=context, initializer=exit_with, initargs=(os.getpid(),)
    ) as workers:

        def submit_next(_done: object = None) -> None:
            nonlocal out
            with lock:
                if out >= limit or stopped:
                    return
                batch = next(batches, None)
                if batch is None:
                    return
                out += 1
            future = workers.submit(cluster.annotate_batch, batch, settings, analysis_key)
            future.add_done_callback(finished.put)
            future.add_done_callback(submit_next)

        try:
            for _ in range(settings.n_process + 1):  # one batch each, and one queued
                submit_next()
            for _ in range(n_batches):
                result = finished.get().result()
                with lock:
                    out -= 1
                submit_next()  # resumes submitting if the limit had stopped it
                if on_first_document is not None:
                    on_first_document()
                    on_first_document = None
                chunk.writes += result.writes
                chunk.problems += result.problems
                chunk.languages += result.languages
                chunk.n_failed += result.n_failed
                if len(chunk.writes) >= settings.chunk_size:
                    flush()
        finally:
            with lock:
                stopped = True
    if chunk.writes or chunk.problems or chunk.languages or chunk.n_failed:
        flush()
    return counts
