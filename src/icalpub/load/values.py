"""Parsers for single values in events.yaml: text, slugs, URLs, times, durations, zones, RRULEs.

Each takes a YAML node and returns a Python value or raises :class:`Invalid` with a message
that shows what was received (``!r``) and what to write instead. They read the scalar's own
text (``node.value``) rather than YAML's guess at its type, so ``2021-01-19 14:00``, ``yes`` or
``0800`` mean what the user typed.
"""

from __future__ import annotations

import calendar as _calendar
import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

import yaml

from ..core.richtext import markdown_problem
from .yamlfile import Invalid, describe, shown

SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
MAX_SLUG = 100
#: Longest multi-line text (a description) and one-line text (title, location, name, agenda
#: line, contact). Calendar apps show a title on one line: 1,000 characters is far beyond any
#: real one and keeps a pasted document out of every subscriber's calendar.
MAX_TEXT = 20_000
MAX_LINE = 1_000
#: Years a date may have. Outside them zone arithmetic overflows (year 1, 9999); before 1970
#: the tz database promises nothing and offsets have seconds (Africa/Abidjan 1911 was
#: -00:16:08), which calendar parsers round away (found by tests/reliability). No published
#: event needs them.
MIN_YEAR, MAX_YEAR = 1970, 2200
# C0 controls other than TAB and LF, DEL and C1 controls: invisible, and some calendar
# clients treat a bare CR as a line break (iOS drops every event after one).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Line and paragraph separators (NEL is also a C1 control): a one-line field holding one
#: shows as two lines to a reader that splits lines the Unicode way (JavaScript, Python's
#: ``str.splitlines``, many editors), so it is refused there like any other line break
#: would be if it were not turned into a space.
LINE_SEPARATORS = re.compile("[\u2028\u2029\x85]")
SEPARATOR_NAMES = {"\u2028": "line separator", "\u2029": "paragraph separator",
                   "\x85": "next-line character (NEL)"}
#: Longest URL and e-mail address: browsers and calendar apps cut URLs at about 2,000
#: characters (the pages' buttons keep theirs under 2,000), RFC 5321 paths at 254.
MAX_URL = 2_000
MAX_EMAIL = 254

#: Zone names that mean UTC itself: written with ``Z``, never as ``TZID=UTC``.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal",
                       "Etc/Zulu", "Zulu", "Z"})


