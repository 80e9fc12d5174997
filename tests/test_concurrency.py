"""One writer at a time: real processes racing for one database file, and readers meanwhile."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from jrtext.access import lock_path, snapshot_path, writer_lock
from jrtext.cli import app
from tests.conftest import CHAPTER, PROJECT_ROOT, write_registry

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()
JRTEXT = [sys.executable, "-m", "jrtext.cli"]


def chapter_registry(folder: Path) -> Path:
    return write_registry(
        folder / "sources.toml",
        f'[[source]]\nname = "Stimson Center"\ntype = "files"\nkind = "think_tank"\n'
        f'path = "{CHAPTER.parent}"\nglob = "*.txt"\n',
    )


def harness_env() -> dict[str, str]:
    """Child processes use the session's Prefect test server, not one temporary server each."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env.update(
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        JRTEXT_N_PROCESS="1",
        PREFECT_LOGGING_LEVEL="WARNING",
        COLUMNS="200",
    )
    return env


def test_two_runs_started_at_once_leave_a_consistent_database(tmp_path):
    registry, db = chapter_registry(tmp_path), tmp_path / "j.duckdb"
    command = [*JRTEXT, "run", "--sources", str(registry), "--db", str(db), "--wait", "600"]
    first, second = (
        subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=harness_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    )
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("SELECT status, n_new, n_unchanged FROM runs ORDER BY started_at")
        assert sorted(runs.fetchall()) == [("completed", 0, 1), ("completed", 1, 0)]
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 1
        doubled = con.execute(
            "SELECT count(*) FROM (SELECT doc_id, sent_idx FROM sentences"
            " GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]
        assert doubled == 0
        classified = con.execute(
            "SELECT (SELECT count(*) FROM positions) = (SELECT count(*) FROM sentences)"
        ).fetchone()[0]
        assert classified
    # the progress bar (documents done / total, rate) went to the terminal of the run that wrote
    assert any("1/1" in err and "docs/s" in err for _out, err in outputs), outputs
    assert snapshot_path(db).exists()


def test_a_second_run_without_wait_stops_with_a_clear_message(tmp_path):
    registry, db = chapter_registry(tmp_path), tmp_path / "j.duckdb"
    with writer_lock(db):
        result = runner.invoke(app, ["run", "--sources", str(registry), "--db", str(db)])
    assert result.exit_code == 2
    assert "being written by another jrtext run" in result.output
    assert f"pid {os.getpid()}" in result.output and "--wait" in result.output
    assert not db.exists(), "the waiting run touched nothing"
    assert lock_path(db).read_text() == "", "a released lock names no holder"


def test_readers_use_the_snapshot_while_a_run_writes(tmp_path):
    registry, db = chapter_registry(tmp_path), tmp_path / "j.duckdb"
    done = runner.invoke(app, ["run", "--sources", str(registry), "--db", str(db)])
    assert done.exit_code == 0, done.output
    holder = subprocess.Popen(  # a writer that keeps the file open, as a long run does
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
            " print('open', flush=True); time.sleep(120)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        sql = "SELECT count(*) AS n FROM documents"
        result = runner.invoke(app, ["query", "--db", str(db), "-f", "csv", sql])
        assert result.exit_code == 0, result.output
        assert "reading the snapshot" in result.output and "n\n1" in result.output
        trends = runner.invoke(app, ["trends", "--db", str(db), "-f", "json"])
        assert trends.exit_code == 0 and '"Stimson Center"' in trends.output
        snapshot_path(db).unlink()
        busy = runner.invoke(app, ["query", "--db", str(db), sql])
        message = " ".join(busy.output.split())
        assert busy.exit_code == 2 and "is busy" in message and "try again" in message
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    again = runner.invoke(app, ["query", "--db", str(db), "-f", "csv", sql])
    assert again.exit_code == 0 and "snapshot" not in again.output
