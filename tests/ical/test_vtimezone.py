"""Tests for icalpub.ical.vtimezone.build_vtimezone.

Every generated VTIMEZONE is serialised, parsed back by several parsers and
compared with zoneinfo hour by hour.  Parsers used:

* ``icalendar``: ``Timezone.get_transitions()`` (icalendar's own expansion,
  checked UTC -> offset) and ``Timezone.to_tz()`` (checked wall time -> offset).
* ``vobject`` (``gettzinfo()``), checked wall time -> offset.
* Home Assistant's ``ical`` (``IcsTimezoneInfo``), checked wall time -> offset.

``to_tz()`` (with the zoneinfo provider) and ``vobject`` both delegate to
``dateutil.tz.tzical``, which reads UNTIL as a floating time; ``vtimezone._until`` writes an
UNTIL that is right for such readers too, so they are checked hour by hour like the others.
The known ``ical`` bugs are pinned below (``_pin_ha_ical_bugs``) rather than skipped.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from ical.calendar_stream import IcsCalendarStream
from ical.timezone import IcsTimezoneInfo

from icalpub.ical.vtimezone import build_vtimezone

# (key, first year, last year): events from Jan 1 of the first to Dec 31 of the last.
CASES = [
    ("Europe/Brussels", 2020, 2022),
    ("America/New_York", 2020, 2022),
    ("Australia/Sydney", 2020, 2022),  # southern hemisphere
    ("Australia/Lord_Howe", 2021, 2022),  # 30-minute DST
    ("Asia/Kolkata", 2020, 2022),  # no DST
    ("America/Sao_Paulo", 2017, 2021),  # DST rule change 2018, abolished 2019
    ("Europe/Moscow", 2010, 2015),  # permanent +04 in 2011, back to +03 in 2014
    ("Africa/Casablanca", 2018, 2021),  # Ramadan (lunar) "negative DST"
    ("Africa/Casablanca", 2008, 2010),  # first DST since 1978 starts mid-2008
    ("Asia/Tehran", 2020, 2023),  # fixed-date (Persian calendar) DST, abolished 2022
]
CASE_IDS = [f"{key}-{a}-{b}" for key, a, b in CASES]

def _calendar_text(key: str, first: dt.date, last: dt.date | None) -> str:
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//icalpub//tests//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(build_vtimezone(key, first, last))
    return calendar.to_ical().decode()


def _parsed(text: str) -> icalendar.Timezone:
    return icalendar.Calendar.from_ical(text).walk("VTIMEZONE")[0]


def _hours(first_year: int, last_year: int) -> Iterator[dt.datetime]:
    hour = dt.datetime(first_year, 1, 1)
    while hour.year <= last_year:
        yield hour
        hour += dt.timedelta(hours=1)


def _icalendar_tz(text: str) -> dt.tzinfo:
    return _parsed(text).to_tz(lookup_tzid=False)  # no shortcut via the TZID


def _vobject_tz(text: str) -> dt.tzinfo:
    return vobject.readOne(text).vtimezone_list[0].gettzinfo()


def _ha_ical_tz(text: str) -> dt.tzinfo:
    calendar = IcsCalendarStream.calendar_from_ics(text)
    return IcsTimezoneInfo.from_timezone(calendar.timezones[0])


def _pin_ha_ical_bugs(text: str) -> bool:
    """Assert the known ``ical`` (HA) bugs where they apply; True if any did.

    Pinned rather than skipped, so that a fixed ``ical`` makes this fail and
    the zone can then be checked hour by hour with it too.
    """
    timezone = IcsCalendarStream.calendar_from_ics(text).timezones[0]
    pinned = False
    for observance in timezone.standard + timezone.daylight:
        if observance.rrule is not None and observance.rrule.until is not None:
            # Bug 1: Recur.as_rrule() hands the floating DTSTART plus the UTC
            # UNTIL (mandatory in STANDARD/DAYLIGHT, RFC 5545 §3.3.10) to
            # dateutil.rrule, which rejects the mix.
            with pytest.raises(ValueError, match="UNTIL values must be specified in UTC"):
                observance.rrule.as_rrule(observance.start_datetime)
            pinned = True
        elif observance.rrule is None and not observance.rdate:
            # Bug 2: an observance with DTSTART only (its single onset, RFC 5545
            # §3.6.5) expands to no onset at all, as DTSTART is only used to
            # seed RRULEs.
            assert list(observance.as_ruleset()) == []
            pinned = True
    return pinned


PARSERS: dict[str, Callable[[str], dt.tzinfo]] = {
    "icalendar.to_tz": _icalendar_tz,
    "vobject": _vobject_tz,
    "ical": _ha_ical_tz,
}


@pytest.mark.parametrize("parser", list(PARSERS))
@pytest.mark.parametrize(("key", "first_year", "last_year"), CASES, ids=CASE_IDS)
def test_wall_time_offsets_match_zoneinfo(
    key: str, first_year: int, last_year: int, parser: str
) -> None:
    """local -> UTC offset for every hour that is neither in a gap nor a fold."""
    text = _calendar_text(key, dt.date(first_year, 1, 1), dt.date(last_year, 12, 31))
    if parser == "ical" and _pin_ha_ical_bugs(text):
        return  # the other parsers check this zone hour by hour
    zone, tz = ZoneInfo(key), PARSERS[parser](text)
    checked, skipped, wrong = 0, [], []
    for wall in _hours(first_year, last_year):
        expected = wall.replace(tzinfo=zone).utcoffset()
        if expected != wall.replace(tzinfo=zone, fold=1).utcoffset():
            skipped.append(wall)  # nonexistent or ambiguous wall time
            continue
        checked += 1
        if wall.replace(tzinfo=tz).utcoffset() != expected:
            wrong.append(wall)
    assert not wrong, f"{parser}: {len(wrong)} wrong hours, first {wrong[:3]}"
    changes = _offset_changes(zone, first_year, last_year)
    assert len(skipped) <= changes, f"skipped {len(skipped)} hours for {changes} changes"
    assert checked + len(skipped) == len(list(_hours(first_year, last_year)))


def _offset_changes(zone: ZoneInfo, first_year: int, last_year: int) -> int:
    """Number of UTC-offset changes in the range, from zoneinfo, hour by hour."""
    utc = [h.replace(tzinfo=dt.UTC) for h in _hours(first_year, last_year)]
    offsets = [u.astimezone(zone).utcoffset() for u in utc]
    return sum(a != b for a, b in zip(offsets, offsets[1:], strict=False))


@pytest.mark.parametrize(("key", "first_year", "last_year"), CASES, ids=CASE_IDS)
def test_utc_offsets_match_zoneinfo_via_get_transitions(
    key: str, first_year: int, last_year: int
) -> None:
    """UTC -> offset for every hour, using icalendar's own RRULE expansion."""
    text = _calendar_text(key, dt.date(first_year, 1, 1), dt.date(last_year, 12, 31))
    times, infos = _parsed(text).get_transitions()  # naive UTC, (offset, dst, name)
    zone, wrong = ZoneInfo(key), []
    for hour in _hours(first_year, last_year):
        index = bisect.bisect_right(times, hour) - 1
        assert index >= 0, f"{hour} precedes the first onset"
        if infos[index][0] != hour.replace(tzinfo=dt.UTC).astimezone(zone).utcoffset():
            wrong.append(hour)
    assert not wrong, f"{len(wrong)} wrong UTC hours, first {wrong[:3]}"


