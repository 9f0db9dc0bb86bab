"""The JSON Schema of events.yaml (``icalpub schema``, ``events.schema.json``): what editors
check as one types.

- It is a valid draft 2020-12 schema, and the committed ``events.schema.json`` (which the
  bundled events.yaml names on its first line) is what ``icalpub schema`` prints now.
- Every valid events file of the repository passes it; every structurally wrong file of the
  bad-input catalogue fails it, at the key the loader names.
- The rest of the catalogue is out of a JSON Schema's reach, each file for a stated reason,
  and the schema accepts those that YAML can read (it is not stricter than the loader there).
- Its descriptions are the loader's ``Field.doc`` texts, which are held consistent with the
  README's tables (required column, code examples, defaults and ``status`` values).

YAML is read with ``yaml.safe_load``; the dates it makes of ``2021-01-19`` are turned back
into their text, as an editor's YAML 1.2 parser leaves them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from icalpub.cli import main
from icalpub.load import load_events
from icalpub.load import jsonschema as generator
from icalpub.load.schema import SCHEMA

ROOT = Path(__file__).parent.parent.parent
TESTS = ROOT / "tests"
COMMITTED = ROOT / "events.schema.json"
CATALOGUE = TESTS / "bad_inputs"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(generator.events_schema())


def jsonable(value: Any) -> Any:
    """``yaml.safe_load``'s result as JSON: dates and times (YAML 1.1 timestamps) as their
    ISO text, keys as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def read(path: Path) -> Any:
    return jsonable(yaml.safe_load(path.read_text(encoding="utf-8")))


def errors(validator: jsonschema.Draft202012Validator, path: Path) -> list[str]:
    """Where the schema fails ``path``: JSON paths such as ``events/0/agenda`` (``""``: the
    whole document)."""
    return sorted("/".join(str(p) for p in e.absolute_path)
                  for e in validator.iter_errors(read(path)))


# --- the schema and the committed copy ------------------------------------------------


def test_it_is_a_valid_draft_2020_12_schema():
    schema = generator.events_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_committed_schema_is_up_to_date():
    assert COMMITTED.read_text(encoding="utf-8") == generator.render(), (
        "events.schema.json is stale: run `icalpub schema --out events.schema.json`")


