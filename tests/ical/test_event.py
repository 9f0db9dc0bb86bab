"""The properties of one VEVENT, and text that must stay inside its property."""

import icalendar
import pytest

from icalpub.load import load_events
from icalpub.site import build_site
from parsers import PARSERS, parse_all


def vevent(site, event_id):
    cal = icalendar.Calendar.from_ical(site.get(f"events/{event_id}.ics").body)
    (event,) = cal.walk("VEVENT")
    return event


def test_every_vevent_has_the_required_properties(minimal_site, seed_site):
    for site in (minimal_site, seed_site):
        cal = icalendar.Calendar.from_ical(site.get("feeds/all.ics").body)
        for event in cal.walk("VEVENT"):
            for key in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "URL", "ORGANIZER",
                        "STATUS", "SEQUENCE", "CLASS", "TRANSP"):
                assert key in event, (event["UID"], key)
            assert event.decoded("DTSTAMP").utcoffset().total_seconds() == 0
            assert event["CLASS"] == "PUBLIC" and event["TRANSP"] == "OPAQUE"


def test_winter_webinar_properties(minimal_site):
    event = vevent(minimal_site, "winter-webinar")
    assert event["UID"] == "winter-webinar@events.example.org"
    assert event["SUMMARY"] == "Winter webinar"
    assert event["LOCATION"] == "Online (Zoom)"
    assert event["URL"] == "https://events.example.org/events/winter-webinar"
    assert event["ORGANIZER"] == "mailto:events@acme.example"
    assert event["ORGANIZER"].params["CN"] == "ACME Foundation"
    assert event["CATEGORIES"].cats == ["Circular economy", "Public procurement"]
    assert event["CONTACT"] == "Alice +32 2 123 45 67"
    assert event["SEQUENCE"] == 0 and event["STATUS"] == "CONFIRMED"
    assert event["DESCRIPTION"] == (
        "First paragraph.\n\nSecond paragraph.\n\n"
        "Agenda:\n• Welcome – Alice, ACME\n• Panel – Bob, River\n\n"
        "Organised by: ACME Foundation, River Network\n\n"
        "Register: https://events.example.org/register/winter\n\n"
        "Contact:\nAlice +32 2 123 45 67")


@pytest.mark.parametrize("event_id, organizer", [
    ("summer-workshop", "https://river.example/"),  # no email: the organiser's url
    ("summer-school", "https://events.example.org/feeds/organisers/nobody.ics"),  # their feed
    ("utc-briefing", "https://events.example.org/"),  # no organiser: the site itself
])
def test_organizer_is_never_an_invented_mailbox(minimal_site, event_id, organizer):
    assert vevent(minimal_site, event_id)["ORGANIZER"] == organizer


def test_explicit_url_status_and_updated(minimal_site):
    assert vevent(minimal_site, "summer-workshop")["URL"] == "https://river.example/summer"
    assert vevent(minimal_site, "new-york-meetup")["STATUS"] == "TENTATIVE"
    briefing = vevent(minimal_site, "utc-briefing")
    assert briefing["DTSTAMP"].to_ical() == b"20210520T080000Z"
    assert briefing["LAST-MODIFIED"].to_ical() == b"20210520T080000Z"


def test_dtstamp_without_updated_is_stable_not_the_clock(minimal_site):
    assert vevent(minimal_site, "winter-webinar")["DTSTAMP"].to_ical() == b"20210119T130000Z"


def test_uid_is_stable_across_edits(tmp_path, fixture_path):
    text = fixture_path("minimal.yaml").read_text()
    path = tmp_path / "events.yaml"
    path.write_text(text.replace("title: Winter webinar", "title: Winter webinar (moved)")
                    .replace("start: 2021-01-19 14:00", "start: 2021-01-20 10:00")
                    .replace("end: 2021-01-19 16:00", "end: 2021-01-20 12:00"))
    event = vevent(build_site(load_events(path)), "winter-webinar")
    assert event["UID"] == "winter-webinar@events.example.org"
    assert event["SUMMARY"] == "Winter webinar (moved)"


@pytest.mark.parametrize("parser", PARSERS)
def test_text_cannot_inject_properties_or_components(fixture_path, parser):
    site = build_site(load_events(fixture_path("injection.yaml")))
    body = site.get("feeds/all.ics").body
    content_lines = body.split(b"\r\n")
    assert content_lines.count(b"BEGIN:VEVENT") == 1 and content_lines.count(b"END:VEVENT") == 1
    assert [line for line in content_lines if line.startswith(b"UID:")] == [
        b"UID:feeds/all.ics@events.example.org", b"UID:injection@events.example.org"]
    assert not any(line.startswith((b"ATTENDEE", b"SUMMARY:injected")) for line in content_lines)
    (event,) = PARSERS[parser](body)
    assert event.summary == "Title, with; specials \\ and BEGIN:VEVENT UID:injected"
    assert event.location == "Room 1; Building, B END:VEVENT"
    assert event.description.startswith(
        "Line one, ü ç 中文 🎉\nBEGIN:VEVENT\nSUMMARY:injected\nEND:VEVENT\nlast\\line\n\n"
        "Agenda:\n• Item; one ATTENDEE:mailto:x@example.org")
    assert event.contacts == ("Call: +32, ext; 5\\6",)
    if parser != "ical":
        # Home Assistant's ical 14.3 splits CATEGORIES at escaped commas ("Topic\\, with").
        assert event.categories == ("Topic, with; separators",)
    assert event.organizer == "mailto:evil@example.org"


def test_escaped_calendar_name_reads_back(fixture_path):
    import vobject

    body = build_site(load_events(fixture_path("injection.yaml"))).get("feeds/all.ics").body
    parsed = vobject.readOne(body.decode())
    assert parsed.contents["x-wr-calname"][0].value == "Inject, test; calendar \\ ü"
    assert parsed.contents["name"][0].value == "Inject, test; calendar \\ ü"
    assert parse_all(body)["icalendar"]  # still one event for every parser