@pytest.mark.parametrize(("key", "first_year", "last_year"), CASES, ids=CASE_IDS)
def test_first_onset_precedes_first_event(key: str, first_year: int, last_year: int) -> None:
    for first in (dt.date(first_year, 1, 1), dt.date(first_year, 7, 15)):
        vtz = build_vtimezone(key, first, dt.date(last_year, 12, 31))
        starts = [sub.DTSTART for sub in vtz.subcomponents]
        assert starts[0] == min(starts)
        assert starts[0] < dt.datetime.combine(first, dt.time())
        assert all(start.tzinfo is None for start in starts)  # floating, no TZID/Z


@pytest.mark.parametrize(("key", "first_year", "last_year"), CASES, ids=CASE_IDS)
def test_until_is_utc_and_a_real_transition(key: str, first_year: int, last_year: int) -> None:
    text = _calendar_text(key, dt.date(first_year, 1, 1), dt.date(last_year, 12, 31))
    zone = ZoneInfo(key)
    for line in text.splitlines():
        if "UNTIL=" in line:
            assert line.split("UNTIL=")[1].split(";")[0].endswith("Z"), line
    for sub in _parsed(text).subcomponents:
        for until in sub["RRULE"].get("UNTIL", []) if "RRULE" in sub else []:
            assert until.utcoffset() == dt.timedelta(0)
            # UNTIL is at the run's last onset or at most its UTC offset after it, never
            # near the next year's onset (see vtimezone._until).
            onset = max(t for t in _onsets_utc(zone, until.year) if t <= until)
            assert dt.timedelta(0) <= until - onset <= abs(sub.TZOFFSETFROM)
            assert (onset - dt.timedelta(seconds=1)).astimezone(zone).utcoffset() == sub.TZOFFSETFROM
            assert onset.astimezone(zone).utcoffset() == sub.TZOFFSETTO


