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

An open-ended series is expanded by clients for as long as they show it, so its
VTIMEZONE must be right forever: it describes every change the tz database lists
one by one (Asia/Gaza's to 2086, Africa/Casablanca's Ramadan changes to 2087),
then ends on the zone's final state, taken from the POSIX TZ footer of its TZif
file: two open-ended yearly rules when the footer has daylight saving time, else
the last observance alone, whose offset then holds forever.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

from ..load.recurrence import open_end_year, tzdb_tail

__all__ = ["build_vtimezone"]

#: Open-ended spans of a zone whose TZif file cannot be read, or whose footer this module
#: cannot turn into RRULEs (none in today's tz database), are described up to this year,
#: the final runs left open-ended.
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


def _scan(key: str, start_year: int, end_year: int) -> tuple[_State, tuple[_Transition, ...]]:
    """Return the state at the scan start and every transition up to the end, joined from
    the zone's years (each scanned once per process: feeds and invites ask for many
    overlapping spans of the same zones)."""
    years = [_scan_year(key, year) for year in range(start_year, end_year + 1)]
    return years[0][0], tuple(t for _initial, found in years for t in found)


@functools.lru_cache(maxsize=8192)
def _scan_year(key: str, year: int) -> tuple[_State, tuple[_Transition, ...]]:
    """The state when ``year`` begins and the transitions within it.

    Steps through UTC in ``_SCAN_STEP`` increments and bisects each change of
    (utcoffset, dst, tzname) down to the exact second (a year is a whole number of steps, so
    the steps are those of one scan over many years).
    """
    zone = ZoneInfo(key)
    t = int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp())
    end = int(dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC).timestamp())
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


_POSIX_NAME = r"(?:[A-Za-z]{3,}|<[+\-0-9A-Za-z]+>)"
_POSIX_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}){0,2}"
_POSIX_RULE = r"M(\d{1,2})\.(\d)\.(\d)(?:/(" + _POSIX_OFFSET + r"))?"
_POSIX_TZ = re.compile(rf"({_POSIX_NAME})({_POSIX_OFFSET})(?:({_POSIX_NAME})({_POSIX_OFFSET})?"
                       rf",{_POSIX_RULE},{_POSIX_RULE})?")
_POSIX_WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # POSIX d: 0 is Sunday


def _posix_seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


@dataclass(frozen=True)
class _Yearly:
    """One change of a footer's yearly rule: the ``week``-th (5: last) weekday ``weekday``
    (POSIX: 0 is Sunday) of ``month``, at ``seconds`` after its midnight (RFC 8536 allows
    -167 to 167 hours), wall time before the change."""

    month: int
    week: int
    weekday: int
    seconds: int
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    is_dst: bool
    tzname: str

    def onset(self, year: int) -> _Transition:
        if self.week == 5:
            day = calendar.monthrange(year, self.month)[1]
            while (dt.date(year, self.month, day).weekday() + 1) % 7 != self.weekday:
                day -= 1
        else:
            day = 1
            while (dt.date(year, self.month, day).weekday() + 1) % 7 != self.weekday:
                day += 1
            day += 7 * (self.week - 1)
        local = dt.datetime(year, self.month, day) + dt.timedelta(seconds=self.seconds)
        utc = (local - self.offset_from).replace(tzinfo=dt.UTC)
        return _Transition(utc, self.offset_from, self.offset_to, self.is_dst, self.tzname)

    def rrules(self) -> list[vRecur] | None:
        """RRULEs giving exactly these onsets (their DTSTART's wall time is the time of
        day), or None where a change can fall in two months of which one is February."""
        shift, _time = divmod(self.seconds, 86400)
        weekday = _POSIX_WEEKDAYS[(self.weekday + shift) % 7]
        if shift == 0:
            nth = -1 if self.week == 5 else self.week
            return [vRecur(FREQ="YEARLY", BYMONTH=self.month, BYDAY=f"{nth}{weekday}")]
        # The change is `shift` days after the nth weekday: a weekday within a 7-day window,
        # which may reach into the month before or after (Africa/Cairo: the Friday after the
        # last Thursday of October is 1 November in some years).
        if self.week == 5:  # days counted from the end of the month: -1 is the last
            days = range(-7 + shift, shift)
            inside = [d for d in days if d < 0]
            spill = [d for d in days if d >= 0]  # 0 is the next month's first day
            parts = [(self.month, inside)] if inside else []
            if spill:
                parts.append((self.month % 12 + 1, [d + 1 for d in spill]))
        else:
            days = range(7 * self.week - 6 + shift, 7 * self.week + 1 + shift)
            inside = [d for d in days if d >= 1]
            spill = [d for d in days if d < 1]  # 0 is the previous month's last day
            parts = [(self.month, inside)] if inside else []
            if spill:
                parts.insert(0, ((self.month - 2) % 12 + 1, [d - 1 for d in spill]))
        rules = []
        for month, monthdays in parts:
            if max(monthdays) > 28 and month == 2 or max(monthdays) > 30 and month in (4, 6, 9, 11):
                return None
            rules.append(vRecur(FREQ="YEARLY", BYMONTH=month, BYDAY=weekday,
                                BYMONTHDAY=monthdays))
        return rules


