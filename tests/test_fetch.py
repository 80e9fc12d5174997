"""The HTTP client against a real server on 127.0.0.1: every fault, and the polite parts."""

from __future__ import annotations

import time

import pytest
from pytest_httpserver import HTTPServer

from jrtext.errors import DocumentError
from jrtext.fetch import Fetcher, Validators
from jrtext.settings import Settings
from jrtext.web import PAGE_TYPES
from tests.websites import (
    article_page,
    conditional,
    excerpt,
    png_bytes,
    requests_to,
    serve_robots,
    sleeper,
    trickle,
)


@pytest.fixture
def server():
    with HTTPServer(host="127.0.0.1", port=0, threaded=True) as srv:
        serve_robots(srv)
        yield srv


def settings(**overrides) -> Settings:
    base = dict(
        http_timeout=0.5,
        http_total_timeout=1.5,
        http_retries=2,
        http_backoff=0.01,
        http_max_bytes=50_000,
        http_max_redirects=3,
        http_host_delay=0.0,
    )
    return Settings(**{**base, **overrides})


def fetch_error(fetcher: Fetcher, url: str, **kw) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        fetcher.get(url, **kw)
    return info.value


def test_a_500_is_retried_with_backoff_and_then_read(server):
    text, _ = excerpt("p0015")
    server.expect_oneshot_request("/flaky").respond_with_data("busy", status=500)
    server.expect_oneshot_request("/flaky").respond_with_data("busy", status=503)
    server.expect_request("/flaky").respond_with_data(article_page(text), content_type="text/html")
    slept: list[float] = []
    with Fetcher(settings(http_backoff=0.2), sleep=slept.append) as fetcher:
        response = fetcher.get(server.url_for("/flaky"), accept=PAGE_TYPES)
    assert response.status == 200 and paragraphs_in(text, response.body)
    assert len(requests_to(server, "/flaky")) == 3
    assert slept == [0.2, 0.4]  # exponential backoff


def paragraphs_in(text: str, body: bytes) -> bool:
    return text.splitlines()[0][:40].encode() in body


def test_a_persistent_500_gives_up_after_the_bounded_retries(server):
    server.expect_request("/down").respond_with_data("no", status=502)
    with Fetcher(settings()) as fetcher:
        error = fetch_error(fetcher, server.url_for("/down"))
    assert error.code == "server_error" and "3 attempt" in str(error)
    assert len(requests_to(server, "/down")) == 3


@pytest.mark.parametrize(
    ("status", "code"), [(404, "not_found"), (410, "gone"), (403, "http_error")]
)
def test_a_4xx_is_permanent_and_not_retried(server, status, code):
    server.expect_request("/missing").respond_with_data("no", status=status)
    with Fetcher(settings()) as fetcher:
        assert fetch_error(fetcher, server.url_for("/missing")).code == code
    assert len(requests_to(server, "/missing")) == 1


def test_a_timeout_is_retried_then_reported(server):
    server.expect_request("/slow").respond_with_handler(sleeper(1.2))
    with Fetcher(settings(http_retries=1)) as fetcher:
        error = fetch_error(fetcher, server.url_for("/slow"))
    assert error.code == "timeout"


def test_a_slow_trickle_is_cut_at_the_total_timeout(server):
    # a byte every 0.2 s never trips the per-read timeout; the whole-response limit stops it
    server.expect_request("/trickle").respond_with_handler(trickle(0.2, 40))
    started = time.monotonic()
    with Fetcher(settings(http_retries=0)) as fetcher:
        error = fetch_error(fetcher, server.url_for("/trickle"))
    assert error.code == "timeout" and time.monotonic() - started < 4


def test_a_redirect_loop_stops_at_the_limit(server):
    server.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    server.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    with Fetcher(settings()) as fetcher:
        error = fetch_error(fetcher, server.url_for("/a"))
    assert error.code == "too_many_redirects"
    assert len(requests_to(server, "/a")) + len(requests_to(server, "/b")) == 4  # 1 + 3


def test_a_redirect_is_followed_and_the_final_address_kept(server):
    server.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    server.expect_request("/new").respond_with_data("<p>x</p>", content_type="text/html")
    with Fetcher(settings()) as fetcher:
        response = fetcher.get(server.url_for("/old"))
    assert response.final_url.endswith("/new")


