"""Issue 17's properties (online events, reminders, venues, colours and images, attachments,
moved or cancelled occurrences), each read back by at least two independent parsers, and the
text lines every client shows (DESCRIPTION)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

import icalendar
import pytest
import vobject
from ical.calendar_stream import IcsCalendarStream

from icalpub.ical.calendar import invite_calendar
from icalpub.load import load_events
from icalpub.site import build_site
from parsers import PARSERS, forget_vobject_zones


@pytest.fixture(scope="module")
def data():
    from pathlib import Path

    return load_events(Path(__file__).parent.parent / "fixtures" / "extras.yaml")


@pytest.fixture(scope="module")
def site(data):
    return build_site(data)


def invite(site, event_id: str) -> bytes:
    return site.get(f"events/{event_id}.ics").body


def icalendar_event(body: bytes, index: int = 0):
    return icalendar.Calendar.from_ical(body).walk("VEVENT")[index]


def vobject_event(body: bytes):
    forget_vobject_zones(body)
    return vobject.readOne(body.decode()).vevent


def ical_event(body: bytes):
    return IcsCalendarStream.calendar_from_ics(body.decode()).events[0]


# --- online events ----------------------------------------------------------------------------

ZOOM = "https://zoom.example/j/123?pwd=a;b"


def test_conference_with_label_and_code_reads_back_in_three_parsers(site):
    body = invite(site, "zoom-webinar")
    label = 'Zoom meeting; "main" room (access code 600862)'
    conference = icalendar_event(body)["CONFERENCE"]
    assert str(conference) == ZOOM
    assert conference.params["VALUE"] == "URI" and conference.params["FEATURE"] == "VIDEO"
    assert conference.params["LABEL"] == label
    (found,) = ical_event(body).conference
    assert (found.uri, [f.value for f in found.feature], found.label) == (ZOOM, ["VIDEO"], label)
    line = vobject_event(body).contents["conference"][0]
    assert line.value == ZOOM and line.params["FEATURE"] == ["VIDEO"]
    # vobject does not decode RFC 6868 (^' for a double quote) in parameter values
    assert line.params["LABEL"] == [label.replace('"', "^'")]
    assert str(icalendar_event(body)["X-GOOGLE-CONFERENCE"]) == ZOOM
    assert vobject_event(body).contents["x-google-conference"][0].value == ZOOM


@pytest.mark.parametrize("parser", PARSERS)
def test_the_join_line_is_in_every_parsers_description(site, parser):
    (event,) = PARSERS[parser](invite(site, "zoom-webinar"))
    assert event.description == (f'Join Zoom meeting; "main" room: {ZOOM} (access code 600862)'
                                 "\n\nOrganised by: ACME Foundation")
    (event,) = PARSERS[parser](invite(site, "code-only"))
    assert event.description == "Access code: 600862"
    (event,) = PARSERS[parser](invite(site, "hybrid-talk"))
    assert event.description == "Join: https://meet.example/talk"


def test_the_join_line_is_in_the_html_description(site):
    alt = vobject_event(invite(site, "zoom-webinar")).contents["x-alt-desc"][0].value
    assert (f'<p>Join Zoom meeting; &quot;main&quot; room: <a href="{ZOOM}">{ZOOM}</a> '
            "(access code 600862)</p>") in alt


def test_a_code_without_a_link_is_only_text(site):
    body = invite(site, "code-only")
    assert b"CONFERENCE" not in body
    assert ical_event(body).conference == []


def test_a_link_without_label_or_code_has_no_label(site):
    conference = icalendar_event(invite(site, "hybrid-talk"))["CONFERENCE"]
    assert "LABEL" not in conference.params


def test_parts_are_the_reference_calendar(data, site):
    """The invite assembled from parts is icalendar's own serialisation of the calendar."""
    for event in data.events:
        assert invite(site, event.id) == invite_calendar(data.inputs(event)).to_ical(), event.id


# --- reminders --------------------------------------------------------------------------------

def alarms_in_three_parsers(body: bytes) -> dict[str, list[tuple[str, timedelta, str]]]:
    """(action, trigger, description) of the first VEVENT's VALARMs, per parser."""
    found = {"icalendar": [(str(a["ACTION"]), a.decoded("TRIGGER"), str(a["DESCRIPTION"]))
                           for a in icalendar_event(body).walk("VALARM")],
             "vobject": [(a.action.value, a.trigger.value, a.description.value)
                         for a in vobject_event(body).contents.get("valarm", [])],
             "ical": [(a.action, a.trigger, a.description) for a in ical_event(body).alarm]}
    return found


