"""jCal (RFC 7265) feeds: produced from the same components as the .ics, so parsing the JSON
back gives the same events as parsing the .ics."""

import json

import icalendar

from parsers import with_icalendar


def test_every_feed_has_a_jcal_twin(rich_site):
    for feed in rich_site.feeds:
        ics = rich_site.get(feed.path)
        jcal = rich_site.get(feed.path.removesuffix(".ics") + ".json")
        assert jcal is not None, feed.path
        assert jcal.content_type == "application/calendar+json; charset=utf-8"
        document = json.loads(jcal.body)
        assert document[0] == "vcalendar"
        back = icalendar.Calendar.from_jcal(document).to_ical()
        assert with_icalendar(back) == with_icalendar(ics.body), feed.path


def test_jcal_shape_follows_rfc_7265(minimal_site):
    name, properties, components = json.loads(minimal_site.get("feeds/all.json").body)
    props = {p[0]: p for p in properties}
    assert props["version"] == ["version", {}, "text", "2.0"]
    assert props["refresh-interval"][2:] == ["duration", "PT6H"]
    events = {next(p[3] for p in c[1] if p[0] == "uid"): c
              for c in components if c[0] == "vevent"}
    winter = {p[0]: p for p in events["winter-webinar@events.example.org"][1]}
    # §3.4.1: local time with its TZID parameter, ISO 8601 extended form
    assert winter["dtstart"] == ["dtstart", {"tzid": "Europe/Brussels"}, "date-time",
                                 "2021-01-19T14:00:00"]
    assert winter["organizer"][1] == {"cn": "ACME Foundation"}
    assert winter["categories"][3:] == ["Circular economy", "Public procurement"]
    allday = {p[0]: p for p in events["summer-school@events.example.org"][1]}
    assert allday["dtstart"][2:] == ["date", "2021-07-05"]
    timezones = [c for c in components if c[0] == "vtimezone"]
    assert {next(p[3] for p in c[1] if p[0] == "tzid") for c in timezones} == {
        "Europe/Brussels", "America/New_York"}


def test_jcal_is_deterministic(rich_site):
    from icalpub.load import load_events
    from icalpub.site import build_site
    again = build_site(load_events(rich_site.data.source))
    assert again.get("feeds/all.json").body == rich_site.get("feeds/all.json").body