def scalar(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise Invalid(f"expected a single value, got {describe(node)}")
    return node.value


def text(node: yaml.Node, *, multiline: bool = False) -> str:
    """Free text. Documented normalisation (README, SECURITY.md): CRLF and CR become LF; any
    other control character (C0 but TAB and LF, DEL, C1) is an error, never silently dropped;
    single-line fields turn line breaks into spaces and are trimmed, and refuse U+2028 and
    U+2029; multi-line fields lose leading and trailing blank lines. Single-line fields hold
    at most ``MAX_LINE`` characters, multi-line ones ``MAX_TEXT``. Linear in the length of
    the value (no pattern here can backtrack)."""
    value = scalar(node).replace("\r\n", "\n").replace("\r", "\n")
    bad = CONTROL.search(value)  # before trimming, so that a control character is never eaten
    if bad:
        raise Invalid(f"contains the control character U+{ord(bad.group()):04X} at position "
                      f"{bad.start() + 1}; remove it")
    if not multiline:  # a title or name is one line: line breaks in it become spaces
        bad = LINE_SEPARATORS.search(value)
        if bad:
            raise Invalid(f"contains the {SEPARATOR_NAMES[bad.group()]} U+{ord(bad.group()):04X} "
                          f"at position {bad.start() + 1}, which many apps show as a line break; "
                          "this is one-line text: remove it or write a space")
        value = value.strip()
        if "\n" in value:  # every run of white space holding a line break becomes one space
            value = " ".join(filter(None, (part.strip() for part in value.split("\n"))))
    else:
        value = value.strip("\n")
    limit = MAX_TEXT if multiline else MAX_LINE
    if len(value) > limit:
        kind = "text" if multiline else "one-line text"
        raise Invalid(f"is {len(value):,} characters long; {kind} is limited to {limit:,} "
                      f"characters (starts {value[:40]!r})")
    if not value.strip():
        raise Invalid("is empty; write a value or remove the key")
    return value


def multiline_text(node: yaml.Node) -> str:
    return text(node, multiline=True)


def markdown_text(node: yaml.Node) -> str:
    """A multi-line text that the pages and the calendars' HTML read as Markdown: also
    refused when converting it would take more than linear time (``markdown_problem``)."""
    value = text(node, multiline=True)
    problem = markdown_problem(value)
    if problem:
        raise Invalid(problem)
    return value


def slug(node: yaml.Node) -> str:
    value = scalar(node)
    if len(value) > MAX_SLUG or not SLUG.match(value):
        hint = re.sub(r"[^a-z0-9]+", "-", value[:4 * MAX_SLUG].lower()).strip("-")[:MAX_SLUG]
        raise Invalid(f"{shown(value)} is not a valid slug: use lower-case letters, digits and "
                      f"'-', starting with a letter or digit, at most {MAX_SLUG} characters "
                      f"(for example {(hint.strip('-') or 'my-event')!r})")
    return value


def _no_control(value: str) -> None:
    bad = CONTROL.search(value)
    if bad:
        raise Invalid(f"contains the control character U+{ord(bad.group()):04X} at position "
                      f"{bad.start() + 1}; remove it")


def http_url(node: yaml.Node) -> str:
    value = scalar(node).strip()
    _no_control(value)
    if len(value) > MAX_URL:
        raise Invalid(f"is {len(value):,} characters long; a URL is limited to {MAX_URL:,} "
                      f"characters (starts {value[:40]!r})")
    example = "write it as https://example.org/page"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number
    except ValueError as exc:  # "http://[::1" (an unclosed IPv6 address), "http://h:x/"
        raise Invalid(f"{shown(value)} is not a valid URL ({exc}); {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", value):
        raise Invalid(f"{shown(value)} is not an http(s) URL; {example}")
    return value


def email(node: yaml.Node) -> str:
    value = scalar(node).strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    _no_control(value)
    if len(value) > MAX_EMAIL or not re.fullmatch(
            r"[^@\s<>\"(),;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", value):
        raise Invalid(f"{shown(value)} is not an e-mail address; write it as name@example.org")
    return value


def choice(*choices: str):
    def parse(node: yaml.Node) -> str:
        value = scalar(node).strip()
        if value not in choices:
            raise Invalid(f"expected one of: {', '.join(choices)} but received: {shown(value)}")
        return value
    return parse


#: Names the tz database ships that are not zones to publish: ``localtime`` is the host's
#: own zone under a name no calendar app knows (it would publish ``TZID:localtime``),
#: ``posixrules`` and ``Factory`` are internals, ``right/…`` counts leap seconds (clocks
#: 27 s off), ``posix/…`` repeats the plain names.
NOT_ZONES = ("localtime", "posixrules", "Factory")
MAX_ZONE = 64


@lru_cache(maxsize=1)
def canonical_zones() -> frozenset[str]:
    """The IANA names an event may use: ``zoneinfo.available_timezones()`` without the
    host-specific and internal entries (``NOT_ZONES``, ``posix/``, ``right/``)."""
    return frozenset(name for name in available_timezones()
                     if name not in NOT_ZONES and not name.startswith(("posix/", "right/")))


def zone(node: yaml.Node) -> str:
    """An IANA zone name such as ``Europe/Brussels``; ``UTC`` and its aliases become ``UTC``."""
    value = scalar(node).strip()
    if value in UTC_NAMES:
        return "UTC"
    if zone_exists(value):
        return value
    names = "such as 'Europe/Brussels' or 'America/New_York'"
    example = f"(write a name {names})"
    if value.startswith(("posix/", "right/")) and zone_exists(value[6:]):
        why = ("counts leap seconds, which calendar apps do not (its clocks are 27 s off)"
               if value.startswith("right/") else "is a copy of a zone under another name")
        raise Invalid(f"{value!r} {why}; write {value[6:]!r}")
    if value == "localtime":
        raise Invalid("'localtime' is this machine's own zone, which no calendar app knows by "
                      f"that name; write the IANA name of the zone you mean, {names}")
    if value in NOT_ZONES:
        raise Invalid(f"{value!r} is an internal entry of the tz database, not a time zone; "
                      f"write an IANA name {names}")
    if len(value) > MAX_ZONE or CONTROL.search(value):
        raise Invalid(f"{shown(value)} is not an IANA time zone {example}")
    return _unknown_zone(value, example)


def _unknown_zone(value: str, example: str):
    """Raise the "not a zone" problem; its close-match search (a few ms against 600 names)
    runs only for the problems that are listed, and once per distinct value."""
    raise Invalid(lambda: f"{value!r} is not an IANA time zone {example}{_zone_hint(value)}",
                  kind="unknown time zones")


@lru_cache(maxsize=64)
def _zone_hint(value: str) -> str:
    import difflib

    close = difflib.get_close_matches(value, sorted(canonical_zones()), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def zone_exists(key: str) -> bool:
    """Whether ``key`` is a zone an event may use (see ``canonical_zones``)."""
    return key in canonical_zones()


# Digits are ASCII ``[0-9]``: ``\d`` would also take other scripts' digits ("٢٠٢١"), which
# ``int`` reads. Every value is cut to ``MAX_WHEN`` characters before a pattern sees it.
_DATE = r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
_TIME = r"(?P<h>[0-9]{1,2})[:.](?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.[0-9]{1,9})?)?"
_WHEN = re.compile(
    rf"{_DATE}(?:(?:T|t|\s+){_TIME}(?P<tz>\s*(?:Z|z|[+-][0-9]{{2}}:?[0-9]{{2}}))?)?\Z")
MAX_WHEN = 40


def when(node: yaml.Node, *, allow_offset: bool = False) -> date | datetime:
    """A local wall time ``2021-01-19 14:00`` (naive datetime) or a date ``2021-01-19``.

    With ``allow_offset`` a trailing ``Z`` or ``+01:00`` is accepted and an aware datetime
    returned (used for ``updated``, an instant rather than a wall time).
    """
    raw = scalar(node).strip()
    m = _WHEN.match(raw) if len(raw) <= MAX_WHEN else None
    if not m:
        raise Invalid(f"{shown(raw)} is not a date or time; write it as 2021-01-19 14:00 "
                      "(or 2021-01-19 for an all-day event)")
    y, mo, d = int(m["y"]), int(m["mo"]), int(m["d"])
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise Invalid(f"{raw!r}: the year {y} is out of range; dates go from {MIN_YEAR} to "
                      f"{MAX_YEAR}")
    if not 1 <= mo <= 12:
        raise Invalid(f"{raw!r} is not a date: month {mo} does not exist (use 1–12)")
    days = _calendar.monthrange(y, mo)[1]
    if not 1 <= d <= days:
        raise Invalid(f"{raw!r} is not a date ({_calendar.month_name[mo]} has {days} days in {y})")
    if m["h"] is None:
        return date(y, mo, d)
    h, mi, s = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    if h == 24 and mi == 0 and s == 0:
        nxt = date(y, mo, d) + timedelta(days=1)
        raise Invalid(f"{raw!r} is not a time: write midnight as {nxt.isoformat()} 00:00 "
                      "(the start of the next day)")
    if not (0 <= h <= 23 and 0 <= mi <= 59 and 0 <= s <= 59):
        raise Invalid(f"{raw!r} is not a time: hours go 0–23, minutes and seconds 0–59")
    value = datetime(y, mo, d, h, mi, s)
    if m["tz"]:
        if not allow_offset:
            raise Invalid(f"{raw!r} has a UTC offset; write the local wall time without it "
                          "(the zone comes from `timezone`)")
        tz = m["tz"].strip().upper()
        if tz == "Z":
            return value.replace(tzinfo=ZoneInfo("UTC"))
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return value.replace(tzinfo=timezone(sign * offset)).astimezone(ZoneInfo("UTC"))
    return value


def instant(node: yaml.Node) -> date | datetime:
    return when(node, allow_offset=True)


_ISO_DURATION = re.compile(
    r"P(?:(?P<w>[0-9]+)W)?(?:(?P<d>[0-9]+)D)?"
    r"(?:T(?:(?P<h>[0-9]+)H)?(?:(?P<m>[0-9]+)M)?(?:(?P<s>[0-9]+)S)?)?\Z"
)
# Each part owns the white space after it, and every part starts with a digit: there is one
# way to match any text, so the pattern never backtracks over a run of spaces (the earlier
# ``…d)?\s*(?:…h)?\s*…`` took 34 s on "1d", 1,200 spaces and "x").
_SHORT_DURATION = re.compile(
    r"(?:(?P<d>[0-9]+)\s*d\s*)?(?:(?P<h>[0-9]+)\s*h\s*)?(?:(?P<m>[0-9]+)\s*m(?:in)?\s*)?"
    r"(?:(?P<s>[0-9]+)\s*s)?\Z"
)
MAX_DURATION = timedelta(days=366)
#: Longer than any duration worth writing ("P1W2DT3H4M5S" is 12): refused before a pattern
#: or ``int`` sees it (``int`` refuses more than 4,300 digits with a ValueError).
MAX_DURATION_TEXT = 40


def duration(node: yaml.Node) -> timedelta:
    """``PT2H``, ``P1DT30M``, ``P2W`` (ISO 8601 / RFC 5545) or ``1h30m``, ``90m``, ``2d``."""
    raw = scalar(node).strip()
    m = None
    if len(raw) <= MAX_DURATION_TEXT:
        m = _ISO_DURATION.match(raw.upper()) or _SHORT_DURATION.match(raw.lower())
    if not m or not raw or raw.upper() in ("P", "PT") or raw.upper().endswith("T"):
        raise Invalid(f"{shown(raw)} is not a duration; write it as PT2H, PT1H30M or 1h30m")
    parts = {k: int(v) for k, v in m.groupdict().items() if v}
    try:
        value = timedelta(weeks=parts.get("w", 0), days=parts.get("d", 0),
                          hours=parts.get("h", 0), minutes=parts.get("m", 0),
                          seconds=parts.get("s", 0))
    except OverflowError:  # e.g. PT99999999999999999999H
        value = MAX_DURATION + timedelta(days=1)
    if value <= timedelta(0):
        raise Invalid(f"{raw!r} is zero; an event must last some time")
    if value > MAX_DURATION:
        raise Invalid(f"{raw!r} is longer than a year; check the value "
                      "(a long-running series is a `recurrence`, not one long event)")
    return value