@pytest.mark.parametrize("event_id, triggers", [
    ("zoom-webinar", [timedelta(minutes=-15)]),  # the calendar's
    ("code-only", [timedelta(days=-1), timedelta(0), timedelta(hours=-1)]),  # its own, in order
    ("hybrid-talk", []),  # `reminders: []`: none
])
def test_invites_carry_the_reminders_as_display_alarms(site, event_id, triggers):
    title = next(e.title for e in site.data.events if e.id == event_id)
    for parser, alarms in alarms_in_three_parsers(invite(site, event_id)).items():
        assert alarms == [("DISPLAY", t, title) for t in triggers], parser


def test_feeds_carry_no_alarms_unless_the_calendar_opts_in(data, site):
    assert b"VALARM" not in site.get("feeds/all.ics").body
    assert b"VALARM" not in site.get("feeds/all.json").body
    opted = dataclasses.replace(data, calendar=dataclasses.replace(
        data.calendar, reminders_in_feeds=True))
    feed = build_site(opted).get("feeds/all.ics").body
    parsed = {str(e["UID"]): [a.decoded("TRIGGER") for a in e.walk("VALARM")]
              for e in icalendar.Calendar.from_ical(feed).walk("VEVENT")}
    assert parsed["code-only@events.example.org"] == [timedelta(days=-1), timedelta(0),
                                                      timedelta(hours=-1)]
    assert parsed["hybrid-talk@events.example.org"] == []
    assert b'"valarm"' in build_site(opted).get("feeds/all.json").body
    # the invites are the same bytes either way
    for event in data.events:
        assert build_site(opted).get(f"events/{event.id}.ics").body == invite(site, event.id)


def test_a_cancelled_event_has_no_alarm(data):
    cancelled = dataclasses.replace(data, events=tuple(
        dataclasses.replace(e, status="cancelled") for e in data.events))
    for event in cancelled.events:
        assert b"VALARM" not in build_site(cancelled).get(f"events/{event.id}.ics").body


# --- venues -----------------------------------------------------------------------------------

HALL = 'Hôtel de Ville; "Salle gothique"'
MAP = "https://www.openstreetmap.org/?mlat=50.8467&mlon=4.3525#map=18/50.8467/4.3525"


@pytest.mark.parametrize("parser", PARSERS)
def test_location_is_the_venues_name_and_address_and_the_map_is_a_line(site, parser):
    (event,) = PARSERS[parser](invite(site, "town-hall-meeting"))
    assert event.location == f"{HALL}, Grand-Place 1, 1000 Brussels"
    assert event.description == f"Map: {MAP}"
    (cafe,) = PARSERS[parser](invite(site, "cafe-evening"))
    assert cafe.location == "Café Central"
    assert "Map:" not in cafe.description  # no coordinates, no map


def test_geo_reads_back_in_three_parsers(site):
    body = invite(site, "town-hall-meeting")
    geo = icalendar_event(body)["GEO"]
    assert (geo.latitude, geo.longitude) == (50.8467, 4.3525)
    found = ical_event(body).geo
    assert (found.lat, found.lng) == (50.8467, 4.3525)
    assert vobject_event(body).contents["geo"][0].value == "50.8467;4.3525"


def test_apple_structured_location(site):
    body = invite(site, "town-hall-meeting")
    apple = icalendar_event(body)["X-APPLE-STRUCTURED-LOCATION"]
    assert str(apple) == "geo:50.8467,4.3525"
    assert dict(apple.params) == {"VALUE": "URI", "X-ADDRESS": "Grand-Place 1, 1000 Brussels",
                                  "X-TITLE": HALL}
    (extra,) = [x for x in ical_event(body).extras if x.name == "x-apple-structured-location"]
    assert extra.value == "geo:50.8467,4.3525"
    assert {p.name: p.values for p in extra.params} == {
        "VALUE": ["URI"], "X-ADDRESS": ["Grand-Place 1, 1000 Brussels"], "X-TITLE": [HALL]}
    # vobject reads an unknown property as TEXT: its value ends at the unescaped comma
    assert vobject_event(body).contents["x-apple-structured-location"][0].value == "geo:50.8467"


def test_no_coordinates_no_geo(site):
    body = invite(site, "cafe-evening")
    assert b"GEO" not in body and b"X-APPLE-STRUCTURED-LOCATION" not in body


# --- colours and images -----------------------------------------------------------------------

