"""The source registry (``corpus/sources.toml``): what to read, validated before any work.

A malformed registry is a :class:`RegistryError` naming the line and field, raised before a
run starts; a source whose folder is missing is not — that is recorded as a problem for that
source while the others are read (a mounted share may simply be away today).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from jrtext.errors import RegistryError

KINDS = ("news", "think_tank", "government", "speech", "academic", "encyclopedia", "blog", "other")
Kind = Literal[
    "news", "think_tank", "government", "speech", "academic", "encyclopedia", "blog", "other"
]
FILE_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")


class _SourceBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="unique name; the documents' default source")
    kind: Kind
    country: str | None = Field(None, description="ISO code of the publisher's country")

    @field_validator("name")
    @classmethod
    def _no_blank_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class FilesSource(_SourceBase):
    """A folder (or one file) of .txt, .md, .html/.htm and .pdf documents."""

    type: Literal["files"]
    path: Path
    glob: str = Field("**/*", description="which files below the folder")


class UngdcSource(_SourceBase):
    """Speeches in the UN General Debate Corpus layout (Session NN - YYYY/CCC_NN_YYYY.txt)."""

    type: Literal["ungdc"]
    kind: Kind = "speech"
    path: Path
    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{3}$")]] | None = None
    years: tuple[int, int] | None = Field(None, description="first and last year, inclusive")

    @field_validator("years")
    @classmethod
    def _ordered(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError("years must be [from, to] with from <= to")
        return value


def _check_web_address(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value.strip()):
        raise ValueError(f"{value!r} is not an http:// or https:// address")
    return value.strip()


class UrlSource(_SourceBase):
    """Web pages, listed in the registry (``urls``) or one a line in a file (``url_file``)."""

    type: Literal["url"]
    urls: list[str] | None = None
    url_file: Path | None = Field(None, description="one URL a line; # starts a comment")

    @field_validator("urls")
    @classmethod
    def _web_addresses(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_check_web_address(u) for u in value]

    @model_validator(mode="after")
    def _one_list(self) -> UrlSource:
        if (self.urls is None) == (self.url_file is None):
            raise ValueError("give exactly one of 'urls' or 'url_file'")
        return self


class FeedSource(_SourceBase):
    """An RSS 0.9x/1.0/2.0 or Atom feed; every entry's link is a document."""

    type: Literal["feed"]
    url: str

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        return _check_web_address(value)


AnySource = FilesSource | UngdcSource | UrlSource | FeedSource
SOURCE_TYPES = ("files", "ungdc", "url", "feed")
Source = Annotated[AnySource, Field(discriminator="type")]
_SOURCE_ADAPTER: TypeAdapter[AnySource] = TypeAdapter(Source)


class Registry(BaseModel):
    """Sources with their paths resolved against the registry file's folder."""

    model_config = ConfigDict(frozen=True)

    path: Path
    sources: list[AnySource]


def load_registry(path: Path) -> Registry:
    """Read and validate a registry; every error names the file, line and field."""
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(f"{path}: the source registry does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: cannot read the source registry: {exc}") from None
    try:
        data = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML: {exc}") from None

    unknown = set(data) - {"source"}
    if unknown:
        raise RegistryError(
            f"{path}: unknown top-level key(s) {sorted(unknown)}; expected [[source]] tables"
        )
    tables = data.get("source", [])
    if not isinstance(tables, list) or not tables:
        raise RegistryError(f"{path}: no [[source]] tables; nothing to read")

    lines = _table_lines(raw_text)
    base = path.resolve().parent
    sources: list[AnySource] = []
    names: dict[str, int] = {}
    for i, table in enumerate(tables):
        where = f"{path}:{lines[i] if i < len(lines) else '?'}: [[source]] #{i + 1}"
        if isinstance(table, dict) and table.get("name"):
            where += f" ({table['name']!r})"
        source = _validate_table(table, where)
        if source.name in names:
            raise RegistryError(
                f"{where}: field 'name': {source.name!r} is already used by "
                f"[[source]] #{names[source.name] + 1}; names must be unique"
            )
        names[source.name] = i
        sources.append(_resolve_paths(source, base))
    return Registry(path=path.resolve(), sources=sources)


def _resolve_paths(source: AnySource, base: Path) -> AnySource:
    """Paths in the registry are relative to its folder."""
    for field_name in ("path", "url_file"):
        value = getattr(source, field_name, None)
        if isinstance(value, Path):
            resolved = (value if value.is_absolute() else base / value).resolve()
            source = source.model_copy(update={field_name: resolved})
    return source


def _validate_table(table: object, where: str) -> AnySource:
    if not isinstance(table, dict):
        raise RegistryError(f"{where}: must be a table")
    kind_of_source = table.get("type")
    if kind_of_source not in SOURCE_TYPES:
        raise RegistryError(
            f"{where}: field 'type': {kind_of_source!r} is not a known source type "
            f"(expected one of {', '.join(repr(t) for t in SOURCE_TYPES)})"
        )
    try:
        return _SOURCE_ADAPTER.validate_python(table)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in e['loc'][1:]) or '?'}': {e['msg']}"
            for e in exc.errors()
        )
        raise RegistryError(f"{where}: {problems}") from None


def _table_lines(text: str) -> list[int]:
    """1-based line numbers of each ``[[source]]`` header, to point errors at the right table."""
    return [
        n
        for n, line in enumerate(text.splitlines(), start=1)
        if re.match(r"\s*\[\[\s*source\s*\]\]", line)
    ]
