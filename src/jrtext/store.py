"""DuckDB storage: one writer, bulk Arrow inserts, one transaction per chunk of documents.

A chunk's documents, sentences and entities land together or not at all, so a run killed at
any point leaves whole documents only; the next run redoes what is missing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from jrtext import __version__
from jrtext.errors import DatabaseBusyError, StoreError
from jrtext.ingest import RawDocument
from jrtext.nlp import Annotation
from jrtext.schema import (
    DOCUMENT_LOCATIONS,
    DOCUMENTS,
    ENTITIES,
    ENTITY_CATALOG,
    POSITIONS,
    PROBLEMS,
    SCHEMA_VERSION,
    SENTENCES,
    STANCES,
    ddl,
)


def doc_id_for(location: str) -> str:
    return hashlib.sha256(location.encode("utf-8")).hexdigest()[:16]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def connect(db: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database (creating it and its schema when writing)."""
    if read_only and not db.exists():
        raise StoreError(f"{db}: no database here yet; run `jrtext run` first")
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusyError(
                f"{db} is in use by another process (a run is writing?); try again when it ends"
            ) from None
        raise StoreError(f"{db}: cannot open: {exc}") from None
    except duckdb.Error as exc:
        raise StoreError(f"{db}: not a DuckDB database jrtext can open: {exc}") from None
    try:
        if not read_only:
            _ensure_schema(con)
        yield con
    finally:
        con.close()


def _ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in ddl():
        con.execute(statement)
    con.execute(
        "INSERT OR REPLACE INTO jrtext_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
    )


# ---------------------------------------------------------------- runs


def start_run(
    con: duckdb.DuckDBPyConnection, run_id: str, sources_file: str, flow_run_id: str | None
) -> None:
    """Record the run; runs left `running` by a killed process become `interrupted`."""
    con.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
    con.execute(
        "INSERT INTO runs (run_id, started_at, status, sources_file, flow_run_id, jrtext_version)"
        " VALUES (?, ?, 'running', ?, ?, ?)",
        [run_id, utcnow(), sources_file, flow_run_id, __version__],
    )


@dataclass
class RunCounts:
    n_seen: int = 0
    n_new: int = 0
    n_changed: int = 0
    n_unchanged: int = 0
    n_failed: int = 0
    n_sentences: int = 0
    n_entities: int = 0
    n_stances: int = 0
    n_positions: int = 0
    n_duplicates: int = 0  # new locations whose text another document already holds

    def add(self, other: RunCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def finish_run(
    con: duckdb.DuckDBPyConnection, run_id: str, counts: RunCounts, status: str = "completed"
) -> None:
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, n_seen = ?, n_new = ?, n_changed = ?,"
        " n_unchanged = ?, n_failed = ?, n_sentences = ?, n_entities = ?, n_stances = ?,"
        " n_positions = ?"
        " WHERE run_id = ?",
        [
            utcnow(),
            status,
            counts.n_seen,
            counts.n_new,
            counts.n_changed,
            counts.n_unchanged,
            counts.n_failed,
            counts.n_sentences,
            counts.n_entities,
            counts.n_stances,
            counts.n_positions,
            run_id,
        ],
    )


# ---------------------------------------------------------------- documents


@dataclass(frozen=True)
class KnownDocument:
    doc_id: str
    fingerprint: str
    content_sha256: str


def known_documents(con: duckdb.DuckDBPyConnection) -> dict[str, KnownDocument]:
    """Location → what is stored, to skip unchanged documents before any parsing."""
    rows = con.execute(
        "SELECT location, doc_id, fingerprint, content_sha256 FROM documents"
    ).fetchall()
    return {loc: KnownDocument(did, fp, sha) for loc, did, fp, sha in rows}


def known_file_duplicates(con: duckdb.DuckDBPyConnection) -> dict[str, KnownDocument]:
    """File locations stored as links to a document with the same text (``doc_id`` is the
    holder's), while that document still holds it: an unchanged copy is skipped too."""
    rows = con.execute(
        "SELECT l.location, l.doc_id, l.fingerprint, l.content_sha256"
        " FROM document_locations l JOIN documents d"
        " ON d.doc_id = l.doc_id AND d.content_sha256 = l.content_sha256"
        " WHERE l.final_url IS NULL AND l.location NOT IN (SELECT location FROM documents)"
    ).fetchall()
    return {loc: KnownDocument(did, fp, sha) for loc, did, fp, sha in rows}


