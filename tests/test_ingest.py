"""Reading documents: formats, sidecar precedence, and a clear error for each bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from jrtext.errors import DocumentError
from jrtext.ingest import DocumentRef, discover, fingerprint, read_document
from jrtext.sources import FilesSource, UngdcSource
from tests.conftest import CHAPTER, minimal_pdf


def _read(path: Path, **ref_fields):
    ref = DocumentRef(
        location=str(path), source="test", kind="news", country=None, path=path, **ref_fields
    )
    print_, raw, sidecar = fingerprint(ref)
    return read_document(ref, raw, sidecar, print_)


def test_chapter_takes_title_author_date_from_its_sidecar():
    doc = _read(CHAPTER)
    assert doc.title == "Japan-Russia Relations: Toward a Peace Treaty and Beyond"
    assert doc.author == "Yoko Hirose"
    assert doc.published == date(2015, 3, 25) and doc.published_precision == "day"
    assert doc.source == "Stimson Center" and doc.kind == "think_tank" and doc.country == "US"
    assert doc.text == CHAPTER.read_text(encoding="utf-8")


def test_text_without_sidecar_takes_its_first_line_as_title(tmp_path: Path):
    path = tmp_path / "note.md"
    path.write_text("\n# Kuril talks stall\n\nNo progress was made.\n", encoding="utf-8")
    doc = _read(path)
    assert doc.title == "Kuril talks stall" and doc.format == "md" and doc.published is None


def test_partial_dates_keep_their_precision(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_text("Text about Shikotan.", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text('{"published": "1992-04"}', encoding="utf-8")
    doc = _read(path)
    assert doc.published == date(1992, 4, 1) and doc.published_precision == "month"


def test_latin1_text_is_decoded_not_rejected(tmp_path: Path):
    path = tmp_path / "old.txt"
    path.write_bytes(
        "Déclaration commune soviéto-japonaise de 1956, signée à Moscou.".encode("latin-1")
    )
    assert "soviéto-japonaise" in _read(path).text


def test_html_main_text_and_title_are_extracted(tmp_path: Path):
    body = " ".join(["Japan and Russia discussed the islands at length in Moscow."] * 8)
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Talks on the Kurils</title></head><body>"
        "<nav>Home | News | Contact</nav>"
        f"<article><h1>Talks on the Kurils</h1><p>{body}</p><p>{body}</p></article>"
        "<footer>Copyright</footer></body></html>",
        encoding="utf-8",
    )
    doc = _read(path)
    assert doc.format == "html" and doc.title == "Talks on the Kurils"
    assert "discussed the islands" in doc.text and "Home | News" not in doc.text


def test_pdf_text_is_extracted(tmp_path: Path):
    path = tmp_path / "statement.pdf"
    path.write_bytes(minimal_pdf("The Northern Territories are an inherent part of Japan."))
    doc = _read(path)
    assert doc.format == "pdf" and "Northern Territories" in doc.text


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n\t\n", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("scan.pdf", minimal_pdf(None), "pdf_no_text"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "unreadable"),
        ("nav.html", b"<html><body><nav>Home</nav></body></html>", "no_main_text"),
        (
            "menu.html",
            b"<html><head><title>X</title></head><body><div id=menu><a href=/>Home</a>"
            b"<a href=/n>News</a></div><footer>(c) 2024</footer></body></html>",
            "no_main_text",
        ),
    ],
)
def test_bad_documents_raise_a_coded_error(tmp_path: Path, name: str, content: bytes, code: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as info:
        _read(path)
    assert info.value.code == code
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("sidecar", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "JSON object"),
        ('{"title": 42}', "field 'title'"),
        ('{"published": "last spring"}', "field 'published'"),
        ('{"kind": "tabloid"}', "field 'kind'"),
    ],
)
def test_bad_sidecar_names_the_field(tmp_path: Path, sidecar: str, needle: str):
    path = tmp_path / "a.txt"
    path.write_text("Text about Etorofu.", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text(sidecar, encoding="utf-8")
    with pytest.raises(DocumentError) as info:
        _read(path)
    assert info.value.code == "bad_sidecar" and needle in str(info.value)


def test_unreadable_file_is_a_coded_error(tmp_path: Path):
    path = tmp_path / "locked.txt"
    path.write_text("secret", encoding="utf-8")
    ref = DocumentRef(str(path), "t", "news", None, tmp_path)  # a directory, not a file
    with pytest.raises(DocumentError) as info:
        fingerprint(ref)
    assert info.value.code == "unreadable"


def test_fingerprint_changes_with_the_sidecar(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_text("Text about Kunashiri.", encoding="utf-8")
    ref = DocumentRef(str(path), "t", "news", None, path)
    first = fingerprint(ref)[0]
    (tmp_path / "a.meta.json").write_text('{"title": "Kunashiri"}', encoding="utf-8")
    assert fingerprint(ref)[0] != first


def test_discover_files_skips_sidecars_and_unknown_suffixes(tmp_path: Path):
    for name in ("a.txt", "a.meta.json", "b.html", "c.csv", "d.pdf"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    source = FilesSource(name="s", type="files", kind="news", path=tmp_path)
    assert [Path(r.location).name for r in discover(source)] == ["a.txt", "b.html", "d.pdf"]


def test_missing_source_path_is_a_discovery_problem(tmp_path: Path):
    source = FilesSource(name="s", type="files", kind="news", path=tmp_path / "gone")
    with pytest.raises(DocumentError) as info:
        discover(source)
    assert info.value.code == "path_not_found" and info.value.stage == "discover"


def test_ungdc_speeches_are_filtered_and_dated(corpus: Path):
    source = UngdcSource(
        name="un", type="ungdc", path=corpus / "ungdc", countries=["JPN"], years=(1980, 1985)
    )
    refs = discover(source)
    assert len(refs) == 6
    first = refs[0]
    assert first.source == "UNGA:JPN" and first.country == "JPN"
    assert first.published == date(1980, 9, 15)
    assert "1980" in (first.title or "")
    assert json.dumps([r.location for r in refs]) == json.dumps(sorted(r.location for r in refs))
