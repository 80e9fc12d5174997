"""The domain knowledge base: states, people, islands, regions, agreements, organisations.

The knowledge is data, in ``corpus/kb/*.toml`` (one ``[[entity]]`` table per entity, and the
linking word lists in ``linking.toml``; see ``corpus/kb/README.md``). This module loads and
checks it: a malformed file, an unknown field, a dangling reference, a duplicate id or a
name claimed by two entities stops the load with a :class:`KnowledgeBaseError` naming the
file and the entry. Other TOML files in the folder (stance cues, say) are left alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from jrtext.errors import JrtextError
from jrtext.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

DEFAULT_KB_FOLDER = PROJECT_ROOT / "corpus" / "kb"

ENTITY_TYPES = ("STATE", "PERSON", "ISLAND", "REGION", "AGREEMENT", "ORG", "CITY")

_ID = re.compile(r"[a-z][a-z0-9_]*")
_COMMON_FIELDS = frozenset({"id", "type", "name", "aliases", "note"})

# Type-specific fields: name -> (python type, element type for lists, required, reference)
# A reference names the entity type(s) the value (or each list element) must be an id of.
_Field = tuple[type, type | None, bool, tuple[str, ...]]
_TYPE_FIELDS: dict[str, dict[str, _Field]] = {
    "STATE": {
        "demonyms": (list, str, False, ()),
        "plural_demonyms": (list, str, False, ()),
        "iso3": (str, None, False, ()),
        "capital": (str, None, False, ("CITY",)),
    },
    "PERSON": {
        "given_names": (list, str, True, ()),
        "family_name": (str, None, True, ()),
        "state": (str, None, True, ("STATE",)),
        "roles": (list, str, False, ()),
    },
    "ISLAND": {
        "japanese_name": (str, None, False, ()),
        "russian_name": (str, None, False, ()),
        "part_of": (str, None, False, ("ISLAND", "REGION")),
    },
    "REGION": {
        "japanese_name": (str, None, False, ()),
        "russian_name": (str, None, False, ()),
        "part_of": (str, None, False, ("ISLAND", "REGION")),
    },
    "AGREEMENT": {
        "year": (int, None, True, ()),
        "parties": (list, str, False, ("STATE",)),
        "generic_names": (list, str, False, ()),
        "japanese_name": (str, None, False, ()),
    },
    "ORG": {
        "state": (str, None, False, ("STATE",)),
        "generic_names": (list, str, False, ()),
    },
    "CITY": {
        "state": (str, None, True, ("STATE",)),
        "capital_of": (str, None, False, ("STATE",)),
    },
}

_LINKING_FIELDS = (
    "actor_heads",
    "descriptor_nouns",
    "place_prepositions",
    "motion_words",
    "person_titles",
    "brand_words_after",
    "brand_words_before",
)

_DASHES = str.maketrans({"–": "-", "—": "-", "‐": "-", "‑": "-", "’": "'", "‘": "'"})


class KnowledgeBaseError(JrtextError):
    """The knowledge base (corpus/kb/*.toml) is missing or malformed."""


def normalize_name(text: str) -> str:
    """The form two names are compared in: case, dashes, apostrophes and spacing ignored."""
    text = unicodedata.normalize("NFC", text).translate(_DASHES)
    return " ".join(text.replace(" - ", "-").split()).casefold()


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity: its canonical id, domain type, canonical name and surface forms."""

    id: str
    type: str
    name: str
    aliases: tuple[str, ...]
    attributes: Mapping[str, Any]
    file: str = ""

    def get(self, key: str, default: Any = None) -> Any:
        """A type-specific field (``year``, ``state``, ``demonyms`` …), or ``default``."""
        return self.attributes.get(key, default)

    @property
    def full_names(self) -> tuple[str, ...]:
        """A person's full names, from given and family names: "Shinzo Abe", "Abe Shinzo".

        The family-first order is made only for a one-word given name ("Abe Shinzo", not
        "Roosevelt Franklin D.").
        """
        if self.type != "PERSON":
            return ()
        family = self.attributes["family_name"]
        names: list[str] = []
        for given in self.attributes["given_names"]:
            names.append(f"{given} {family}")
            if " " not in given and "." not in given:
                names.append(f"{family} {given}")
        return tuple(names)

    @property
    def surface_forms(self) -> tuple[str, ...]:
        """Every name the entity is linked from: canonical name, aliases, full names."""
        forms = dict.fromkeys((self.name, *self.aliases, *self.full_names))
        return tuple(forms)


@dataclass(frozen=True, slots=True)
class LinkingRules:
    """Word lists that decide links in context (``corpus/kb/linking.toml``)."""

    actor_heads: frozenset[str] = frozenset()
    descriptor_nouns: frozenset[str] = frozenset()
    place_prepositions: frozenset[str] = frozenset()
    motion_words: frozenset[str] = frozenset()
    person_titles: frozenset[str] = frozenset()
    brand_words_after: frozenset[str] = frozenset()
    brand_words_before: frozenset[str] = frozenset()


class CatalogRow(NamedTuple):
    """One row of the ``entity_catalog`` table."""

    id: str
    type: str
    name: str
    aliases: list[str]
    attributes: str  # JSON object of the type-specific fields, keys sorted


ENTITY_CATALOG_COLUMNS = CatalogRow._fields


@dataclass(frozen=True)
class KnowledgeBase:
    """The loaded knowledge base: entities by id, in file order, and the linking rules."""

    folder: Path
    entities: Mapping[str, Entity]
    linking: LinkingRules = field(default_factory=LinkingRules)
    fingerprint: str = ""  # sha256 of the files read: a change means links may change

    def __getitem__(self, entity_id: str) -> Entity:
        return self.entities[entity_id]

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self.entities

    def __iter__(self) -> Iterator[Entity]:
        return iter(self.entities.values())

    def __len__(self) -> int:
        return len(self.entities)

    def of_type(self, entity_type: str) -> list[Entity]:
        return [e for e in self if e.type == entity_type]

    def surface_index(self) -> dict[str, str]:
        """Normalized surface form -> the one entity id it names."""
        return {normalize_name(form): e.id for e in self for form in e.surface_forms}

    def people_by_family_name(self) -> dict[str, list[Entity]]:
        """Normalized family name -> the people who bear it, in file order."""
        index: dict[str, list[Entity]] = {}
        for person in self.of_type("PERSON"):
            index.setdefault(normalize_name(person.get("family_name")), []).append(person)
        return index

    def catalog_rows(self) -> list[CatalogRow]:
        """Rows for an ``entity_catalog`` table: id, type, name, aliases, attributes (JSON)."""
        return [
            CatalogRow(
                e.id,
                e.type,
                e.name,
                list(e.aliases),
                json.dumps(dict(e.attributes), ensure_ascii=False, sort_keys=True),
            )
            for e in self
        ]


def load_kb(folder: Path | None = None) -> KnowledgeBase:
    """Load and check every knowledge-base file in ``folder`` (default ``corpus/kb``)."""
    folder = Path(folder) if folder is not None else DEFAULT_KB_FOLDER
    if not folder.is_dir():
        raise KnowledgeBaseError(f"{folder}: knowledge-base folder not found")
    entities: dict[str, Entity] = {}
    linking: LinkingRules | None = None
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.toml")):
        data = _read_toml(path)
        if "entity" in data or "linking" in data:
            digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
        if "entity" in data:
            for entity in _entities_of(path, data):
                if entity.id in entities:
                    raise KnowledgeBaseError(
                        f"{path.name}: entry '{entity.id}'{_line(path, entity.id)}: duplicate "
                        f"id, already defined in {entities[entity.id].file}"
                    )
                entities[entity.id] = entity
        elif "linking" in data:
            if linking is not None:
                raise KnowledgeBaseError(f"{path.name}: a second [linking] table")
            linking = _linking_of(path, data)
        else:
            _reject_misnamed_entities(path, data)
            log.debug("%s: no [[entity]] or [linking]; not part of the knowledge base", path)
    if not entities:
        raise KnowledgeBaseError(f"{folder}: no [[entity]] entries in any *.toml file")
    _check_references(entities)
    _check_names(entities)
    return KnowledgeBase(
        folder, MappingProxyType(entities), linking or LinkingRules(), digest.hexdigest()
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeBaseError(f"{path.name}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{path.name}: cannot be read: {exc}") from exc


def _line(path: Path, entity_id: str) -> str:
    """ " (line N)" of the entry's id in its file, to point the reader at it."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(r'^\s*id\s*=\s*["\']' + re.escape(entity_id) + r'["\']', re.M)
    match = pattern.search(text)
    if match is None:
        return ""
    line = text.count("\n", 0, match.start()) + 1
    return f" (line {line})"


def _reject_misnamed_entities(path: Path, data: dict[str, Any]) -> None:
    """``[[entities]]`` or ``[[entry]]`` is a typo for ``[[entity]]``, not another file kind."""
    for key in data:
        if key.lower().startswith("entit") or key.lower() in ("entry", "entries"):
            raise KnowledgeBaseError(
                f"{path.name}: entries under [[{key}]]; knowledge-base entries go under [[entity]]"
            )


def _entities_of(path: Path, data: dict[str, Any]) -> Iterator[Entity]:
    unknown = set(data) - {"entity"}
    if unknown:
        raise KnowledgeBaseError(
            f"{path.name}: unknown top-level key(s) {sorted(unknown)}; expected [[entity]] only"
        )
    entries = data["entity"]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise KnowledgeBaseError(f"{path.name}: 'entity' must be an array of tables, [[entity]]")
    for number, entry in enumerate(entries, start=1):
        yield _entity_of(path, number, entry)


def _entity_of(path: Path, number: int, entry: dict[str, Any]) -> Entity:
    entity_id = entry.get("id")

    def fail(problem: str) -> KnowledgeBaseError:
        where = f"{path.name}: entry {number}"
        if isinstance(entity_id, str) and entity_id:
            where = f"{path.name}: entry {number} '{entity_id}'{_line(path, entity_id)}"
        return KnowledgeBaseError(f"{where}: {problem}")

    if not isinstance(entity_id, str) or not _ID.fullmatch(entity_id):
        raise fail(f"'id' must be a lower-case slug (a-z, 0-9, _), got {entity_id!r}")
    entity_type = entry.get("type")
    if entity_type not in ENTITY_TYPES:
        raise fail(f"'type' must be one of {', '.join(ENTITY_TYPES)}, got {entity_type!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("'name' must be a non-empty string")
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise fail("'aliases' must be a list of non-empty strings")
    if "note" in entry and not isinstance(entry["note"], str):
        raise fail("'note' must be a string")
    spec = _TYPE_FIELDS[entity_type]
    unknown = set(entry) - _COMMON_FIELDS - set(spec)
    if unknown:
        allowed = ", ".join(sorted((_COMMON_FIELDS | set(spec)) - {"id", "type"}))
        raise fail(f"unknown field(s) {sorted(unknown)} for type {entity_type}; allowed: {allowed}")
    attributes: dict[str, Any] = {}
    for key, (kind, element, required, _refs) in spec.items():
        if key not in entry:
            if required:
                raise fail(f"missing field '{key}' (required for type {entity_type})")
            continue
        value = entry[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise fail(f"'{key}' must be an integer, got {value!r}")
        if kind is str and (not isinstance(value, str) or not value.strip()):
            raise fail(f"'{key}' must be a non-empty string, got {value!r}")
        if kind is list and (
            not isinstance(value, list)
            or not all(
                isinstance(v, element) and (not isinstance(v, str) or v.strip()) for v in value
            )
        ):
            raise fail(f"'{key}' must be a list of non-empty strings, got {value!r}")
        attributes[key] = value
    if "note" in entry:
        attributes["note"] = entry["note"]
    if entity_type == "PERSON" and not attributes["given_names"]:
        raise fail("'given_names' must list at least one given name")
    return Entity(
        entity_id,
        entity_type,
        name.strip(),
        tuple(dict.fromkeys(a.strip() for a in aliases)),
        MappingProxyType(attributes),
        path.name,
    )


def _linking_of(path: Path, data: dict[str, Any]) -> LinkingRules:
    table = data["linking"]
    if set(data) != {"linking"} or not isinstance(table, dict):
        raise KnowledgeBaseError(f"{path.name}: expected a single [linking] table")
    unknown = set(table) - set(_LINKING_FIELDS)
    if unknown:
        raise KnowledgeBaseError(
            f"{path.name}: [linking] has unknown key(s) {sorted(unknown)}; "
            f"allowed: {', '.join(_LINKING_FIELDS)}"
        )
    values: dict[str, frozenset[str]] = {}
    for key in _LINKING_FIELDS:
        words = table.get(key, [])
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise KnowledgeBaseError(f"{path.name}: [linking] '{key}' must be a list of words")
        values[key] = frozenset(words)
    # Head nouns, prepositions and motion words are compared in lower case; brand words as
    # written ("Times", not "times").
    lower_case = ("actor_heads", "descriptor_nouns", "place_prepositions", "motion_words")
    for key in (*lower_case, "person_titles"):
        values[key] = frozenset(w.lower() for w in values[key])
    return LinkingRules(**values)


def _check_references(entities: Mapping[str, Entity]) -> None:
    for entity in entities.values():
        for key, (_kind, _element, _required, refs) in _TYPE_FIELDS[entity.type].items():
            if not refs or key not in entity.attributes:
                continue
            value = entity.attributes[key]
            for target in value if isinstance(value, list) else [value]:
                found = entities.get(target)
                if found is None or found.type not in refs:
                    what = "no such id" if found is None else f"it is a {found.type}"
                    raise KnowledgeBaseError(
                        f"{entity.file}: entry '{entity.id}': '{key}' = {target!r} must be "
                        f"the id of a {' or '.join(refs)} ({what})"
                    )
        if entity.type == "STATE" and "capital" in entity.attributes:
            city = entities[entity.attributes["capital"]]
            if city.get("capital_of") != entity.id:
                raise KnowledgeBaseError(
                    f"{entity.file}: entry '{entity.id}': capital '{city.id}' must say "
                    f'capital_of = "{entity.id}" ({city.file})'
                )


def _check_names(entities: Mapping[str, Entity]) -> None:
    """Each surface form, demonym and plural demonym names one entity only."""
    claims: dict[tuple[str, str], Entity] = {}

    def claim(kind: str, form: str, entity: Entity) -> None:
        key = (kind, normalize_name(form))
        other = claims.setdefault(key, entity)
        if other.id != entity.id:
            raise KnowledgeBaseError(
                f"{entity.file}: entry '{entity.id}': {kind} {form!r} is also claimed by "
                f"'{other.id}' ({other.file}); a name must belong to one entity "
                "(for a shared family name, list it as an alias of one person only)"
            )

    for entity in entities.values():
        for form in entity.surface_forms:
            claim("name", form, entity)
    for entity in entities.values():
        for demonym in entity.get("demonyms", []):
            claim("demonym", demonym, entity)
        for plural in entity.get("plural_demonyms", []):
            claim("plural demonym", plural, entity)
    names = {key[1] for key in claims if key[0] == "name"}
    for entity in entities.values():
        for generic in entity.get("generic_names", []):
            if normalize_name(generic) in names:
                owner = claims[("name", normalize_name(generic))]
                raise KnowledgeBaseError(
                    f"{entity.file}: entry '{entity.id}': generic name {generic!r} is a name "
                    f"of '{owner.id}' ({owner.file}); generic names must not be names"
                )


__all__ = [
    "DEFAULT_KB_FOLDER",
    "ENTITY_CATALOG_COLUMNS",
    "ENTITY_TYPES",
    "CatalogRow",
    "Entity",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "LinkingRules",
    "load_kb",
    "normalize_name",
]
