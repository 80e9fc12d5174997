"""Registry sources into documents: discover locations, read bytes, extract text and metadata.

Every failure of one document is a :class:`DocumentError` with a short code; the flow records
it in ``problems`` and goes on. Nothing here touches the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jrtext.errors import DocumentError
from jrtext.sources import FILE_SUFFIXES, KINDS, FilesSource, UngdcSource

SIDECAR_SUFFIX = ".meta.json"
SIDECAR_FIELDS = {"title", "author", "published", "source", "kind", "country", "url"}
UNGDC_FILE = re.compile(r"^(?P<code>[A-Z]{3})_(?P<session>\d+)_(?P<year>\d{4})\.txt$")
MIN_MAIN_TEXT_CHARS = 20  # below this an HTML page's "main text" is a menu item or a stray label
UNGDC_MONTH_DAY = (9, 15)  # the General Debate opens in mid/late September; one date per year


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """Where one document is, and what its source says about it before it is read."""

    location: str
    source: str
    kind: str
    country: str | None
    path: Path
    title: str | None = None
    author: str | None = None
    published: date | None = None
    published_precision: str | None = None


@dataclass(frozen=True, slots=True)
class RawDocument:
    """A document read and decoded, before any NLP; ``text`` is what offsets refer to."""

    location: str
    source: str
    kind: str
    country: str | None
    title: str | None
    author: str | None
    published: date | None
    published_precision: str | None
    url: str | None
    format: str
    text: str
    content_sha256: str
    fingerprint: str

    @property
    def n_chars(self) -> int:
        return len(self.text)


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- discovery


def discover(source: FilesSource | UngdcSource) -> list[DocumentRef]:
    """The documents a source lists, in a stable order; a missing path is a DocumentError."""
    if not source.path.exists():
        raise DocumentError("path_not_found", f"{source.path} does not exist", stage="discover")
    if isinstance(source, UngdcSource):
        return list(_discover_ungdc(source))
    return list(_discover_files(source))


def _discover_files(source: FilesSource) -> Iterator[DocumentRef]:
    if source.path.is_file():
        candidates = [source.path]
    else:
        candidates = sorted(p for p in source.path.glob(source.glob) if p.is_file())
    for path in candidates:
        if path.name.endswith(SIDECAR_SUFFIX) or path.suffix.lower() not in FILE_SUFFIXES:
            continue
        yield DocumentRef(
            location=str(path.resolve()),
            source=source.name,
            kind=source.kind,
            country=source.country,
            path=path,
        )


def _discover_ungdc(source: UngdcSource) -> Iterator[DocumentRef]:
    wanted = set(source.countries) if source.countries else None
    for path in sorted(source.path.glob("Session */*.txt")):
        match = UNGDC_FILE.match(path.name)
        if not match:
            continue
        code, year = match["code"], int(match["year"])
        if wanted is not None and code not in wanted:
            continue
        if source.years and not source.years[0] <= year <= source.years[1]:
            continue
        yield DocumentRef(
            location=str(path.resolve()),
            source=f"UNGA:{code}",
            kind=source.kind,
            country=code,
            path=path,
            title=f"UN General Debate {year} (session {int(match['session'])}): {code}",
            published=date(year, *UNGDC_MONTH_DAY),
            published_precision="year",
        )


# ---------------------------------------------------------------- reading


def fingerprint(ref: DocumentRef, analysis_key: str = "") -> tuple[str, bytes, bytes | None]:
    """Hash of what decides a document's rows: its bytes, its sidecar, its source fields and
    the analysis (model, knowledge base, cues: ``analysis_key``) that made them.

    Compared with the stored one before any parsing, so an unchanged document costs one read.
    """
    try:
        raw = ref.path.read_bytes()
    except FileNotFoundError:
        raise DocumentError("missing", f"{ref.path} disappeared") from None
    except IsADirectoryError:
        raise DocumentError("unreadable", f"{ref.path} is a directory") from None
    except OSError as exc:
        raise DocumentError("unreadable", f"cannot read {ref.path}: {exc.strerror}") from None
    sidecar_path = sidecar_for(ref.path)
    sidecar: bytes | None = None
    if sidecar_path.exists():
        try:
            sidecar = sidecar_path.read_bytes()
        except OSError as exc:
            raise DocumentError(
                "bad_sidecar", f"cannot read {sidecar_path}: {exc.strerror}", stage="metadata"
            ) from None
    h = hashlib.sha256(raw)
    h.update(b"\0sidecar\0" + (sidecar or b""))
    h.update(b"\0ref\0" + repr((ref.source, ref.kind, ref.country, ref.title)).encode())
    h.update(b"\0analysis\0" + analysis_key.encode())
    return h.hexdigest(), raw, sidecar


def sidecar_for(path: Path) -> Path:
    return path.with_name(path.name.rsplit(".", 1)[0] + SIDECAR_SUFFIX)


def read_document(ref: DocumentRef, raw: bytes, sidecar: bytes | None, print_: str) -> RawDocument:
    """Extract text and metadata; precedence: sidecar > the file's own > the registry's."""
    suffix = ref.path.suffix.lower()
    if suffix == ".pdf":
        text, found = _pdf_text(raw, ref.path)
        fmt = "pdf"
    elif suffix in (".html", ".htm"):
        text, found = _html_text(raw, ref.path)
        fmt = "html"
    else:
        text = _decode_text(raw, ref.path)
        found = {"title": _first_line_title(text)} if ref.title is None else {}
        fmt = "md" if suffix == ".md" else "txt"
    if not text.strip():
        raise DocumentError("empty", f"{ref.path} has no text")

    meta = _parse_sidecar(sidecar, sidecar_for(ref.path)) if sidecar is not None else {}
    published, precision = ref.published, ref.published_precision
    if meta.get("published"):
        published, precision = parse_partial_date(meta["published"], ref.path)
    elif found.get("published"):
        # a page's own odd date is no reason to lose the page
        with contextlib.suppress(DocumentError):
            published, precision = parse_partial_date(found["published"], ref.path)
    return RawDocument(
        location=ref.location,
        source=meta.get("source") or ref.source,
        kind=meta.get("kind") or ref.kind,
        country=meta.get("country") or ref.country,
        title=meta.get("title") or found.get("title") or ref.title,
        author=meta.get("author") or found.get("author") or ref.author,
        published=published,
        published_precision=precision,
        url=meta.get("url") or found.get("url"),
        format=fmt,
        text=text,
        content_sha256=sha256_hex(text),
        fingerprint=print_,
    )


def _decode_text(raw: bytes, path: Path) -> str:
    if b"\x00" in raw[:8192]:
        raise DocumentError("binary", f"{path} looks binary (NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.encoding is None:
        raise DocumentError("binary", f"{path} is neither UTF-8 nor any text encoding found")
    return str(best)


def _first_line_title(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:300]
    return None


def _html_text(raw: bytes, path: Path) -> tuple[str, dict[str, str]]:
    import trafilatura
    from trafilatura.settings import set_date_params

    html = _decode_text(raw, path)
    # no extensive date search: a year met in the body ("in 2012 …") is not a publication
    # date, and `published` drives every trend; an undated page stays undated
    result = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        favor_precision=True,
        date_extraction_params=set_date_params(extensive=False),
    )
    main_text = (result.text or "") if result is not None else ""
    if len("".join(main_text.split())) < MIN_MAIN_TEXT_CHARS:
        raise DocumentError("no_main_text", f"{path}: no main text found in the HTML")
    found = {
        key: value
        for key in ("title", "author", "date", "url", "sitename")
        if isinstance(value := getattr(result, key, None), str) and value.strip()
    }
    if "date" in found:
        found["published"] = found.pop("date")
    return result.text, found


def _pdf_text(raw: bytes, path: Path) -> tuple[str, dict[str, str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise DocumentError("unreadable", f"{path}: the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError("unreadable", f"{path}: not a readable PDF ({exc})") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise DocumentError(
            "pdf_no_text", f"{path}: the PDF has no text layer (scanned? OCR it first)"
        )
    found: dict[str, str] = {}
    info = reader.metadata or {}
    if isinstance(title := info.get("/Title"), str) and title.strip():
        found["title"] = title.strip()
    if isinstance(author := info.get("/Author"), str) and author.strip():
        found["author"] = author.strip()
    return text, found


def _parse_sidecar(raw: bytes, path: Path) -> dict[str, str]:
    def bad(why: str) -> DocumentError:
        return DocumentError("bad_sidecar", f"{path}: {why}", stage="metadata")

    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise bad("must be a JSON object")
    meta: dict[str, str] = {}
    for key in SIDECAR_FIELDS & data.keys():
        value = data[key]
        if value is None:
            continue
        if not isinstance(value, str):
            raise bad(f"field '{key}' must be a string, not {type(value).__name__}")
        meta[key] = value.strip()
    if "kind" in meta and meta["kind"] not in KINDS:
        raise bad(f"field 'kind': {meta['kind']!r} is not one of {', '.join(KINDS)}")
    if "published" in meta:
        parse_partial_date(meta["published"], path)  # fail here, as a sidecar problem
    return meta


def parse_partial_date(value: str, path: Path) -> tuple[date, str]:
    """ISO dates that may stop at the year or month: ('2015-03', …) → (2015-03-01, 'month')."""
    text = value.strip()[:10]
    try:
        if re.fullmatch(r"\d{4}", text):
            return date(int(text), 1, 1), "year"
        if re.fullmatch(r"\d{4}-\d{2}", text):
            return date(int(text[:4]), int(text[5:7]), 1), "month"
        return date.fromisoformat(text), "day"
    except ValueError:
        raise DocumentError(
            "bad_sidecar",
            f"{path}: field 'published': {value!r} is not an ISO date "
            "(YYYY, YYYY-MM or YYYY-MM-DD)",
            stage="metadata",
        ) from None
