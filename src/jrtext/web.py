"""Web sources (``url`` and ``feed``) into documents: list addresses, fetch, extract, dedup.

A web document is keyed by the address it was listed under (``location``). Its fetch is
conditional (ETag / Last-Modified) while the stored document still holds what that address
gave, so an unchanged page costs a 304. The same content reached through a second address is
not stored again: the address is linked to the existing document in ``document_locations``.
Metadata precedence: the page's own (title, author, date), then the feed entry's, then the
registry's. Every failure is a :class:`DocumentError`; nothing here decides what to store
beyond returning rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from jrtext import ingest
from jrtext.errors import DocumentError
from jrtext.fetch import Fetcher, Response, Validators
from jrtext.ingest import RawDocument, sha256_hex
from jrtext.sources import FeedSource, UrlSource
from jrtext.store import DocumentWrite, KnownDocument, ProblemRow, doc_id_for, utcnow

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/pdf")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/feed+json",  # rejected by the parser with a clear message, not by type
    "text/html",  # some servers label feeds so; the parser decides
)
ASCII_CHARSETS = {"utf-8", "utf8", "us-ascii", "ascii"}


@dataclass(frozen=True, slots=True)
class WebRef:
    """One web address to read, with what a feed entry says about it."""

    location: str
    source: str
    kind: str
    country: str | None
    title: str | None = None
    author: str | None = None
    published: date | None = None
    published_precision: str | None = None


@dataclass(frozen=True, slots=True)
class KnownLocation:
    doc_id: str
    fingerprint: str
    content_sha256: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class LocationRow:
    location: str
    doc_id: str
    source: str
    final_url: str | None
    content_sha256: str
    fingerprint: str
    etag: str | None
    last_modified: str | None


@dataclass
class WebSession:
    """What web reading needs across one run: the client and what is already stored."""

    fetcher: Fetcher
    known: dict[str, KnownLocation] = field(default_factory=dict)
    content_index: dict[str, str] = field(default_factory=dict)  # content sha256 → doc_id

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection, fetcher: Fetcher) -> WebSession:
        return cls(fetcher, known_locations(con), content_index(con))


def known_locations(con: duckdb.DuckDBPyConnection) -> dict[str, KnownLocation]:
    """Addresses whose document still holds the content they gave (else: fetch afresh)."""
    rows = con.execute(
        "SELECT l.location, l.doc_id, l.fingerprint, l.content_sha256, l.etag, l.last_modified"
        " FROM document_locations l JOIN documents d"
        " ON d.doc_id = l.doc_id AND d.content_sha256 = l.content_sha256"
    ).fetchall()
    return {r[0]: KnownLocation(*r[1:]) for r in rows}


def content_index(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(
        "SELECT content_sha256, min(doc_id) FROM documents GROUP BY content_sha256"
    ).fetchall()
    return dict(rows)


# ---------------------------------------------------------------- discovery


def discover(
    source: UrlSource | FeedSource, session: WebSession, con: duckdb.DuckDBPyConnection
) -> list[WebRef]:
    """The addresses a web source lists; a source-wide failure is a DocumentError."""
    if isinstance(source, UrlSource):
        return [WebRef(u, source.name, source.kind, source.country) for u in _listed_urls(source)]
    return _feed_entries(source, session, con)


def _listed_urls(source: UrlSource) -> list[str]:
    if source.urls is not None:
        urls = source.urls
    else:
        assert source.url_file is not None
        try:
            lines = source.url_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise DocumentError(
                "path_not_found", f"{source.url_file} does not exist", stage="discover"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DocumentError(
                "unreadable", f"cannot read {source.url_file}: {exc}", stage="discover"
            ) from None
        urls = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            raise DocumentError(
                "bad_url_file",
                f"{source.url_file}: {bad[0]!r} is not an http:// or https:// address",
                stage="discover",
            )
    return list(dict.fromkeys(urls))  # listed twice is read once


def _feed_entries(
    source: FeedSource, session: WebSession, con: duckdb.DuckDBPyConnection
) -> list[WebRef]:
    stored = con.execute(
        "SELECT etag, last_modified, entries FROM feeds WHERE url = ?", [source.url]
    ).fetchone()
    validators = Validators(stored[0], stored[1]) if stored else None
    try:
        response = session.fetcher.get(source.url, validators, accept=FEED_TYPES)
    except DocumentError as exc:
        exc.stage = "discover"
        raise
    unchanged = response.not_modified and stored is not None
    entries = json.loads(stored[2]) if unchanged else parse_feed(response)
    con.execute("DELETE FROM feeds WHERE url = ?", [source.url])
    con.execute(
        "INSERT INTO feeds VALUES (?, ?, ?, ?, ?, ?)",
        [
            source.url,
            source.name,
            response.validators.etag,
            response.validators.last_modified,
            json.dumps(entries),
            utcnow(),
        ],
    )
    refs = []
    for entry in entries:
        published, precision = None, None
        if entry.get("published"):
            with contextlib.suppress(DocumentError):
                published, precision = ingest.parse_partial_date(entry["published"], Path("."))
        refs.append(
            WebRef(
                entry["link"],
                source.name,
                source.kind,
                source.country,
                entry.get("title"),
                entry.get("author"),
                published,
                precision,
            )
        )
    return list({r.location: r for r in refs}.values())


def parse_feed(response: Response) -> list[dict[str, str | None]]:
    """Entries of an RSS or Atom feed with an http(s) link; a feed with none is a problem."""
    import feedparser

    parsed = feedparser.parse(
        response.body, response_headers={"content-location": response.final_url}
    )
    entries = []
    for entry in parsed.entries:
        link = (entry.get("link") or "").strip()
        if not link.startswith(("http://", "https://")):
            continue
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        entries.append(
            {
                "link": link,
                "title": (entry.get("title") or "").strip() or None,
                "author": (entry.get("author") or "").strip() or None,
                "published": f"{when.tm_year:04d}-{when.tm_mon:02d}-{when.tm_mday:02d}"
                if when
                else None,
            }
        )
    if not entries:
        if parsed.bozo and not parsed.get("version"):
            raise DocumentError(
                "malformed_feed",
                f"{response.url}: not a readable RSS or Atom feed "
                f"({parsed.get('bozo_exception', 'unknown error')})",
                stage="discover",
            )
        raise DocumentError(
            "empty_feed", f"{response.url}: the feed lists no entries with a link", stage="discover"
        )
    return entries


# ---------------------------------------------------------------- reading


@dataclass
class WebRead:
    """One address read: unchanged (``location`` set, no document) or a document to store."""

    location: LocationRow | None
    document: RawDocument | None = None
    validators: Validators = field(default_factory=Validators)
    warnings: list[DocumentError] = field(default_factory=list)


def read(
    ref: WebRef, session: WebSession, analysis_key: str, stored: KnownDocument | None
) -> WebRead:
    """Fetch (conditionally) and extract one address; raise DocumentError on failure.

    ``stored`` is the document kept under this address, if any: equal bytes and fields
    (its fingerprint) mean nothing to process even without a location row.
    """
    known = session.known.get(ref.location)
    validators = Validators(known.etag, known.last_modified) if known else None
    response = session.fetcher.get(ref.location, validators, accept=PAGE_TYPES)
    if response.not_modified:
        if known is None:
            raise DocumentError("http_error", f"{ref.location}: 304 to an unconditional request")
        return WebRead(
            _location(ref, known.doc_id, response, known.content_sha256, known.fingerprint)
        )
    print_ = web_fingerprint(ref, response, analysis_key)
    if known is not None and known.fingerprint == print_:
        return WebRead(_location(ref, known.doc_id, response, known.content_sha256, print_))
    if stored is not None and stored.fingerprint == print_:
        return WebRead(_location(ref, stored.doc_id, response, stored.content_sha256, print_))
    document, warnings = extract(ref, response, print_)
    return WebRead(None, document, response.validators, warnings)


@dataclass
class WebChunk:
    """What a chunk of addresses gives the store: documents, address rows and problems."""

    to_annotate: list[tuple[RawDocument, bool]] = field(default_factory=list)
    metadata_only: list[DocumentWrite] = field(default_factory=list)
    locations: list[LocationRow] = field(default_factory=list)
    problems: list[ProblemRow] = field(default_factory=list)
    n_unchanged: int = 0
    n_failed: int = 0
    n_duplicates: int = 0


def read_chunk(
    refs: Sequence[tuple[str, WebRef]],
    session: WebSession,
    known: dict[str, KnownDocument],
    analysis_key: str,
    max_chars: int,
) -> WebChunk:
    """Read a chunk of addresses; content already stored elsewhere is linked, not stored."""
    out = WebChunk()
    for source_name, ref in refs:
        before = known.get(ref.location)
        try:
            got = read(ref, session, analysis_key, before)
            if got.document is None:
                assert got.location is not None
                out.locations.append(got.location)
                out.n_unchanged += 1
                continue
            doc = got.document
            if doc.n_chars > max_chars:
                raise DocumentError(
                    "too_long",
                    f"{ref.location}: {doc.n_chars:,} characters is more than the limit of "
                    f"{max_chars:,} (JRTEXT_MAX_CHARS)",
                    stage="nlp",
                )
        except DocumentError as exc:
            out.n_failed += 1
            out.problems.append(
                ProblemRow(source_name, ref.location, exc.stage, exc.code, str(exc))
            )
            continue
        out.problems += [
            ProblemRow(source_name, ref.location, w.stage, w.code, str(w)) for w in got.warnings
        ]
        holder = session.content_index.get(doc.content_sha256)
        if before is None and holder is not None:  # the same text under another address
            out.locations.append(location_row(ref, holder, doc, got.validators))
            out.n_duplicates += 1
            continue
        doc_id = doc_id_for(ref.location)
        session.content_index.setdefault(doc.content_sha256, doc_id)
        out.locations.append(location_row(ref, doc_id, doc, got.validators))
        if before is not None and before.content_sha256 == doc.content_sha256:
            out.metadata_only.append(DocumentWrite(doc, None, is_new=False))
        else:
            out.to_annotate.append((doc, before is None))
    return out


def web_fingerprint(ref: WebRef, response: Response, analysis_key: str) -> str:
    h = hashlib.sha256(response.body)
    h.update(b"\0type\0" + f"{response.content_type};{response.charset}".encode())
    h.update(
        b"\0ref\0"
        + repr((ref.source, ref.kind, ref.country, ref.title, ref.author, ref.published)).encode()
    )
    h.update(b"\0analysis\0" + analysis_key.encode())
    return h.hexdigest()


def extract(ref: WebRef, response: Response, print_: str) -> tuple[RawDocument, list]:
    """Text and metadata of a fetched page; precedence: page > feed entry > registry."""
    warnings: list[DocumentError] = []
    where = Path(ref.location)  # only named in messages
    if response.content_type == "application/pdf":
        text, found = ingest._pdf_text(response.body, where)
        fmt = "pdf"
    else:
        decoded, warning = decode_body(response)
        if warning:
            warnings.append(warning)
        if response.content_type == "text/plain":
            text, found, fmt = decoded, {}, "txt"
        else:
            text, found = _html_main_text(decoded, ref.location)
            fmt = "html"
    if not text.strip():
        raise DocumentError("empty", f"{ref.location} has no text")
    published, precision = ref.published, ref.published_precision
    if found.get("published"):
        with contextlib.suppress(DocumentError):
            published, precision = ingest.parse_partial_date(found["published"], where)
    document = RawDocument(
        location=ref.location,
        source=ref.source,
        kind=ref.kind,
        country=ref.country,
        title=found.get("title") or ref.title,
        author=found.get("author") or ref.author,
        published=published,
        published_precision=precision,
        url=response.final_url,
        format=fmt,
        text=text,
        content_sha256=sha256_hex(text),
        fingerprint=print_,
    )
    return document, warnings


def _html_main_text(html: str, location: str) -> tuple[str, dict[str, str]]:
    try:
        return ingest._html_text(html.encode("utf-8"), location)  # type: ignore[arg-type]
    except DocumentError:
        raise
    except Exception as exc:  # the extractor's own failure on broken markup
        raise DocumentError(
            "no_main_text", f"{location}: the HTML could not be parsed ({exc})"
        ) from None


def decode_body(response: Response) -> tuple[str, DocumentError | None]:
    """Bytes to text: UTF-8 if it is, else the declared charset, else a detected one.

    A declared charset that the bytes contradict is a warning (``wrong_charset``), not a
    failure: the text is read as what it really is.
    """
    body, declared = response.body, response.charset
    if b"\x00" in body[:8192]:
        raise DocumentError(
            "binary",
            f"{response.url}: served as {response.content_type} but the body is binary",
        )

    def wrong(actual: str) -> DocumentError:
        return DocumentError(
            "wrong_charset",
            f"{response.url}: declared charset {declared!r} but the bytes are {actual}; "
            f"read as {actual}",
        )

    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        is_ascii = body.isascii()
        if declared and declared not in ASCII_CHARSETS and not is_ascii:
            return text, wrong("utf-8")
        return text, None
    if declared and declared not in ASCII_CHARSETS:
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            return body.decode(declared), None
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    if best is None or best.encoding is None:
        raise DocumentError(
            "binary", f"{response.url}: neither {declared or 'UTF-8'} nor any text encoding"
        )
    return str(best), wrong(best.encoding) if declared else None


def _location(
    ref: WebRef, doc_id: str, response: Response, content_sha256: str, print_: str
) -> LocationRow:
    return LocationRow(
        ref.location,
        doc_id,
        ref.source,
        response.final_url,
        content_sha256,
        print_,
        response.validators.etag,
        response.validators.last_modified,
    )


def location_row(
    ref: WebRef, doc_id: str, document: RawDocument, validators: Validators
) -> LocationRow:
    return LocationRow(
        ref.location,
        doc_id,
        ref.source,
        document.url,
        document.content_sha256,
        document.fingerprint,
        validators.etag,
        validators.last_modified,
    )


def write_locations(
    con: duckdb.DuckDBPyConnection, run_id: str, rows: Sequence[LocationRow]
) -> None:
    """Upsert address rows; call inside the chunk's transaction."""
    if not rows:
        return
    now = utcnow()
    con.executemany(
        "DELETE FROM document_locations WHERE location = ?", [[r.location] for r in rows]
    )
    con.executemany(
        "INSERT INTO document_locations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                r.location,
                r.doc_id,
                r.source,
                r.final_url,
                r.content_sha256,
                r.fingerprint,
                r.etag,
                r.last_modified,
                now,
                run_id,
            ]
            for r in rows
        ],
    )
