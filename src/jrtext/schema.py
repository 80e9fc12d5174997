"""The DuckDB schema, in one place: every table and column with its type and meaning.

``docs/schema.md`` is generated from this module (``jrtext schema --markdown``) and a test
fails when the two differ. Offsets (``start_char``/``end_char``) are Python string indices
into ``documents.text``: ``text[start_char:end_char]`` is the span.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        cols = [f'    "{c.name}" {c.type}{"" if c.nullable else " NOT NULL"}' for c in self.columns]
        if self.primary_key:
            cols.append(f"    PRIMARY KEY ({', '.join(self.primary_key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n" + ",\n".join(cols) + "\n)"


C = Column

DOCUMENTS = Table(
    "documents",
    "One row per document location. A changed document replaces its row and all rows that "
    "derive from it; an unchanged one is never rewritten.",
    (
        C("doc_id", "VARCHAR", "stable id: first 16 hex digits of sha256(location)", False),
        C(
            "source",
            "VARCHAR",
            "who published it: the registry name, a sidecar's `source`, "
            "or `UNGA:<ISO3>` for a UN General Debate speech",
            False,
        ),
        C("title", "VARCHAR", "title from the sidecar, the file itself, or the registry"),
        C("author", "VARCHAR", "author, where known"),
        C(
            "published",
            "DATE",
            "publication date; the first day of the period when only a "
            "year or month is known (see `published_precision`)",
        ),
        C("published_precision", "VARCHAR", "`day`, `month` or `year`"),
        C(
            "kind",
            "VARCHAR",
            "news, think_tank, government, speech, academic, encyclopedia, blog or other",
            False,
        ),
        C("country", "VARCHAR", "publisher's (or speaker's) country code"),
        C("location", "VARCHAR", "where it was read: an absolute file path (a URL later)", False),
        C("url", "VARCHAR", "the original web address, where known"),
        C("format", "VARCHAR", "txt, md, html or pdf", False),
        C("content_sha256", "VARCHAR", "sha256 of `text`", False),
        C(
            "fingerprint",
            "VARCHAR",
            "sha256 of the raw bytes, sidecar and source fields; "
            "equal fingerprints are skipped before any parsing",
            False,
        ),
        C("n_chars", "INTEGER", "length of `text` in characters", False),
        C(
            "text",
            "VARCHAR",
            "the analysed text; every offset in other tables points into it",
            False,
        ),
        C("ingested_at", "TIMESTAMP", "when this version was written (UTC)", False),
        C("run_id", "VARCHAR", "the run that wrote this version", False),
    ),
    primary_key=("doc_id",),
)

SENTENCES = Table(
    "sentences",
    "The pipeline's sentences: spaCy's parser, with paragraph breaks preset (a line break, or "
    "in hard-wrapped text a blank line) and a heading or other line without sentence-final "
    "punctuation kept whole; trimmed of surrounding white space; blank ones are not numbered.",
    (
        C("doc_id", "VARCHAR", "the document", False),
        C("sent_idx", "INTEGER", "0-based position of the sentence in the document", False),
        C("start_char", "INTEGER", "offset of the first character in `documents.text`", False),
        C("end_char", "INTEGER", "offset one past the last character", False),
        C("text", "VARCHAR", "the sentence", False),
    ),
)

ENTITIES = Table(
    "entities",
    "Named entities found by spaCy's statistical NER (OntoNotes labels).",
    (
        C("doc_id", "VARCHAR", "the document", False),
        C("sent_idx", "INTEGER", "the sentence that holds the entity", False),
        C("start_char", "INTEGER", "offset of the first character in `documents.text`", False),
        C("end_char", "INTEGER", "offset one past the last character", False),
        C("text", "VARCHAR", "the mention as written", False),
        C("label", "VARCHAR", "spaCy label: PERSON, GPE, NORP, ORG, LOC, DATE, …", False),
    ),
)

RUNS = Table(
    "runs",
    "One row per pipeline run; the only table a no-change re-run adds to.",
    (
        C("run_id", "VARCHAR", "unique id of the run", False),
        C("started_at", "TIMESTAMP", "start (UTC)", False),
        C("finished_at", "TIMESTAMP", "end (UTC); null while running or if it was killed"),
        C(
            "status",
            "VARCHAR",
            "running, completed, failed, or interrupted (found still "
            "`running` by a later run: the process died)",
            False,
        ),
        C("n_seen", "INTEGER", "documents the registry listed"),
        C("n_new", "INTEGER", "documents stored for the first time"),
        C("n_changed", "INTEGER", "documents whose content or metadata changed and were replaced"),
        C("n_unchanged", "INTEGER", "documents skipped because their fingerprint was unchanged"),
        C("n_failed", "INTEGER", "documents (or sources) that failed; see `problems`"),
        C("n_sentences", "INTEGER", "sentence rows written by this run"),
        C("n_entities", "INTEGER", "entity rows written by this run"),
        C("sources_file", "VARCHAR", "the registry the run read"),
        C("flow_run_id", "VARCHAR", "Prefect's id of the flow run"),
        C("jrtext_version", "VARCHAR", "package version that ran"),
    ),
    primary_key=("run_id",),
)

PROBLEMS = Table(
    "problems",
    "What went wrong, one row per document (or source) per run; the run went on without it. "
    "A location's open problems are those of the latest run.",
    (
        C("run_id", "VARCHAR", "the run that met the problem", False),
        C("source", "VARCHAR", "registry source name"),
        C("location", "VARCHAR", "file path (or folder, for a missing source path)"),
        C("stage", "VARCHAR", "discover, read, metadata, nlp or store", False),
        C(
            "error",
            "VARCHAR",
            "short code: path_not_found, unreadable, empty, binary, "
            "pdf_no_text, no_main_text, bad_sidecar, too_long, nlp_failed, missing",
            False,
        ),
        C("detail", "VARCHAR", "a sentence a person can act on"),
        C("at", "TIMESTAMP", "when (UTC)", False),
    ),
)

META = Table(
    "jrtext_meta",
    "Facts about the database itself (schema version).",
    (
        C("key", "VARCHAR", "name", False),
        C("value", "VARCHAR", "value", False),
    ),
    primary_key=("key",),
)

TABLES: tuple[Table, ...] = (DOCUMENTS, SENTENCES, ENTITIES, RUNS, PROBLEMS, META)


def ddl() -> list[str]:
    return [t.ddl() for t in TABLES]


def markdown() -> str:
    """The schema as Markdown, for ``docs/schema.md``."""
    out = [
        "# DuckDB schema",
        "",
        "Generated from `src/jrtext/schema.py` by `jrtext schema --markdown > docs/schema.md`;",
        "a test fails when this file and the module differ. Offsets are Python string indices",
        "into `documents.text`: `text[start_char:end_char]` is the span.",
        "",
        f"Schema version: {SCHEMA_VERSION}.",
    ]
    for table in TABLES:
        out += ["", f"## `{table.name}`", "", table.description, ""]
        if table.primary_key:
            out += [f"Primary key: `{', '.join(table.primary_key)}`.", ""]
        out += ["| column | type | null | meaning |", "|---|---|---|---|"]
        for c in table.columns:
            out.append(
                f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {c.description} |"
            )
    out += ["", EXAMPLES]
    return "\n".join(out) + "\n"


EXAMPLES = """## Example queries

```sql
-- documents per source and decade
SELECT source, (year(published) // 10) * 10 AS decade, count(*) AS n
FROM documents GROUP BY ALL ORDER BY ALL;

-- sentences that mention the Northern Territories, with their document
SELECT d.source, d.published, s.text
FROM sentences s JOIN documents d USING (doc_id)
WHERE s.text ILIKE '%northern territor%' ORDER BY d.published;

-- the most mentioned people
SELECT text, count(*) AS n FROM entities WHERE label = 'PERSON'
GROUP BY text ORDER BY n DESC LIMIT 20;

-- what went wrong in the latest run
SELECT stage, error, location, detail FROM problems
WHERE run_id = (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1);
```"""