def test_the_command_prints_and_writes_the_same_bytes(tmp_path):
    printed = CliRunner().invoke(main, ["schema"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == generator.render()
    out = tmp_path / "events.schema.json"
    written = CliRunner().invoke(main, ["schema", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_bytes() == generator.render().encode("utf-8")


def test_the_bundled_events_file_names_the_committed_schema():
    first = (ROOT / "events.yaml").read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == "# yaml-language-server: $schema=./events.schema.json"


def test_every_key_of_the_loader_is_in_the_schema_with_its_doc_and_required_flag():
    defs = generator.events_schema()["$defs"]
    for section, item in [("calendar", "calendar"), ("organisers", "organiser"),
                          ("topics", "topic"), ("events", "event")]:
        fields = SCHEMA[section]
        assert list(defs[item]["properties"]) == list(fields)
        assert defs[item]["required"] == [k for k, f in fields.items() if f.required]
        assert defs[item]["additionalProperties"] is False
        for key, field in fields.items():
            assert defs[item]["properties"][key]["description"] == field.doc


def test_a_parser_without_a_fragment_is_an_error_not_a_guess():
    with pytest.raises(LookupError, match="no JSON Schema for the parser"):
        generator.value_schema(lambda node: node.value.upper())


def test_values_and_their_fragments(validator):
    """Spot checks of each kind of value, with the loader's verdict beside it."""
    def event(**keys: Any) -> dict[str, Any]:
        return {"calendar": {"name": "C", "base_url": "https://e.example"},
                "events": [{"id": "x", "title": "T", "start": "2021-01-19 14:00", **keys}]}

    good = [{"duration": "PT2H"}, {"duration": "1h30m"}, {"duration": "90 min"},
            {"duration": "P1W2DT3H"}, {"duration": " pt1h "}, {"end": "2021-01-19T15:00:30.5"},
            {"start": "2021-01-19"}, {"start": "2021-1-9 9.05"}, {"updated": "2021-01-10 09:00Z"},
            {"updated": "2021-01-10 09:00+01:00"}, {"timezone": "America/Argentina/Buenos_Aires"},
            {"timezone": "Etc/GMT+5"}, {"url": "HTTPS://example.org/a?b#c"}, {"url": None},
            {"status": "tentative"}, {"organisers": "acme"}, {"organisers": ["a", "b-2"]},
            {"organisers": []}, {"id": 2021}, {"title": 2021}, {"title": "a\r\nb"},
            {"contact": ["Alice", "Bob"]}, {"exclude": ["2021-01-26", "2021-02-02 14:00"]},
            {"url": "http://[::1]:8000/x"}, {"url": "https://user:pw@e.org:443/"},
            {"duration": " " * 50 + "PT1H"}]
    bad = [{"duration": "PT"}, {"duration": "P1DT"}, {"duration": "90"}, {"duration": "P6M"},
           {"end": "2021-01-19 24:00"}, {"end": "2021-13-01"}, {"end": "1969-12-31"},
           {"start": "2021-01-19 14:00Z"}, {"start": None}, {"updated": "yesterday"},
           {"timezone": "Europe Brussels"}, {"url": "ftp://example.org"}, {"url": "https://"},
           {"url": "https://example.org/a b"}, {"status": "postponed"}, {"organisers": "Acme"},
           {"organisers": [["a"]]}, {"id": -1}, {"title": " "}, {"title": "a\u2028b"},
           {"title": "\x1b[31m"}, {"description": "a\x00b"}, {"title": "T" * 1001},
           {"agenda": {"a": "b"}}, {"colour": "red"}, {"url": "https://h:https/x"},
           {"url": "http://[::1"}, {"url": "https:///path"}, {"url": "https://e.org/\x1b"},
           {"url": "https://e.org/" + "a" * 2000}, {"timezone": "localtime"},
           {"timezone": "right/Europe/Paris"}, {"timezone": "posixrules"},
           {"duration": "PT" + "9" * 50 + "H"}, {"online": {"url": "x"}},
           {"start": "\u0662\u0660\u0662\u0661-01-19 14:00"}]
    for keys in good:
        assert not list(validator.iter_errors(event(**keys))), keys
    for keys in bad:
        assert list(validator.iter_errors(event(**keys))), keys


# --- valid files pass ------------------------------------------------------------------


def valid_files() -> list[Path]:
    fixtures = sorted(p for p in (TESTS / "fixtures").rglob("*.yaml")
                      if "bad" not in p.relative_to(TESTS / "fixtures").parts)
    return [*fixtures, ROOT / "events.yaml"]


@pytest.mark.parametrize("path", valid_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_valid_events_file_passes(validator, path):
    load_events(path)  # valid for the loader
    assert errors(validator, path) == []


def test_the_golden_fixture_is_among_them():
    assert TESTS / "fixtures" / "golden" / "events.yaml" in valid_files()


def test_a_generated_benchmark_file_passes(validator, tmp_path):
    out = tmp_path / "events.yaml"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "50", str(out)],
                   check=True, capture_output=True)
    assert len(load_events(out).events) == 50
    assert errors(validator, out) == []


# --- the bad-input catalogue -------------------------------------------------------------

#: Structurally wrong files, and where the schema fails each: the keys the loader's
#: ``# expect:`` lines name (``""``: the whole document).
REJECTED = {
    "agenda_is_a_mapping": ["events/0/agenda"],  # a mapping where a list is expected
    "bad_emails": ["organisers/acme/email", "organisers/b/email", "organisers/c/email",
                   "organisers/d/email"],
    "bad_slugs": ["events/0/id", "events/1/id", "events/2/id", "events/3/id"],
    "bad_status_and_empty_values": ["events/0/description", "events/0/status"],
    "bom_utf8": ["events/0/start"],  # month 13 (the BOM itself is fine)
    "calendar_is_a_list": ["calendar"],
    "calendar_missing_keys": ["calendar"],  # required keys
    "comments_only": [""],  # nothing: not a mapping
    "control_characters": ["events/0/description", "events/0/location", "events/0/title"],
    "date_month_13_and_year_1": ["events/0/start", "events/1/start"],
    "event_is_text": ["events/0"],
    "events_is_a_mapping": ["events"],
    "ids_differing_by_case": ["events/1/id", "events/2/id"],  # capitals are not slugs
    "javascript_urls": ["calendar/base_url", "events/0/registration_url", "events/0/url",
                        "events/1/url"],
    "long_title": ["events/0/title"],
    "merge_key": [""],  # the unknown top-level key `defaults` (safe_load applies the `<<`)
    "missing_keys": ["events/0", "events/1"],
    "time_24_00": ["events/0/start"],
    "time_not_a_time": ["events/0/start", "events/1/start"],
    "time_with_offset": ["events/0/start"],
    "top_level_list": [""],
    "unknown_keys": ["", "events/0"],
}

#: Well-formed files with a mistake a JSON Schema cannot see: the schema accepts them and
#: ``icalpub check`` reports them. Why, per kind:
SEMANTIC = {
    # dates, times and durations that have the right shape: the calendar, the zone's DST
    # rules, or a comparison of two values decide
    "date_february_30": "whether a day exists in that month and year",
    "gap_spring_forward": "a time the zone skips (DST)", "gap_at_end": "ditto, for `end`",
    "fold_fall_back": "a time the zone repeats (DST)",
    "end_before_start": "a comparison of two keys", "zero_duration": "a value's size",
    "absurd_duration": "a value's size (more than a year)",
    "all_day_with_time_end": "two keys that must agree (date or time)",
    "end_and_duration": "a rule between keys (one of them)",
    "missing_end": "a rule between keys (either one is required)",
    "no_zone": "a rule between sections (event zone or calendar default)",
    # references and uniqueness across the file
    "duplicate_ids": "uniqueness of a key's value across list items",
    "missing_references": "values that must be keys of another section",
    "exdate_not_on_rule": "occurrences of the recurrence",
    "exdate_without_rule": "a rule between keys",
    # knowledge outside the file
    "unknown_zone": "the tz database of the machine (an enum would date the schema)",
    # the RRULE grammar and its semantics: `recurrence` is text to the loader's schema
    "rrule_bad_freq": "RRULE grammar", "rrule_count_and_until": "RRULE grammar",
    "rrule_count_huge": "RRULE limits", "rrule_count_zero": "RRULE limits",
    "rrule_endless_minutely": "RRULE semantics",
    "rrule_interval_with_byday_daily": "RRULE semantics",
    "rrule_never_occurs": "RRULE semantics", "rrule_no_freq": "RRULE grammar",
    "rrule_out_of_range": "RRULE limits", "rrule_start_not_an_occurrence": "RRULE semantics",
    "rrule_too_many_occurrences": "RRULE semantics",
    "rrule_until_before_start": "RRULE semantics",
    "rrule_until_centuries_away": "RRULE limits",
}

#: Duplicate keys: YAML parsers (safe_load, editors') keep the last one silently, so the
#: data has none; the schema's verdict is about what is left (duplicate_top_level_section's
#: last `calendar:` lacks base_url), never about the duplicate.
DUPLICATE_KEYS = {"duplicate_key_in_event", "duplicate_organiser", "duplicate_top_level_section"}

#: Files that never become data to validate: the YAML (or its bytes) is refused first, by
#: safe_load as by the loader, or its expansion is the attack (an editor's YAML parser has
#: its own limits).
NOT_DATA = {
    "custom_tag": "a YAML tag", "python_tag": "a YAML tag", "python_name_tag": "a YAML tag",
    "not_utf8": "not UTF-8", "raw_control_character": "a character YAML forbids",
    "syntax_bad_indentation": "YAML syntax", "syntax_deep_nesting": "YAML syntax",
    "syntax_flow_sequence": "YAML syntax", "syntax_text_after_quotes": "YAML syntax",
    "syntax_two_documents": "YAML syntax", "tabs_indentation": "YAML syntax",
    "alias_bomb": "alias expansion (resource limit)",
    "alias_bomb_in_text": "alias expansion (resource limit)",
}
ALIAS_BOMBS = {"alias_bomb", "alias_bomb_in_text"}


def test_the_lists_name_catalogue_files_once_each():
    """Every file named above exists, in one group only. (The catalogue grows; a new file
    joins a group here when it shows something about the schema.)"""
    names = {p.stem for p in CATALOGUE.glob("*.yaml")}
    groups = [set(REJECTED), set(SEMANTIC), set(NOT_DATA), DUPLICATE_KEYS]
    assert set().union(*groups) <= names
    assert sum(map(len, groups)) == len(set().union(*groups))


@pytest.mark.parametrize("name", sorted(DUPLICATE_KEYS))
def test_duplicate_keys_are_gone_once_parsed(name):
    assert isinstance(read(CATALOGUE / f"{name}.yaml"), dict)


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_structurally_wrong_files_fail_where_the_loader_says(validator, name):
    assert sorted(set(errors(validator, CATALOGUE / f"{name}.yaml"))) == REJECTED[name]


@pytest.mark.parametrize("name", sorted(SEMANTIC))
def test_semantic_mistakes_pass_the_schema(validator, name):
    assert errors(validator, CATALOGUE / f"{name}.yaml") == []


@pytest.mark.parametrize("name", sorted(set(NOT_DATA) - ALIAS_BOMBS))
def test_files_yaml_refuses_never_reach_the_schema(name):
    with pytest.raises((yaml.YAMLError, UnicodeDecodeError, RecursionError)):
        read(CATALOGUE / f"{name}.yaml")


# --- the descriptions and the README ----------------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")
TABLES = {
    "calendar": "### `calendar`",
    "organisers": "### `organisers` (slug → organiser) and `topics` (slug → topic)",
    "topics": "### `organisers` (slug → organiser) and `topics` (slug → topic)",
    "events": "### `events` (a list)",
}


def readme_rows(heading: str) -> dict[str, tuple[bool, str]]:
    """key -> (required, meaning) of the table under ``heading``."""
    text = README.split(heading + "\n", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in text.split("\n"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `"):
            rows[cells[0].strip("`")] = (cells[1] == "yes", "|".join(cells[2:]))
    return rows


# A code example (`...`) or an ISO 8601 duration or date written in a doc.
CODE = re.compile(r"`([^`]+)`|\b(P[0-9T][0-9A-Z]*|[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9:]+)?)\b")


@pytest.mark.parametrize("section", TABLES)
def test_field_docs_agree_with_the_readme_tables(section):
    rows = readme_rows(TABLES[section])
    for key, field in SCHEMA[section].items():
        required, meaning = rows[key]
        plain = meaning.replace("`", "")
        assert required == field.required, f"{section}.{key}: required"
        for match in CODE.finditer(field.doc):
            token = match.group(1) or match.group(2)
            assert token in plain, f"{section}.{key}: the doc's {token!r} is not in the README"
        enum = generator.field_schema(field).get("enum")
        for value in enum or ():
            assert f"`{value}`" in meaning, f"{section}.{key}: {value!r}"


def test_the_consistency_check_can_fail():
    """A doc whose default differs from the README's is caught."""
    meaning = readme_rows(TABLES["calendar"])["refresh"][1].replace("`", "")
    doc = SCHEMA["calendar"]["refresh"].doc.replace("PT12H", "PT6H")
    assert any((m.group(1) or m.group(2)) not in meaning for m in CODE.finditer(doc))


def test_the_schema_names_what_the_readme_table_lists_as_status():
    status = generator.events_schema()["$defs"]["event"]["properties"]["status"]
    assert status["enum"] == ["confirmed", "tentative", "cancelled"]
    assert json.loads(COMMITTED.read_text())["$defs"]["event"]["properties"]["status"] == status