def test_a_body_over_the_cap_is_refused_with_or_without_a_length(server):
    big = b"<p>" + b"y" * 80_000 + b"</p>"
    server.expect_request("/big").respond_with_data(big, content_type="text/html")

    def streamed(request):
        from werkzeug import Response

        return Response(iter([big[:40_000], big[40_000:]]), content_type="text/html")

    server.expect_request("/big-streamed").respond_with_handler(streamed)
    with Fetcher(settings()) as fetcher:
        assert fetch_error(fetcher, server.url_for("/big")).code == "too_large"
        assert fetch_error(fetcher, server.url_for("/big-streamed")).code == "too_large"


def test_a_content_type_outside_the_accepted_ones_is_refused(server):
    server.expect_request("/img").respond_with_data(png_bytes(), content_type="image/png")
    with Fetcher(settings()) as fetcher:
        assert (
            fetch_error(fetcher, server.url_for("/img"), accept=PAGE_TYPES).code
            == "bad_content_type"
        )


def test_robots_txt_is_obeyed_and_the_user_agent_sent(server):
    server.expect_request("/private/report").respond_with_data("secret")
    server.expect_request("/public").respond_with_data("<p>ok</p>", content_type="text/html")
    with Fetcher(settings()) as fetcher:
        assert fetch_error(fetcher, server.url_for("/private/report")).code == "robots_disallowed"
        fetcher.get(server.url_for("/public"))
    assert requests_to(server, "/private/report") == []
    assert len(requests_to(server, "/robots.txt")) == 1  # read once per host per run
    agent = requests_to(server, "/public")[0].headers["User-Agent"]
    assert agent.startswith("jrtext/")


def test_a_robots_txt_that_errs_closes_the_host_for_the_run():
    with HTTPServer(host="127.0.0.1", port=0, threaded=True) as srv:
        srv.expect_request("/robots.txt").respond_with_data("oops", status=500)
        srv.expect_request("/page").respond_with_data("<p>x</p>", content_type="text/html")
        with Fetcher(settings()) as fetcher:
            assert fetch_error(fetcher, srv.url_for("/page")).code == "robots_unavailable"
        assert requests_to(srv, "/page") == []


def test_no_robots_txt_allows_everything():
    with HTTPServer(host="127.0.0.1", port=0, threaded=True) as srv:
        srv.expect_request("/robots.txt").respond_with_data("", status=404)
        srv.expect_request("/page").respond_with_data("<p>x</p>", content_type="text/html")
        with Fetcher(settings()) as fetcher:
            assert fetcher.get(srv.url_for("/page")).status == 200


def test_a_conditional_request_costs_a_304(server):
    server.expect_request("/cond").respond_with_handler(conditional("<p>v1</p>", '"v1"'))
    with Fetcher(settings()) as fetcher:
        first = fetcher.get(server.url_for("/cond"))
        assert first.validators == Validators('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT")
        second = fetcher.get(server.url_for("/cond"), first.validators)
    assert second.not_modified and second.body == b""
    assert requests_to(server, "/cond")[1].headers["If-None-Match"] == '"v1"'


def test_requests_to_one_host_are_spaced(server):
    server.expect_request("/p").respond_with_data("<p>x</p>", content_type="text/html")
    with Fetcher(settings(http_host_delay=0.3)) as fetcher:
        started = time.monotonic()
        for _ in range(3):
            fetcher.get(server.url_for("/p"))
        elapsed = time.monotonic() - started
    assert elapsed >= 0.6  # robots.txt, then three pages: at least two full gaps


def test_a_refused_connection_is_retried_then_reported():
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    slept: list[float] = []
    with Fetcher(settings(), sleep=slept.append) as fetcher:
        error = fetch_error(fetcher, f"http://127.0.0.1:{port}/page")
    # the host is down: said as such, and no page request is made after robots.txt failed
    assert error.code == "connection_failed" and f"cannot connect to 127.0.0.1:{port}" in str(error)
    with Fetcher(settings(), sleep=slept.append) as fetcher:
        fetcher._robots[f"127.0.0.1:{port}"] = None  # as if robots.txt allowed everything
        error = fetch_error(fetcher, f"http://127.0.0.1:{port}/page")
    assert error.code == "connection_failed" and "3 attempt" in str(error)


def test_a_page_declared_utf8_but_in_cp1252_is_read_as_cp1252():
    from jrtext.fetch import Response
    from jrtext.web import decode_body

    text, _ = excerpt("p0015")
    body = ("<p>" + text + " — “quoted”</p>").encode("cp1252", errors="replace")
    response = Response("u", "u", 200, "text/html", "utf-8", body, Validators())
    decoded, warning = decode_body(response)
    assert "“quoted”" in decoded and warning is not None and warning.code == "wrong_charset"
