"""RRULE and EXDATE validation (RFC 5545 §3.3.10, §3.8.5.1, §3.8.5.3).

The loader may not import ``icalendar`` (only ``render`` does), so rules are checked with
``dateutil.rrule``, the recurrence engine icalendar itself relies on, after a strict check of
the rule parts that dateutil would let through.
"""

from __future__ import annotations

import os
import re
import struct
import zoneinfo
from datetime import date, datetime, time, timedelta, timezone
from bisect import bisect_left
from functools import lru_cache
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil import rrule as _rrule

from .yamlfile import Invalid

FREQS = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
#: Open-ended rules are allowed (feeds publish the RRULE, they never expand it) except at
#: these frequencies: an endless ``FREQ=MINUTELY`` (a typo for MONTHLY) makes every
#: subscriber's calendar expand half a million occurrences a year.
SUB_DAILY = ("SECONDLY", "MINUTELY", "HOURLY")
#: dateutil expands a rule one occurrence at a time from its start, so every question the
#: loader asks of a rule (does it occur? its last occurrence? is this EXDATE on it?) looks at
#: no more than this many occurrences and no further than ``HORIZON_YEARS`` after the start:
#: ``COUNT=100000000`` or ``FREQ=SECONDLY;UNTIL=29991231`` would otherwise hang the loader.
MAX_OCCURRENCES = 10_000
HORIZON_YEARS = 100
MAX_INTERVAL = 1_000

#: RFC 5545 §3.3.10 ranges of the numeric BYxxx parts (signed where a minus is allowed).
#: dateutil accepts ``BYMONTHDAY=99999`` or ``BYMONTH=13`` and then searches to year 9999.
RANGES = {"BYSECOND": (0, 60, False), "BYMINUTE": (0, 59, False), "BYHOUR": (0, 23, False),
          "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True), "BYWEEKNO": (1, 53, True),
          "BYMONTH": (1, 12, False), "BYSETPOS": (1, 366, True)}
BYDAY = re.compile(r"([+-]?)([0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)\Z")
#: Parts that limit which *days* occur. dateutil looks for a day matching them one period at
#: a time up to year 9999 — 7 s for ``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`` — so a rule with
#: them is first checked at yearly granularity, which is quick, and such parts may not be
#: combined with an INTERVAL at weekly or finer frequency (``FREQ=DAILY;INTERVAL=7;BYDAY=MO``
#: from a Tuesday never occurs either, and would take as long to find out).
DAY_PARTS = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY")
#: The forms of UNTIL accepted, once '-' and ':' are removed: a date, or a date and a time
#: (``T`` or a space between, seconds optional), local or UTC (``Z``).
UNTIL_FORM = re.compile(r"(\d{8})(?:[T ](\d{4})(\d{2})?(Z)?)?")
PARTS = ("FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
         "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")


def _whole(text: str) -> int | None:
    """``text`` as a whole number written in ASCII digits, else None: "²" and "٣" pass
    ``str.isdigit`` but ``int`` refuses the first (a traceback) and reads the second. More
    than 9 digits read as 10**9, beyond every limit (``int`` refuses more than 4,300)."""
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text) <= 9 else 10**9


