"""The stages composed for one chunk of documents: read → skip unchanged → NLP → store.

Plain functions, testable without Prefect; ``flows/pipeline.py`` wraps them in tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
from spacy.language import Language

from jrtext import ingest, language, nlp, store, web
from jrtext.errors import DocumentError
from jrtext.ingest import DocumentRef, RawDocument
from jrtext.settings import Settings
from jrtext.sources import FeedSource, Registry, UrlSource
from jrtext.stance import StanceCues
from jrtext.store import DocumentWrite, KnownDocument, ProblemRow, RunCounts

if TYPE_CHECKING:  # scikit-learn is imported only by runs that classify
    from jrtext.classify import PositionModel


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Discovery:
    refs: list[tuple[str, DocumentRef | web.WebRef]] = field(default_factory=list)  # (name, ref)
    problems: list[ProblemRow] = field(default_factory=list)


def discover_all(
    registry: Registry,
    web_session: web.WebSession | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Discovery:
    """Every document of every source; a source that cannot be listed becomes a problem.

    Web sources (url, feed) need ``web_session`` and ``con`` (a feed's stored state).
    """
    found = Discovery()
    seen: set[str] = set()
    for source in registry.sources:
        try:
            if isinstance(source, UrlSource | FeedSource):
                if web_session is None or con is None:
                    raise DocumentError(
                        "no_web_session", f"{source.name}: web sources need a web session"
                    )
                refs = web.discover(source, web_session, con)
            else:
                refs = ingest.discover(source)
        except DocumentError as exc:
            where = getattr(source, "path", None) or getattr(source, "url", None)
            where = where or getattr(source, "url_file", None)
            found.problems.append(
                ProblemRow(source.name, str(where), exc.stage, exc.code, str(exc))
            )
            continue
        for ref in refs:
            if ref.location in seen:  # two sources listing one file: the first one wins
                continue
            seen.add(ref.location)
            found.refs.append((source.name, ref))
    return found


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class ChunkResult:
    counts: RunCounts
    problems: list[ProblemRow]


def process_chunk(
    con: duckdb.DuckDBPyConnection,
    nlp_pipeline: Language,
    refs: Sequence[tuple[str, DocumentRef]],
    known: dict[str, KnownDocument],
    run_id: str,
    settings: Settings,
    stance_cues: StanceCues | None = None,
    analysis_key: str = "",
    web_session: web.WebSession | None = None,
) -> ChunkResult:
    """Read, annotate and store one chunk; per-document failures become problems."""
    counts = RunCounts(n_seen=len(refs))
    problems: list[ProblemRow] = []
    to_annotate: list[tuple[RawDocument, bool]] = []
    metadata_only: list[DocumentWrite] = []
    web_refs = [(name, ref) for name, ref in refs if isinstance(ref, web.WebRef)]
    web_read = web.WebChunk()
    if web_refs:
        assert web_session is not None, "web refs need a web session"
        web_read = web.read_chunk(web_refs, web_session, known, analysis_key, settings.max_chars)
        counts.n_unchanged += web_read.n_unchanged
        counts.n_failed += web_read.n_failed
        problems += web_read.problems
        to_annotate += web_read.to_annotate
        metadata_only += web_read.metadata_only

    for source_name, ref in refs:
        if isinstance(ref, web.WebRef):
            continue
        before = known.get(ref.location)
        try:
            print_, raw, sidecar = ingest.fingerprint(ref, analysis_key)
            if before is not None and before.fingerprint == print_:
                counts.n_unchanged += 1
                continue
            doc = ingest.read_document(ref, raw, sidecar, print_)
            if doc.n_chars > settings.max_chars:
                raise DocumentError(
                    "too_long",
                    f"{ref.path}: {doc.n_chars:,} characters is more than the limit of "
                    f"{settings.max_chars:,} (JRTEXT_MAX_CHARS)",
                    stage="nlp",
                )
        except DocumentError as exc:
            counts.n_failed += 1
            problems.append(ProblemRow(source_name, ref.location, exc.stage, exc.code, str(exc)))
            continue
        if before is not None and before.content_sha256 == doc.content_sha256:
            metadata_only.append(DocumentWrite(doc, None, is_new=False))
        else:
            to_annotate.append((doc, before is None))

    held_back: list[DocumentWrite] = []
    languages: list[tuple[str, language.Language, bool]] = []
    for doc, is_new in list(to_annotate):
        found = language.detect(doc.text)
        analysed = language.is_analysed(
            found, settings.analysed_languages, settings.language_min_probability
        )
        languages.append((store.doc_id_for(doc.location), found, analysed))
        if not analysed:
            to_annotate.remove((doc, is_new))
            held_back.append(DocumentWrite(doc, nlp.Annotation([], []), is_new))
            problems.append(
                ProblemRow(
                    doc.source,
                    doc.location,
                    "language",
                    "not_english",
                    f"{doc.location}: the text is in {found.code!r} (p={found.probability:.2f}),"
                    " which the models do not read; stored without sentences"
                    " (JRTEXT_ANALYSED_LANGUAGES)",
                )
            )

    annotations = nlp.annotate(
        (doc.text for doc, _ in to_annotate),
        nlp_pipeline,
        n_process=settings.n_process if len(to_annotate) > 1 else 1,
        batch_size=settings.spacy_batch_size,
        stance_cues=stance_cues,
    )
    writes = [
        DocumentWrite(doc, annotation, is_new)
        for (doc, is_new), annotation in zip(to_annotate, annotations, strict=True)
    ]
    writes += held_back + metadata_only

    def with_documents(c: duckdb.DuckDBPyConnection) -> None:
        web.write_locations(c, run_id, web_read.locations)
        language.write_languages(c, languages)

    written = store.write_chunk(
        con, run_id, writes, also=with_documents if web_read.locations or languages else None
    )
    counts.n_new += sum(w.is_new for w in writes) - written.duplicates
    counts.n_changed += sum(not w.is_new for w in writes)
    counts.n_duplicates += written.duplicates + web_read.n_duplicates
    counts.n_sentences += written.sentences
    counts.n_entities += written.entities
    counts.n_stances += written.stances
    store.record_problems(con, run_id, problems)
    return ChunkResult(counts, problems)


def classify_pending(
    con: duckdb.DuckDBPyConnection, model: PositionModel, batch_documents: int = 200
) -> int:
    """Classify every sentence of documents lacking positions from this model; return count.

    Works from the database, not from the NLP stage, so unchanged documents are classified
    again only when the model changes, and a run killed here resumes where it stopped.
    """
    pending = store.documents_to_classify(con, model.version)
    n = 0
    for doc_ids in chunks(pending, batch_documents):
        rows = store.sentences_with_context(con, doc_ids)
        predictions = model.predict([r[2] for r in rows], [r[3] for r in rows])
        keys = [(r[0], r[1]) for r in rows]
        store.replace_positions(
            con, doc_ids, store.positions_table(keys, predictions, model.version)
        )
        n += len(rows)
    return n
