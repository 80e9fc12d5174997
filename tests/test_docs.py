"""Documentation that cannot drift: the schema page, command help, the README's commands."""

from __future__ import annotations

import re

import typer.main

from jrtext import schema
from jrtext.cli import app
from tests.conftest import PROJECT_ROOT


def test_schema_doc_is_generated_from_the_module():
    doc = (PROJECT_ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert doc == schema.markdown(), "regenerate: jrtext schema --markdown > docs/schema.md"


def test_every_command_has_help_with_an_example():
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help and "Example: jrtext" in command.help, name


def test_ci_runs_the_readme_test_command():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"<!-- test-command -->\n```(?:bash|sh)?\n(.+?)\n```", readme)
    assert match, "README must mark its test command with <!-- test-command -->"
    assert match.group(1).strip() in ci