def parse_rule(raw: str, start: date | datetime, zone: str) -> tuple[str, _rrule.rrule]:
    """Validate ``raw`` for an event starting at ``start`` (naive local time or a date).

    Returns the rule normalised for output — parts upper-cased, UNTIL rewritten to the form
    RFC 5545 demands for this DTSTART (a date for all-day events, else UTC with ``Z``) — and a
    dateutil rule that expands in local wall time, like a calendar client does.
    """
    body = raw.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    parts: dict[str, str] = {}
    for item in filter(None, body.split(";")):
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or not value.strip():
            raise Invalid(f"{item!r} in {raw!r} is not NAME=VALUE; write e.g. FREQ=WEEKLY;COUNT=4")
        if key not in PARTS:
            raise Invalid(f"{key!r} is not an RRULE part; expected one of: {', '.join(PARTS)}")
        if key in parts:
            raise Invalid(f"{key} is given twice in {raw!r}; keep one")
        parts[key] = value.strip().upper()
    if "FREQ" not in parts:
        raise Invalid(f"{raw!r} has no FREQ; start it with FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")
    if parts["FREQ"] not in FREQS:
        raise Invalid(f"FREQ={parts['FREQ']} is not a frequency; expected one of: {', '.join(FREQS)}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise Invalid("COUNT and UNTIL cannot both be given (RFC 5545); keep one")
    if "COUNT" in parts and (_whole(parts["COUNT"]) or 0) < 1:
        raise Invalid(f"COUNT={parts['COUNT']} must be a whole number of 1 or more")
    if "COUNT" in parts and _whole(parts["COUNT"]) > MAX_OCCURRENCES:
        raise Invalid(f"COUNT={parts['COUNT']} is more than {MAX_OCCURRENCES:,} occurrences; "
                      "publish a shorter series")
    if parts["FREQ"] in SUB_DAILY and "COUNT" not in parts and "UNTIL" not in parts:
        raise Invalid(f"FREQ={parts['FREQ']} without COUNT or UNTIL never ends and would fill "
                      "subscribers' calendars; add COUNT=… or UNTIL=…")
    if "INTERVAL" in parts and not 1 <= (_whole(parts["INTERVAL"]) or 0) <= MAX_INTERVAL:
        raise Invalid(f"INTERVAL={parts['INTERVAL']} must be a whole number from 1 to "
                      f"{MAX_INTERVAL:,}")
    _check_ranges(parts)
    if int(parts.get("INTERVAL", "1")) > 1 and parts["FREQ"] not in ("MONTHLY", "YEARLY"):
        used = [k for k in DAY_PARTS if k in parts and not (k == "BYDAY" and parts["FREQ"] == "WEEKLY")]
        if used:
            raise Invalid(f"INTERVAL with {', '.join(used)} at FREQ={parts['FREQ']} is not "
                          "supported (it can silently never occur); use FREQ=WEEKLY, MONTHLY or "
                          "YEARLY with BYDAY/BYMONTHDAY instead")
    if "UNTIL" in parts:
        parts["UNTIL"] = _normalise_until(parts["UNTIL"], start, zone)
    normalised = ";".join(f"{k}={parts[k]}" for k in PARTS if k in parts)
    dtstart = start if isinstance(start, datetime) else datetime.combine(start, time())
    horizon = _horizon(dtstart)
    until_local = None
    if "UNTIL" in parts:  # dateutil compares UNTIL with naive local occurrences
        until_local = _until_as_local(parts["UNTIL"], zone)
        if until_local < dtstart:
            raise Invalid(f"UNTIL ({parts['UNTIL']}) is before the event's start; "
                          "the rule would never occur")
        if until_local > horizon:
            raise Invalid(f"UNTIL ({parts['UNTIL']}) is more than {HORIZON_YEARS} years after "
                          "the event's start; leave UNTIL out for a series that does not end")
    try:
        rule = _rrule.rrulestr("RRULE:" + ";".join(
            f"{k}={v}" for k, v in parts.items() if k != "UNTIL"), dtstart=dtstart)
        if until_local is not None:
            rule = rule.replace(until=until_local)
        if any(k in parts for k in DAY_PARTS[:4]) and not _days_exist(parts, dtstart):
            first = None
        else:
            first = _bounded(rule, horizon).after(dtstart, inc=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise Invalid(f"{raw!r} is not a valid RRULE ({exc}); see RFC 5545 §3.3.10, "
                      "e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=4") from None
    if first is None:
        raise Invalid(f"{raw!r} never occurs in the {HORIZON_YEARS} years from the event's "
                      "start; check its parts")
    if first != dtstart:
        raise Invalid(f"the event's start ({dtstart:%Y-%m-%d %H:%M}) is not an occurrence of "
                      f"{raw!r} (the first is {first:%Y-%m-%d %H:%M}); calendar apps disagree "
                      "on such series (RFC 5545 §3.8.5.3): move `start` to the first occurrence")
    return normalised, rule


def _check_ranges(parts: dict[str, str]) -> None:
    for key, value in parts.items():
        if key == "BYDAY":
            for item in value.split(","):
                m = BYDAY.match(item.strip())
                if not m or (m[2] is not None and not 1 <= int(m[2]) <= 53):
                    raise Invalid(f"BYDAY={value}: {item!r} is not a weekday; write MO, TU, … "
                                  "SU, optionally with a position such as 2TU or -1FR")
        elif key in RANGES:
            low, high, signed = RANGES[key]
            for item in value.split(","):
                item = item.strip()
                number = item.lstrip("+-") if signed else item
                whole = _whole(number) if len(number) <= 3 else None
                if whole is None or not low <= whole <= high:
                    sign = "±" if signed else ""
                    raise Invalid(f"{key}={value}: {item!r} is out of range; use whole numbers "
                                  f"{sign}{low} to {sign}{high} (RFC 5545 §3.3.10)")
        elif key == "WKST" and value not in ("MO", "TU", "WE", "TH", "FR", "SA", "SU"):
            raise Invalid(f"WKST={value} is not a weekday; write MO, TU, … SU")


def _days_exist(parts: dict[str, str], dtstart: datetime) -> bool:
    """Whether any day matches the rule's day filters, judged as a yearly rule (one step per
    year, not per day) started 400·k years later: the Gregorian calendar repeats every 400
    years, weekdays included, so the answer is the same, and dateutil stops at year 9999 after
    at most 800 steps."""
    keep = {k: v for k, v in parts.items() if k in DAY_PARTS}
    if "BYDAY" in keep and parts["FREQ"] not in ("MONTHLY", "YEARLY"):
        keep["BYDAY"] = ",".join(BYDAY.match(d.strip())[3] for d in keep["BYDAY"].split(","))
    if "BYDAY" in keep and parts["FREQ"] == "MONTHLY" and "BYMONTH" not in keep:
        keep["BYMONTH"] = ",".join(str(m) for m in range(1, 13))  # ordinals count within months
    shift = (9599 - dtstart.year) // 400 * 400
    probe = _rrule.rrulestr("RRULE:FREQ=YEARLY;" + ";".join(f"{k}={v}" for k, v in keep.items()),
                            dtstart=dtstart.replace(year=dtstart.year + shift, month=1, day=1))
    return probe.after(probe._dtstart, inc=True) is not None  # noqa: SLF001


def _horizon(dtstart: datetime) -> datetime:
    try:
        return dtstart.replace(year=dtstart.year + HORIZON_YEARS)
    except ValueError:  # 29 February
        return dtstart.replace(year=dtstart.year + HORIZON_YEARS, day=28)


def _bounded(rule: _rrule.rrule, horizon: datetime) -> _rrule.rrule:
    """The rule cut at the horizon, so that dateutil's search for an occurrence ends (a
    COUNT is applied by the caller: dateutil refuses COUNT and UNTIL together)."""
    until = rule._until  # noqa: SLF001 — dateutil has no public accessor
    return rule.replace(count=None, until=horizon if until is None else min(until, horizon))


def _occurrences(rule: _rrule.rrule):
    """At most ``MAX_OCCURRENCES + 1`` occurrences (and at most COUNT) within the horizon."""
    limit = min(rule._count or MAX_OCCURRENCES + 1, MAX_OCCURRENCES + 1)  # noqa: SLF001
    return islice(_bounded(rule, _horizon(rule._dtstart)), limit)  # noqa: SLF001


def _normalise_until(value: str, start: date | datetime, zone: str) -> str:
    """RFC 5545: UNTIL is a DATE for all-day events, else a UTC DATE-TIME. People write a date
    (``20210301``, ``2021-03-01``), a local time (``20210301T120000``, ``2021-03-01 12:00``)
    or a UTC time (``20210301T110000Z``) either way, so convert what is unambiguous."""
    found = UNTIL_FORM.fullmatch(value.replace("-", "").replace(":", "").strip())
    if found is None:
        raise Invalid(f"UNTIL={value} is not a date; write UNTIL=20210301, a local time "
                      "UNTIL=20210301T120000 (or 2021-03-01 12:00), or UTC UNTIL=20210301T110000Z")
    day_text, hhmm, seconds, utc = found.groups()
    try:
        day = datetime.strptime(day_text, "%Y%m%d")
        if hhmm is None:
            if not isinstance(start, datetime):
                return day.strftime("%Y%m%d")
            end_of_day = datetime.combine(day.date(), time(23, 59, 59), ZoneInfo(zone))
            return end_of_day.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")
        moment = datetime.strptime(day_text + hhmm + (seconds or "00"), "%Y%m%d%H%M%S")
    except ValueError:
        raise Invalid(f"UNTIL={value} is not a date; write UNTIL=20210301, a local time "
                      "UNTIL=20210301T120000 (or 2021-03-01 12:00), or UTC UNTIL=20210301T110000Z"
                      ) from None
    if not isinstance(start, datetime):
        raise Invalid(f"UNTIL={value} is a date-time but the event is all-day; "
                      f"write UNTIL={moment:%Y%m%d}")
    moment = moment.replace(tzinfo=ZoneInfo("UTC") if utc else ZoneInfo(zone))
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def _until_as_local(until: str, zone: str) -> datetime:
    if until.endswith("Z"):
        moment = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
        return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return datetime.combine(datetime.strptime(until, "%Y%m%d").date(), time(23, 59, 59))


def check_excluded(rule: _rrule.rrule, excluded: datetime) -> None:
    """An EXDATE that matches no occurrence is almost always a typo: say which are near."""
    occurrences, members = _listed(rule)
    if excluded in members:
        return
    index = bisect_left(occurrences, excluded)  # the first occurrence after it
    if index > MAX_OCCURRENCES:
        raise Invalid(f"{excluded:%Y-%m-%d %H:%M} is more than {MAX_OCCURRENCES:,} "
                      "occurrences after the start; exclude only dates nearer the start")
    before = occurrences[index - 1] if index else None
    after = occurrences[index] if index < len(occurrences) else None
    near = [d for d in (before, after) if d is not None]
    shown = ", ".join(f"{d:%Y-%m-%d %H:%M}" for d in near) or "none"
    raise Invalid(f"{excluded:%Y-%m-%d %H:%M} is not an occurrence of the recurrence "
                  f"(nearest occurrences: {shown}); remove it or fix the date")


@lru_cache(maxsize=16)
def _listed(rule: _rrule.rrule) -> tuple[list[datetime], frozenset[datetime]]:
    """The rule's occurrences (see ``_occurrences``), in order and as a set: each EXDATE is
    looked up, not searched for (1,000 late EXDATEs of a 10,000-occurrence rule walked it
    1,000 times: 63 s). Kept per rule object while its event's EXDATEs are checked."""
    occurrences = list(_occurrences(rule))
    return occurrences, frozenset(occurrences)


def last_occurrence(rule: _rrule.rrule) -> datetime | None:
    """The last occurrence of a bounded rule, or None for an unbounded one.

    Raises :class:`Invalid` when a bounded rule has more than ``MAX_OCCURRENCES``
    (``FREQ=MINUTELY;UNTIL=…`` a year away has half a million)."""
    if rule._count is None and rule._until is None:  # noqa: SLF001 — dateutil has no public API
        return None
    last = None
    for count, last in enumerate(_occurrences(rule), 1):  # bounded: COUNT or UNTIL was given
        if count > MAX_OCCURRENCES:
            raise Invalid(f"the rule has more than {MAX_OCCURRENCES:,} occurrences; publish a "
                          "shorter series (an earlier UNTIL or a lower frequency)")
    return last


#: The Gregorian calendar's dates fall on the same weekdays again after 28 years (from 1901
#: to 2099), so a rule checked over 28 years has met each weekday rule of a zone's changes
#: in every position it can.
CALENDAR_CYCLE_YEARS = 28


def check_wall_times(rule: _rrule.rrule, zone: str, length: timedelta,
                     excluded: frozenset[datetime] = frozenset()) -> None:
    """Every occurrence of a timed series (``excluded`` ones aside) must start at a wall time
    that ``zone`` has exactly once, and must not span a change of its UTC offset.

    ``start`` is checked on its own (schema's ``_resolve_local``); its later occurrences fall
    in a skipped or repeated hour just as easily (``FREQ=MONTHLY;BYDAY=-1SU`` at 02:30 in
    Europe/Brussels every March), and calendar apps then disagree on where they go. An
    occurrence that spans a change (a weekly Friday 18:00 to Monday 09:00 across the last
    Sunday of March) ends at another instant for each app: RFC 5545 keeps the first
    occurrence's length in hours (libical, node-ical), others keep its end on the clock
    (recurring-ical-events, Home Assistant), ical.js adds the hours to the clock. ``length``
    is the first occurrence's length on the clock (``end`` minus ``start`` as wall times).

    Checked within the expansion limits (``MAX_OCCURRENCES``, ``HORIZON_YEARS``); a rule
    without COUNT or UNTIL up to the year its VTIMEZONE lists the zone's changes one by one
    (:func:`open_end_year`), and at least ``CALENDAR_CYCLE_YEARS``.
    """
    tz = ZoneInfo(zone)
    start = rule._dtstart  # noqa: SLF001 — dateutil has no public accessor
    last_year = None
    if rule._count is None and rule._until is None:  # noqa: SLF001
        last_year = max(open_end_year(zone, start.year), start.year + CALENDAR_CYCLE_YEARS)
    span = length.days + 1  # how many local days after its first an occurrence may touch
    changes: set[int] = set()  # day ordinals on or next to a change, of the years seen so far
    seen_year = None
    for occurrence in _occurrences(rule):
        year = occurrence.year
        if last_year is not None and year > last_year:
            return
        if year != seen_year:
            seen_year = year
            for near in range(year, year + 2 + span // 365):
                changes |= _change_days(zone, near)
        first = occurrence.toordinal()
        if all(first + i not in changes for i in range(span + 1)) or occurrence in excluded:
            continue  # no change of offset near it: the common case, decided without zoneinfo
        early, late = occurrence.replace(tzinfo=tz), occurrence.replace(tzinfo=tz, fold=1)
        if early.utcoffset() != late.utcoffset():
            if early.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != occurrence:
                raise Invalid(f"the occurrence on {occurrence:%Y-%m-%d %H:%M} does not exist "
                              f"in {zone}: the clocks jump from {_shown(early)} to "
                              f"{_shown(late)} then, and calendar apps disagree on where it "
                              "goes; pick a time outside the skipped hour")
            raise Invalid(f"the occurrence on {occurrence:%Y-%m-%d %H:%M} happens twice in "
                          f"{zone}: at {_shown(early)} and again at {_shown(late)}, and "
                          "calendar apps disagree on which is meant; pick a time outside the "
                          "repeated hour")
        end = occurrence + length
        for moment in (end.replace(tzinfo=tz), end.replace(tzinfo=tz, fold=1)):
            if moment.utcoffset() != early.utcoffset():
                raise Invalid(f"the occurrence {occurrence:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} "
                              f"spans a change of {zone} from {_shown(early)} to "
                              f"{_shown(moment)}, and calendar apps disagree on when such an "
                              "occurrence ends (RFC 5545 keeps the first one's length in hours, "
                              "many apps its end on the clock); exclude it and add it as an "
                              "event of its own, or shorten the event")


@lru_cache(maxsize=4096)
def _change_days(zone: str, year: int) -> frozenset[int]:
    """The local days (ordinals) of ``year`` on or next to which ``zone`` changes its UTC
    offset (probed every 12 hours; no zone has changed twice within that since 1970)."""
    tz = ZoneInfo(zone)
    days: set[int] = set()
    step = timedelta(hours=12)
    t = datetime(year, 1, 1, tzinfo=timezone.utc) - 2 * step
    before = t.astimezone(tz)
    while t.year <= year:
        t += step
        after = t.astimezone(tz)
        if after.utcoffset() != before.utcoffset():
            for moment in (before, after):
                days.update(moment.toordinal() + i for i in (-1, 0, 1))
        before = after
    return frozenset(days)


def _shown(moment: datetime) -> str:
    """``+01:00 (CET)``: an aware time's offset and zone abbreviation."""
    minutes = int(moment.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d} ({moment.tzname()})"


def open_end_year(zone: str, start_year: int) -> int:
    """The last year an open-ended series' VTIMEZONE lists ``zone``'s changes one by one: the
    year after the last change the tz database lists explicitly (later ones follow the
    footer's yearly rule, or there are none), and at least the year after ``start_year``."""
    last, _footer = tzdb_tail(zone)
    return max(start_year + 1, (last.year if last else start_year) + 1)


@lru_cache(maxsize=None)
def tzdb_tail(zone: str) -> tuple[datetime | None, str]:
    """The last change of ``zone`` that the tz database lists explicitly (UTC; None if it lists
    none) and the zone's POSIX TZ footer, which gives every later change (RFC 8536 §3.2-3.3).

    Read from the TZif file ``zoneinfo`` reads: the first one on ``zoneinfo.TZPATH``, else the
    ``tzdata`` package's. Asia/Gaza's changes are listed one by one up to 2086 and
    Africa/Casablanca's (Ramadan) up to 2087, both beyond any yearly rule; zones that follow a
    yearly rule list nothing after it began (a "fat" TZif file lists them to 2037).
    """
    data = _tzif_bytes(zone)
    if data is None or data[:4] != b"TZif":
        return None, ""

    def block(offset: int, time_size: int) -> tuple[int, int, int]:
        """(offset of the transition times, their count, offset after the data block)."""
        isut, isstd, leap, count, types, chars = struct.unpack(">6l", data[offset + 20:offset + 44])
        start = offset + 44
        end = start + count * time_size + count + types * 6 + chars \
            + leap * (time_size + 4) + isstd + isut
        return start, count, end

    start, count, end = block(0, 4)
    if data[4:5] in (b"", b"\0"):  # version 1: 32-bit times, no footer
        times = struct.unpack(f">{count}l", data[start:start + 4 * count])
        footer = ""
    else:
        start, count, end = block(end, 8)
        times = struct.unpack(f">{count}q", data[start:start + 8 * count])
        footer = data[end:].strip(b"\n").split(b"\n")[0].decode("ascii", "replace")
    if not times:
        return None, footer
    return datetime.fromtimestamp(times[-1], timezone.utc), footer


def _tzif_bytes(zone: str) -> bytes | None:
    """The TZif file of ``zone``, found as ``zoneinfo`` finds it."""
    for folder in zoneinfo.TZPATH:
        path = os.path.join(folder, zone)
        if os.path.isfile(path):
            with open(path, "rb") as tzif:
                return tzif.read()
    try:
        from importlib import resources
        *package, name = zone.split("/")
        return resources.files(".".join(["tzdata.zoneinfo", *package])).joinpath(name).read_bytes()
    except (ImportError, OSError, UnicodeEncodeError):
        return None