@pytest.mark.parametrize("path, name, hex_value", [
    ("feeds/all.ics", "steelblue", "#4682B4"),  # the calendar's
    ("feeds/topics/climate.ics", "forestgreen", "#228B22"),  # its topic's
    ("feeds/topics/energy.ics", "steelblue", "#4682B4"),  # a topic without one: the calendar's
    ("feeds/organisers/acme.ics", "steelblue", "#4682B4"),
])
def test_feed_colours_read_back_in_three_parsers(site, path, name, hex_value):
    body = site.get(path).body
    cal = icalendar.Calendar.from_ical(body)
    assert (str(cal["COLOR"]), str(cal["X-APPLE-CALENDAR-COLOR"])) == (name, hex_value)
    forget_vobject_zones(body)
    parsed = vobject.readOne(body.decode())
    assert parsed.contents["color"][0].value == name
    assert parsed.contents["x-apple-calendar-color"][0].value == hex_value
    ours = IcsCalendarStream.calendar_from_ics(body.decode())
    assert ours.color == name
    assert [x.value for x in ours.extras if x.name == "x-apple-calendar-color"] == [hex_value]


def test_invites_and_events_carry_no_colour(site):
    assert b"COLOR" not in invite(site, "zoom-webinar")
    assert b"COLOR" not in site.get("feeds/all.ics").body.split(b"BEGIN:VEVENT")[1]


def test_no_colour_no_colour_properties(data):
    plain = dataclasses.replace(data, calendar=dataclasses.replace(data.calendar, color=None))
    feeds = build_site(plain)
    assert b"COLOR" not in feeds.get("feeds/all.ics").body
    assert b"COLOR:forestgreen" in feeds.get("feeds/topics/climate.ics").body


def test_image_reads_back_in_three_parsers(site):
    url = "https://images.example.org/walk/cover.JPG?size=large"
    body = invite(site, "photo-walk")
    image = icalendar_event(body)["IMAGE"]
    assert str(image) == url
    assert dict(image.params) == {"VALUE": "URI", "DISPLAY": "BADGE", "FMTTYPE": "image/jpeg"}
    (found,) = ical_event(body).image
    assert (found.uri, found.display.value, found.format_type) == (url, "BADGE", "image/jpeg")
    line = vobject_event(body).contents["image"][0]
    assert line.value == url and line.params["DISPLAY"] == ["BADGE"]
    for parser in PARSERS.values():
        (event,) = parser(body)
        assert event.description.endswith(f"\n\nImage: {url}")


def test_a_live_topic_colour_edit_renders_the_topic_feed_again(data, site):
    """The colour is the feed's, not its events': the feed is kept by what it is made of,
    its member (the topic) included."""
    topics = dict(data.topics)
    topics["climate"] = dataclasses.replace(topics["climate"], color="tomato")
    edited = build_site(dataclasses.replace(data, topics=topics), previous=site)
    assert b"COLOR:tomato" in edited.get("feeds/topics/climate.ics").body
    assert edited.get("feeds/all.ics") is site.get("feeds/all.ics")  # the others are kept


# --- attachments ------------------------------------------------------------------------------

