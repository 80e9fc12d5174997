"""Views, trends, report and export on a real database from a real run over part of the corpus.

Every number a view or command shows is recomputed here from the sentence-level rows
(positions, entities, stances) in plain Python and compared.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.pipeline import run_pipeline
from jrtext.cli import app
from jrtext.schema import ON_TOPIC_POSITIONS, TABLES, TERRITORIAL_SHARE
from tests.conftest import CHAPTER, CORPUS, write_registry

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()


@pytest.fixture(scope="module")
def trends_db(tmp_path_factory, prefect_harness) -> Path:
    """The chapter and the UN speeches of Japan and Russia, 2014–2016, through the real flow."""
    folder = tmp_path_factory.mktemp("trends")
    registry = write_registry(
        folder / "sources.toml",
        f"""
[[source]]
name = "Stimson Center"
type = "files"
kind = "think_tank"
country = "US"
path = "{CHAPTER.parent}"
glob = "*.txt"

[[source]]
name = "UN General Debate"
type = "ungdc"
path = "{CORPUS / "ungdc"}"
countries = ["JPN", "RUS"]
years = [2014, 2016]
""",
    )
    db = folder / "j.duckdb"
    summary = run_pipeline(sources=str(registry), db=str(db))
    assert summary.counts.n_new == 7 and summary.counts.n_failed == 0
    assert summary.counts.n_positions > 0
    return db


def rows(db: Path, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def dicts(db: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        return [dict(zip(names, r, strict=True)) for r in result.fetchall()]


def expected_aggregates(labels: list[str]) -> dict:
    """The codebook's derived measures, by hand, from a list of sentence positions."""
    on_topic = [p for p in labels if p != "off_topic"]
    carrying = [TERRITORIAL_SHARE[p] for p in labels if p in TERRITORIAL_SHARE]
    out = {"n_sentences": len(labels), "n_on_topic": len(on_topic), "index_n": len(carrying)}
    for label in ON_TOPIC_POSITIONS:
        out[f"share_{label}"] = on_topic.count(label) / len(on_topic) if on_topic else None
    out["territorial_share_index"] = sum(carrying) / len(carrying) if carrying else None
    return out


def assert_same(actual: dict, expected: dict) -> None:
    for key, value in expected.items():
        if value is None or actual[key] is None:
            assert actual[key] == value, key
        else:
            assert actual[key] == pytest.approx(value, abs=1e-9), key


def sentence_positions(db: Path) -> list[tuple]:
    return rows(
        db,
        "SELECT d.doc_id, d.source, d.country, d.kind, d.published, p.position"
        " FROM positions p JOIN documents d USING (doc_id)",
    )


def test_the_slice_has_on_topic_sentences_of_several_positions(trends_db):
    positions = {r[5] for r in sentence_positions(trends_db)}
    assert "off_topic" in positions and len(positions - {"off_topic"}) >= 2


def test_v_document_positions_matches_sentence_rows(trends_db):
    by_doc = defaultdict(list)
    for doc_id, *_, position in sentence_positions(trends_db):
        by_doc[doc_id].append(position)
    view = dicts(trends_db, "SELECT * FROM v_document_positions")
    assert len(view) == 7
    for row in view:
        assert_same(row, expected_aggregates(by_doc[row["doc_id"]]))
        assert row["location"].endswith(".txt")


def test_v_source_trends_matches_sentence_rows_for_every_period(trends_db):
    for period_type, key in [
        ("year", lambda d: f"{d.year}"),
        ("quarter", lambda d: f"{d.year}-Q{(d.month - 1) // 3 + 1}"),
        ("month", lambda d: f"{d:%Y-%m}"),
    ]:
        grouped = defaultdict(list)
        documents = defaultdict(set)
        for doc_id, source, _c, _k, published, position in sentence_positions(trends_db):
            grouped[(source, key(published))].append(position)
            documents[(source, key(published))].add(doc_id)
        view = dicts(
            trends_db, f"SELECT * FROM v_source_trends WHERE period_type = '{period_type}'"
        )
        assert {(r["source"], r["period_label"]) for r in view} == set(grouped)
        for row in view:
            group = (row["source"], row["period_label"])
            assert row["n_documents"] == len(documents[group])
            assert_same(row, expected_aggregates(grouped[group]))
    years = rows(trends_db, "SELECT DISTINCT period_label FROM v_source_trends")
    assert {"2014", "2015", "2016"} <= {r[0] for r in years}


