"""The DuckDB schema, in one place: every table and column with its type and meaning.

``docs/schema.md`` is generated from this module (``jrtext schema --markdown``) and a test
fails when the two differ. Offsets (``start_char``/``end_char``) are Python string indices
into ``documents.text``: ``text[start_char:end_char]`` is the span.
"""

from __future__ import annotations

from dataclasses import dataclass

from jrtext.labels import ON_TOPIC, TERRITORIAL_SHARE

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
        C(
            "location",
            "VARCHAR",
            "where it was read: an absolute file path, or the web address as listed",
            False,
        ),
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
    "Named entities: the knowledge base's (corpus/kb: states, people, islands, regions, "
    "agreements, organisations), linked to a canonical id in context, and spaCy's other "
    "statistical entities (OntoNotes labels). A knowledge-base match wins over an overlapping "
    "statistical one.",
    (
        C("doc_id", "VARCHAR", "the document", False),
        C("sent_idx", "INTEGER", "the sentence that holds the entity", False),
        C("start_char", "INTEGER", "offset of the first character in `documents.text`", False),
        C("end_char", "INTEGER", "offset one past the last character", False),
        C("text", "VARCHAR", "the mention as written", False),
        C(
            "label",
            "VARCHAR",
            "the domain type for a linked entity, else spaCy's label "
            "(PERSON, GPE, NORP, ORG, LOC, DATE, …)",
            False,
        ),
        C(
            "canonical_id",
            "VARCHAR",
            'the knowledge base\'s id (`russia` for "the USSR", '
            '"Moscow" as actor …); null for spaCy-only entities',
        ),
        C(
            "domain_type",
            "VARCHAR",
            "STATE, PERSON, ISLAND, REGION, AGREEMENT, ORG or CITY; null for spaCy-only entities",
        ),
    ),
)

ENTITY_CATALOG = Table(
    "entity_catalog",
    "The knowledge base (corpus/kb/*.toml) as of the latest run: one row per canonical entity.",
    (
        C("id", "VARCHAR", "canonical id, as in `entities.canonical_id`", False),
        C("type", "VARCHAR", "STATE, PERSON, ISLAND, REGION, AGREEMENT, ORG or CITY", False),
        C("name", "VARCHAR", "canonical name", False),
        C("aliases", "VARCHAR[]", "other names it is written as", False),
        C(
            "attributes",
            "VARCHAR",
            "JSON object of type-specific fields (a person's state and "
            "roles, an agreement's year, an island's Japanese and Russian names …)",
            False,
        ),
    ),
    primary_key=("id",),
)

STANCES = Table(
    "stances",
    "Attributed stances from the dependency parse: a holder supports or opposes a target "
    "(cue words in corpus/kb/stance_cues.toml); negation flips polarity, passive, reported "
    "speech and pronoun holders are resolved.",
    (
        C("doc_id", "VARCHAR", "the document", False),
        C("sent_idx", "INTEGER", "the sentence", False),
        C("holder_text", "VARCHAR", "who holds it, as written (a pronoun's antecedent)", False),
        C("holder_id", "VARCHAR", "the holder's canonical id, where linked"),
        C("cue", "VARCHAR", "the cue's lemma (reject, support, demand …)", False),
        C("polarity", "VARCHAR", "support or oppose, after negation", False),
        C("target_text", "VARCHAR", "what is supported or opposed", False),
        C("target_id", "VARCHAR", "the target's canonical id, where it is an entity"),
        C("negated", "BOOLEAN", "whether a negation flipped the cue's polarity", False),
        C("start_char", "INTEGER", "start of the sentence in `documents.text`", False),
        C("end_char", "INTEGER", "end of the sentence", False),
        C("holder_start", "INTEGER", "the holder mention's span (the pronoun, if resolved)"),
        C("holder_end", "INTEGER", "end of the holder mention"),
        C("target_start", "INTEGER", "the target phrase's span"),
        C("target_end", "INTEGER", "end of the target phrase"),
    ),
)

