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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml

from .yamlfile import Invalid, describe

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
    single-line fields turn line breaks into spaces and are trimmed, multi-line fields lose
    leading and trailing blank lines. Single-line fields hold at most ``MAX_LINE`` characters,
    multi-line ones ``MAX_TEXT``."""
    value = scalar(node).replace("\r\n", "\n").replace("\r", "\n")
    bad = CONTROL.search(value)  # before trimming, so that a control character is never eaten
    if bad:
        raise Invalid(f"contains the control character U+{ord(bad.group()):04X} at position "
                      f"{bad.start() + 1}; remove it")
    if not multiline:  # a title or name is one line: line breaks in it become spaces
        value = re.sub(r"\s*\n\s*", " ", value.strip())
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


def slug(node: yaml.Node) -> str:
    value = scalar(node)
    if not SLUG.match(value) or len(value) > MAX_SLUG:
        hint = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:MAX_SLUG] or "my-event"
        raise Invalid(f"{value!r} is not a valid slug: use lower-case letters, digits and '-', "
                      f"starting with a letter or digit, at most {MAX_SLUG} characters "
                      f"(for example {hint!r})")
    return value


def http_url(node: yaml.Node) -> str:
    value = scalar(node).strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        raise Invalid(f"{value!r} is not an http(s) URL; write it as https://example.org/page")
    return value


def email(node: yaml.Node) -> str:
    value = scalar(node).strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if not re.fullmatch(r"[^@\s<>\"(),;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", value):
        raise Invalid(f"{value!r} is not an e-mail address; write it as name@example.org")
    return value


def choice(*choices: str):
    def parse(node: yaml.Node) -> str:
        value = scalar(node).strip()
        if value not in choices:
            raise Invalid(f"expected one of: {', '.join(choices)} but received: {value!r}")
        return value
    return parse


def zone(node: yaml.Node) -> str:
    """An IANA zone name such as ``Europe/Brussels``; ``UTC`` and its aliases become ``UTC``."""
    value = scalar(node).strip()
    if value in UTC_NAMES:
        return "UTC"
    if zone_exists(value):
        return value
    import difflib

    close = difflib.get_close_matches(value, sorted(available_timezones()), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise Invalid(f"{value!r} is not an IANA time zone (write a name such as "
                  f"'Europe/Brussels' or 'America/New_York'){hint}")


@lru_cache(maxsize=None)
def zone_exists(key: str) -> bool:
    try:
        ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


_DATE = r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
_TIME = r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?"
_WHEN = re.compile(rf"{_DATE}(?:(?:T|t|\s+){_TIME}(?P<tz>\s*(?:Z|z|[+-]\d{{2}}:?\d{{2}}))?)?\Z")


def when(node: yaml.Node, *, allow_offset: bool = False) -> date | datetime:
    """A local wall time ``2021-01-19 14:00`` (naive datetime) or a date ``2021-01-19``.

    With ``allow_offset`` a trailing ``Z`` or ``+01:00`` is accepted and an aware datetime
    returned (used for ``updated``, an instant rather than a wall time).
    """
    raw = scalar(node).strip()
    m = _WHEN.match(raw)
    if not m:
        raise Invalid(f"{raw!r} is not a date or time; write it as 2021-01-19 14:00 "
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
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?\Z"
)
_SHORT_DURATION = re.compile(
    r"(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m(?:in)?)?\s*(?:(?P<s>\d+)\s*s)?\Z"
)
MAX_DURATION = timedelta(days=366)


def duration(node: yaml.Node) -> timedelta:
    """``PT2H``, ``P1DT30M``, ``P2W`` (ISO 8601 / RFC 5545) or ``1h30m``, ``90m``, ``2d``."""
    raw = scalar(node).strip()
    m = _ISO_DURATION.match(raw.upper()) or _SHORT_DURATION.match(raw.lower())
    if not m or not raw or raw.upper() in ("P", "PT") or raw.upper().endswith("T"):
        raise Invalid(f"{raw!r} is not a duration; write it as PT2H, PT1H30M or 1h30m")
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
