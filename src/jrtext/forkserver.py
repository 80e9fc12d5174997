"""The worker pool's process server (``multiprocessing``'s forkserver), started early.

The pool's workers fork from a server that has imported jrtext and loaded spaCy once
(``jrtext.pool_preload``). That load takes a core for a second or two. On a first run
(no database yet: every file will go through spaCy) the CLI starts the server as soon as it
has read the registry, so the load overlaps the main process's own start-up (Prefect's
imports, the plan) on the other core instead of following it. Later runs start it only
when the plan shows work: a run with nothing new would spend the load for nothing.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

PRELOAD = ["jrtext.pool_preload"]


def context() -> ForkServerContext:
    """The context the pool's workers start from, with jrtext preloaded in its server."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def start_early() -> None:
    """Start the server now, so that it loads spaCy while this process starts up."""
    context()
    forkserver.ensure_running()