POSITIONS = Table(
    "positions",
    "Each sentence's position on the territorial issue (codebook labels) and who holds it, "
    "from the position model. Rewritten when the sentence's document changes or the model does.",
    (
        C("doc_id", "VARCHAR", "the document", False),
        C("sent_idx", "INTEGER", "the sentence (see `sentences`)", False),
        C(
            "position",
            "VARCHAR",
            "four_islands, two_islands, compromise, russian_sovereignty, "
            "shelve, neutral or off_topic",
            False,
        ),
        C(
            "holder",
            "VARCHAR",
            "japan, russia, other, author, or none (neutral and off_topic)",
            False,
        ),
        C("confidence", "DOUBLE", "calibrated probability of `position`", False),
        C(
            "probabilities",
            "MAP(VARCHAR, DOUBLE)",
            "calibrated probability of every label; `probabilities['shelve']`",
            False,
        ),
        C("model_version", "VARCHAR", "the model that classified it (models/position)", False),
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
        C("n_stances", "INTEGER", "stance rows written by this run"),
        C("n_positions", "INTEGER", "sentences classified by this run"),
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
        C("stage", "VARCHAR", "discover, read, metadata, language, nlp or store", False),
        C(
            "error",
            "VARCHAR",
            "short code: path_not_found, unreadable, empty, binary, "
            "pdf_no_text, no_main_text, bad_sidecar, too_long, nlp_failed, missing; web: "
            "not_found, gone, http_error, server_error, timeout, connection_failed, "
            "too_many_redirects, too_large, bad_content_type, robots_disallowed, "
            "robots_unavailable, wrong_charset (stored anyway), malformed_feed, empty_feed; "
            "not_english (stored, not analysed); see docs/sources.md",
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

DOCUMENT_LOCATIONS = Table(
    "document_locations",
    "Every web address (a `url` source's, a feed entry's) where a document's content was "
    "found, with what its server said about the version held. The same content reached "
    "through two addresses is one document with two rows here; conditional requests "
    "(ETag / Last-Modified) are sent only while the row's `content_sha256` is still the "
    "document's. A file whose exact text another document holds (a copy) is a row here "
    "too, with no `final_url`, and no document of its own.",
    (
        C("location", "VARCHAR", "the address as listed (registry or feed entry link)", False),
        C("doc_id", "VARCHAR", "the document holding its content", False),
        C("source", "VARCHAR", "registry source name that listed it", False),
        C("final_url", "VARCHAR", "the address after redirects; null for a copied file"),
        C("content_sha256", "VARCHAR", "sha256 of the text extracted from it", False),
        C("fingerprint", "VARCHAR", "sha256 of its bytes and source fields", False),
        C("etag", "VARCHAR", "the server's ETag for the version held"),
        C("last_modified", "VARCHAR", "the server's Last-Modified for the version held"),
        C("fetched_at", "TIMESTAMP", "when it was last fetched or confirmed (UTC)", False),
        C("run_id", "VARCHAR", "the run that last fetched or confirmed it", False),
    ),
    primary_key=("location",),
)

FEEDS = Table(
    "feeds",
    "Each feed as last read: its entries (so a 304 on the next run still lists them) and "
    "the server's validators for a conditional request.",
    (
        C("url", "VARCHAR", "the feed's address (registry `url`)", False),
        C("source", "VARCHAR", "registry source name", False),
        C("etag", "VARCHAR", "the server's ETag"),
        C("last_modified", "VARCHAR", "the server's Last-Modified"),
        C(
            "entries",
            "VARCHAR",
            "JSON list of entries: link, title, author, published (ISO date)",
            False,
        ),
        C("fetched_at", "TIMESTAMP", "when it was last fetched or confirmed (UTC)", False),
    ),
    primary_key=("url",),
)

DOCUMENT_LANGUAGES = Table(
    "document_languages",
    "The language of each document's text (py3langid on its opening). Documents in a "
    "language the models do not read are stored without sentences, with a `not_english` "
    "problem.",
    (
        C("doc_id", "VARCHAR", "the document", False),
        C("language", "VARCHAR", "ISO 639-1 code; `und` when too short to judge", False),
        C("probability", "DOUBLE", "the detector's normalised probability", False),
        C("analysed", "BOOLEAN", "whether sentences, entities and positions were made", False),
    ),
    primary_key=("doc_id",),
)

DOCUMENT_SIGNATURES = Table(
    "document_signatures",
    "Each document's MinHash signature (128 values over word 5-gram shingles), kept per "
    "content so an unchanged document is not hashed again; see `near_duplicates`.",
    (
        C("doc_id", "VARCHAR", "the document", False),
        C("content_sha256", "VARCHAR", "the text the signature was made from", False),
        C("signature", "BIGINT[]", "128 minimum hash values", False),
    ),
    primary_key=("doc_id",),
)

NEAR_DUPLICATES = Table(
    "near_duplicates",
    "Documents whose text is nearly another's (syndicated copies differing by boilerplate): "
    "estimated Jaccard similarity of word 5-gram shingle sets (MinHash, LSH) at or above "
    "the threshold (JRTEXT_NEAR_DUPLICATE_THRESHOLD, 0.8). Rewritten by every run.",
    (
        C(
            "doc_id",
            "VARCHAR",
            "the copy: later ingested, then later published, then longer",
            False,
        ),
        C("duplicate_of", "VARCHAR", "the earlier document it nearly repeats", False),
        C("similarity", "DOUBLE", "estimated Jaccard similarity, 0–1", False),
        C("method", "VARCHAR", "how it was measured", False),
    ),
)

TABLES: tuple[Table, ...] = (
    DOCUMENTS,
    SENTENCES,
    ENTITIES,
    ENTITY_CATALOG,
    STANCES,
    POSITIONS,
    RUNS,
    PROBLEMS,
    META,
    DOCUMENT_LOCATIONS,
    FEEDS,
    DOCUMENT_LANGUAGES,
    DOCUMENT_SIGNATURES,
    NEAR_DUPLICATES,
)


@dataclass(frozen=True)
class View:
    name: str
    description: str
    sql: str
    example: str = ""  # a query a user can start from, shown in docs/schema.md

    def ddl(self) -> str:
        return f"CREATE OR REPLACE VIEW {self.name} AS\n{self.sql}"


DOCUMENT_POSITIONS = View(
    "document_positions",
    "Per document: on-topic sentences, the share of each on-topic position among them, and "
    "the territorial share index (codebook: mean share of the disputed area a position would "
    "leave to Japan — four_islands 1, compromise 0.5, two_islands 0.07, russian_sovereignty 0 — "
    "over the sentences that carry one; `index_n` of them; null, not 0, when there are none).",
    """WITH per_document AS (
    SELECT doc_id,
        count(*) AS n_sentences,
        count(*) FILTER (WHERE position <> 'off_topic') AS n_on_topic,
        count(*) FILTER (WHERE position = 'four_islands') AS n_four_islands,
        count(*) FILTER (WHERE position = 'two_islands') AS n_two_islands,
        count(*) FILTER (WHERE position = 'compromise') AS n_compromise,
        count(*) FILTER (WHERE position = 'russian_sovereignty') AS n_russian_sovereignty,
        count(*) FILTER (WHERE position = 'shelve') AS n_shelve,
        count(*) FILTER (WHERE position = 'neutral') AS n_neutral,
        avg(CASE position WHEN 'four_islands' THEN 1.0 WHEN 'compromise' THEN 0.5
            WHEN 'two_islands' THEN 0.07 WHEN 'russian_sovereignty' THEN 0.0 END)
            AS territorial_share_index,
        count(*) FILTER (WHERE position IN
            ('four_islands', 'compromise', 'two_islands', 'russian_sovereignty')) AS index_n
    FROM positions GROUP BY doc_id
)
SELECT d.doc_id, d.source, d.published, d.kind, d.country,
    coalesce(p.n_sentences, 0) AS n_sentences,
    coalesce(p.n_on_topic, 0) AS n_on_topic,
    p.n_four_islands / nullif(p.n_on_topic, 0) AS share_four_islands,
    p.n_two_islands / nullif(p.n_on_topic, 0) AS share_two_islands,
    p.n_compromise / nullif(p.n_on_topic, 0) AS share_compromise,
    p.n_russian_sovereignty / nullif(p.n_on_topic, 0) AS share_russian_sovereignty,
    p.n_shelve / nullif(p.n_on_topic, 0) AS share_shelve,
    p.n_neutral / nullif(p.n_on_topic, 0) AS share_neutral,
    p.territorial_share_index,
    coalesce(p.index_n, 0) AS index_n
FROM documents d LEFT JOIN per_document p USING (doc_id)""",
)

# The codebook's on-topic labels and the share of the disputed area each leaves to Japan
# (defined once, in jrtext.labels).
ON_TOPIC_POSITIONS: tuple[str, ...] = ON_TOPIC
PERIODS: tuple[str, ...] = ("year", "quarter", "month")

_PERIOD_LABEL = (
    "CASE period_type WHEN 'year' THEN strftime(period, '%Y')"
    " WHEN 'quarter' THEN strftime(period, '%Y') || '-Q' || quarter(period)"
    " ELSE strftime(period, '%Y-%m') END"
)


def position_aggregates(alias: str = "p") -> str:
    """Select-list over position rows: on-topic count, each label's share, the index and its n.

    One definition for the views and ``jrtext trends``, so their numbers cannot differ.
    """
    on_topic = f"count({alias}.position) FILTER (WHERE {alias}.position <> 'off_topic')"
    shares = [
        f"count(*) FILTER (WHERE {alias}.position = '{label}') / nullif({on_topic}, 0)"
        f" AS share_{label}"
        for label in ON_TOPIC_POSITIONS
    ]
    cases = " ".join(f"WHEN '{k}' THEN {v}" for k, v in TERRITORIAL_SHARE.items())
    index_labels = ", ".join(f"'{k}'" for k in TERRITORIAL_SHARE)
    return ",\n    ".join(
        [
            f"count({alias}.position) AS n_sentences",
            f"{on_topic} AS n_on_topic",
            *shares,
            f"avg(CASE {alias}.position {cases} END) AS territorial_share_index",
            f"count(*) FILTER (WHERE {alias}.position IN ({index_labels})) AS index_n",
        ]
    )


def trends_sql(group_column: str, extra_condition: str = "") -> str:
    """Group × period aggregates of positions; ``group_column`` is a documents column name.

    Only called with names and conditions written in code (the views below, ``trends``);
    values reach ``extra_condition`` as bound parameters.
    """
    return f"""SELECT d.{group_column}, pt.period_type,
    date_trunc(pt.period_type, d.published)::DATE AS period,
    count(DISTINCT d.doc_id) AS n_documents,
    {position_aggregates("p")}
FROM documents d
CROSS JOIN (VALUES ('year'), ('quarter'), ('month')) AS pt(period_type)
LEFT JOIN positions p ON p.doc_id = d.doc_id
WHERE d.published IS NOT NULL {extra_condition}
GROUP BY ALL"""


V_DOCUMENT_POSITIONS = View(
    "v_document_positions",
    "`document_positions` with each document's title and location (for `jrtext report`): "
    "per document, on-topic sentences, the share of each on-topic position, the territorial "
    "share index and `index_n`, the sentences behind it.",
    """SELECT dp.*, d.title, d.location
FROM document_positions dp JOIN documents d USING (doc_id)""",
    example="""-- Russia's UN speeches that say most about the islands, and where they lean
SELECT year(published) AS year, n_on_topic, round(territorial_share_index, 2) AS tsi, index_n
FROM v_document_positions WHERE source = 'UNGA:RUS' AND n_on_topic > 0
ORDER BY n_on_topic DESC LIMIT 10;""",
)

V_SOURCE_TRENDS = View(
    "v_source_trends",
    "Source × period (`period_type` year, quarter or month; `period` its first day, "
    "`period_label` 2015, 2015-Q1 or 2015-03): documents, classified and on-topic sentences, "
    "the share of each on-topic position among on-topic sentences, the territorial share index "
    "and `index_n`, the sentences behind it (null index when there are none). Documents without "
    "a date are left out. UN speeches are dated 15 September by convention, so their quarter "
    "and month are nominal.",
    f"""WITH grouped AS (
{trends_sql("source")}
)
SELECT source, period_type, period, {_PERIOD_LABEL} AS period_label,
    * EXCLUDE (source, period_type, period)
FROM grouped""",
    example="""-- Japan's and Russia's UN statements by year: the index with the sentences behind it
SELECT period_label AS year, source, round(territorial_share_index, 2) AS tsi, index_n,
    n_on_topic, round(share_shelve, 2) AS shelve
FROM v_source_trends
WHERE period_type = 'year' AND source IN ('UNGA:JPN', 'UNGA:RUS') AND n_on_topic > 0
ORDER BY year, source;""",
)

V_ENTITY_MENTIONS = View(
    "v_entity_mentions",
    "Canonical entity × source × period: mentions linked to the knowledge base (however they "
    "were written) and the documents they occur in. Periods as in `v_source_trends`.",
    f"""WITH grouped AS (
    SELECT e.canonical_id, e.domain_type, d.source, pt.period_type,
        date_trunc(pt.period_type, d.published)::DATE AS period,
        count(*) AS n_mentions, count(DISTINCT e.doc_id) AS n_documents
    FROM entities e JOIN documents d USING (doc_id)
    CROSS JOIN (VALUES ('year'), ('quarter'), ('month')) AS pt(period_type)
    WHERE e.canonical_id IS NOT NULL AND d.published IS NOT NULL
    GROUP BY ALL
)
SELECT g.canonical_id, c.name, g.domain_type, g.source, g.period_type, g.period,
    {_PERIOD_LABEL} AS period_label,
    g.n_mentions, g.n_documents
FROM grouped g LEFT JOIN entity_catalog c ON c.id = g.canonical_id""",
    example="""-- which islands each source names, per decade
SELECT name, source, (year(period) // 10) * 10 AS decade, sum(n_mentions) AS mentions
FROM v_entity_mentions WHERE period_type = 'year' AND domain_type = 'ISLAND'
GROUP BY ALL ORDER BY mentions DESC LIMIT 20;""",
)

V_STANCE_EDGES = View(
    "v_stance_edges",
    "Holder → target: how often a holder supports and opposes a target, over all documents. "
    "`holder` is the holder's canonical id where linked, else its text in lower case; "
    "`target` likewise.",
    """SELECT coalesce(holder_id, lower(holder_text)) AS holder,
    coalesce(target_id, lower(target_text)) AS target,
    holder_id IS NOT NULL AS holder_linked, target_id IS NOT NULL AS target_linked,
    count(*) FILTER (WHERE polarity = 'support') AS n_support,
    count(*) FILTER (WHERE polarity = 'oppose') AS n_oppose,
    count(*) AS n, count(DISTINCT doc_id) AS n_documents
FROM stances GROUP BY ALL""",
    example="""-- what Japan and Russia (as linked holders) oppose most
SELECT holder, target, n_oppose, n_support, n_documents FROM v_stance_edges
WHERE holder IN ('japan', 'russia') ORDER BY n_oppose DESC LIMIT 20;""",
)

VIEWS: tuple[View, ...] = (
    DOCUMENT_POSITIONS,
    V_DOCUMENT_POSITIONS,
    V_SOURCE_TRENDS,
    V_ENTITY_MENTIONS,
    V_STANCE_EDGES,
)


def ddl() -> list[str]:
    return [t.ddl() for t in TABLES] + [v.ddl() for v in VIEWS]


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
    for view in VIEWS:
        out += ["", f"## view `{view.name}`", "", view.description, "", "```sql", view.sql, "```"]
        if view.example:
            out += ["", "Example:", "", "```sql", view.example, "```"]
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

-- the most mentioned people, however they are written
SELECT c.name, count(*) AS n FROM entities e JOIN entity_catalog c ON c.id = e.canonical_id
WHERE e.domain_type = 'PERSON' GROUP BY c.name ORDER BY n DESC LIMIT 20;

-- who opposes what
SELECT holder_id, target_text, count(*) AS n FROM stances
WHERE polarity = 'oppose' AND holder_id IS NOT NULL GROUP BY ALL ORDER BY n DESC LIMIT 20;

-- the documents that say most about the islands, and where they lean
SELECT source, published, n_on_topic, round(territorial_share_index, 2) AS tsi, index_n
FROM document_positions WHERE n_on_topic > 0 ORDER BY n_on_topic DESC LIMIT 20;

-- sentences the model holds to be Russia's "no dispute" position, most confident first
SELECT d.source, d.published, s.text, p.confidence
FROM positions p JOIN sentences s USING (doc_id, sent_idx) JOIN documents d USING (doc_id)
WHERE p.position = 'russian_sovereignty' ORDER BY p.confidence DESC LIMIT 20;

-- what went wrong in the latest run
SELECT stage, error, location, detail FROM problems
WHERE run_id = (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1);
```"""
