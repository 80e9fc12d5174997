"""The real flow reading `url` and `feed` sources from a real HTTP server on 127.0.0.1.

One site serves real-shaped pages around texts of ``../shared/corpus/web`` and injects every
fault; the first run records each as a problem while every other document lands whole; the
site then recovers and a second run ingests what recovered, costing 304s for what did not
change.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from flows.pipeline import run_pipeline
from tests.conftest import CORPUS, write_registry
from tests.websites import (
    article_page,
    atom,
    conditional,
    excerpt,
    nav_only_page,
    paragraphs,
    png_bytes,
    requests_to,
    rss,
    serve_robots,
    sleeper,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]

HTML = "text/html; charset=utf-8"


@pytest.fixture
def web_settings(monkeypatch):
    for name, value in {
        "JRTEXT_N_PROCESS": "1",
        "JRTEXT_HTTP_TIMEOUT": "0.5",
        "JRTEXT_HTTP_TOTAL_TIMEOUT": "2",
        "JRTEXT_HTTP_RETRIES": "1",
        "JRTEXT_HTTP_BACKOFF": "0.01",
        "JRTEXT_HTTP_MAX_BYTES": "60000",
        "JRTEXT_HTTP_HOST_DELAY": "0",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def server():
    with HTTPServer(host="127.0.0.1", port=0, threaded=True) as srv:
        yield srv


def rows(db: Path, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def page(name: str, **kw) -> str:
    text, meta = excerpt(name)
    return article_page(text, title=meta.get("title"), published=meta.get("published"), **kw)


def serve_site(srv: HTTPServer, recovered: bool) -> None:
    srv.clear_all_handlers()
    serve_robots(srv)
    ok = srv.expect_request
    ok("/news/good").respond_with_data(page("p0015"), content_type=HTML)
    ok("/syndicated/good-copy").respond_with_data(page("p0015"), content_type=HTML)
    if not recovered:
        srv.expect_oneshot_request("/news/flaky").respond_with_data("busy", status=500)
    ok("/news/flaky").respond_with_data(page("p0020"), content_type=HTML)
    copy = (
        "By Staff Writer | Example Wire\n"
        + excerpt("p0015")[0]
        + ("\nThis story first appeared on Example News and is republished with permission.")
    )
    ok("/wire/copy").respond_with_data(article_page(copy, title="Wire copy"), content_type=HTML)
    if recovered:
        ok("/news/down").respond_with_data(page("p0018"), content_type=HTML)
        ok("/news/missing").respond_with_data(page("p0004"), content_type=HTML)
    else:
        ok("/news/down").respond_with_data("maintenance", status=503)
        ok("/news/missing").respond_with_data("no such page", status=404)
    ok("/news/gone").respond_with_data("removed", status=410)
    ok("/news/slow").respond_with_handler(sleeper(1.2))
    ok("/loop/a").respond_with_data("", status=302, headers={"Location": "/loop/b"})
    ok("/loop/b").respond_with_data("", status=302, headers={"Location": "/loop/a"})
    big_text = "\n".join([excerpt("p0001")[0]] * 40)
    ok("/news/huge").respond_with_data(article_page(big_text), content_type=HTML)
    ok("/news/picture").respond_with_data(png_bytes(), content_type="text/html")
    ok("/news/index").respond_with_data(nav_only_page(), content_type=HTML)
    ok("/private/memo").respond_with_data(page("p0002"), content_type=HTML)
    broken = page("p0005").replace("</p>", "").replace("</article>", "").replace("</body>", "")
    ok("/news/broken-markup").respond_with_data(broken[: len(broken) - 40], content_type=HTML)
    ok("/news/latin").respond_with_data(
        page("p0001").encode("utf-8"), content_type="text/html; charset=iso-8859-1"
    )
    ok("/news/cached").respond_with_handler(conditional(page("p0002"), '"c1"'))
    feed_items = [
        {
            "link": srv.url_for("/feed/story"),
            "title": "Story from the feed",
            "author": "Feed Author",
            "published": "2021-03-04",
        },
        {"link": srv.url_for("/news/good"), "title": "Same story, via the feed"},
    ]
    ok("/feed/story").respond_with_data(article_page(excerpt("p0016")[0]), content_type=HTML)
    ok("/feed.xml").respond_with_handler(
        conditional(rss(feed_items), '"f1"', "application/rss+xml")
    )
    ok("/atom/story").respond_with_data(page("p0013", site="Other"), content_type=HTML)
    ok("/atom.xml").respond_with_data(
        atom([{"link": srv.url_for("/atom/story"), "title": "Atom story", "author": "A. Writer"}]),
        content_type="application/atom+xml",
    )
    ok("/broken.xml").respond_with_data(
        "<html><body>this is not <rss a feed", content_type="application/xml"
    )
    ok("/empty.xml").respond_with_data(rss([]), content_type="application/rss+xml")


def registry(tmp_path: Path, srv: HTTPServer) -> Path:
    paths = [
        "/news/good",
        "/syndicated/good-copy",
        "/wire/copy",
        "/news/flaky",
        "/news/down",
        "/news/missing",
        "/news/gone",
        "/news/slow",
        "/loop/a",
        "/news/huge",
        "/news/picture",
        "/news/index",
        "/private/memo",
        "/news/broken-markup",
        "/news/latin",
        "/news/cached",
    ]
    url_file = tmp_path / "urls.txt"
    url_file.write_text(
        "# pages we follow\n" + "\n".join(srv.url_for(p) for p in paths) + "\n", encoding="utf-8"
    )
    feeds = "".join(
        f"""
