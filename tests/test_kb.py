"""The knowledge base loads, keeps the agreed ids, and refuses bad files with clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from jrtext.kb import (
    DEFAULT_KB_FOLDER,
    ENTITY_CATALOG_COLUMNS,
    KnowledgeBaseError,
    load_kb,
    normalize_name,
)

# The ids other modules (stance extraction) rely on, with their types.
AGREED_IDS = {
    "STATE": [
        "japan", "russia", "united_states", "china", "south_korea", "north_korea", "ukraine",
        "germany", "uk", "france", "taiwan", "india",
    ],
    "PERSON": [
        "putin", "abe", "yeltsin", "hosokawa", "mori", "kishida", "lavrov", "medvedev",
        "gorbachev", "koizumi", "suga", "ishiba", "takaichi", "hashimoto", "obuchi",
        "hatoyama_ichiro", "hatoyama_yukio", "khrushchev", "stalin", "shigemitsu", "dulles",
        "kono",
    ],
    "ISLAND": ["etorofu", "kunashiri", "shikotan", "habomai"],
    "REGION": ["northern_territories", "kuril_islands", "sakhalin", "hokkaido"],
    "AGREEMENT": [
        "shimoda_treaty_1855", "neutrality_pact_1941", "yalta_agreement_1945",
        "san_francisco_treaty_1951", "joint_declaration_1956", "tokyo_declaration_1993",
        "irkutsk_statement_2001", "action_plan_2003", "singapore_agreement_2018",
    ],
    "ORG": [
        "mofa", "russian_mfa", "g7", "g8", "apec", "nato", "sco", "brics", "eu", "un", "asean",
    ],
}  # fmt: skip

STATE = """
[[entity]]
id = "japan"
type = "STATE"
name = "Japan"
aliases = ["Nippon"]
demonyms = ["Japanese"]
"""

PERSON = """
[[entity]]
id = "abe"
type = "PERSON"
name = "Shinzo Abe"
given_names = ["Shinzo"]
family_name = "Abe"
aliases = ["Abe"]
state = "japan"
roles = ["prime_minister"]
"""


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def write(folder: Path, **files: str) -> Path:
    for name, body in files.items():
        (folder / f"{name}.toml").write_text(body, encoding="utf-8")
    return folder


def test_the_default_knowledge_base_loads_from_corpus_kb(kb):
    assert kb.folder == DEFAULT_KB_FOLDER
    assert len(kb) > 200
    for entity_type, ids in AGREED_IDS.items():
        for entity_id in ids:
            assert entity_id in kb, entity_id
            assert kb[entity_id].type == entity_type, entity_id


def test_predecessor_states_and_metonyms_are_one_actor(kb):
    index = kb.surface_index()
    for form in ["USSR", "Soviet Union", "Russian Federation", "Russian Empire", "Kremlin"]:
        assert index[normalize_name(form)] == "russia", form
    assert index[normalize_name("Habomai")] == "habomai"
    assert kb["habomai"].type == "ISLAND"
    assert index[normalize_name("Southern Kurils")] == "northern_territories"
    assert index[normalize_name("Iturup")] == "etorofu"
    assert kb["etorofu"].get("russian_name") == "Iturup"
    assert kb["joint_declaration_1956"].get("year") == 1956


def test_a_person_has_full_names_in_both_orders(kb):
    abe = kb["abe"]
    assert {"Shinzo Abe", "Abe Shinzo", "Abe"} <= set(abe.surface_forms)
    assert abe.get("state") == "japan"
    assert "prime_minister" in abe.get("roles")
    assert [p.id for p in kb.people_by_family_name()["hatoyama"]] == [
        "hatoyama_ichiro",
        "hatoyama_yukio",
    ]


def test_catalog_rows_fill_an_entity_catalog_table(kb):
    rows = kb.catalog_rows()
    assert len(rows) == len(kb)
    assert ENTITY_CATALOG_COLUMNS == ("id", "type", "name", "aliases", "attributes")
    by_id = {row.id: row for row in rows}
    assert by_id["russia"].type == "STATE"
    assert "USSR" in by_id["russia"].aliases
    assert json.loads(by_id["tokyo_declaration_1993"].attributes)["year"] == 1993
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE entity_catalog (id VARCHAR PRIMARY KEY, type VARCHAR, name VARCHAR,"
        " aliases VARCHAR[], attributes JSON)"
    )
    con.executemany("INSERT INTO entity_catalog VALUES (?, ?, ?, ?, ?)", rows)
    assert con.execute(
        "SELECT attributes->>'$.state' FROM entity_catalog WHERE id = 'putin'"
    ).fetchone() == ("russia",)


def test_normalize_name_ignores_case_dashes_apostrophes_and_spacing():
    assert normalize_name("Soviet–Japanese  Joint Declaration") == normalize_name(
        "soviet-japanese joint declaration"
    )
    assert normalize_name("People’s Republic") == normalize_name("People's Republic")


def test_a_small_folder_loads_and_other_toml_files_are_left_alone(tmp_path):
    cues = '[[cue]]\nid = "insist"\ntype = "assert"\n'  # another kind of knowledge
    write(tmp_path, states=STATE, people=PERSON, stance_cues=cues)
    kb = load_kb(tmp_path)
    assert sorted(e.id for e in kb) == ["abe", "japan"]
    assert kb.linking.actor_heads == frozenset()  # no linking.toml: no demonym rules

    write(tmp_path, stance_cues=cues + 'lemma = "reject"\n')
    assert load_kb(tmp_path).fingerprint == kb.fingerprint  # other knowledge: no change
    write(tmp_path, states=STATE.replace('["Nippon"]', '["Nippon", "Nihon"]'))
    assert load_kb(tmp_path).fingerprint != kb.fingerprint


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"states": "[[entity]\nid = 'x'"}, r"states\.toml: not valid TOML"),
        (
            {"states": STATE.replace('name = "Japan"\n', "")},
            r"states\.toml: entry 1 'japan' \(line 3\): 'name' must be a non-empty string",
        ),
        ({"states": STATE.replace('"japan"', '"Japan"')}, r"entry 1 'Japan'.*lower-case slug"),
        ({"states": STATE.replace('"STATE"', '"COUNTRY"')}, r"'type' must be one of STATE"),
        ({"states": STATE + 'capitol = "tokyo"\n'}, r"unknown field\(s\) \['capitol'\]"),
        ({"states": STATE.replace('["Nippon"]', '"Nippon"')}, r"'aliases' must be a list"),
        (
            {"states": STATE, "people": PERSON.replace('state = "japan"', 'state = "nippon"')},
            r"people\.toml: entry 'abe'.*'state' = 'nippon' must be the id of a STATE "
            r"\(no such id\)",
        ),
        (
            {"states": STATE, "people": PERSON.replace('family_name = "Abe"\n', "")},
            r"entry 1 'abe'.*missing field 'family_name'",
        ),
        (
            {"states": STATE, "more": STATE.replace('["Nippon"]', "[]")},
            r"states\.toml: entry 'japan' \(line 3\): duplicate id, already defined in more\.toml",
        ),
        ({"states": STATE.replace("[[entity]]", "[[entities]]")}, r"go under \[\[entity\]\]"),
        ({"notes": 'title = "nothing here"\n'}, r"no \[\[entity\]\] entries"),
        (
            {"states": STATE, "linking": "[linking]\nactor_head = ['government']\n"},
            r"linking\.toml: \[linking\] has unknown key\(s\) \['actor_head'\]",
        ),
    ],
)
def test_a_malformed_file_names_the_file_and_the_entry(tmp_path, files, message):
    write(tmp_path, **files)
    with pytest.raises(KnowledgeBaseError, match=message):
        load_kb(tmp_path)


def test_an_alias_claimed_by_two_ids_is_refused(tmp_path):
    other = STATE.replace('"japan"', '"nippon_koku"').replace('"Japan"', '"Nippon-koku"')
    other = other.replace('"Japanese"', '"Nipponese"')
    write(tmp_path, states=STATE, other=other)
    with pytest.raises(KnowledgeBaseError) as error:
        load_kb(tmp_path)
    message = str(error.value)
    assert "'Nippon'" in message and "'japan'" in message and "'nippon_koku'" in message
    assert "states.toml" in message and "other.toml" in message


def test_a_family_name_shared_as_an_alias_is_refused_but_as_family_name_is_fine(tmp_path):
    shintaro = (
        PERSON.replace('"abe"', '"abe_shintaro"')
        .replace("Shinzo", "Shintaro")
        .replace('aliases = ["Abe"]', "aliases = []")
    )
    write(tmp_path, states=STATE, people=PERSON + shintaro)
    kb = load_kb(tmp_path)
    assert [p.id for p in kb.people_by_family_name()["abe"]] == ["abe", "abe_shintaro"]

    write(tmp_path, people=PERSON + shintaro.replace("aliases = []", 'aliases = ["Abe"]'))
    with pytest.raises(KnowledgeBaseError, match=r"name 'Abe' is also claimed by 'abe'"):
        load_kb(tmp_path)


def test_a_generic_name_may_not_be_a_name(tmp_path):
    org = """
[[entity]]
id = "mofa"
type = "ORG"
name = "Ministry of Foreign Affairs of Japan"
state = "japan"
generic_names = ["Nippon"]
"""
    write(tmp_path, states=STATE, orgs=org)
    with pytest.raises(KnowledgeBaseError, match=r"generic name 'Nippon' is a name of 'japan'"):
        load_kb(tmp_path)


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(KnowledgeBaseError, match=re.escape(str(tmp_path / "nope"))):
        load_kb(tmp_path / "nope")
