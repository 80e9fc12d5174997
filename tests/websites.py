"""Real-shaped web pages and feeds around texts of ``../shared/corpus/web``, served for tests.

Nothing here copies corpus text into the repository: pages are built at test time from the
files, with navigation, ads and a footer around the article as real sites have.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import CORPUS

WEB = CORPUS / "web"
BOILERPLATE_NAV = ["Home", "World", "Politics", "Business", "Opinion", "Subscribe", "Log in"]


def excerpt(name: str) -> tuple[str, dict]:
    """(text, metadata) of one excerpt of the corpus, e.g. ``excerpt("p0015")``."""
    text = (WEB / f"{name}.txt").read_text(encoding="utf-8")
    meta = json.loads((WEB / f"{name}.meta.json").read_text(encoding="utf-8"))
    return text, meta


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.splitlines() if p.strip()]


def article_page(
    text: str,
    title: str | None = None,
    author: str | None = None,
    published: str | None = None,
    site: str = "Example News",
    charset: str = "utf-8",
    extra_footer: str = "",
) -> str:
    """A news-site page: header, menu, ad, the article, related links, footer."""
    head = [f'<meta charset="{charset}">']
    if title:
        head.append(f"<title>{html.escape(title)} | {site}</title>")
        head.append(f'<meta property="og:title" content="{html.escape(title)}">')
    if author:
        head.append(f'<meta name="author" content="{html.escape(author)}">')
    if published:
        head.append(f'<meta property="article:published_time" content="{published}">')
    head.append(f'<meta property="og:site_name" content="{site}">')
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in BOILERPLATE_NAV)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs(text))
    return f"""<!DOCTYPE html>
<html lang="en"><head>{"".join(head)}</head>
<body>
<header><div class="logo">{site}</div><nav><ul>{nav}</ul></nav></header>
<div class="ad-banner">Advertisement: subscribe today for unlimited access</div>
<main><article>
<h1>{html.escape(title or "")}</h1>
{body}
</article></main>
<aside class="related"><h3>Related</h3><ul><li><a href="/a">Markets today</a></li>
<li><a href="/b">Weather</a></li></ul></aside>
<footer><p>© {site}. All rights reserved.</p><a href="/privacy">Privacy</a>{extra_footer}</footer>
</body></html>"""


def nav_only_page() -> str:
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in BOILERPLATE_NAV)
    return f"<html><head><title>Index</title></head><body><nav><ul>{nav}</ul></nav></body></html>"


def rss(items: list[dict], title: str = "Example feed") -> str:
    parts = []
    for item in items:
        fields = [f"<title>{html.escape(item.get('title', ''))}</title>"]
        fields.append(f"<link>{html.escape(item['link'])}</link>")
        if item.get("author"):
            fields.append(f"<dc:creator>{html.escape(item['author'])}</dc:creator>")
        if item.get("published"):
            when = datetime.fromisoformat(item["published"]).replace(tzinfo=UTC)
            fields.append(f"<pubDate>{format_datetime(when)}</pubDate>")
        parts.append(f"<item>{''.join(fields)}</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{title}</title><link>http://example.org/</link><description>d</description>"
        + "".join(parts)
        + "</channel></rss>"
    )


def atom(items: list[dict], title: str = "Example Atom feed") -> str:
    entries = []
    for i, item in enumerate(items):
        author = (
            f"<author><name>{html.escape(item['author'])}</name></author>"
            if item.get("author")
            else ""
        )
        updated = item.get("published", "2024-01-01") + "T00:00:00Z"
        entries.append(
            f"<entry><title>{html.escape(item.get('title', ''))}</title>"
            f'<link href="{html.escape(item["link"])}"/><id>urn:x:{i}</id>'
            f"<updated>{updated}</updated>{author}</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>'
        "<id>urn:x:feed</id><updated>2024-01-01T00:00:00Z</updated>" + "".join(entries) + "</feed>"
    )


def conditional(body: str | bytes, etag: str, content_type: str = "text/html; charset=utf-8"):
    """A handler that answers 304 when the client holds ``etag`` (or its Last-Modified)."""
    last_modified = "Mon, 01 Jan 2024 00:00:00 GMT"

    def handler(request: Request) -> Response:
        if (
            request.headers.get("If-None-Match") == etag
            or request.headers.get("If-Modified-Since") == last_modified
        ):
            return Response(status=304, headers={"ETag": etag})
        return Response(
            body,
            status=200,
            content_type=content_type,
            headers={"ETag": etag, "Last-Modified": last_modified},
        )

    return handler


def trickle(seconds_per_byte: float, n_bytes: int):
    def handler(request: Request) -> Response:
        import time

        def slowly() -> Iterator[bytes]:
            for _ in range(n_bytes):
                time.sleep(seconds_per_byte)
                yield b"x"

        return Response(slowly(), status=200, content_type="text/html")

    return handler


def sleeper(seconds: float):
    def handler(request: Request) -> Response:
        import time

        time.sleep(seconds)
        return Response("<html><body><p>late</p></body></html>", content_type="text/html")

    return handler


def png_bytes() -> bytes:
    """A real PNG signature and header chunk (NUL bytes and all), as a server might misserve."""
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02"
        b"\x00\x00\x00\x90\x91h6" + bytes(range(256)) * 8
    )


def serve_robots(server: HTTPServer, body: str = "User-agent: *\nDisallow: /private/\n") -> None:
    server.expect_request("/robots.txt").respond_with_data(body, content_type="text/plain")


def requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in server.log if request.path == path]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
