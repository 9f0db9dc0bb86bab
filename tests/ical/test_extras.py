"""Issue 17's properties (online events, reminders, venues, colours and images, attachments,
moved or cancelled occurrences), each read back by at least two independent parsers, and the
text lines every client shows (DESCRIPTION)."""

from __future__ import annotations

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
