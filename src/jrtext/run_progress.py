"""The terminal's progress bar for ``jrtext run``: documents done / total and the rate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def document_progress(console: Console) -> Iterator[Callable[[int, int], None]]:
    """A listener for ``jrtext.progress`` drawing a bar on ``console`` (stderr) while it runs."""
    started = time.monotonic()
    with Progress(
        TextColumn("[bold]documents"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("documents", total=None, rate="starting (spaCy, Prefect)…")

        def on_progress(done: int, total: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=done, total=total, rate=f"{done / elapsed:.1f} docs/s")

        yield on_progress