[[source]]
name = "{name}"
type = "feed"
kind = "news"
url = "{srv.url_for(path)}"
"""
        for name, path in [
            ("Example Feed", "/feed.xml"),
            ("Atom Feed", "/atom.xml"),
            ("Broken Feed", "/broken.xml"),
            ("Empty Feed", "/empty.xml"),
        ]
    )
    return write_registry(
        tmp_path / "sources.toml",
        """
[[source]]
name = "Example News"
type = "url"
kind = "news"
country = "JP"
url_file = "urls.txt"
"""
        + feeds,
    )


EXPECTED_PROBLEMS = {
    "/news/down": "server_error",
    "/news/missing": "not_found",
    "/news/gone": "gone",
    "/news/slow": "timeout",
    "/loop/a": "too_many_redirects",
    "/news/huge": "too_large",
    "/news/picture": "binary",
    "/news/index": "no_main_text",
    "/private/memo": "robots_disallowed",
    "/news/latin": "wrong_charset",  # a warning: the page is stored, read as UTF-8
    "/broken.xml": "malformed_feed",
    "/empty.xml": "empty_feed",
}


def test_every_fault_is_a_problem_and_a_second_run_ingests_what_recovered(
    tmp_path, server, web_settings
):
    db = tmp_path / "web.duckdb"
    serve_site(server, recovered=False)
    sources = registry(tmp_path, server)

    first = run_pipeline(sources=str(sources), db=str(db))

    base = server.url_for("/")
    problems = {location.removeprefix(base): error for error, location, _ in first.problems}
    assert problems == {k.lstrip("/"): v for k, v in EXPECTED_PROBLEMS.items()}
    assert len(requests_to(server, "/news/missing")) == 1  # a 404 is not retried
    assert len(requests_to(server, "/news/gone")) == 1
    assert len(requests_to(server, "/news/down")) == 2  # retried once, then given up
    assert len(requests_to(server, "/news/flaky")) == 2  # 500, then 200
    assert requests_to(server, "/private/memo") == []

    docs = {
        loc.removeprefix(base): (doc_id, text, title, author, source)
        for doc_id, loc, text, title, author, source in rows(
            db, "SELECT doc_id, location, text, title, author, source FROM documents"
        )
    }
    assert set(docs) == {
        "news/good",
        "wire/copy",
        "news/flaky",
        "news/broken-markup",
        "news/latin",
        "news/cached",
        "feed/story",
        "atom/story",
    }
    for path, name in [
        ("news/good", "p0015"),
        ("news/flaky", "p0020"),
        ("news/cached", "p0002"),
        ("feed/story", "p0016"),
        ("news/latin", "p0001"),
    ]:
        text = docs[path][1]
        assert paragraphs(excerpt(name)[0])[0][:60] in text, path
        assert "Advertisement" not in text and "All rights reserved" not in text
    # the page declared ISO-8859-1 but is UTF-8: read as what it is, no mojibake
    assert "Ã" not in docs["news/latin"][1]
    # malformed markup still gives its text
    assert paragraphs(excerpt("p0005")[0])[0][:60] in docs["news/broken-markup"][1]
    # feed metadata fills what the page lacks; the page's own wins where it has it
    assert docs["feed/story"][2:] == ("Story from the feed", "Feed Author", "Example Feed")
    assert docs["atom/story"][3] == "A. Writer"
    assert docs["news/good"][2] == excerpt("p0015")[1]["title"]

    # the same content through three addresses: one document, three locations
    good_id = docs["news/good"][0]
    linked = {
        loc.removeprefix(base)
        for (loc,) in rows(db, "SELECT location FROM document_locations WHERE doc_id = ?", good_id)
    }
    assert linked == {"news/good", "syndicated/good-copy"}
    assert rows(db, "SELECT count(*) FROM documents WHERE text = ?", docs["news/good"][1]) == [(1,)]
    # the syndicated copy (a by-line and a credit line more) is flagged as a near-duplicate
    near = rows(db, "SELECT doc_id, duplicate_of, similarity FROM near_duplicates")
    assert [(a, b) for a, b, _ in near] == [(docs["wire/copy"][0], good_id)]
    assert near[0][2] >= 0.8
    sentences_before = rows(db, "SELECT count(*) FROM sentences")[0][0]
    stamps_before = dict(rows(db, "SELECT doc_id, ingested_at FROM documents"))

    # the site recovers; the cached page and the feed answer 304 to a conditional request
    serve_site(server, recovered=True)
    server.clear_log()
    second = run_pipeline(sources=str(sources), db=str(db))

    assert second.counts.n_new == 2  # /news/down and /news/missing recovered
    assert second.counts.n_changed == 0
    locations = {loc for (loc,) in rows(db, "SELECT location FROM documents")}
    assert {server.url_for("/news/down"), server.url_for("/news/missing")} <= locations
    cached = requests_to(server, "/news/cached")
    assert len(cached) == 1 and cached[0].headers.get("If-None-Match") == '"c1"'
    feed = requests_to(server, "/feed.xml")
    assert len(feed) == 1 and feed[0].headers.get("If-None-Match") == '"f1"'
    # nothing that was stored was rewritten
    stamps_after = dict(rows(db, "SELECT doc_id, ingested_at FROM documents"))
    assert all(stamps_after[k] == v for k, v in stamps_before.items())
    new_sentences = rows(db, "SELECT count(*) FROM sentences")[0][0] - sentences_before
    assert new_sentences == second.counts.n_sentences
    second_problems = {loc.removeprefix(base) for _, loc, _ in second.problems}
    assert "news/down" not in second_problems and "news/missing" not in second_problems


def test_files_beside_web_sources_still_go_through_the_worker_pool(tmp_path, server, monkeypatch):
    """A registry of files and web pages: the files take the pool (as without web sources),
    the pages are annotated in this process after it, and every sentence is classified."""
    import flows.pipeline as flow_module

    monkeypatch.setenv("JRTEXT_N_PROCESS", "2")
    monkeypatch.setenv("JRTEXT_HTTP_HOST_DELAY", "0")
    serve_robots(server)
    server.expect_request("/news/one").respond_with_data(
        article_page(excerpt("p0015")[0], title="One story"), content_type=HTML
    )
    speeches = tmp_path / "speeches"
    speeches.mkdir()
    for path in (
        sorted((CORPUS / "ungdc" / "Session 35 - 1980").glob("JPN_*.txt"))[:1]
        + sorted((CORPUS / "ungdc" / "Session 45 - 1990").glob("JPN_*.txt"))[:1]
    ):
        (speeches / path.name).write_bytes(path.read_bytes())
    (tmp_path / "urls.txt").write_text(server.url_for("/news/one") + "\n", encoding="utf-8")
    sources = write_registry(
        tmp_path / "sources.toml",
        f"""
[[source]]
name = "Speeches"
type = "files"
kind = "government"
path = "{speeches}"
glob = "*.txt"

[[source]]
name = "Example News"
type = "url"
kind = "news"
url_file = "urls.txt"
""",
    )
    pooled: list[int] = []
    real_pool = flow_module.annotate_in_pool

    def counting_pool(con, plan, *args, **kwargs):
        pooled.append(len(plan.to_annotate))
        return real_pool(con, plan, *args, **kwargs)

    monkeypatch.setattr(flow_module, "annotate_in_pool", counting_pool)
    db = tmp_path / "mixed.duckdb"
    summary = run_pipeline(sources=str(sources), db=str(db))
    assert pooled == [2]
    assert summary.counts.n_new == 3 and summary.problems == []
    by_source = dict(
        rows(
            db,
            "SELECT d.source, count(*) FROM sentences s JOIN documents d USING (doc_id)"
            " GROUP BY ALL",
        )
    )
    assert set(by_source) == {"Speeches", "Example News"}
    n_positions = rows(db, "SELECT count(*) FROM positions")[0][0]
    assert n_positions == sum(by_source.values()) == summary.counts.n_positions
