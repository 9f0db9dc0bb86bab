"""The VTIMEZONE of an open-ended series is right for every occurrence a client will expand.

A series without COUNT or UNTIL is shown by calendar apps for as long as they look ahead, so
its VTIMEZONE must describe the zone for ever: every change the tz database lists one by one
(Asia/Gaza's to 2086, Africa/Casablanca's Ramadan changes to 2087), then the zone's final
state (a yearly rule only where the TZif footer has one). Each zone's VTIMEZONE is read back by
``icalendar`` (``Timezone.to_tz`` without the shortcut through the TZID) and ``vobject`` (its
own tzinfo from the component), and the UTC offset they give a wall time is compared with
zoneinfo's on both sides of every change to 2050, mid-month every month, and far beyond (the
final state). ``test_conformance.py`` does the same through ical.js and libical with a weekly
series in each zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from dateutil import rrule

from icalpub.ical.vtimezone import build_vtimezone
from icalpub.load.recurrence import tzdb_tail

UTC = dt.timezone.utc
#: (zone, the first event's date): the issue's eight zones, and zones whose final rules are
#: unusual (a change the day after the nth weekday; one that can fall in the next month;
#: a negative time of day; negative DST).
ZONES = [
    ("Asia/Gaza", dt.date(2021, 1, 1)),
    ("Africa/Casablanca", dt.date(2021, 1, 1)),
    ("Asia/Tehran", dt.date(2020, 1, 1)),
    ("Australia/Lord_Howe", dt.date(2021, 1, 1)),
    ("Pacific/Chatham", dt.date(2021, 1, 1)),
    ("Europe/Brussels", dt.date(2021, 1, 1)),
    ("America/New_York", dt.date(2021, 1, 1)),
    ("America/Sao_Paulo", dt.date(2017, 1, 1)),
    ("Asia/Jerusalem", dt.date(2021, 1, 1)),
    ("Africa/Cairo", dt.date(2021, 1, 1)),
    ("America/Nuuk", dt.date(2021, 1, 1)),
    ("America/Santiago", dt.date(2021, 1, 1)),
    ("Europe/Dublin", dt.date(2021, 1, 1)),
]
IDS = [key for key, _first in ZONES]
LAST_YEAR = 2050


def _text(key: str, first: dt.date) -> str:
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//icalpub//tests//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(build_vtimezone(key, first, None))
    return calendar.to_ical().decode()


def _changes(zone: ZoneInfo, first: dt.date, last_year: int) -> list[dt.datetime]:
    """Every instant zoneinfo changes the zone's UTC offset, found day by day and bisected."""
    found = []
    t = dt.datetime.combine(first, dt.time(), UTC)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=UTC)
    step = dt.timedelta(hours=6)
    while t < end:
        nxt = t + step
        if t.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = t, nxt
            while hi - lo > dt.timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if mid.astimezone(zone).utcoffset() == \
                    lo.astimezone(zone).utcoffset() else (lo, mid)
            found.append(hi.replace(microsecond=0))
        t = nxt
    return found


def _probes(key: str, first: dt.date) -> list[dt.datetime]:
    """UTC instants: two hours either side of every change to LAST_YEAR, the 15th of every
    month at noon, and January and July of later years (the zone's final state)."""
    zone = ZoneInfo(key)
    instants = []
    for change in _changes(zone, first, LAST_YEAR):
        instants += [change - dt.timedelta(hours=2), change + dt.timedelta(hours=2)]
    for year in range(first.year, LAST_YEAR + 1):
        instants += [dt.datetime(year, month, 15, 12, tzinfo=UTC) for month in range(1, 13)]
    for year in (2060, 2075, 2086, 2087, 2088, 2090, 2100, 2150):
        instants += [dt.datetime(year, 1, 15, 12, tzinfo=UTC),
                     dt.datetime(year, 7, 15, 12, tzinfo=UTC)]
    return sorted(instants)


def _icalendar(text: str) -> dt.tzinfo:
    return icalendar.Calendar.from_ical(text).walk("VTIMEZONE")[0].to_tz(lookup_tzid=False)


def _vobject(text: str) -> dt.tzinfo:
    return vobject.readOne(text).vtimezone_list[0].gettzinfo()


@pytest.mark.parametrize("parser", [_icalendar, _vobject], ids=["icalendar", "vobject"])
@pytest.mark.parametrize(("key", "first"), ZONES, ids=IDS)
def test_open_ended_vtimezone_matches_zoneinfo(key, first, parser):
    zone, tz = ZoneInfo(key), parser(_text(key, first))
    checked, wrong = 0, []
    for instant in _probes(key, first):
        wall = instant.astimezone(zone).replace(tzinfo=None)
        if wall.replace(tzinfo=zone).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset():
            continue  # a wall time the zone repeats or skips is no probe of a reader
        checked += 1
        if wall.replace(tzinfo=tz).utcoffset() != instant.astimezone(zone).utcoffset():
            wrong.append(f"{wall:%Y-%m-%d %H:%M} local: {wall.replace(tzinfo=tz).utcoffset()} "
                         f"!= {instant.astimezone(zone).utcoffset()}")
    assert checked > 300
    assert not wrong, f"{len(wrong)} of {checked} wrong, first: {wrong[:5]}"


def test_icalendar_lists_the_same_changes_as_zoneinfo():
    """Gaza's and Casablanca's changes, one by one: icalendar's own expansion of the
    VTIMEZONE (``get_transitions``, which stops expanding RRULEs after 2038) gives each
    instant zoneinfo gives, to 2037."""
    for key in ("Asia/Gaza", "Africa/Casablanca"):
        first = dt.date(2021, 1, 1)
        times, _infos = icalendar.Calendar.from_ical(_text(key, first)).walk("VTIMEZONE")[0] \
            .get_transitions()
        listed = [t.replace(tzinfo=UTC) for t in times if 2021 <= t.year <= 2037]
        assert listed == [c for c in _changes(ZoneInfo(key), first, 2037) if c.year >= 2021]


@pytest.mark.parametrize(("key", "first"), ZONES, ids=IDS)
def test_the_last_observances_are_the_final_state(key, first):
    """An open-ended RRULE only where the TZif footer has daylight saving time; otherwise
    every run of changes ends (UNTIL) and the last observance holds the final offset."""
    observances = build_vtimezone(key, first, None).subcomponents
    _last_change, footer = tzdb_tail(key)
    endless = [o for o in observances if "RRULE" in o and "UNTIL" not in o["RRULE"]]
    if "," in footer:  # "std offset dst [offset],start[/time],end[/time]"
        assert len(endless) >= 2
        return
    assert endless == []

    def last_onset(observance) -> dt.datetime:
        if "RRULE" not in observance:
            return observance.DTSTART
        rule = rrule.rrulestr(observance["RRULE"].to_ical().decode(), dtstart=observance.DTSTART,
                              ignoretz=True)
        return list(rule)[-1]

    final = max(observances, key=last_onset)
    far = dt.datetime(2200, 1, 15, 12, tzinfo=UTC).astimezone(ZoneInfo(key)).utcoffset()
    assert final.TZOFFSETTO == far