@dataclass
class DocumentWrite:
    """One document to store: with its annotation (new text) or without (metadata only)."""

    document: RawDocument
    annotation: Annotation | None
    is_new: bool


@dataclass
class ProblemRow:
    source: str | None
    location: str | None
    stage: str
    error: str
    detail: str
    at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class RowsWritten:
    sentences: int = 0
    entities: int = 0
    stances: int = 0
    duplicates: int = 0  # new documents linked to an existing one instead of stored


def split_exact_duplicates(
    writes: Sequence[DocumentWrite], holders: dict[str, str]
) -> tuple[list[DocumentWrite], list[DocumentWrite]]:
    """(to store, duplicates): a new document whose text a stored document, or an earlier
    one of the chunk, already holds is a duplicate. ``holders`` maps content sha256 → doc_id
    and learns the chunk's documents."""
    keep: list[DocumentWrite] = []
    duplicates: list[DocumentWrite] = []
    for w in writes:
        sha = w.document.content_sha256
        if w.is_new and sha in holders:
            duplicates.append(w)
            continue
        holders.setdefault(sha, doc_id_for(w.document.location))
        keep.append(w)
    return keep, duplicates


def write_chunk(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    writes: Sequence[DocumentWrite],
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> RowsWritten:
    """Replace the chunk's documents and their rows in one transaction; return rows written.

    ``also`` writes more rows that belong with them (web addresses) in the same transaction.
    A new document whose exact text is already stored (a copied file) is not stored again:
    its location is linked to the holder in ``document_locations``, so no count doubles.
    """
    holders = _content_holders(con, writes)
    writes, duplicates = split_exact_duplicates(writes, holders)
    if duplicates:
        dropped = [doc_id_for(w.document.location) for w in duplicates]
        inner = also

        def also(c: duckdb.DuckDBPyConnection) -> None:
            if inner is not None:
                inner(c)
            c.executemany("DELETE FROM document_languages WHERE doc_id = ?", [[d] for d in dropped])
            _link_duplicates(c, run_id, duplicates, holders)

    if not writes:
        if also is not None:
            con.execute("BEGIN TRANSACTION")
            try:
                also(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return RowsWritten()
    now = utcnow()
    documents = _documents_table(writes, run_id, now)
    reannotated = [w for w in writes if w.annotation is not None]
    sentences = _sentences_table(reannotated)
    entities = _entities_table(reannotated)
    stances = _stances_table(reannotated)
    all_ids = pa.table({"doc_id": documents.column("doc_id")})
    text_ids = pa.table(
        {"doc_id": pa.array([doc_id_for(w.document.location) for w in reannotated], pa.string())}
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("chunk_all_ids", all_ids)
        con.register("chunk_text_ids", text_ids)
        con.execute("DELETE FROM sentences WHERE doc_id IN (SELECT doc_id FROM chunk_text_ids)")
        con.execute("DELETE FROM entities WHERE doc_id IN (SELECT doc_id FROM chunk_text_ids)")
        con.execute("DELETE FROM positions WHERE doc_id IN (SELECT doc_id FROM chunk_text_ids)")
        con.execute("DELETE FROM stances WHERE doc_id IN (SELECT doc_id FROM chunk_text_ids)")
        con.execute("DELETE FROM documents WHERE doc_id IN (SELECT doc_id FROM chunk_all_ids)")
        # a location stored in full now is no longer a link (a copy that was edited)
        con.execute(
            "DELETE FROM document_locations WHERE final_url IS NULL"
            " AND location IN (SELECT unnest(?::VARCHAR[]))",
            [[w.document.location for w in writes if w.is_new]],
        )
        _insert(con, DOCUMENTS.name, documents)
        _insert(con, SENTENCES.name, sentences)
        _insert(con, ENTITIES.name, entities)
        _insert(con, STANCES.name, stances)
        if also is not None:
            also(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in ("chunk_all_ids", "chunk_text_ids"):
            con.unregister(name)
    return RowsWritten(sentences.num_rows, entities.num_rows, stances.num_rows, len(duplicates))


def _content_holders(con: duckdb.DuckDBPyConnection, writes: Sequence[DocumentWrite]) -> dict:
    shas = sorted({w.document.content_sha256 for w in writes if w.is_new})
    if not shas:
        return {}
    rows = con.execute(
        "SELECT content_sha256, min(doc_id) FROM documents"
        " WHERE content_sha256 IN (SELECT unnest(?)) GROUP BY content_sha256",
        [shas],
    ).fetchall()
    return dict(rows)


def _link_duplicates(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    duplicates: Sequence[DocumentWrite],
    holders: dict[str, str],
) -> None:
    now = utcnow()
    rows = [
        [
            d.location,
            holders[d.content_sha256],
            d.source,
            None,
            d.content_sha256,
            d.fingerprint,
            None,
            None,
            now,
            run_id,
        ]
        for d in (w.document for w in duplicates)
    ]
    con.executemany(
        f"DELETE FROM {DOCUMENT_LOCATIONS.name} WHERE location = ?", [[r[0]] for r in rows]
    )
    con.executemany(
        f"INSERT INTO {DOCUMENT_LOCATIONS.name} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )


def replace_entity_catalog(con: duckdb.DuckDBPyConnection, rows: Sequence[tuple]) -> None:
    """The knowledge base as the run used it (id, type, name, aliases, attributes JSON)."""
    table = pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.string()),
            "type": pa.array([r[1] for r in rows], pa.string()),
            "name": pa.array([r[2] for r in rows], pa.string()),
            "aliases": pa.array([list(r[3]) for r in rows], pa.list_(pa.string())),
            "attributes": pa.array([r[4] for r in rows], pa.string()),
        }
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM entity_catalog")
        _insert(con, ENTITY_CATALOG.name, table)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def record_problems(
    con: duckdb.DuckDBPyConnection, run_id: str, problems: Sequence[ProblemRow]
) -> None:
    if not problems:
        return
    table = pa.table(
        {
            "run_id": pa.array([run_id] * len(problems), pa.string()),
            "source": pa.array([p.source for p in problems], pa.string()),
            "location": pa.array([p.location for p in problems], pa.string()),
            "stage": pa.array([p.stage for p in problems], pa.string()),
            "error": pa.array([p.error for p in problems], pa.string()),
            "detail": pa.array([p.detail for p in problems], pa.string()),
            "at": pa.array([p.at for p in problems], pa.timestamp("us")),
        }
    )
    _insert(con, PROBLEMS.name, table)


def _insert(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    if table.num_rows == 0:
        return
    view = f"_arrow_{name}"
    con.register(view, table)
    try:
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {view}")
    finally:
        con.unregister(view)


def _documents_table(writes: Sequence[DocumentWrite], run_id: str, now: datetime) -> pa.Table:
    docs = [w.document for w in writes]
    return pa.table(
        {
            "doc_id": pa.array([doc_id_for(d.location) for d in docs], pa.string()),
            "source": pa.array([d.source for d in docs], pa.string()),
            "title": pa.array([d.title for d in docs], pa.string()),
            "author": pa.array([d.author for d in docs], pa.string()),
            "published": pa.array([d.published for d in docs], pa.date32()),
            "published_precision": pa.array([d.published_precision for d in docs], pa.string()),
            "kind": pa.array([d.kind for d in docs], pa.string()),
            "country": pa.array([d.country for d in docs], pa.string()),
            "location": pa.array([d.location for d in docs], pa.string()),
            "url": pa.array([d.url for d in docs], pa.string()),
            "format": pa.array([d.format for d in docs], pa.string()),
            "content_sha256": pa.array([d.content_sha256 for d in docs], pa.string()),
            "fingerprint": pa.array([d.fingerprint for d in docs], pa.string()),
            "n_chars": pa.array([d.n_chars for d in docs], pa.int32()),
            "text": pa.array([d.text for d in docs], pa.string()),
            "ingested_at": pa.array([now] * len(docs), pa.timestamp("us")),
            "run_id": pa.array([run_id] * len(docs), pa.string()),
        }
    )


def _sentences_table(writes: Sequence[DocumentWrite]) -> pa.Table:
    cols: dict[str, list] = {c: [] for c in SENTENCES.column_names}
    for w in writes:
        did = doc_id_for(w.document.location)
        assert w.annotation is not None
        for s in w.annotation.sentences:
            cols["doc_id"].append(did)
            cols["sent_idx"].append(s.sent_idx)
            cols["start_char"].append(s.start_char)
            cols["end_char"].append(s.end_char)
            cols["text"].append(s.text)
    return _typed(cols, {"sent_idx": pa.int32(), "start_char": pa.int32(), "end_char": pa.int32()})


def _entities_table(writes: Sequence[DocumentWrite]) -> pa.Table:
    cols: dict[str, list] = {c: [] for c in ENTITIES.column_names}
    for w in writes:
        did = doc_id_for(w.document.location)
        assert w.annotation is not None
        for e in w.annotation.entities:
            cols["doc_id"].append(did)
            cols["sent_idx"].append(e.sent_idx)
            cols["start_char"].append(e.start_char)
            cols["end_char"].append(e.end_char)
            cols["text"].append(e.text)
            cols["label"].append(e.label)
            cols["canonical_id"].append(e.canonical_id)
            cols["domain_type"].append(e.label if e.canonical_id else None)
    return _typed(cols, {"sent_idx": pa.int32(), "start_char": pa.int32(), "end_char": pa.int32()})


def _stances_table(writes: Sequence[DocumentWrite]) -> pa.Table:
    cols: dict[str, list] = {c: [] for c in STANCES.column_names}
    for w in writes:
        did = doc_id_for(w.document.location)
        assert w.annotation is not None
        for placed in w.annotation.stances:
            st = placed.stance
            cols["doc_id"].append(did)
            cols["sent_idx"].append(placed.sent_idx)
            for name in STANCES.column_names[2:]:
                cols[name].append(getattr(st, name))
    ints = {
        c: pa.int32()
        for c in (
            "sent_idx",
            "start_char",
            "end_char",
            "holder_start",
            "holder_end",
            "target_start",
            "target_end",
        )
    }
    return _typed(cols, {**ints, "negated": pa.bool_()})


def _typed(cols: dict[str, list], ints: dict[str, pa.DataType]) -> pa.Table:
    return pa.table(
        {name: pa.array(values, ints.get(name, pa.string())) for name, values in cols.items()}
    )


# ---------------------------------------------------------------- positions


def documents_to_classify(con: duckdb.DuckDBPyConnection, model_version: str) -> list[str]:
    """Documents with sentences but no positions from this model (new, changed, or a new model)."""
    rows = con.execute(
        "SELECT DISTINCT s.doc_id FROM sentences s WHERE NOT EXISTS ("
        " SELECT 1 FROM positions p WHERE p.doc_id = s.doc_id AND p.model_version = ?)"
        " ORDER BY s.doc_id",
        [model_version],
    ).fetchall()
    return [r[0] for r in rows]


def sentences_with_context(
    con: duckdb.DuckDBPyConnection, doc_ids: Sequence[str]
) -> list[tuple[str, int, str, str]]:
    """(doc_id, sent_idx, text, previous sentence's text or '') in document order."""
    ids = pa.table({"doc_id": pa.array(list(doc_ids), pa.string())})
    con.register("classify_ids", ids)
    try:
        return con.execute(
            "SELECT doc_id, sent_idx, text,"
            " coalesce(lag(text) OVER (PARTITION BY doc_id ORDER BY sent_idx), '')"
            " FROM sentences WHERE doc_id IN (SELECT doc_id FROM classify_ids)"
            " ORDER BY doc_id, sent_idx"
        ).fetchall()
    finally:
        con.unregister("classify_ids")


def replace_positions(
    con: duckdb.DuckDBPyConnection, doc_ids: Sequence[str], table: pa.Table
) -> None:
    """The documents' positions, replaced in one transaction."""
    ids = pa.table({"doc_id": pa.array(list(doc_ids), pa.string())})
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("position_ids", ids)
        con.execute("DELETE FROM positions WHERE doc_id IN (SELECT doc_id FROM position_ids)")
        _insert(con, POSITIONS.name, table)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("position_ids")


def positions_table(
    keys: Sequence[tuple[str, int]], predictions: Sequence, model_version: str
) -> pa.Table:
    return pa.table(
        {
            "doc_id": pa.array([k[0] for k in keys], pa.string()),
            "sent_idx": pa.array([k[1] for k in keys], pa.int32()),
            "position": pa.array([p.position for p in predictions], pa.string()),
            "holder": pa.array([p.holder for p in predictions], pa.string()),
            "confidence": pa.array([p.confidence for p in predictions], pa.float64()),
            "probabilities": pa.array(
                [list(p.probabilities.items()) for p in predictions],
                pa.map_(pa.string(), pa.float64()),
            ),
            "model_version": pa.array([model_version] * len(keys), pa.string()),
        }
    )


# ---------------------------------------------------------------- reading back


def query(db: Path, sql: str) -> tuple[list[str], list[tuple]]:
    """Run SQL on a read-only connection: ad-hoc queries cannot change the data.

    While a run writes the database, this reads the snapshot of the last finished run.
    """
    from jrtext.access import connect_for_reading

    with connect_for_reading(db) as con:
        try:
            result = con.execute(sql)
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from None
        if result.description is None:
            return [], []
        names = [d[0] for d in result.description]
        return names, result.fetchall()