def test_v_entity_mentions_matches_entity_rows(trends_db):
    expected = Counter(
        (cid, source, str(year))
        for cid, source, year in rows(
            trends_db,
            "SELECT e.canonical_id, d.source, year(d.published) FROM entities e"
            " JOIN documents d USING (doc_id) WHERE e.canonical_id IS NOT NULL",
        )
    )
    view = rows(
        trends_db,
        "SELECT canonical_id, source, period_label, n_mentions, name FROM v_entity_mentions"
        " WHERE period_type = 'year'",
    )
    assert {(r[0], r[1], r[2]): r[3] for r in view} == dict(expected)
    assert ("japan", "UNGA:JPN") in {(r[0], r[1]) for r in view}
    assert all(r[4] for r in view), "every canonical id has its catalogue name"


def test_v_stance_edges_matches_stance_rows(trends_db):
    expected: dict[tuple, Counter] = defaultdict(Counter)
    for holder_id, holder_text, target_id, target_text, polarity in rows(
        trends_db, "SELECT holder_id, holder_text, target_id, target_text, polarity FROM stances"
    ):
        edge = (holder_id or holder_text.lower(), target_id or target_text.lower())
        expected[edge][polarity] += 1
    view = rows(trends_db, "SELECT holder, target, n_support, n_oppose, n FROM v_stance_edges")
    assert len(view) == len(expected) > 0
    for holder, target, n_support, n_oppose, n in view:
        counts = expected[(holder, target)]
        assert (n_support, n_oppose, n) == (counts["support"], counts["oppose"], counts.total())


