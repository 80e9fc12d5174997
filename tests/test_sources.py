"""The registry: valid files load with resolved paths; malformed ones name line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from jrtext.errors import RegistryError
from jrtext.sources import FilesSource, UngdcSource, load_registry
from tests.conftest import PROJECT_ROOT, write_registry


def test_default_registry_lists_chapter_and_four_countries_speeches():
    registry = load_registry(PROJECT_ROOT / "corpus" / "sources.toml")
    files = [s for s in registry.sources if isinstance(s, FilesSource)]
    speeches = [s for s in registry.sources if isinstance(s, UngdcSource)]
    assert files and files[0].path.name == "chapter" and files[0].path.is_absolute()
    assert speeches and sorted(speeches[0].countries or []) == ["CHN", "JPN", "RUS", "USA"]


def test_paths_are_relative_to_the_registry_file(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    reg = write_registry(
        tmp_path / "s.toml",
        '[[source]]\nname = "a"\ntype = "files"\nkind = "news"\npath = "docs"\n',
    )
    assert load_registry(reg).sources[0].path == (tmp_path / "docs").resolve()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[source]\nname = "a"', "not valid TOML"),
        ("", "no [[source]] tables"),
        ('[[sources]]\nname = "a"', "unknown top-level key"),
        ('[[source]]\nname = "a"\ntype = "rss"\nkind = "news"\npath = "x"', "field 'type'"),
        ('[[source]]\nname = "a"\ntype = "files"\nkind = "tabloid"\npath = "x"', "field 'kind'"),
        ('[[source]]\nname = "a"\ntype = "files"\nkind = "news"', "field 'path'"),
        ('[[source]]\ntype = "files"\nkind = "news"\npath = "x"', "field 'name'"),
        (
            '[[source]]\nname = "a"\ntype = "ungdc"\npath = "x"\nyears = [2000, 1990]',
            "field 'years'",
        ),
        (
            '[[source]]\nname = "a"\ntype = "ungdc"\npath = "x"\ncountries = ["japan"]',
            "field 'countries.0'",
        ),
        (
            '[[source]]\nname = "a"\ntype = "files"\nkind = "news"\npath = "x"\n'
            '[[source]]\nname = "a"\ntype = "files"\nkind = "news"\npath = "y"',
            "already used",
        ),
        (
            '[[source]]\nname = "a"\ntype = "files"\nkind = "news"\npath = "x"\nurl = "y"',
            "field 'url'",
        ),
    ],
)
def test_malformed_registry_names_the_problem(tmp_path: Path, body: str, expected: str):
    reg = write_registry(tmp_path / "s.toml", body)
    with pytest.raises(RegistryError, match=None) as info:
        load_registry(reg)
    assert expected in str(info.value)
    assert str(reg) in str(info.value)


def test_field_error_names_the_line_of_its_table(tmp_path: Path):
    body = (
        '# comment\n\n[[source]]\nname = "ok"\ntype = "files"\nkind = "news"\npath = "x"\n\n'
        '[[source]]\nname = "bad"\ntype = "files"\nkind = "nope"\npath = "y"\n'
    )
    reg = write_registry(tmp_path / "s.toml", body)
    with pytest.raises(RegistryError) as info:
        load_registry(reg)
    assert f"{reg}:9:" in str(info.value) and "'bad'" in str(info.value)


def test_missing_registry_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "nope.toml")
