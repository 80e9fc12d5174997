"""The ``jrtext`` command as a user meets it: exit codes, messages, formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jrtext.cli import app
from tests.conftest import write_registry

runner = CliRunner()


@pytest.fixture(scope="module")
def chapter_db(tmp_path_factory, prefect_harness) -> Path:
    from tests.conftest import CHAPTER

    folder = tmp_path_factory.mktemp("cli")
    registry = write_registry(
        folder / "sources.toml",
        f'[[source]]\nname = "Stimson Center"\ntype = "files"\nkind = "think_tank"\n'
        f'path = "{CHAPTER.parent}"\n',
    )
    db = folder / "j.duckdb"
    result = runner.invoke(app, ["run", "--sources", str(registry), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "documents seen" in result.output and "new" in result.output
    return db


def test_malformed_registry_stops_before_any_work(tmp_path: Path):
    registry = write_registry(
        tmp_path / "s.toml", '[[source]]\nname = "a"\ntype = "files"\nkind = "gossip"\npath = "x"'
    )
    db = tmp_path / "j.duckdb"
    result = runner.invoke(app, ["run", "--sources", str(registry), "--db", str(db)])
    assert result.exit_code == 2
    assert "s.toml:1" in result.output and "field 'kind'" in result.output
    assert not db.exists()


def test_query_formats(chapter_db: Path):
    sql = "SELECT title, author FROM documents"
    as_csv = runner.invoke(app, ["query", "--db", str(chapter_db), "--format", "csv", sql])
    assert as_csv.exit_code == 0
    assert list(csv.reader(io.StringIO(as_csv.output))) == [
        ["title", "author"],
        ["Japan-Russia Relations: Toward a Peace Treaty and Beyond", "Yoko Hirose"],
    ]
    as_json = runner.invoke(
        app, ["query", "--db", str(chapter_db), "-f", "json", "SELECT published FROM documents"]
    )
    assert json.loads(as_json.output) == [{"published": "2015-03-25"}]
    as_table = runner.invoke(app, ["query", "--db", str(chapter_db), sql])
    assert as_table.exit_code == 0 and "Yoko Hirose" in as_table.output


def test_query_is_read_only(chapter_db: Path):
    result = runner.invoke(app, ["query", "--db", str(chapter_db), "DELETE FROM documents"])
    assert result.exit_code == 2 and "read-only" in result.output
    again = runner.invoke(
        app, ["query", "--db", str(chapter_db), "-f", "csv", "SELECT count(*) AS n FROM documents"]
    )
    assert again.output.splitlines() == ["n", "1"]


def test_query_errors_are_one_clear_line(chapter_db: Path, tmp_path: Path):
    bad_sql = runner.invoke(app, ["query", "--db", str(chapter_db), "SELECT nope FROM documents"])
    assert bad_sql.exit_code == 2 and "query failed" in bad_sql.output
    no_db = runner.invoke(app, ["query", "--db", str(tmp_path / "none.duckdb"), "SELECT 1"])
    assert no_db.exit_code == 2 and "jrtext run" in no_db.output


def test_status_shows_counts_runs_and_problems(chapter_db: Path):
    result = runner.invoke(app, ["status", "--db", str(chapter_db)])
    assert result.exit_code == 0
    assert "1 documents from 1 sources" in result.output
    assert "completed" in result.output and "no open problems" in result.output
