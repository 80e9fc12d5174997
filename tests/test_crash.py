"""Crash safety: `jrtext run` killed with SIGKILL at several points, then run again, ends with
exactly the rows of an uninterrupted run: no partial documents, no duplicates.

Real subprocesses, a real signal, a real HTTP server on 127.0.0.1 and the shared corpus. The
kills are triggered by the server as the run fetches given pages (so earlier chunks are
committed and the one being read is not), and once after a delay that lands in spaCy or a
write.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import CORPUS, write_registry
from tests.websites import article_page, excerpt, serve_robots

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]

PAGES = ["p0001", "p0002", "p0004", "p0005", "p0013", "p0015", "p0016", "p0018", "p0020"]
JRTEXT = Path(sys.executable).parent / "jrtext"

# what an uninterrupted run decides; bookkeeping columns (when, which run) are left out
COMPARED = {
    "documents": "SELECT * EXCLUDE (ingested_at, run_id) FROM documents",
    "sentences": "SELECT * FROM sentences",
    "entities": "SELECT * FROM entities",
    "stances": "SELECT * FROM stances",
    "positions": "SELECT * FROM positions",
    "document_locations": "SELECT * EXCLUDE (fetched_at, run_id) FROM document_locations",
    "document_languages": "SELECT * FROM document_languages",
    "near_duplicates": "SELECT * FROM near_duplicates",
}


class Site:
    """Serves the pages; can SIGKILL a process when a given page is requested."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.victim: subprocess.Popen | None = None
        self.kill_on: str | None = None
        self.kill_delay = 0.0
        self.killed = threading.Event()
        serve_robots(server)
        for name in PAGES:
            text, meta = excerpt(name)
            body = article_page(text, title=meta.get("title"), published=meta.get("published"))
            server.expect_request(f"/doc/{name}").respond_with_handler(self._handler(body, name))
        copy = "Republished from Example News.\n" + excerpt("p0016")[0]
        server.expect_request("/doc/copy").respond_with_handler(
            self._handler(article_page(copy), "copy")
        )

    def _handler(self, body: str, name: str):
        def handle(request: Request) -> Response:
            if self.kill_on == name and self.victim is not None and not self.killed.is_set():
                self.killed.set()
                victim = self.victim
                if self.kill_delay:
                    threading.Timer(self.kill_delay, os.kill, (victim.pid, signal.SIGKILL)).start()
                else:
                    os.kill(victim.pid, signal.SIGKILL)
            return Response(body, content_type="text/html; charset=utf-8")

        return handle

    def urls(self) -> list[str]:
        return [self.server.url_for(f"/doc/{name}") for name in [*PAGES, "copy"]]


def run_jrtext(sources: Path, db: Path, site: Site | None = None) -> int:
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "JRTEXT_N_PROCESS": "1",
        "JRTEXT_CHUNK_SIZE": "2",
        "JRTEXT_HTTP_HOST_DELAY": "0",
    }
    proc = subprocess.Popen(
        [str(JRTEXT), "run", "--sources", str(sources), "--db", str(db)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if site is not None:
        site.victim = proc
    _, stderr = proc.communicate(timeout=300)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(stderr.decode(errors="replace")[-3000:])
    return proc.returncode


def snapshot(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in COMPARED.items()
        }


def partial_state(db: Path) -> tuple[int, int]:
    """(documents, documents without sentences or with rows of a missing document)."""
    with duckdb.connect(str(db), read_only=True) as con:
        n = con.execute("SELECT count(*) FROM documents").fetchone()[0]
        broken = con.execute(
            "SELECT (SELECT count(*) FROM documents d WHERE NOT EXISTS"
            " (SELECT 1 FROM sentences s WHERE s.doc_id = d.doc_id))"
            " + (SELECT count(DISTINCT doc_id) FROM sentences WHERE doc_id NOT IN"
            " (SELECT doc_id FROM documents))"
        ).fetchone()[0]
    return n, broken


def test_a_run_killed_at_any_point_and_rerun_gives_the_rows_of_an_uninterrupted_run(tmp_path):
    with HTTPServer(host="127.0.0.1", port=0, threaded=True) as server:
        site = Site(server)
        folder = tmp_path / "files"
        folder.mkdir()
        for name in ("p0026", "p0027"):
            (folder / f"{name}.txt").write_bytes((CORPUS / "web" / f"{name}.txt").read_bytes())
        urls = ", ".join(f'"{u}"' for u in site.urls())
        sources = write_registry(
            tmp_path / "sources.toml",
            f"""
[[source]]
name = "Example News"
type = "url"
kind = "news"
urls = [{urls}]

[[source]]
name = "Local"
type = "files"
kind = "other"
path = "{folder}"
""",
        )

        reference = tmp_path / "reference.duckdb"
        assert run_jrtext(sources, reference) == 0
        expected = snapshot(reference)
        assert len(expected["documents"]) == 12 and expected["near_duplicates"]

        crashed = tmp_path / "crashed.duckdb"
        for kill_on, delay in [("p0002", 0.0), ("p0013", 0.0), ("p0018", 0.4), ("copy", 0.8)]:
            site.kill_on, site.kill_delay = kill_on, delay
            site.killed.clear()
            code = run_jrtext(sources, crashed, site)
            assert site.killed.is_set() and code == -signal.SIGKILL, kill_on
            if kill_on == "p0013":
                # killed while reading the third chunk of web pages: the two local files
                # (stored first, from one nlp.pipe) and web chunks 1 and 2, all whole
                assert partial_state(crashed) == (6, 0)
        site.kill_on = None
        assert run_jrtext(sources, crashed) == 0

    assert snapshot(crashed) == expected
    with duckdb.connect(str(crashed), read_only=True) as con:
        statuses = [
            s for (s,) in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
        ]
    assert statuses == ["interrupted"] * 4 + ["completed"]