def _footer_rules(footer: str) -> tuple[_Yearly, _Yearly] | None:
    """The two yearly changes of a POSIX TZ footer with daylight saving time (``M`` rules),
    or None (a fixed offset, or a form not handled here)."""
    found = _POSIX_TZ.fullmatch(footer)
    if not found or found[3] is None:
        return None
    std_name, std, dst_name, dst = found[1], found[2], found[3], found[4]
    std_offset = dt.timedelta(seconds=-_posix_seconds(std))  # POSIX counts west of UTC
    dst_offset = dt.timedelta(seconds=-_posix_seconds(dst)) if dst else \
        std_offset + dt.timedelta(hours=1)
    names = (std_name.strip("<>"), dst_name.strip("<>"))

    def change(at: int, to_dst: bool) -> _Yearly:
        month, week, weekday, when = (found.group(at + i) for i in range(4))
        return _Yearly(int(month), int(week), int(weekday),
                       _posix_seconds(when) if when else 7200,
                       std_offset if to_dst else dst_offset, dst_offset if to_dst else std_offset,
                       to_dst, names[1] if to_dst else names[0])

    return change(5, True), change(9, False)


def _footer_tail(transitions: tuple[_Transition, ...], rules: tuple[_Yearly, _Yearly],
                 end_year: int) -> int | None:
    """Index of the first transition from which every scanned change is the footer's (and
    every change of the footer is scanned), or None when the scan ends otherwise."""
    if not transitions:
        return None
    first_year = transitions[0].utc.year
    expected = sorted(rule.onset(year) for rule in rules
                      for year in range(first_year - 1, end_year + 2))
    scanned_end = dt.datetime(end_year + 1, 1, 1, tzinfo=dt.UTC)
    index = len(transitions)
    footer = set(expected)
    while index and transitions[index - 1] in footer:
        index -= 1
    if index == len(transitions):
        return None
    tail = list(transitions[index:])
    if tail != [t for t in expected if tail[0].utc <= t.utc < scanned_end]:
        return None
    return index


