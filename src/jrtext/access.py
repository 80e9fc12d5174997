"""One writer at a time, readers never blocked for long: a lock file and a published snapshot.

DuckDB lets one process open a file read-write and then no other process may open it at all.
So a run takes ``<db>.lock`` (an OS file lock, released even if the process is killed) before
opening the database, and a second run waits or stops with a clear message. At the end of
each run the writer checkpoints and copies the database to ``<db>.snapshot``; a reader that
finds the database busy reads that copy (the state after the last finished run) instead.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from jrtext.errors import DatabaseBusyError


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


def snapshot_path(db: Path) -> Path:
    return db.with_name(db.name + ".snapshot")


@contextmanager
def writer_lock(db: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the database's writer lock; wait up to ``wait_seconds`` for another run to end."""
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise DatabaseBusyError(
                        f"{db} is being written by another jrtext run ({holder}); nothing was "
                        "changed. Run again when it ends, or pass --wait SECONDS to queue"
                    ) from None
                time.sleep(0.25)
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        handle.write(f"pid {os.getpid()}, started {started}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish_snapshot(con: duckdb.DuckDBPyConnection, db: Path) -> Path:
    """Checkpoint, then copy the database beside itself for readers during the next run."""
    con.execute("CHECKPOINT")
    target = snapshot_path(db)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(db, partial)
    os.replace(partial, target)  # atomic: readers see the old copy or the new, never half
    return target


def _note_snapshot(message: str) -> None:
    sys.stderr.write(f"note: {message}\n")


@contextmanager
def connect_for_reading(
    db: Path, notify: Callable[[str], None] = _note_snapshot
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the database or, while a run writes it, to its snapshot."""
    from jrtext.store import connect

    try:
        with connect(db, read_only=True) as con:
            yield con
            return
    except DatabaseBusyError:
        snapshot = snapshot_path(db)
        if not snapshot.exists():
            raise DatabaseBusyError(
                f"{db} is busy: a run is writing it and there is no snapshot yet "
                f"({snapshot.name} is written at the end of each run); try again when it ends"
            ) from None
        taken = datetime.fromtimestamp(snapshot.stat().st_mtime, UTC)
        notify(
            f"{db} is busy (a run is writing); reading the snapshot of the last finished "
            f"run, taken {taken:%Y-%m-%d %H:%M:%S} UTC"
        )
    with connect(snapshot_path(db), read_only=True) as con:
        yield con
