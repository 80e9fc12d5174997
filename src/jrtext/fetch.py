"""HTTP fetching the way a careful crawler does it: one client, bounded and polite.

Timeouts (per read and per whole response), bounded retries with exponential backoff for
transient failures (5xx, timeouts, refused or dropped connections) and none for permanent
ones (4xx), a size cap read while streaming, redirects followed up to a limit, a descriptive
User-Agent, robots.txt obeyed, conditional requests (ETag / Last-Modified) and a delay
between two requests to one host. Every failure is a :class:`DocumentError` whose code says
what the user sees in ``problems``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from jrtext.errors import DocumentError
from jrtext.settings import Settings

log = logging.getLogger("jrtext.fetch")

ROBOTS_CRAWL_DELAY_CAP = 30.0  # a robots.txt Crawl-delay above this would stall a run


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server said identifies the version we hold; sent back as a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass(frozen=True, slots=True)
class Response:
    """A fetched body (status 200) or a 304 (``not_modified``, ``body`` empty)."""

    url: str
    final_url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class Fetcher:
    """One HTTP client per run; remembers robots.txt and the last request to each host."""

    settings: Settings
    sleep: Callable[[float], None] = time.sleep
    _client: httpx.Client | None = None
    _robots: dict[str, RobotFileParser | None] = field(default_factory=dict)
    _last_request: dict[str, float] = field(default_factory=dict)
    _robots_unavailable: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            s = self.settings
            self._client = httpx.Client(
                follow_redirects=True,
                max_redirects=s.http_max_redirects,
                timeout=httpx.Timeout(s.http_timeout),
                headers={"User-Agent": s.http_user_agent},
                trust_env=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ public

    def get(
        self,
        url: str,
        validators: Validators | None = None,
        accept: tuple[str, ...] = (),
    ) -> Response:
        """GET ``url`` (conditionally, with ``validators``); raise DocumentError on failure.

        ``accept`` lists acceptable content types (prefixes); a 200 of another type is a
        ``bad_content_type`` problem, not a document.
        """
        self._check_robots(url)
        attempts = self.settings.http_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._get_once(url, validators)
            except _Transient as exc:
                if attempt == attempts:
                    raise DocumentError(
                        exc.code, f"{url}: {exc} (after {attempts} attempt(s))"
                    ) from None
                delay = self.settings.http_backoff * 2 ** (attempt - 1)
                log.info("%s: %s; retry %d in %.1f s", url, exc, attempt, delay)
                self.sleep(delay)
                continue
            if (
                not response.not_modified
                and accept
                and not response.content_type.startswith(accept)
            ):
                raise DocumentError(
                    "bad_content_type",
                    f"{url}: served as {response.content_type or 'no content type'}, "
                    f"not one of {', '.join(accept)}",
                )
            return response
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ internals

    def _wait_for_host(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        delay = self.settings.http_host_delay
        parser = self._robots.get(host)
        if parser is not None:
            crawl_delay = parser.crawl_delay(self.settings.http_user_agent)
            if crawl_delay:
                delay = max(delay, min(float(crawl_delay), ROBOTS_CRAWL_DELAY_CAP))
        last = self._last_request.get(host)
        if last is not None:
            remaining = last + delay - time.monotonic()
            if remaining > 0:
                self.sleep(remaining)
        self._last_request[host] = time.monotonic()

    def _get_once(self, url: str, validators: Validators | None) -> Response:
        s = self.settings
        self._wait_for_host(url)
        headers = validators.headers() if validators else {}
        deadline = time.monotonic() + s.http_total_timeout
        try:
            with self.client.stream("GET", url, headers=headers) as r:
                status = r.status_code
                if status == 304:
                    return _response(url, r, b"", validators)
                if status >= 500:
                    raise _Transient("server_error", f"the server answered {status}")
                if status == 404:
                    raise DocumentError("not_found", f"{url}: 404 Not Found")
                if status == 410:
                    raise DocumentError("gone", f"{url}: 410 Gone (removed for good)")
                if status >= 400:
                    raise DocumentError(
                        "http_error", f"{url}: the server answered {status} {r.reason_phrase}"
                    )
                if status != 200:
                    raise DocumentError(
                        "http_error", f"{url}: unexpected status {status} {r.reason_phrase}"
                    )
                declared = r.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > s.http_max_bytes:
                    raise _too_large(url, s.http_max_bytes, int(declared))
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > s.http_max_bytes:
                        raise _too_large(url, s.http_max_bytes)
                    if time.monotonic() > deadline:
                        raise _Transient(
                            "timeout",
                            f"the response took longer than {s.http_total_timeout:g} s "
                            "(JRTEXT_HTTP_TOTAL_TIMEOUT)",
                        )
                return _response(url, r, bytes(body), None)
        except httpx.TooManyRedirects:
            raise DocumentError(
                "too_many_redirects",
                f"{url}: more than {s.http_max_redirects} redirects (a loop?)",
            ) from None
        except httpx.TimeoutException as exc:
            raise _Transient("timeout", f"timed out ({type(exc).__name__})") from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise _Transient("connection_failed", f"connection failed: {exc}") from None

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        host = parts.netloc.lower()
        if host not in self._robots:
            self._robots[host] = self._load_robots(parts.scheme, parts.netloc)
        parser = self._robots[host]
        if host in self._robots_unavailable:
            code, reason = self._robots_unavailable[host]
            raise DocumentError(code, f"{url}: {reason}; the host is skipped this run", "discover")
        if parser is not None and not parser.can_fetch(self.settings.http_user_agent, url):
            raise DocumentError(
                "robots_disallowed",
                f"{url}: robots.txt of {host} disallows it for our User-Agent",
                stage="discover",
            )

    def _load_robots(self, scheme: str, netloc: str) -> RobotFileParser | None:
        """The host's robots.txt (RFC 9309, 2.3.1): none (4xx) allows everything; an
        unreachable one (5xx, network error) disallows everything until the next run."""
        robots_url = urlunsplit((scheme, netloc, "/robots.txt", "", ""))
        parser = RobotFileParser(robots_url)
        host = netloc.lower()
        try:
            self._wait_for_host(robots_url)
            r = self.client.get(robots_url)
        except httpx.TimeoutException as exc:
            self._robots_unavailable[host] = ("timeout", f"{host} did not answer ({exc!r})")
            return None
        except httpx.HTTPError as exc:
            # the host is down or unknown: say so, not that its robots.txt is at fault
            self._robots_unavailable[host] = (
                "connection_failed",
                f"cannot connect to {host}: {exc}",
            )
            return None
        if r.status_code >= 500:
            self._robots_unavailable[host] = (
                "robots_unavailable",
                f"robots.txt of {host} answered status {r.status_code} (RFC 9309: disallow all)",
            )
            return None
        if r.status_code >= 400 or r.status_code < 200:
            return None
        parser.parse(r.text.splitlines())
        return parser


class _Transient(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _too_large(url: str, cap: int, declared: int | None = None) -> DocumentError:
    size = f"{declared:,} bytes" if declared is not None else "the body"
    return DocumentError(
        "too_large", f"{url}: {size} is more than the cap of {cap:,} bytes (JRTEXT_HTTP_MAX_BYTES)"
    )


def _response(url: str, r: httpx.Response, body: bytes, held: Validators | None) -> Response:
    content_type = r.headers.get("Content-Type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    charset = None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    validators = Validators(r.headers.get("ETag"), r.headers.get("Last-Modified"))
    if r.status_code == 304 and held is not None:
        validators = Validators(
            validators.etag or held.etag, validators.last_modified or held.last_modified
        )
    return Response(url, str(r.url), r.status_code, mime, charset, body, validators)
