"""Feeds and invites read back by three independent parsers, compared as UTC instants."""

from datetime import date, datetime, timezone

import icalendar
import pytest
import vobject

from parsers import PARSERS, parse_all

UTC = timezone.utc


def lines(body: bytes) -> list[bytes]:
    return body.split(b"\r\n")


EXPECTED_INSTANTS = {
    "winter-webinar": (datetime(2021, 1, 19, 13, tzinfo=UTC), datetime(2021, 1, 19, 15, tzinfo=UTC)),
    "summer-workshop": (datetime(2021, 7, 14, 7, 30, tzinfo=UTC), datetime(2021, 7, 14, 9, tzinfo=UTC)),
    "summer-school": (date(2021, 7, 5), date(2021, 7, 7)),
    "weekly-call": (datetime(2021, 3, 2, 9, tzinfo=UTC), datetime(2021, 3, 2, 10, tzinfo=UTC)),
    "new-york-meetup": (datetime(2021, 11, 7, 14, tzinfo=UTC), datetime(2021, 11, 7, 16, tzinfo=UTC)),
    "utc-briefing": (datetime(2021, 6, 1, 12, tzinfo=UTC), datetime(2021, 6, 1, 13, tzinfo=UTC)),
    "cancelled-talk": (datetime(2021, 2, 10, 17, tzinfo=UTC), datetime(2021, 2, 10, 18, tzinfo=UTC)),
}


@pytest.mark.parametrize("parser", PARSERS)
def test_every_parser_reads_the_same_instants(minimal_site, parser):
    events = {e.uid: e for e in PARSERS[parser](minimal_site.get("feeds/all.ics").body)}
    assert {uid.split("@")[0]: (e.start, e.end) for uid, e in events.items()} == EXPECTED_INSTANTS


def test_seed_instants(seed_site):
    """The bundled file: CET wall times from the seed page, as UTC instants."""
    for name, events in parse_all(seed_site.get("feeds/all.ics").body).items():
        first = events["minerals-in-electronics-procurement@127.0.0.1"]
        assert (first.start, first.end) == (datetime(2021, 1, 19, 13, tzinfo=UTC),
                                            datetime(2021, 1, 19, 15, tzinfo=UTC)), name
        p2i = events["procure2innovate-innovation-procurement@127.0.0.1"]
        assert (p2i.start, p2i.end) == (datetime(2021, 1, 22, 10, 15, tzinfo=UTC),
                                        datetime(2021, 1, 22, 11, 30, tzinfo=UTC)), name


def test_feed_calendar_properties(minimal_site):
    body = minimal_site.get("feeds/all.ics").body
    cal = icalendar.Calendar.from_ical(body)
    assert cal["VERSION"] == "2.0" and cal["CALSCALE"] == "GREGORIAN" and cal["METHOD"] == "PUBLISH"
    assert cal["PRODID"].startswith("-//icalpub//")
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT6H" in lines(body)
    assert b"X-PUBLISHED-TTL:PT6H" in lines(body)
    assert b"X-WR-TIMEZONE:Europe/Brussels" in lines(body)
    assert b"SOURCE:https://events.example.org/feeds/all.ics" in lines(body)
    assert b"URL:https://events.example.org/" in lines(body)
    parsed = vobject.readOne(body.decode())
    for key in ("name", "x-wr-calname"):
        assert parsed.contents[key][0].value == "Test events"
    for key in ("description", "x-wr-caldesc"):
        assert parsed.contents[key][0].value == "Events used by the icalpub tests."


def test_one_vtimezone_per_tzid_and_none_for_utc(minimal_site):
    cal = icalendar.Calendar.from_ical(minimal_site.get("feeds/all.ics").body)
    declared = sorted(str(tz["TZID"]) for tz in cal.walk("VTIMEZONE"))
    used = sorted({str(p.params["TZID"]) for ev in cal.walk("VEVENT")
                   for p in (ev["DTSTART"], ev["DTEND"]) if "TZID" in p.params})
    assert declared == used == ["America/New_York", "Europe/Brussels"]
    body = minimal_site.get("feeds/all.ics").body
    assert b"DTSTART:20210601T120000Z" in lines(body)  # UTC with Z, never TZID=UTC
    assert b"TZID=UTC" not in body


