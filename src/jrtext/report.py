"""One document as an analyst checks it: each sentence with its position, entities and stances."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from jrtext.errors import JrtextError


class DocumentNotFoundError(JrtextError):
    """No stored document has this id or location."""


@dataclass
class SentenceReport:
    sent_idx: int
    text: str
    position: str | None
    holder: str | None
    confidence: float | None
    entities: list[str] = field(default_factory=list)  # "text → canonical_id" or "text (LABEL)"
    stances: list[str] = field(default_factory=list)  # "holder supports|opposes target"


@dataclass
class DocumentReport:
    doc_id: str
    title: str | None
    source: str
    published: object
    location: str
    summary: dict  # the document's row of v_document_positions
    sentences: list[SentenceReport]

    def as_dict(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "published": str(self.published) if self.published else None,
            "location": self.location,
            "summary": {k: v for k, v in self.summary.items() if k not in ("published",)},
            "sentences": [s.__dict__ for s in self.sentences],
        }


def find_document(con: duckdb.DuckDBPyConnection, key: str) -> str:
    """The doc_id for an id, a stored location, or a path that resolves to one."""
    candidates = [key]
    path = Path(key).expanduser()
    if path.exists():
        candidates.append(str(path.resolve()))
        candidates.append(str(path.absolute()))
    row = con.execute(
        "SELECT doc_id FROM documents WHERE doc_id = $key OR location IN (SELECT unnest($locs))"
        " LIMIT 1",
        {"key": key, "locs": candidates},
    ).fetchone()
    if row is None:
        raise DocumentNotFoundError(
            f"no document with id or location {key!r}; list them with "
            '`jrtext query "SELECT doc_id, source, location FROM documents"`'
        )
    return row[0]


def document_report(con: duckdb.DuckDBPyConnection, key: str) -> DocumentReport:
    doc_id = find_document(con, key)
    result = con.execute(
        "SELECT dp.*, d.title, d.location FROM document_positions dp"
        " JOIN documents d USING (doc_id) WHERE doc_id = ?",
        [doc_id],
    )
    names = [d[0] for d in result.description]
    summary = dict(zip(names, result.fetchone(), strict=True))
    sentences = {
        idx: SentenceReport(idx, text, position, holder, confidence)
        for idx, text, position, holder, confidence in con.execute(
            "SELECT s.sent_idx, s.text, p.position, p.holder, round(p.confidence, 3)"
            " FROM sentences s LEFT JOIN positions p USING (doc_id, sent_idx)"
            " WHERE s.doc_id = ? ORDER BY s.sent_idx",
            [doc_id],
        ).fetchall()
    }
    for idx, text, label, canonical_id in con.execute(
        "SELECT sent_idx, text, label, canonical_id FROM entities WHERE doc_id = ?"
        " ORDER BY start_char",
        [doc_id],
    ).fetchall():
        if idx in sentences:
            sentences[idx].entities.append(
                f"{text} → {canonical_id}" if canonical_id else f"{text} ({label})"
            )
    for idx, holder, polarity, target in con.execute(
        "SELECT sent_idx, coalesce(holder_id, holder_text), polarity,"
        " coalesce(target_id, target_text) FROM stances WHERE doc_id = ? ORDER BY start_char",
        [doc_id],
    ).fetchall():
        if idx in sentences:
            verb = "supports" if polarity == "support" else "opposes"
            sentences[idx].stances.append(f"{holder} {verb} {target}")
    return DocumentReport(
        doc_id,
        summary.pop("title"),
        summary["source"],
        summary["published"],
        summary.pop("location"),
        summary,
        list(sentences.values()),
    )
