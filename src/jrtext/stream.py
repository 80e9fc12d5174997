"""A whole run's documents through one long-lived ``nlp.pipe``, stored chunk by chunk.

Per-chunk ``nlp.pipe`` calls fork their worker processes anew for every chunk and leave a
core idle while each chunk drains; here the workers live for the whole run and every chunk
is stored (one transaction) as soon as its last document comes back. What changed is
decided first, from file fingerprints alone, so a run with nothing to do never loads spaCy.
"""

from __future__ import annotations

import importlib
import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import duckdb
from spacy.language import Language

from jrtext import ingest, language, nlp, store
from jrtext.errors import DocumentError
from jrtext.ingest import DocumentRef, RawDocument
from jrtext.settings import Settings
from jrtext.stance import StanceCues
from jrtext.store import DocumentWrite, KnownDocument, ProblemRow, RunCounts


def model_identity(model: str) -> dict[str, str]:
    """The installed spaCy package's name and version, read from its meta.json (no loading),
    as ``nlp.meta`` of the loaded pipeline reports them."""
    from spacy.util import get_model_meta

    module = importlib.import_module(model)
    meta = get_model_meta(Path(module.__file__).parent)
    return {"name": meta.get("name", ""), "version": meta.get("version", "")}


def analysis_key(settings: Settings, kb_fingerprint: str) -> str:
    """``nlp.analysis_key`` of the pipeline the settings name, without loading it."""
    loaded_like = SimpleNamespace(meta=model_identity(settings.spacy_model))
    return nlp.analysis_key(loaded_like, kb_fingerprint, settings.stance_cues)  # type: ignore[arg-type]


def has_pending_positions(con: duckdb.DuckDBPyConnection, model_dir: Path) -> bool:
    """Whether some stored sentence lacks a position from the model on disk, read from its
    meta.json so that a run with nothing to classify does not load the model. True when the
    meta cannot be read: loading the model then says what is wrong."""
    try:
        meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
        version = str(meta.get("model_version", "unknown"))
    except (OSError, ValueError, AttributeError):
        return True
    return bool(store.documents_to_classify(con, version))


@dataclass
class RunPlan:
    """What a run must do, decided before any NLP."""

    to_annotate: list[tuple[str, DocumentRef, bool]] = field(default_factory=list)  # is_new
    metadata_only: list[DocumentWrite] = field(default_factory=list)
    problems: list[ProblemRow] = field(default_factory=list)
    counts: RunCounts = field(default_factory=RunCounts)

    @property
    def needs_nlp(self) -> bool:
        return bool(self.to_annotate)


def plan_run(
    refs: Sequence[tuple[str, DocumentRef]], known: dict[str, KnownDocument], analysis_key: str
) -> RunPlan:
    """Sort documents into unchanged, metadata-only, to annotate and failed: one read of
    each file; a known document whose fingerprint changed is parsed to compare its text.

    ``known`` may hold copies linked to another document (``store.known_file_duplicates``):
    unchanged, they are skipped; changed, they are read as new."""
    plan = RunPlan(counts=RunCounts(n_seen=len(refs)))
    for source_name, ref in refs:
        before = known.get(ref.location)
        try:
            print_, raw, sidecar = ingest.fingerprint(ref, analysis_key)
            if before is not None and before.fingerprint == print_:
                plan.counts.n_unchanged += 1  # a stored document, or an unchanged copy of one
                continue
            if before is None or before.doc_id != store.doc_id_for(ref.location):
                plan.to_annotate.append((source_name, ref, True))
                continue
            doc = ingest.read_document(ref, raw, sidecar, print_)
        except DocumentError as exc:
            plan.counts.n_failed += 1
            plan.problems.append(
                ProblemRow(source_name, ref.location, exc.stage, exc.code, str(exc))
            )
            continue
        if before.content_sha256 == doc.content_sha256:
            plan.metadata_only.append(DocumentWrite(doc, None, is_new=False))
        else:
            plan.to_annotate.append((source_name, ref, False))
    return plan


def uses_pool(plan: RunPlan, settings: Settings) -> bool:
    """Whether the plan's NLP runs in a pool of worker processes (``jrtext.pool``) rather
    than in this process: with more than one process and more than one document."""
    return settings.n_process > 1 and len(plan.to_annotate) > 1


def _read_for_nlp(ref: DocumentRef, analysis_key: str, max_chars: int) -> RawDocument:
    print_, raw, sidecar = ingest.fingerprint(ref, analysis_key)
    doc = ingest.read_document(ref, raw, sidecar, print_)
    if doc.n_chars > max_chars:
        raise DocumentError(
            "too_long",
            f"{ref.path}: {doc.n_chars:,} characters is more than the limit of "
            f"{max_chars:,} (JRTEXT_MAX_CHARS)",
            stage="nlp",
        )
    return doc