def build_vtimezone(key: str, first: dt.date, last: dt.date | None) -> Timezone:
    """Build an RFC 5545 §3.6.5 VTIMEZONE for IANA zone ``key``.

    ``first``/``last`` are the earliest/latest local event dates in that zone
    (``last=None``: open-ended, e.g. an infinite RRULE).  The definition covers
    Jan 1 of ``first.year - 1`` (so the first onset precedes every event, see
    the module docstring for ical.js) through Dec 31 of ``last.year + 1``.  Yearly
    regular changes become one sub-component with ``RRULE:FREQ=YEARLY;BYMONTH=..;BYDAY=..``
    per run of years, ended by an ``UNTIL`` at the run's last onset (see ``_until``) -- in
    UTC, as §3.3.10 demands inside STANDARD/DAYLIGHT -- unless the run lasts to the end of
    the covered range.  Irregular changes (fixed-date or lunar rules, one-off offset
    changes) each get a sub-component with just DTSTART: Outlook handles that, unlike long
    RDATE lists.

    Open-ended (``last=None``): the changes are described one by one through
    ``load.recurrence.open_end_year`` (the year after the last change the TZif file lists),
    then the zone's final state: the footer's two yearly rules, open-ended, each from its
    first onset that follows them (``_Yearly.rrules``), or, for a footer without DST, every
    run closed with UNTIL so the last observance's offset holds for good. A footer this
    module cannot read (none in today's tz database) falls back to the runs up to
    ``OPEN_END_YEAR`` at least, the last ones left open.

    A fresh component is returned on every call (components are mutable); the
    zoneinfo scan itself is cached.  Raises ``ValueError`` for UTC, which needs
    no VTIMEZONE, and ``zoneinfo.ZoneInfoNotFoundError`` for unknown keys.
    """
    if key in _UTC_KEYS:
        raise ValueError(f"{key!r} is UTC: write times with 'Z', not a VTIMEZONE")
    if last is not None and last < first:
        raise ValueError(f"last ({last}) is before first ({first})")
    start_year = first.year - 1
    footer = None
    if last is not None:
        end_year = last.year + 1
    else:
        end_year = open_end_year(key, first.year)
        footer = _footer_rules(tzdb_tail(key)[1])
        if footer is not None and not all(rule.rrules() for rule in footer):
            footer = None
        if footer is None and not _fixed_footer(key):  # no usable footer: runs left open
            end_year = max(end_year, OPEN_END_YEAR)
    initial, transitions = _scan(key, start_year, end_year)
    tail = None if footer is None else _footer_tail(transitions, footer, end_year)
    closed = last is None and (tail is not None or _fixed_footer(key))

    vtimezone = Timezone()
    vtimezone.add("TZID", key)
    vtimezone.add("X-LIC-LOCATION", key)
    runs = _group(transitions if tail is None else transitions[:tail])
    if not transitions or transitions[0].local >= dt.datetime.combine(first, dt.time()):
        # No onset before the first event: describe the state at the scan start.
        offset, dst, tzname = initial
        start = dt.datetime(start_year, 1, 1, tzinfo=dt.UTC) - offset
        vtimezone.add_component(
            _observance(_Transition(start, offset, offset, bool(dst), tzname))
        )
    for run in runs:
        head, tail_transition = run.transitions[0], run.transitions[-1]
        rrule = None
        if len(run.transitions) > 1:
            nth = -1 if -1 in run.nths else min(run.nths)
            rrule = vRecur(FREQ="YEARLY", BYMONTH=head.local.month,
                           BYDAY=f"{nth}{_WEEKDAYS[head.local.weekday()]}")
            if closed or tail_transition.local.year < end_year:
                rrule["UNTIL"] = _until(tail_transition)
        vtimezone.add_component(_observance(head, rrule))
    if tail is not None and footer is not None:
        # The zone's final state: the footer's yearly changes, open-ended, each from its
        # first onset in the scan (or, for a part of a rule that the scan did not meet, the
        # first onset of that part after it).
        observances = []
        for rule in footer:
            for rrule in rule.rrules() or ():
                onsets = [t for t in transitions[tail:] if _fits(t, rule, rrule)]
                # A part that the scanned years did not use starts at its first later onset
                # (weekdays and dates repeat every 400 years: one that never comes is left out).
                later = (rule.onset(year) for year in range(transitions[tail].utc.year + 1,
                                                            transitions[tail].utc.year + 401))
                first = onsets[0] if onsets else next(
                    (t for t in later if _fits(t, rule, rrule)), None)
                if first is not None:
                    observances.append(_observance(first, rrule))
        for observance in sorted(observances, key=lambda o: o.DTSTART):
            vtimezone.add_component(observance)
    return vtimezone


def _fits(transition: _Transition, rule: _Yearly, rrule: vRecur) -> bool:
    """Whether ``transition`` is an onset of ``rule`` that ``rrule`` (one of its parts) makes."""
    if transition != rule.onset(transition.local.year) and \
            transition != rule.onset(transition.local.year + 1) and \
            transition != rule.onset(transition.local.year - 1):
        return False
    local = transition.local
    days = rrule.get("BYMONTHDAY")
    months = rrule["BYMONTH"]
    if local.month != (months[0] if isinstance(months, list) else months):
        return False
    if days is None:
        return True
    length = calendar.monthrange(local.year, local.month)[1]
    return local.day in days or local.day - length - 1 in days


@functools.lru_cache(maxsize=256)
def _fixed_footer(key: str) -> bool:
    """Whether the zone ends on a fixed offset (its footer has no DST): then every run of
    changes ends, and the last observance's offset holds forever."""
    found = _POSIX_TZ.fullmatch(tzdb_tail(key)[1])
    return found is not None and found[3] is None
