"""Labelled sentences in the codebook's JSONL format, inline or stand-off, checked as they load.

Stand-off lines point into the corpus (``doc`` relative to a corpus root, a character span
and the span's sha256) so the project holds no copy of third-party text; a hash that no longer
matches means the corpus changed under the labels, and loading stops at that line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jrtext.errors import JrtextError

POSITIONS = (
    "four_islands",
    "two_islands",
    "compromise",
    "russian_sovereignty",
    "shelve",
    "neutral",
    "off_topic",
)
ON_TOPIC = POSITIONS[:6]
WITH_HOLDER = POSITIONS[:5]  # the positions whose holder is someone (not `none`)
HOLDERS = ("japan", "russia", "other", "author", "none")
# the codebook's territorial share index: the share of the disputed area a position would
# leave to Japan; shelve, neutral and off_topic carry none
TERRITORIAL_SHARE = {
    "four_islands": 1.0,
    "compromise": 0.5,
    "two_islands": 0.07,
    "russian_sovereignty": 0.0,
}
ORIGINS = ("real", "authored")


class LabelError(JrtextError):
    """A label file line is malformed, names an unknown label, or no longer matches its text."""


@dataclass(frozen=True, slots=True)
class LabeledSentence:
    text: str
    position: str
    holder: str
    origin: str
    doc: str  # the document it comes from; neighbours share it (rule 1 context)
    where: str  # file:line, for messages
    start: int | None = None
    end: int | None = None
    source: str | None = None
    date: str | None = None
    context: str = ""  # the previous sentence of the same document, if given


def load_labels(paths: Iterable[Path], corpus_root: Path) -> list[LabeledSentence]:
    """Every line of the files, in order, with the previous line of the same doc as context."""
    out: list[LabeledSentence] = []
    for path in paths:
        out.extend(load_label_file(path, corpus_root))
    return out


def load_label_file(path: Path, corpus_root: Path) -> list[LabeledSentence]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a BOM is no JSON
    except OSError as exc:
        raise LabelError(f"{path}: cannot read: {exc.strerror}") from None
    out: list[LabeledSentence] = []
    previous: LabeledSentence | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        sentence = _parse_line(line, where, corpus_root)
        if previous is not None and _neighbours(previous, sentence):
            sentence = _with_context(sentence, previous.text)
        out.append(sentence)
        previous = sentence
    return out


def _neighbours(previous: LabeledSentence, sentence: LabeledSentence) -> bool:
    """Consecutive lines of one doc are neighbours; stand-off ones only if nothing lies between."""
    if previous.doc != sentence.doc:
        return False
    if previous.end is None or sentence.start is None:
        return True
    if sentence.start < previous.end:
        return False
    document = _read_document_cached(previous.doc)
    return document is None or not document[previous.end : sentence.start].strip()


def _with_context(sentence: LabeledSentence, context: str) -> LabeledSentence:
    from dataclasses import replace

    return replace(sentence, context=context)


def _parse_line(line: str, where: str, corpus_root: Path) -> LabeledSentence:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LabelError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise LabelError(f"{where}: a line must be a JSON object")
    position = record.get("position")
    holder = record.get("holder", "none" if position in ("neutral", "off_topic") else None)
    origin = record.get("origin", "real")
    if position not in POSITIONS:
        raise LabelError(f"{where}: unknown position {position!r} (expected one of {POSITIONS})")
    if holder not in HOLDERS:
        raise LabelError(f"{where}: unknown holder {holder!r} (expected one of {HOLDERS})")
    if origin not in ORIGINS:
        raise LabelError(f"{where}: unknown origin {origin!r} (expected real or authored)")
    doc = str(record.get("doc") or "")
    if "text" in record:
        text = record["text"]
        if not isinstance(text, str) or not text.strip():
            raise LabelError(f"{where}: field 'text' must be a non-empty string")
        start = end = None
    else:
        text, start, end = _resolve_standoff(record, where, corpus_root)
    return LabeledSentence(
        text=text,
        position=position,
        holder=holder,
        origin=origin,
        doc=doc or f"{where}",
        where=where,
        start=start,
        end=end,
        source=record.get("source"),
        date=record.get("date"),
    )


def _resolve_standoff(record: dict, where: str, corpus_root: Path) -> tuple[str, int, int]:
    for key in ("doc", "start", "end", "sha256"):
        if key not in record:
            raise LabelError(f"{where}: a stand-off line needs 'text' or '{key}'")
    start, end = record["start"], record["end"]
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
        raise LabelError(f"{where}: 'start' and 'end' must be integers with start < end")
    document = _document_text(corpus_root / record["doc"], where)
    for variant in _offset_conventions(document):
        text = variant[start:end]
        if hashlib.sha256(text.encode("utf-8")).hexdigest() == record["sha256"]:
            _LOADED[record["doc"]] = variant
            return text, start, end
    raise LabelError(
        f"{where}: the text at {record['doc']} [{start}:{end}] no longer matches its "
        "sha256; the corpus changed under the labels — stopping"
    )


def _offset_conventions(document: str) -> list[str]:
    """The document as offsets may count it: this project's labels count a UTF-8 byte-order
    mark as a character (the file read as UTF-8); a reader that drops it (``utf-8-sig``)
    counts one less. The hash decides which was meant, so either convention loads."""
    if document.startswith("\ufeff"):
        return [document, document[1:]]
    return [document]


_LOADED: dict[str, str] = {}


@cache
def _read_document(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _read_document_cached(doc: str) -> str | None:
    return _LOADED.get(doc)


def _document_text(path: Path, where: str) -> str:
    try:
        return _read_document(path)
    except FileNotFoundError:
        raise LabelError(
            f"{where}: the document {path} does not exist (check --corpus-root)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{where}: cannot read {path}: {exc}") from None
