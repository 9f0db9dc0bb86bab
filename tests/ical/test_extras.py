"""Issue 17's properties (online events, reminders, venues, colours and images, attachments,
moved or cancelled occurrences), each read back by at least two independent parsers, and the
text lines every client shows (DESCRIPTION)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

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