DOCS = [("https://docs.example.org/walk/route.pdf", "application/pdf"),
        ("https://docs.example.org/walk/Slides%20final.pptx",
         "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
        ("https://docs.example.org/walk/notes", None)]  # no extension: no FMTTYPE


def test_attachments_read_back_in_three_parsers(site):
    body = invite(site, "photo-walk")
    attach = icalendar_event(body)["ATTACH"]
    assert [(str(a), a.params.get("FMTTYPE")) for a in attach] == DOCS
    assert [(a.uri, a.fmttype) for a in ical_event(body).attach] == DOCS
    assert [(a.value, (a.params.get("FMTTYPE") or [None])[0])
            for a in vobject_event(body).contents["attach"]] == DOCS


@pytest.mark.parametrize("parser", PARSERS)
def test_attachments_are_lines_of_the_description(site, parser):
    (event,) = PARSERS[parser](invite(site, "photo-walk"))
    assert event.description.startswith(
        "Attachments:\n• Route; map, and notes: https://docs.example.org/walk/route.pdf\n"
        "• Slides final.pptx: https://docs.example.org/walk/Slides%20final.pptx\n"
        "• Notes: https://docs.example.org/walk/notes\n\n")


def test_media_types_do_not_depend_on_the_machine():
    from icalpub.ical.event import media_type

    assert media_type("https://x.example/a.PDF?x=1#p") == "application/pdf"
    assert media_type("https://x.example/a.docx") == \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert media_type("https://x.example/a.webp") == "image/webp"
    assert media_type("https://x.example/download?file=a.pdf") is None  # the path decides
    assert media_type("https://x.example/a.unknownext") is None


# --- moved or cancelled occurrences -----------------------------------------------------------

def utc(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return value


def with_recurring_ical_events(body: bytes, uid: str) -> list[tuple]:
    """Occurrences as recurring-ical-events (on icalendar) expands them."""
    import recurring_ical_events

    cal = icalendar.Calendar.from_ical(body)
    return sorted((utc(e.decoded("DTSTART")), utc(e.decoded("DTEND")), str(e["SUMMARY"]),
                   str(e.get("LOCATION", "")))
                  for e in recurring_ical_events.of(cal).between(date(2020, 1, 1), date(2022, 1, 1))
                  if str(e["UID"]) == uid)


def with_ical(body: bytes, uid: str) -> list[tuple]:
    """Occurrences on Home Assistant's ical timeline."""
    from itertools import takewhile

    cal = IcsCalendarStream.calendar_from_ics(body.decode())
    return sorted((utc(e.dtstart), utc(e.dtend), e.summary, e.location or "")
                  for e in takewhile(lambda e: e.dtstart.year < 2022, cal.timeline)
                  if e.uid == uid)


def with_vobject(body: bytes, uid: str) -> list[tuple]:
    """vobject expands a rule (``getrruleset``) but leaves overrides to its caller: done here
    as a client does, by RECURRENCE-ID."""
    forget_vobject_zones(body)
    cal = vobject.readOne(body.decode())
    mine = [e for e in cal.vevent_list if e.uid.value == uid]
    overrides = {utc(e.contents["recurrence-id"][0].value): e for e in mine
                 if "recurrence-id" in e.contents}
    (master,) = [e for e in mine if "recurrence-id" not in e.contents]

    def row(e, start=None):
        first, last = e.dtstart.value, e.dtend.value
        start = first if start is None else start
        if not isinstance(first, datetime):  # all-day: vobject yields midnights
            start = start.date() if isinstance(start, datetime) else start
        location = e.contents["location"][0].value if "location" in e.contents else ""
        return utc(start), utc(start + (last - first)), e.summary.value, location

    found = [row(e) for e in overrides.values()]
    for start in master.getrruleset(addRDate=True):
        if start.year > 2021:
            break
        key = utc(start) if isinstance(master.dtstart.value, datetime) else start.date()
        if key not in overrides:
            found.append(row(master, start))
    return sorted(found)


EXPANDERS = {"recurring-ical-events": with_recurring_ical_events, "ical": with_ical,
             "vobject": with_vobject}
Z = timezone.utc
WEEKLY = [
    (datetime(2021, 3, 2, 9, tzinfo=Z), datetime(2021, 3, 2, 10, tzinfo=Z), "Weekly call", "Room 1"),
    # 9 March: excluded; 16 March moved to the 17th, another room and title
    (datetime(2021, 3, 17, 13, tzinfo=Z), datetime(2021, 3, 17, 14, tzinfo=Z),
     "Weekly call (moved)", "Room 2"),
    # 23 March: cancelled; 30 March (summer time) unchanged
    (datetime(2021, 3, 30, 8, tzinfo=Z), datetime(2021, 3, 30, 9, tzinfo=Z), "Weekly call",
     "Room 1"),
    # 6 April, the last, moved past the series' end
    (datetime(2021, 4, 8, 7, tzinfo=Z), datetime(2021, 4, 8, 9, 30, tzinfo=Z), "Weekly call",
     "Room 1"),
]


@pytest.mark.parametrize("expander", EXPANDERS)
@pytest.mark.parametrize("path", ["events/weekly-call.ics", "feeds/all.ics"])
def test_every_parser_expands_the_changed_series_alike(site, expander, path):
    body = site.get(path).body
    assert EXPANDERS[expander](body, "weekly-call@events.example.org") == WEEKLY


@pytest.mark.parametrize("expander", EXPANDERS)
def test_an_all_day_occurrence_moved_and_lengthened(site, expander):
    found = EXPANDERS[expander](invite(site, "monthly-fair"), "monthly-fair@events.example.org")
    starts = [(start, end) for start, end, _title, _where in found]
    assert (date(2021, 2, 20), date(2021, 2, 22)) in starts  # moved, two days
    assert (date(2021, 2, 13), date(2021, 2, 14)) not in starts  # not at its old date
    assert (date(2021, 1, 9), date(2021, 1, 10)) in starts and \
        (date(2021, 3, 13), date(2021, 3, 14)) in starts  # the others unchanged
    assert len(starts) == 12


def test_recurrence_id_has_the_form_of_dtstart(site):
    body = invite(site, "weekly-call")
    assert b"\r\nRECURRENCE-ID;TZID=Europe/Brussels:20210316T100000\r\n" in body
    assert b"\r\nEXDATE;TZID=Europe/Brussels:20210309T100000,20210323T100000\r\n" in body
    fair = invite(site, "monthly-fair")
    assert b"\r\nRECURRENCE-ID;VALUE=DATE:20210213\r\n" in fair
    components = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert {str(c["UID"]) for c in components} == {"weekly-call@events.example.org"}
    assert {c["SEQUENCE"] for c in components} == {0}
    assert len({c["DTSTAMP"].to_ical() for c in components}) == 1


def test_an_override_keeps_the_series_but_what_it_changes(site):
    components = icalendar.Calendar.from_ical(invite(site, "monthly-fair")).walk("VEVENT")
    spring = next(c for c in components if c.get("RECURRENCE-ID")
                  and c.decoded("RECURRENCE-ID") == date(2021, 3, 13))
    assert str(spring["SUMMARY"]) == "Monthly fair"
    assert str(spring["DESCRIPTION"]) == "Spring edition, with food."
    assert "<strong>with</strong>" in spring["X-ALT-DESC"].to_ical().decode()
    # the alarms of the invite are on every VEVENT of the series
    assert all(c.walk("VALARM") for c in components)


@pytest.mark.parametrize("parser", PARSERS)
def test_the_series_description_lists_the_changes(site, parser):
    master = next(e for e in PARSERS[parser](invite(site, "weekly-call"))
                  if e.summary == "Weekly call" and e.start.month == 3 and e.start.day == 2)
    assert master.description == (
        "Changed occurrences:\n"
        "• 2021-03-16 10:00: moved to 2021-03-17 14:00–15:00; “Weekly call (moved)”; at Room 2\n"
        "• 2021-03-23 10:00: cancelled\n"
        "• 2021-04-06 10:00: moved to 2021-04-08 09:00–11:30")


def test_the_vtimezone_covers_an_occurrence_moved_before_the_series(data):
    from icalpub.ical.calendar import zone_spans

    event = next(e for e in data.events if e.id == "weekly-call")
    moved = dataclasses.replace(event, occurrences=(dataclasses.replace(
        event.occurrences[0], start=event.start.replace(year=2020),
        end=event.end.replace(year=2020)),))
    assert zone_spans((moved,))["Europe/Brussels"][0] == date(2020, 1, 1)


# --- the whole calendars ----------------------------------------------------------------------

def test_feeds_are_their_reference_calendars_with_alarms_and_overrides(data):
    """Feeds assembled from parts (an event with overrides is one part) are icalendar's own
    serialisation of the calendar built in one piece, alarms in the feeds or not."""
    from icalpub.ical.calendar import feed_calendar
    from icalpub.ical.jcal import calendar_to_jcal

    for opted in (False, True):
        variant = dataclasses.replace(data, calendar=dataclasses.replace(
            data.calendar, reminders_in_feeds=opted))
        built = build_site(variant)
        for feed in built.feeds:
            reference = feed_calendar(feed, variant)
            assert built.get(feed.path).body == reference.to_ical(), feed.path
            jcal = built.get(feed.path.replace(".ics", ".json")).body
            assert jcal == calendar_to_jcal(feed_calendar(feed, variant)), feed.path


def test_the_jcal_feed_reads_back(site):
    """jCal (RFC 7265) of the new properties, read by icalendar."""
    cal = icalendar.Calendar.from_jcal(site.get("feeds/all.json").body.decode())
    assert str(cal["COLOR"]) == "steelblue"
    events = {(str(e["UID"]), e.get("RECURRENCE-ID") is not None): e for e in cal.walk("VEVENT")}
    zoom = events[("zoom-webinar@events.example.org", False)]
    assert str(zoom["CONFERENCE"]) == ZOOM and zoom["CONFERENCE"].params["FEATURE"] == "VIDEO"
    hall = events[("town-hall-meeting@events.example.org", False)]
    assert (hall["GEO"].latitude, hall["GEO"].longitude) == (50.8467, 4.3525)
    walk = events[("photo-walk@events.example.org", False)]
    assert [str(a) for a in walk["ATTACH"]][0] == "https://docs.example.org/walk/route.pdf"
    assert str(walk["IMAGE"]).startswith("https://images.example.org/")
    assert sorted(utc(e.decoded("RECURRENCE-ID")) for e in cal.walk("VEVENT")
                  if str(e["UID"]) == "weekly-call@events.example.org" and "RECURRENCE-ID" in e
                  ) == [datetime(2021, 3, 16, 9, tzinfo=Z), datetime(2021, 4, 6, 8, tzinfo=Z)]
