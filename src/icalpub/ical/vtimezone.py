"""Compact VTIMEZONE components (RFC 5545 §3.6.5) built from ``zoneinfo``.

Why not ``icalendar.Timezone.from_tzinfo`` / ``add_missing_timezones()``?
Those write one observance per offset with long RDATE lists "valid
1970-2038".  Outlook ignores or mishandles such RDATE lists, and the output is
large.  Instead we emit what tzurl.org / vzic call "Outlook-compatible"
definitions: one STANDARD/DAYLIGHT sub-component per run of years that follow
the same ``FREQ=YEARLY;BYMONTH=m;BYDAY=nWD`` rule, limited to the years the
calendar needs.

Coverage starts one year before the first event: Thunderbird's ical.js (and
others) fall back to UTC for wall times before the first onset (DTSTART), which
would shift early events by the zone offset.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

__all__ = ["build_vtimezone"]

#: Without a last event we describe the zone up to this year; the final rule
#: is left open-ended (no UNTIL), as it also is in zoneinfo's POSIX TZ footer.
OPEN_END_YEAR = 2037
#: UTC zone names: callers write such times with a ``Z`` and no VTIMEZONE.
_UTC_KEYS = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"}
)
_SCAN_STEP = 6 * 3600  # seconds; two changes closer than this would be missed
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

_State = tuple[dt.timedelta, dt.timedelta, str]  # (utcoffset, dst, tzname)


class _Transition(NamedTuple):
    """One change of (utcoffset, dst, tzname) at instant ``utc``."""

    utc: dt.datetime  # aware, UTC
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    is_dst: bool
    tzname: str

    @property
    def local(self) -> dt.datetime:
        """Onset as floating wall time in TZOFFSETFROM, as DTSTART needs it."""
        return (self.utc + self.offset_from).replace(tzinfo=None)


@dataclass
class _Run:
    """Transitions in consecutive years sharing one yearly nth-weekday rule."""

    transitions: list[_Transition]
    nths: frozenset[int]  # BYDAY ordinals (1..4 or -1) that fit every year


def _state(zone: ZoneInfo, timestamp: int) -> _State:
    local = dt.datetime.fromtimestamp(timestamp, zone)
    offset, dst = local.utcoffset(), local.dst()
    assert offset is not None and dst is not None
    return offset, dst, local.tzname() or _format_offset(offset)


def _format_offset(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


@functools.lru_cache(maxsize=256)
def _scan(key: str, start_year: int, end_year: int) -> tuple[_State, tuple[_Transition, ...]]:
    """Return the state at the scan start and every transition up to the end.

    Steps through UTC in ``_SCAN_STEP`` increments and bisects each change of
    (utcoffset, dst, tzname) down to the exact second.
    """
    zone = ZoneInfo(key)
    t = int(dt.datetime(start_year, 1, 1, tzinfo=dt.UTC).timestamp())
    end = int(dt.datetime(end_year + 1, 1, 1, tzinfo=dt.UTC).timestamp())
    initial = current = _state(zone, t)
    found: list[_Transition] = []
    while t < end:
        probe = min(t + _SCAN_STEP, end)
        if _state(zone, probe) == current:
            t = probe
            continue
        lo, hi = t, probe  # current at lo, something else at hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if _state(zone, mid) == current else (lo, mid)
        new = _state(zone, hi)
        utc = dt.datetime.fromtimestamp(hi, dt.UTC)
        found.append(_Transition(utc, current[0], new[0], bool(new[1]), new[2]))
        current, t = new, hi
    return initial, tuple(found)


def _nths(day: dt.date) -> frozenset[int]:
    """BYDAY ordinals describing ``day``: its nth weekday (1..4) and/or -1 (last)."""
    nth = (day.day - 1) // 7 + 1
    fits = {nth} if nth <= 4 else set()
    if day.day + 7 > calendar.monthrange(day.year, day.month)[1]:
        fits.add(-1)
    return frozenset(fits)


def _group(transitions: tuple[_Transition, ...]) -> list[_Run]:
    """Group transitions into runs of consecutive years with one yearly rule."""
    runs: list[_Run] = []
    open_runs: dict[tuple[object, ...], _Run] = {}
    for tr in transitions:
        local = tr.local
        signature = (tr.is_dst, tr.offset_from, tr.offset_to, tr.tzname,
                     local.month, local.weekday(), local.time())
        nths = _nths(local.date())
        run = open_runs.get(signature)
        if run and run.transitions[-1].local.year == local.year - 1 and run.nths & nths:
            run.transitions.append(tr)
            run.nths &= nths
        else:
            open_runs[signature] = run = _Run([tr], nths)
            runs.append(run)
    return runs  # chronological by first transition


def _observance(
    first: _Transition, rrule: vRecur | None = None
) -> TimezoneStandard | TimezoneDaylight:
    component = TimezoneDaylight() if first.is_dst else TimezoneStandard()
    component.add("TZOFFSETFROM", first.offset_from)
    component.add("TZOFFSETTO", first.offset_to)
    component.add("TZNAME", first.tzname)
    component.add("DTSTART", first.local)
    if rrule is not None:
        component.add("RRULE", rrule)
    return component


def _until(tail: _Transition) -> dt.datetime:
    """UNTIL for a run ending at ``tail``: written in UTC, as RFC 5545 §3.3.10 demands.

    dateutil (behind icalendar's ``to_tz()`` and vobject) compares UNTIL with the floating
    local onset, ignoring the ``Z``; east of UTC the exact UTC instant is earlier than the
    wall time, and those readers would drop the run's last onset. The later of the UTC instant
    and the wall time read as UTC is still at or after the last onset and long before the next
    one (a year later), so it is right for every reader.
    """
    return max(tail.utc, tail.local.replace(tzinfo=dt.UTC))


def build_vtimezone(key: str, first: dt.date, last: dt.date | None) -> Timezone:
    """Build an RFC 5545 §3.6.5 VTIMEZONE for IANA zone ``key``.

    ``first``/``last`` are the earliest/latest local event dates in that zone
    (``last=None``: open-ended, e.g. an infinite RRULE).  The definition covers
    Jan 1 of ``first.year - 1`` (so the first onset precedes every event, see
    the module docstring for ical.js) through Dec 31 of ``last.year + 1`` (or
    ``OPEN_END_YEAR``).  Yearly regular changes become one sub-component with
    ``RRULE:FREQ=YEARLY;BYMONTH=..;BYDAY=..`` per run of years, ended by an
    ``UNTIL`` at the run's last onset (see ``_until``) -- in UTC, as §3.3.10 demands
    inside STANDARD/DAYLIGHT -- unless the run lasts to the end of the covered range.  Irregular changes
    (fixed-date or lunar rules, one-off offset changes) each get a sub-component
    with just DTSTART: Outlook handles that, unlike long RDATE lists.

    A fresh component is returned on every call (components are mutable); the
    zoneinfo scan itself is cached.  Raises ``ValueError`` for UTC, which needs
    no VTIMEZONE, and ``zoneinfo.ZoneInfoNotFoundError`` for unknown keys.
    """
    if key in _UTC_KEYS:
        raise ValueError(f"{key!r} is UTC: write times with 'Z', not a VTIMEZONE")
    if last is not None and last < first:
        raise ValueError(f"last ({last}) is before first ({first})")
    start_year = first.year - 1
    end_year = max(OPEN_END_YEAR, first.year + 1) if last is None else last.year + 1
    initial, transitions = _scan(key, start_year, end_year)

    vtimezone = Timezone()
    vtimezone.add("TZID", key)
    vtimezone.add("X-LIC-LOCATION", key)
    runs = _group(transitions)
    if not runs or runs[0].transitions[0].local >= dt.datetime.combine(first, dt.time()):
        # No onset before the first event: describe the state at the scan start.
        offset, dst, tzname = initial
        start = dt.datetime(start_year, 1, 1, tzinfo=dt.UTC) - offset
        vtimezone.add_component(
            _observance(_Transition(start, offset, offset, bool(dst), tzname))
        )
    for run in runs:
        head, tail = run.transitions[0], run.transitions[-1]
        rrule = None
        if len(run.transitions) > 1:
            nth = -1 if -1 in run.nths else min(run.nths)
            rrule = vRecur(FREQ="YEARLY", BYMONTH=head.local.month,
                           BYDAY=f"{nth}{_WEEKDAYS[head.local.weekday()]}")
            if tail.local.year < end_year:
                rrule["UNTIL"] = _until(tail)
        vtimezone.add_component(_observance(head, rrule))
    return vtimezone
