"""The real flow (Prefect test harness, real spaCy, real DuckDB file) on a slice of the corpus."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flows.pipeline import run_pipeline
from tests.conftest import CORPUS, minimal_pdf, write_registry

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]

TABLES = ("documents", "sentences", "entities", "problems")


def registry_for(tmp_path: Path, chapter_dir: Path, *extra: str) -> Path:
    body = f"""
[[source]]
name = "Stimson Center"
type = "files"
kind = "think_tank"
country = "US"
path = "{chapter_dir}"

[[source]]
name = "UN General Debate"
type = "ungdc"
path = "{CORPUS / "ungdc"}"
countries = ["JPN"]
years = [1981, 1982]
""" + "\n".join(extra)
    return write_registry(tmp_path / "sources.toml", body)


def counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def rows(db: Path, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_chapter_and_speeches_land_whole_and_a_rerun_is_a_no_op(tmp_path, chapter_copy):
    db = tmp_path / "j.duckdb"
    registry = registry_for(tmp_path, chapter_copy)

    first = run_pipeline(sources=str(registry), db=str(db))
    assert (first.counts.n_seen, first.counts.n_new, first.counts.n_failed) == (3, 3, 0)

    chapter = rows(
        db,
        "SELECT doc_id, title, author, published, source, kind, country, text"
        " FROM documents WHERE format = 'txt' AND source = 'Stimson Center'",
    )
    assert len(chapter) == 1
    doc_id, title, author, published, source, kind, country, text = chapter[0]
    assert title == "Japan-Russia Relations: Toward a Peace Treaty and Beyond"
    assert author == "Yoko Hirose" and str(published) == "2015-03-25"
    assert (source, kind, country) == ("Stimson Center", "think_tank", "US")

    sentences = rows(
        db,
        "SELECT start_char, end_char, text FROM sentences WHERE doc_id = ? ORDER BY sent_idx",
        doc_id,
    )
    assert len(sentences) >= 150
    assert all(text[s:e] == t for s, e, t in sentences)
    mentions = {
        t for (t,) in rows(db, "SELECT DISTINCT text FROM entities WHERE doc_id = ?", doc_id)
    }
    assert {"Putin", "Abe"} <= mentions
    assert any("Northern Territories" in m for m in mentions)

    speeches = rows(
        db,
        "SELECT source, country, published FROM documents WHERE kind = 'speech' ORDER BY published",
    )
    assert [(s, c, str(p)) for s, c, p in speeches] == [
        ("UNGA:JPN", "JPN", "1981-09-15"),
        ("UNGA:JPN", "JPN", "1982-09-15"),
    ]

    before = counts(db)
    second = run_pipeline(sources=str(registry), db=str(db))
    assert (second.counts.n_new, second.counts.n_changed, second.counts.n_unchanged) == (0, 0, 3)
    assert counts(db) == before
    assert rows(db, "SELECT count(*), count(DISTINCT status) FROM runs") == [(2, 1)]


def test_an_edited_file_is_replaced_not_doubled(tmp_path, chapter_copy):
    db = tmp_path / "j.duckdb"
    registry = registry_for(tmp_path, chapter_copy)
    run_pipeline(sources=str(registry), db=str(db))
    before = counts(db)

    text_file = next(chapter_copy.glob("*.txt"))
    text_file.write_text(
        text_file.read_text(encoding="utf-8") + "\nAbe and Putin met again in Vladivostok.\n",
        encoding="utf-8",
    )
    edited = run_pipeline(sources=str(registry), db=str(db))
    assert (edited.counts.n_new, edited.counts.n_changed, edited.counts.n_unchanged) == (0, 1, 2)
    after = counts(db)
    assert after["documents"] == before["documents"]
    assert after["sentences"] == before["sentences"] + 1
    assert rows(
        db,
        "SELECT count(*) FROM (SELECT doc_id, sent_idx FROM sentences"
        " GROUP BY ALL HAVING count(*) > 1)",
    ) == [(0,)]
    assert rows(
        db, "SELECT count(*) FROM sentences WHERE text = 'Abe and Putin met again in Vladivostok.'"
    ) == [(1,)]

    sidecar = next(chapter_copy.glob("*.meta.json"))
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    sidecar.write_text(json.dumps({**meta, "title": "Retitled"}), encoding="utf-8")
    retitled = run_pipeline(sources=str(registry), db=str(db))
    assert retitled.counts.n_changed == 1 and retitled.counts.n_sentences == 0
    assert rows(db, "SELECT count(*) FROM documents WHERE title = 'Retitled'") == [(1,)]
    assert counts(db)["sentences"] == after["sentences"]


def test_bad_inputs_are_recorded_and_cost_no_other_document(tmp_path, chapter_copy):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    (bad / "scan.pdf").write_bytes(minimal_pdf(None))
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    (bad / "good.pdf").write_bytes(minimal_pdf("Japan protested the deployment on Etorofu."))
    (bad / "note.txt").write_text("The Habomai islets lie off Hokkaido.", encoding="utf-8")
    (bad / "note.meta.json").write_text('{"published": "sometime"}', encoding="utf-8")
    db = tmp_path / "j.duckdb"
    registry = registry_for(
        tmp_path,
        chapter_copy,
        f'[[source]]\nname = "inbox"\ntype = "files"\nkind = "news"\npath = "{bad}"\n',
        f'[[source]]\nname = "away"\ntype = "files"\nkind = "news"\npath = "{tmp_path / "x"}"\n',
    )
    summary = run_pipeline(sources=str(registry), db=str(db))

    problems = {(Path(loc).name, err) for err, loc, _ in summary.problems}
    assert problems == {
        ("empty.txt", "empty"),
        ("image.txt", "binary"),
        ("scan.pdf", "pdf_no_text"),
        ("broken.pdf", "unreadable"),
        ("note.txt", "bad_sidecar"),
        ("x", "path_not_found"),
    }
    assert summary.counts.n_failed == 6 and summary.counts.n_new == 4
    stored = rows(db, "SELECT stage, error, detail FROM problems WHERE error = 'bad_sidecar'")
    assert stored[0][0] == "metadata" and "published" in stored[0][2]
    assert {Path(p).name for (p,) in rows(db, "SELECT location FROM documents")} >= {
        "good.pdf",
        "000_7dc69556dcd7cdd8.txt",
    }

    (bad / "note.meta.json").write_text('{"published": "2019-01-22"}', encoding="utf-8")
    fixed = run_pipeline(sources=str(registry), db=str(db))
    assert fixed.counts.n_new == 1 and fixed.counts.n_failed == 5
    assert (
        rows(db, "SELECT published FROM documents WHERE location LIKE '%note.txt'")[0][0].year
        == 2019
    )


def test_every_sentence_gets_a_position_and_documents_their_shares(tmp_path, chapter_copy):
    db = tmp_path / "j.duckdb"
    summary = run_pipeline(sources=str(registry_for(tmp_path, chapter_copy)), db=str(db))
    assert summary.counts.n_positions == summary.counts.n_sentences > 0
    assert rows(
        db, "SELECT count(*) FROM sentences s ANTI JOIN positions p USING (doc_id, sent_idx)"
    ) == [(0,)]
    assert rows(
        db,
        "SELECT count(*) FROM positions WHERE (holder = 'none') <>"
        " (position IN ('neutral', 'off_topic'))",
    ) == [(0,)]
    # the view's figures, recomputed from the sentence-level rows
    for doc_id, n_on_topic, share_neutral, tsi, index_n in rows(
        db,
        "SELECT doc_id, n_on_topic, share_neutral, territorial_share_index, index_n"
        " FROM document_positions",
    ):
        positions = [
            p for (p,) in rows(db, "SELECT position FROM positions WHERE doc_id = ?", doc_id)
        ]
        on_topic = [p for p in positions if p != "off_topic"]
        assert n_on_topic == len(on_topic)
        if on_topic:
            assert share_neutral == pytest.approx(on_topic.count("neutral") / len(on_topic))
        weights = {
            "four_islands": 1.0,
            "compromise": 0.5,
            "two_islands": 0.07,
            "russian_sovereignty": 0.0,
        }
        carried = [weights[p] for p in positions if p in weights]
        assert index_n == len(carried)
        assert tsi == (pytest.approx(sum(carried) / len(carried)) if carried else None)
    chapter_positions = rows(
        db,
        "SELECT count(*) FILTER (WHERE position <> 'off_topic')"
        " FROM positions JOIN documents USING (doc_id)"
        " WHERE documents.source = 'Stimson Center'",
    )[0][0]
    assert chapter_positions >= 20

    # an unchanged re-run classifies nothing again
    again = run_pipeline(sources=str(registry_for(tmp_path, chapter_copy)), db=str(db))
    assert again.counts.n_positions == 0


def test_an_exact_copy_of_a_file_is_linked_not_stored_twice(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    story = (CORPUS / "web" / "p0015.txt").read_text(encoding="utf-8")
    (folder / "story.txt").write_text(story, encoding="utf-8")
    (folder / "story-copy.txt").write_text(story, encoding="utf-8")
    (folder / "other.txt").write_text(
        (CORPUS / "web" / "p0016.txt").read_text(encoding="utf-8"), encoding="utf-8"
    )
    registry = write_registry(
        tmp_path / "sources.toml",
        f'[[source]]\nname = "Mine"\ntype = "files"\nkind = "news"\npath = "{folder}"\n',
    )
    db = tmp_path / "j.duckdb"

    first = run_pipeline(sources=str(registry), db=str(db))
    assert (first.counts.n_new, first.counts.n_duplicates) == (2, 1)
    assert counts(db)["documents"] == 2
    assert rows(db, "SELECT count(*) FROM documents WHERE text = ?", story) == [(1,)]
    original, held_at = rows(db, "SELECT doc_id, location FROM documents WHERE text = ?", story)[0]
    [(copy_at, linked_to)] = rows(db, "SELECT location, doc_id FROM document_locations")
    assert {held_at, copy_at} == {str(folder / "story.txt"), str(folder / "story-copy.txt")}
    assert linked_to == original
    sentences = rows(db, "SELECT count(*) FROM sentences")[0][0]

    again = run_pipeline(sources=str(registry), db=str(db))
    assert (again.counts.n_new, again.counts.n_unchanged, again.counts.n_duplicates) == (0, 3, 0)
    assert rows(db, "SELECT count(*) FROM sentences")[0][0] == sentences

    Path(copy_at).write_text(story + "\nA line the copy adds.\n", encoding="utf-8")
    edited = run_pipeline(sources=str(registry), db=str(db))
    assert (edited.counts.n_new, edited.counts.n_unchanged) == (1, 2)
    assert counts(db)["documents"] == 3
    assert rows(db, "SELECT count(*) FROM document_locations") == [(0,)]