def test_vtimezone_starts_before_the_earliest_event(minimal_site):
    cal = icalendar.Calendar.from_ical(minimal_site.get("feeds/all.ics").body)
    brussels = next(tz for tz in cal.walk("VTIMEZONE") if tz["TZID"] == "Europe/Brussels")
    onsets = [sub.decoded("DTSTART") for sub in brussels.subcomponents]
    assert min(onsets) < datetime(2021, 1, 19)


def test_winter_and_summer_offsets_come_from_the_vtimezone(minimal_site):
    """vobject builds its tzinfo from our VTIMEZONE (not from a zone database)."""
    parsed = vobject.readOne(minimal_site.get("feeds/all.ics").body.decode())
    starts = {ev.uid.value.split("@")[0]: ev.dtstart.value for ev in parsed.vevent_list}
    assert "tzicalvtz" in type(starts["winter-webinar"].tzinfo).__name__  # built from our VTIMEZONE
    assert starts["winter-webinar"].utcoffset().total_seconds() == 3600
    assert starts["summer-workshop"].utcoffset().total_seconds() == 7200
    assert starts["new-york-meetup"].utcoffset().total_seconds() == -5 * 3600


def test_lines_are_crlf_and_short(minimal_site, seed_site):
    for site in (minimal_site, seed_site):
        for resource in site.resources.values():
            if not resource.path.endswith(".ics"):
                continue
            body = resource.body
            assert body.endswith(b"\r\n")
            assert b"\r" not in body.replace(b"\r\n", b"") and b"\n" not in body.replace(b"\r\n", b"")
            assert max(len(line) for line in lines(body)) <= 75
            body.decode("utf-8")  # folding never splits a multi-byte character


def test_invite_is_one_event_without_calendar_name(minimal_site):
    body = minimal_site.get("events/winter-webinar.ics").body
    cal = icalendar.Calendar.from_ical(body)
    assert cal["METHOD"] == "PUBLISH"
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == ["winter-webinar@events.example.org"]
    assert [str(t["TZID"]) for t in cal.walk("VTIMEZONE")] == ["Europe/Brussels"]
    for forbidden in (b"X-WR-CALNAME", b"\r\nNAME:", b"REFRESH-INTERVAL"):
        assert forbidden not in body
    for name, events in parse_all(body).items():
        assert list(events) == ["winter-webinar@events.example.org"], name


def test_cancelled_event_invite_uses_method_cancel(minimal_site):
    body = minimal_site.get("events/cancelled-talk.ics").body
    cal = icalendar.Calendar.from_ical(body)
    assert cal["METHOD"] == "CANCEL"
    (event,) = cal.walk("VEVENT")
    assert event["STATUS"] == "CANCELLED" and event["UID"] == "cancelled-talk@events.example.org"
    feed = parse_all(minimal_site.get("feeds/all.ics").body)
    assert all(f["cancelled-talk@events.example.org"].status == "CANCELLED" for f in feed.values())


def test_all_day_event_uses_dates(minimal_site):
    body = minimal_site.get("events/summer-school.ics").body
    assert b"DTSTART;VALUE=DATE:20210705" in lines(body)
    assert b"DTEND;VALUE=DATE:20210707" in lines(body)  # last day 6 July, exclusive end
    assert b"VTIMEZONE" not in body


def test_recurrence_and_exdate(minimal_site):
    body = minimal_site.get("events/weekly-call.ics").body
    assert b"RRULE:FREQ=WEEKLY;COUNT=6" in lines(body)
    assert b"EXDATE;TZID=Europe/Brussels:20210316T100000" in lines(body)
    ev = vobject.readOne(body.decode()).vevent
    occurrences = [d.astimezone(UTC) for d in ev.getrruleset()]
    assert len(occurrences) == 5 and datetime(2021, 3, 16, 9, tzinfo=UTC) not in occurrences
    assert occurrences[-1] == datetime(2021, 4, 6, 8, tzinfo=UTC)  # after the switch to CEST


def test_feeds_are_byte_identical_across_builds(minimal_site):
    from icalpub.load import load_events
    from icalpub.site import build_site

    again = build_site(load_events(minimal_site.data.source))
    assert {p: r.body for p, r in again.resources.items()} == \
        {p: r.body for p, r in minimal_site.resources.items()}
