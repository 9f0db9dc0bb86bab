"""RRULE and EXDATE validation (RFC 5545 §3.3.10, §3.8.5.1, §3.8.5.3).

The loader may not import ``icalendar`` (only ``render`` does), so rules are checked with
``dateutil.rrule``, the recurrence engine icalendar itself relies on, after a strict check of
the rule parts that dateutil would let through.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from dateutil import rrule as _rrule

from .yamlfile import Invalid

FREQS = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
PARTS = ("FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
         "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")


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
    if "COUNT" in parts and (not parts["COUNT"].isdigit() or int(parts["COUNT"]) < 1):
        raise Invalid(f"COUNT={parts['COUNT']} must be a whole number of 1 or more")
    if "INTERVAL" in parts and (not parts["INTERVAL"].isdigit() or int(parts["INTERVAL"]) < 1):
        raise Invalid(f"INTERVAL={parts['INTERVAL']} must be a whole number of 1 or more")
    if "UNTIL" in parts:
        parts["UNTIL"] = _normalise_until(parts["UNTIL"], start, zone)
    normalised = ";".join(f"{k}={parts[k]}" for k in PARTS if k in parts)
    dtstart = start if isinstance(start, datetime) else datetime.combine(start, time())
    until_local = None
    if "UNTIL" in parts:  # dateutil compares UNTIL with naive local occurrences
        until_local = _until_as_local(parts["UNTIL"], zone)
        if until_local < dtstart:
            raise Invalid(f"UNTIL ({parts['UNTIL']}) is before the event's start; "
                          "the rule would never occur")
    try:
        rule = _rrule.rrulestr("RRULE:" + ";".join(
            f"{k}={v}" for k, v in parts.items() if k != "UNTIL"), dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise Invalid(f"{raw!r} is not a valid RRULE ({exc}); see RFC 5545 §3.3.10, "
                      "e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=4") from None
    if until_local is not None:
        rule = rule.replace(until=until_local)
    if rule.after(dtstart, inc=True) is None:
        raise Invalid(f"{raw!r} never occurs from the event's start; check its parts")
    return normalised, rule


def _normalise_until(value: str, start: date | datetime, zone: str) -> str:
    """RFC 5545: UNTIL is a DATE for all-day events, else a UTC DATE-TIME. People write
    ``20210301`` or a local ``20210301T120000`` either way, so convert what is unambiguous."""
    v = value.replace("-", "").replace(":", "")
    try:
        if len(v) == 8:
            day = datetime.strptime(v, "%Y%m%d").date()
            if not isinstance(start, datetime):
                return day.strftime("%Y%m%d")
            end_of_day = datetime.combine(day, time(23, 59, 59), ZoneInfo(zone))
            return end_of_day.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")
        if len(v) in (15, 16) and v[8] == "T":
            moment = datetime.strptime(v[:15], "%Y%m%dT%H%M%S")
            if not isinstance(start, datetime):
                raise Invalid(f"UNTIL={value} is a date-time but the event is all-day; "
                              f"write UNTIL={moment:%Y%m%d}")
            if not v.endswith("Z"):
                moment = moment.replace(tzinfo=ZoneInfo(zone))
            else:
                moment = moment.replace(tzinfo=ZoneInfo("UTC"))
            return moment.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")
    except ValueError:
        pass
    raise Invalid(f"UNTIL={value} is not a date; write UNTIL=20210301 or UNTIL=20210301T120000Z")


def _until_as_local(until: str, zone: str) -> datetime:
    if until.endswith("Z"):
        moment = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
        return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return datetime.combine(datetime.strptime(until, "%Y%m%d").date(), time(23, 59, 59))


def check_excluded(rule: _rrule.rrule, excluded: datetime) -> None:
    """An EXDATE that matches no occurrence is almost always a typo: say which are near."""
    if rule.before(excluded, inc=True) == excluded:
        return
    near = [d for d in (rule.before(excluded), rule.after(excluded)) if d is not None]
    shown = ", ".join(f"{d:%Y-%m-%d %H:%M}" for d in near) or "none"
    raise Invalid(f"{excluded:%Y-%m-%d %H:%M} is not an occurrence of the recurrence "
                  f"(nearest occurrences: {shown}); remove it or fix the date")


def last_occurrence(rule: _rrule.rrule) -> datetime | None:
    """The last occurrence of a bounded rule, or None for an unbounded one."""
    if rule._count is None and rule._until is None:  # noqa: SLF001 — dateutil has no public API
        return None
    last = None
    for last in rule:  # bounded: COUNT or UNTIL was given
        pass
    return last