def test_trends_json_and_csv_agree_with_the_view(trends_db):
    as_json = runner.invoke(app, ["trends", "--db", str(trends_db), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    records = json.loads(as_json.output)
    view = {
        (r["source"], r["period_label"]): r
        for r in dicts(trends_db, "SELECT * FROM v_source_trends WHERE period_type = 'year'")
    }
    assert len(records) == len(view)
    for record in records:
        assert_same(
            record,
            {
                k: v
                for k, v in view[(record["group"], record["period_label"])].items()
                if k.startswith(("n_", "share_", "territorial", "index"))
            },
        )
    as_csv = runner.invoke(
        app, ["trends", "--db", str(trends_db), "-f", "csv", "--period", "quarter"]
    )
    table = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert {r["period_label"] for r in table} >= {"2014-Q3", "2015-Q3", "2016-Q3"}


def test_trends_by_country_kind_with_filters(trends_db):
    result = runner.invoke(
        app,
        [
            "trends",
            "--db",
            str(trends_db),
            "--by",
            "country",
            "-f",
            "json",
            "--from",
            "2015",
            "--to",
            "2015",
            "--position",
            "four_islands",
        ],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert {r["group"] for r in records} == {"JPN", "RUS", "US"}  # the chapter is of 2015
    assert {r["period_label"] for r in records} == {"2015"}
    jpn = [p for *_r, c, _k, d, p in sentence_positions(trends_db) if c == "JPN" and d.year == 2015]
    japan = next(r for r in records if r["group"] == "JPN")
    assert_same(japan, expected_aggregates(jpn))
    only = runner.invoke(
        app,
        ["trends", "--db", str(trends_db), "-f", "json", "--by", "kind", "--source", "UNGA:RUS"],
    )
    assert {(r["group"], r["n_documents"]) for r in json.loads(only.output)} == {("speech", 1)}
    table = runner.invoke(app, ["trends", "--db", str(trends_db), "--position", "shelve"])
    assert table.exit_code == 0
    assert "share of shelve" in table.output and "UNGA" in table.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--position", "four_islands'; DROP TABLE positions; --"], "--position"),
        (["--from", "2015'; DROP TABLE documents; --"], "not a date"),
        (["--from", "2016", "--to", "2014"], "is after"),
        (["--by", "title"], "title"),
        (["--from", "2015-13"], "not a date"),
    ],
)
def test_trends_arguments_are_validated_never_pasted(trends_db, args, message):
    result = runner.invoke(app, ["trends", "--db", str(trends_db), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert rows(trends_db, "SELECT count(*) FROM positions")[0][0] > 0


def test_a_source_name_is_a_value_not_sql(trends_db):
    result = runner.invoke(
        app, ["trends", "--db", str(trends_db), "-f", "json", "--source", "x' OR '1'='1"]
    )
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_trends_writes_a_png_and_an_offline_html_report(trends_db, tmp_path):
    png, page = tmp_path / "chart.png", tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "trends",
            "--db",
            str(trends_db),
            "--source",
            "UNGA:JPN",
            "--source",
            "UNGA:RUS",
            "--plot",
            str(png),
            "--html",
            str(page),
        ],
    )
    assert result.exit_code == 0, result.output
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    text = page.read_text(encoding="utf-8")
    assert "<svg" in text and "UNGA:JPN" in text and "UNGA:RUS" in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "must work offline"
    embedded = re.search(
        r'<script type="application/json" id="jrtext-series">(.*?)</script>', text, re.S
    )
    assert embedded
    series = json.loads(embedded.group(1))["series"]
    assert set(series) == {"UNGA:JPN", "UNGA:RUS"}
    view = dict(
        rows(
            trends_db,
            "SELECT period_label, territorial_share_index FROM v_source_trends"
            " WHERE period_type = 'year' AND source = 'UNGA:JPN'",
        )
    )
    assert {p["label"]: p["value"] for p in series["UNGA:JPN"]} == pytest.approx(view)


def test_report_by_id_and_location(trends_db):
    doc_id, location, n_sentences = rows(
        trends_db,
        "SELECT d.doc_id, d.location, count(*) FROM documents d JOIN sentences s USING (doc_id)"
        " WHERE d.source = 'UNGA:JPN' AND year(d.published) = 2015 GROUP BY ALL",
    )[0]
    by_id = json.loads(
        runner.invoke(app, ["report", doc_id, "--db", str(trends_db), "-f", "json"]).output
    )
    by_location = runner.invoke(app, ["report", location, "--db", str(trends_db), "-f", "json"])
    assert json.loads(by_location.output) == by_id
    assert len(by_id["sentences"]) == n_sentences
    positions = dict(
        rows(trends_db, "SELECT sent_idx, position FROM positions WHERE doc_id = ?", doc_id)
    )
    assert {s["sent_idx"]: s["position"] for s in by_id["sentences"]} == positions
    n_entities = rows(trends_db, "SELECT count(*) FROM entities WHERE doc_id = ?", doc_id)[0][0]
    assert sum(len(s["entities"]) for s in by_id["sentences"]) == n_entities
    assert any("→ japan" in e for s in by_id["sentences"] for e in s["entities"])
    table = runner.invoke(app, ["report", doc_id, "--db", str(trends_db), "--on-topic"])
    assert table.exit_code == 0 and "territorial share index" in table.output
    missing = runner.invoke(app, ["report", "nope", "--db", str(trends_db)])
    assert missing.exit_code == 2 and "no document" in missing.output


def test_export_writes_every_table_as_parquet(trends_db, tmp_path):
    result = runner.invoke(
        app, ["export", "--parquet", str(tmp_path / "out"), "--db", str(trends_db)]
    )
    assert result.exit_code == 0, result.output
    for table in TABLES:
        exported = pq.read_table(tmp_path / "out" / f"{table.name}.parquet")
        assert exported.column_names == table.column_names
        n = rows(trends_db, f"SELECT count(*) FROM {table.name}")[0][0]
        assert exported.num_rows == n


def test_the_view_examples_of_the_schema_doc_run(trends_db):
    from jrtext.schema import VIEWS

    examples = [v for v in VIEWS if v.example]
    assert len(examples) == 4
    for view in examples:
        with duckdb.connect(str(trends_db), read_only=True) as con:
            con.execute(view.example).fetchall()
