"""A JSON Schema (draft 2020-12) of events.yaml, for editors: ``icalpub schema``.

Generated from the loader's own declaration (``schema.SCHEMA``: every section's keys, whether
each is required, whether it takes a list, its parser and its ``doc``), so the editor and
``icalpub check`` know the same keys. Each parser of ``values.py`` has a JSON Schema fragment
here (``FRAGMENTS``); a parser without one is an error, so a new kind of value cannot be
published with a guessed type.

What a JSON Schema can say, it says: the keys and their nesting, required keys, unknown keys
(``additionalProperties: false``), slugs as organiser and topic keys, lists or single values,
the shape of each value (URLs, e-mail addresses, zone names, durations, dates and times with
their field ranges, one-line text without control characters, length limits, ``status``
values). What needs more than the shape of one value stays with ``icalpub check``: whether a
date exists (30 February), DST gaps and folds, ``end`` after ``start``, ``end`` or
``duration``, known zone names (the tz database of the machine), references to organisers and
topics, unique ids, RRULE grammar and semantics, duplicate keys, YAML tags.

The descriptions are the ``Field.doc`` texts: they ship with the package (the README does
not) and are what ``icalpub check`` prints for a missing key; ``tests/load/test_jsonschema.py``
holds them consistent with the README's tables.

A value is checked as an editor's YAML parser sees it: text fields also take numbers and
``true``/``false`` (the loader reads the text as written: ``title: 2021`` is the text
"2021"), and an optional key may be left empty (``url:``), which the loader ignores.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Callable

from . import schema as s
from . import values as v
from .schema import Field

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Patterns are ECMA-262 (what editors run) and Python ``re`` (what the tests run) alike: no
# inline flags, no possessive quantifiers, escapes written as \uXXXX. ``$`` is the end of
# the text in both (no multiline flag; Python's ``$`` also matches before a final newline,
# which no value parser accepts, so editors are the stricter side).
SLUG = r"^[a-z0-9][a-z0-9-]*$"
_SPACE = r"\s*"
# C0 controls but TAB, LF and CR (CR and CRLF become LF), DEL, C1 controls (values.CONTROL).
_CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_ONE_LINE = rf"^(?=[\s\S]*\S)[^{_CONTROL}\u2028\u2029]*$"  # values.LINE_SEPARATORS too
_MULTI_LINE = rf"^(?=[\s\S]*\S)[^{_CONTROL}]*$"
_YEAR = r"(?:19[7-9][0-9]|2[01][0-9][0-9]|2200)"  # values.MIN_YEAR .. MAX_YEAR
_DATE = rf"{_YEAR}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12][0-9]|3[01])"
_TIME = r"(?:[01]?[0-9]|2[0-3])[:.][0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
_OFFSET = r"(?:\s*(?:[Zz]|[+-][0-9]{2}:?[0-9]{2}))"
_ISO_DURATION = (r"[Pp](?=[Tt]?[0-9])(?:[0-9]+[Ww])?(?:[0-9]+[Dd])?"
                 r"(?:[Tt](?=[0-9])(?:[0-9]+[Hh])?(?:[0-9]+[Mm])?(?:[0-9]+[Ss])?)?")
_SHORT_DURATION = (r"(?=[0-9])(?:[0-9]+\s*[Dd]\s*)?(?:[0-9]+\s*[Hh]\s*)?"
                   r"(?:[0-9]+\s*[Mm](?:[Ii][Nn])?\s*)?(?:[0-9]+\s*[Ss])?")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# Not the names values.zone refuses whatever the tz database holds (NOT_ZONES, posix/, right/).
_ZONE = (rf"(?!(?:{'|'.join(v.NOT_ZONES)})\s*$)(?!(?:posix|right)/)"
         r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*")
# userinfo@, a host (an IPv6 address in brackets, or a name), :port.
_AUTHORITY = (rf"(?:[^\s/?#{_CONTROL}]*@)?(?:\[[0-9A-Za-z:.%_-]+\]|[^\s/?#@:\[\]{_CONTROL}]+)"
              r"(?::[0-9]*)?")

_TEXT_TYPES = ["string", "number", "boolean"]


def _text(node_limit: int, pattern: str) -> dict[str, Any]:
    return {"type": list(_TEXT_TYPES), "minLength": 1, "maxLength": node_limit,
            "pattern": pattern}


def _trimmed(pattern: str, limit: int | None = None, **more: Any) -> dict[str, Any]:
    """A string whose value, without the white space around it, matches ``pattern`` and has
    at most ``limit`` characters (the parsers strip first, then measure)."""
    length = rf"(?=[\s\S]{{1,{limit}}}\s*$)" if limit else ""
    return {"type": "string", "pattern": f"^{_SPACE}{length}(?:{pattern}){_SPACE}$", **more}


def _choice(parse: Callable[..., Any]) -> dict[str, Any]:
    return {"type": "string", "enum": list(inspect.getclosurevars(parse).nonlocals["choices"])}


def _feeds(_parse: Callable[..., Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"past": {
        **_trimmed(f"{_ISO_DURATION}|{_SHORT_DURATION}", v.MAX_DURATION_TEXT,
                   examples=["P90D", "P26W"]),
        "description": "events that ended longer ago than this before today leave the feeds"}},
        "additionalProperties": False}


#: The JSON Schema of one (non-empty) value, by the parser that reads it: a fragment, or a
#: function of the parser for parsers made by a factory (``values.choice``).
FRAGMENTS: dict[str, dict[str, Any] | Callable[[Callable[..., Any]], dict[str, Any]]] = {
    "values.text": _text(v.MAX_LINE, _ONE_LINE),
    "values.multiline_text": _text(v.MAX_TEXT, _MULTI_LINE),
    "values.markdown_text": _text(v.MAX_TEXT, _MULTI_LINE),
    "values.slug": {"type": ["string", "integer"], "pattern": SLUG, "minimum": 0,
                    "maxLength": v.MAX_SLUG},
    "values.http_url": _trimmed(rf"[Hh][Tt][Tt][Pp][Ss]?://{_AUTHORITY}(?:[/?#][^\s{_CONTROL}]*)?",
                                v.MAX_URL, examples=["https://example.org/page"]),
    "values.email": _trimmed(rf"(?:[Mm][Aa][Ii][Ll][Tt][Oo]:)?(?=\S{{1,{v.MAX_EMAIL}}}\s*$)"
                             rf"[^@\s<>\"(),;:{_CONTROL}]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
                             examples=["events@example.org"]),
    "values.zone": _trimmed(_ZONE, v.MAX_ZONE,
                            examples=["Europe/Brussels", "America/New_York", "UTC"]),
    "values.duration": _trimmed(f"{_ISO_DURATION}|{_SHORT_DURATION}", v.MAX_DURATION_TEXT,
                                examples=["PT2H", "PT1H30M", "P1D", "1h30m", "90m", "2d"]),
    "values.when": _trimmed(rf"{_DATE}(?:(?:[Tt]|\s+){_TIME})?", v.MAX_WHEN,
                            examples=["2021-01-19 14:00", "2021-01-19"]),
    "values.instant": _trimmed(rf"{_DATE}(?:(?:[Tt]|\s+){_TIME}{_OFFSET}?)?", v.MAX_WHEN,
                               examples=["2021-01-10 09:00", "2021-01-10 08:00Z"]),
    "values.choice.<locals>.parse": _choice,
    "schema._domain": _trimmed(rf"{_LABEL}(?:\.{_LABEL})*", 253,
                               examples=["events.example.org"]),
    "schema._feeds": _feeds,
    "schema._reminder": _trimmed(f"{_ISO_DURATION}|{_SHORT_DURATION}|P(?:T0+[HMS])|0+\\s*m",
                                 v.MAX_DURATION_TEXT, examples=["PT15M", "P1D", "PT0M"]),
    "schema._color": _trimmed(r"[A-Za-z]+", 40, examples=["steelblue", "darkorange"]),
    "schema._https_url": _trimmed(rf"[Hh][Tt][Tt][Pp][Ss]://{_AUTHORITY}(?:[/?#][^\s{_CONTROL}]*)?",
                                  v.MAX_URL, examples=["https://example.org/image.jpg"]),
    "schema._boolean": {"type": "boolean"},
    "schema._latitude": {"type": ["number", "string"], "examples": [50.8467]},
    "schema._longitude": {"type": ["number", "string"], "examples": [4.3525]},
}


def parser_name(parse: Callable[..., Any]) -> str:
    """``values.text``, ``values.choice.<locals>.parse``; a lambda that only calls a function
    of ``schema`` (``lambda node: _domain(node)``, a forward reference) is that function."""
    if parse.__name__ == "<lambda>":
        called = [f for f in inspect.getclosurevars(parse).globals.values() if callable(f)]
        if len(called) == 1:
            parse = called[0]
    module = parse.__module__.rsplit(".", 1)[-1]
    return f"{module}.{parse.__qualname__}"


def value_schema(parse: Callable[..., Any]) -> dict[str, Any]:
    name = parser_name(parse)
    if name not in FRAGMENTS:
        raise LookupError(f"no JSON Schema for the parser {name}: add it to "
                          "icalpub.load.jsonschema.FRAGMENTS")
    fragment = FRAGMENTS[name]
    return json.loads(json.dumps(fragment(parse) if callable(fragment) else fragment))


def field_schema(field: Field) -> dict[str, Any]:
    """One key: its value (or a list of them), empty allowed unless required, its doc. A key
    that is a mapping of its own keys (``Field.fields``) is an object declared like a
    section; the rules between its keys are its parser's (``icalpub check``)."""
    nested = getattr(field, "fields", None)
    if nested is not None:
        one = _object(nested)
    else:
        one = value_schema(field.parse)
    if not field.required:  # `key:` with nothing is ignored by the loader
        one["type"] = [*_types(one), "null"]
    if field.many:
        item = _object(nested) if nested is not None else value_schema(field.parse)
        result = {"anyOf": [one, {"type": "array", "items": item}]}
    else:
        result = one
    return {"description": field.doc, **result}