def _onsets_utc(zone: ZoneInfo, year: int) -> list[dt.datetime]:
    """The UTC instants in ``year`` at which ``zone``'s offset changes (to the minute)."""
    minute = dt.timedelta(minutes=1)
    moment, end = dt.datetime(year, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    found = []
    while moment < end:
        nxt = moment + dt.timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            t = moment
            while t.astimezone(zone).utcoffset() == moment.astimezone(zone).utcoffset():
                t += minute
            found.append(t)
        moment = nxt
    return found


def _rrules(vtz: icalendar.Timezone) -> list[tuple[str, icalendar.vRecur]]:
    return [(sub.name, sub["RRULE"]) for sub in vtz.subcomponents if "RRULE" in sub]


def test_brussels_shape() -> None:
    vtz = build_vtimezone("Europe/Brussels", dt.date(2020, 1, 1), dt.date(2022, 12, 31))
    assert vtz["TZID"] == "Europe/Brussels"
    assert vtz["X-LIC-LOCATION"] == "Europe/Brussels"
    assert [sub.name for sub in vtz.subcomponents] == ["DAYLIGHT", "STANDARD"]
    rules = {name: (r["BYMONTH"], r["BYDAY"], r.get("UNTIL")) for name, r in _rrules(vtz)}
    assert rules == {"DAYLIGHT": ([3], ["-1SU"], None), "STANDARD": ([10], ["-1SU"], None)}
    daylight = vtz.subcomponents[0]
    assert daylight.DTSTART == dt.datetime(2019, 3, 31, 2)
    assert daylight["TZNAME"] == "CEST"
    text = vtz.to_ical().decode()
    assert "DTSTART:20190331T020000\r\n" in text
    assert "TZOFFSETFROM:+0100\r\n" in text and "TZOFFSETTO:+0200\r\n" in text


def test_prefers_last_weekday_when_fourth_also_fits() -> None:
    # 2021-2023: the last March Sundays (28th, 27th, 26th) are also the 4th ones.
    vtz = build_vtimezone("Europe/Brussels", dt.date(2022, 5, 1), dt.date(2022, 5, 1))
    assert {tuple(rule["BYDAY"]) for _, rule in _rrules(vtz)} == {("-1SU",)}


def test_nth_weekday_rules() -> None:
    ny = build_vtimezone("America/New_York", dt.date(2020, 1, 1), dt.date(2022, 12, 31))
    assert {name: rule["BYDAY"] for name, rule in _rrules(ny)} == {
        "DAYLIGHT": ["2SU"], "STANDARD": ["1SU"]}
    sydney = build_vtimezone("Australia/Sydney", dt.date(2020, 1, 1), dt.date(2022, 12, 31))
    assert {name: (rule["BYMONTH"], rule["BYDAY"]) for name, rule in _rrules(sydney)} == {
        "DAYLIGHT": ([10], ["1SU"]), "STANDARD": ([4], ["1SU"])}


def test_sao_paulo_bounded_runs() -> None:
    vtz = build_vtimezone("America/Sao_Paulo", dt.date(2017, 1, 1), dt.date(2021, 12, 31))
    # DST ended for good in Feb 2019: every rule is bounded, nothing open-ended.
    assert all("UNTIL" in rule for _, rule in _rrules(vtz))
    assert vtz.subcomponents[-1].name == "DAYLIGHT"  # the lone Nov 2018 onset
    assert "RRULE" not in vtz.subcomponents[-1]


def test_irregular_zone_gets_plain_onsets() -> None:
    vtz = build_vtimezone("Asia/Tehran", dt.date(2020, 1, 1), dt.date(2023, 12, 31))
    assert _rrules(vtz) == []  # Mar 21/22 and Sep 21/22 fit no BYDAY rule
    assert [sub.DTSTART.date() for sub in vtz.subcomponents][:2] == [
        dt.date(2019, 3, 22), dt.date(2019, 9, 22)]
    casablanca = build_vtimezone("Africa/Casablanca", dt.date(2019, 1, 1), dt.date(2021, 12, 31))
    ramadan = [sub for sub in casablanca.subcomponents if sub.TZOFFSETTO == dt.timedelta(0)]
    assert len(ramadan) == 5 and all("RRULE" not in sub for sub in ramadan)


def test_kolkata_single_standard() -> None:
    vtz = build_vtimezone("Asia/Kolkata", dt.date(2020, 3, 1), dt.date(2022, 12, 31))
    (sub,) = vtz.subcomponents
    assert sub.name == "STANDARD"
    assert sub.TZOFFSETFROM == sub.TZOFFSETTO == dt.timedelta(hours=5, minutes=30)
    assert sub.DTSTART == dt.datetime(2019, 1, 1)
    assert "RRULE" not in sub and sub["TZNAME"] == "IST"


def test_open_ended() -> None:
    text = _calendar_text("Europe/Brussels", dt.date(2025, 1, 1), None)
    vtz = _parsed(text)
    assert len(_rrules(vtz)) == 2 and all("UNTIL" not in rule for _, rule in _rrules(vtz))
    zone = ZoneInfo("Europe/Brussels")
    for parser in PARSERS.values():  # the rule carries on past the scanned 2037
        tz = parser(text)
        for wall in (dt.datetime(2045, 1, 10, 12), dt.datetime(2045, 7, 10, 12)):
            assert wall.replace(tzinfo=tz).utcoffset() == wall.replace(tzinfo=zone).utcoffset()
    # A zone whose DST ended keeps only bounded rules.
    sao_paulo = build_vtimezone("America/Sao_Paulo", dt.date(2017, 1, 1), None)
    assert all("UNTIL" in rule for _, rule in _rrules(sao_paulo))


def test_deterministic_and_fresh() -> None:
    args = ("Europe/Moscow", dt.date(2010, 1, 1), dt.date(2015, 12, 31))
    one, two = build_vtimezone(*args), build_vtimezone(*args)
    assert one is not two and one.to_ical() == two.to_ical()
    one.subcomponents.clear()
    one["TZID"] = "mutated"
    assert build_vtimezone(*args).to_ical() == two.to_ical()


@pytest.mark.parametrize("key", ["UTC", "Etc/UTC"])
def test_utc_rejected(key: str) -> None:
    with pytest.raises(ValueError):
        build_vtimezone(key, dt.date(2020, 1, 1), None)


def _sizes() -> tuple[int, int, int]:
    """Bytes of the Europe/Brussels 2020-2022 VTIMEZONE: ours, icalendar's two."""
    vtz = build_vtimezone("Europe/Brussels", dt.date(2020, 1, 1), dt.date(2022, 12, 31))
    from_tzinfo = icalendar.Timezone.from_tzinfo(ZoneInfo("Europe/Brussels"))
    calendar = icalendar.Calendar()
    event = icalendar.Event()
    event.start = dt.datetime(2020, 1, 1, 12, tzinfo=ZoneInfo("Europe/Brussels"))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return len(vtz.to_ical()), len(from_tzinfo.to_ical()), len(calendar.timezones[0].to_ical())


SIZES = _sizes()


@pytest.mark.parametrize(
    "sizes", [SIZES], ids=["ours-{}B-from_tzinfo-{}B-add_missing_timezones-{}B".format(*SIZES)]
)
def test_much_smaller_than_icalendar_default(sizes: tuple[int, int, int]) -> None:
    ours, from_tzinfo, added = sizes
    assert ours * 5 < min(from_tzinfo, added), (
        f"Europe/Brussels 2020-2022: ours {ours} B, Timezone.from_tzinfo {from_tzinfo} B, "
        f"add_missing_timezones {added} B")