@dataclass
class PreparedDocument:
    """One planned document read and its language checked, before NLP: ``document`` is None
    when it could not be read (``problem`` says why); ``held_back`` is set when it is in a
    language the models do not read (stored without sentences)."""

    document: RawDocument | None
    problem: ProblemRow | None = None
    language_row: tuple[str, language.Language, bool] | None = None  # doc_id, found, analysed
    held_back: DocumentWrite | None = None


def prepare_document(
    source_name: str, ref: DocumentRef, is_new: bool, settings: Settings, analysis_key: str
) -> PreparedDocument:
    """Read a planned document and detect its language (the steps before spaCy)."""
    try:
        doc = _read_for_nlp(ref, analysis_key, settings.max_chars)
    except DocumentError as exc:
        problem = ProblemRow(source_name, ref.location, exc.stage, exc.code, str(exc))
        return PreparedDocument(None, problem)
    found = language.detect(doc.text)
    analysed = language.is_analysed(
        found, settings.analysed_languages, settings.language_min_probability
    )
    row = (store.doc_id_for(doc.location), found, analysed)
    if analysed:
        return PreparedDocument(doc, language_row=row)
    return PreparedDocument(
        doc,
        language.not_analysed_problem(doc, found),
        row,
        DocumentWrite(doc, nlp.Annotation([], []), is_new),
    )


def annotate_plan(
    con: duckdb.DuckDBPyConnection,
    nlp_pipeline: Language | None,
    plan: RunPlan,
    run_id: str,
    settings: Settings,
    stance_cues: StanceCues | None = None,
    analysis_key: str = "",
    on_chunk: Callable[[RunCounts], None] | None = None,
    on_first_document: Callable[[], None] | None = None,
) -> RunCounts:
    """Annotate every planned document in one ``nlp.pipe`` and store them in chunks of
    ``settings.chunk_size`` documents, one transaction each; return what was done.

    ``on_first_document`` is called once the first annotation is back, when spaCy's worker
    processes exist: work started then in a thread runs beside them without being forked.
    """
    counts = RunCounts()
    in_flight: deque[tuple[RawDocument, bool]] = deque()
    failures: list[ProblemRow] = []
    held_back: list[DocumentWrite] = []  # read, but in a language the models do not read
    languages: list[tuple[str, language.Language, bool]] = []

    def texts() -> Iterator[str]:
        for source_name, ref, is_new in plan.to_annotate:
            prepared = prepare_document(source_name, ref, is_new, settings, analysis_key)
            if prepared.problem is not None:
                failures.append(prepared.problem)
            if prepared.language_row is not None:
                languages.append(prepared.language_row)
            if prepared.document is None:
                counts.n_failed += 1
            elif prepared.held_back is not None:
                held_back.append(prepared.held_back)
            else:
                in_flight.append((prepared.document, is_new))
                yield prepared.document.text

    def flush(writes: list[DocumentWrite]) -> None:
        writes = writes + held_back
        held_back.clear()
        chunk_languages = list(languages)
        languages.clear()

        def with_languages(c: duckdb.DuckDBPyConnection) -> None:
            language.write_languages(c, chunk_languages)

        written = store.write_chunk(
            con, run_id, writes, also=with_languages if chunk_languages else None
        )
        done = RunCounts(
            n_new=sum(w.is_new for w in writes) - written.duplicates,
            n_changed=sum(not w.is_new for w in writes),
            n_sentences=written.sentences,
            n_entities=written.entities,
            n_stances=written.stances,
            n_duplicates=written.duplicates,
        )
        store.record_problems(con, run_id, failures)
        failures.clear()
        counts.add(done)
        if on_chunk is not None:
            on_chunk(done)

    n_process = settings.n_process if len(plan.to_annotate) > 1 else 1
    writes: list[DocumentWrite] = list(plan.metadata_only)
    annotations: Iterator[nlp.Annotation] = iter(())
    if plan.to_annotate:
        annotations = nlp.annotate(
            texts(),
            nlp_pipeline,
            n_process=n_process,
            batch_size=settings.spacy_batch_size,
            stance_cues=stance_cues,
        )
    for annotation in annotations:
        if on_first_document is not None:
            on_first_document()
            on_first_document = None
        doc, is_new = in_flight.popleft()
        writes.append(DocumentWrite(doc, annotation, is_new))
        if len(writes) >= settings.chunk_size:
            flush(writes)
            writes = []
    if writes or failures or held_back or languages:
        flush(writes)
    return counts