def _types(fragment: dict[str, Any]) -> list[str]:
    kind = fragment["type"]
    return list(kind) if isinstance(kind, list) else [kind]


def _object(fields: dict[str, Field]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: field_schema(field) for key, field in fields.items()},
        "required": [key for key, field in fields.items() if field.required],
        "additionalProperties": False,
    }


def section_schema(fields: dict[str, Field], title: str) -> dict[str, Any]:
    return {"title": title, **_object(fields)}


def _named(item: str, description: str) -> dict[str, Any]:
    """``organisers:`` / ``topics:``: slug -> item; empty allowed."""
    return {
        "description": description,
        "type": ["object", "null"],
        "patternProperties": {SLUG: {"$ref": f"#/$defs/{item}"}},
        "propertyNames": {"maxLength": v.MAX_SLUG},
        "additionalProperties": False,
    }


def events_schema() -> dict[str, Any]:
    """The whole JSON Schema, as a dict (key order is the output order)."""
    sections = s.SCHEMA
    assert set(sections) == set(s.TOP), "a section without a place in the schema"
    return {
        "$schema": DIALECT,
        "title": "icalpub events.yaml",
        "description": "Events published as iCalendar feeds, invites and pages by icalpub "
                       "(see its README, 'events.yaml'). Written by `icalpub schema`; "
                       "`icalpub check` checks everything this schema cannot.",
        "type": "object",
        "properties": {
            "calendar": {"$ref": "#/$defs/calendar",
                         "description": "The calendar: name, base_url and defaults"},
            "organisers": _named("organiser", "Organisers by slug; events name them in "
                                 "`organisers`"),
            "topics": _named("topic", "Topics by slug; events name them in `topics`, and "
                             "each topic has its own feed"),
            "events": {"description": "The events, a list", "type": "array",
                       "items": {"$ref": "#/$defs/event"}},
        },
        "required": ["calendar", "events"],
        "additionalProperties": False,
        "$defs": {
            "calendar": section_schema(sections["calendar"], "calendar"),
            "organiser": section_schema(sections["organisers"], "organiser"),
            "topic": section_schema(sections["topics"], "topic"),
            "event": section_schema(sections["events"], "event"),
        },
    }


def render() -> str:
    """The schema as ``icalpub schema`` prints it and events.schema.json holds it."""
    return json.dumps(events_schema(), indent=2, ensure_ascii=False) + "\n"
