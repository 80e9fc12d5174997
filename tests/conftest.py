"""Shared fixtures: the real corpus beside the project, the real spaCy model, Prefect's harness."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("JRTEXT_CORPUS", PROJECT_ROOT.parent / "shared" / "corpus"))
CHAPTER = CORPUS / "chapter" / "000_7dc69556dcd7cdd8.txt"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not CHAPTER.exists():
        raise pytest.UsageError(
            f"the shared corpus is missing: {CORPUS} (set JRTEXT_CORPUS to its folder)"
        )


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def nlp():
    from jrtext.nlp import load_pipeline

    return load_pipeline()


@pytest.fixture(scope="session")
def prefect_harness():
    """A real, temporary Prefect API (SQLite) for every flow run of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def chapter_copy(tmp_path: Path) -> Path:
    """The chapter and its sidecar, copied to a folder the test may change."""
    folder = tmp_path / "chapter"
    folder.mkdir()
    for path in CHAPTER.parent.iterdir():
        shutil.copy(path, folder / path.name)
    return folder


def write_registry(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def minimal_pdf(text: str | None) -> bytes:
    """A one-page PDF, with ``text`` drawn in Helvetica, or with no text layer at all."""
    stream = b"" if text is None else f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
