"""Feed kinds (icalpub.feeds.kinds): the feeds of a file, and the registry of kinds."""

import json
from datetime import datetime, timezone
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from htmlparse import hrefs
from parsers import parse_all

from icalpub.feeds import kinds
from icalpub.feeds.kinds import FeedKind, all_feeds, register
from icalpub.feeds.search import filter_events, fold, parse_query
from icalpub.load import load_events
from icalpub.serve.app import create_app
from icalpub.site import build_site


def test_feeds_and_their_order(fixture_path):
    feeds = all_feeds(load_events(fixture_path("minimal.yaml")))
    assert [(f.kind.name, f.slug) for f in feeds] == [
        ("all", "all"), ("topic", "circular"), ("topic", "procurement"),
        ("organiser", "acme"), ("organiser", "nobody"), ("organiser", "river")]
    assert [f.path for f in feeds][:2] == ["feeds/all.ics", "feeds/topics/circular.ics"]
    everything = feeds[0].events
    starts = [e.start for e in everything]
    assert [e.id for e in everything][:2] == ["winter-webinar", "cancelled-talk"]
    assert len(everything) == 7 and starts[0] < starts[-1]


# --- the registry, end to end: a fourth kind registered by a test, nothing in src ---------------

FIXTURES = Path(__file__).parent.parent / "fixtures"


@dataclass(frozen=True)
class Location:
    slug: str
    name: str


def location_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def locations(data):
    return {location_slug(e.location): Location(location_slug(e.location), e.location)
            for e in data.events if e.location}


LOCATION = FeedKind(
    name="location", folder="locations", label="location", legend="Locations",
    members=locations,
    slugs_of=lambda event: (location_slug(event.location),) if event.location else (),
    describe=lambda location, _cal: f"Events at {location.name}.", heading="Location: {}")


def test_a_registered_kind_is_published_everywhere(tmp_path, rich_data):
    """Registering a kind is all it takes: its feeds, jCal twins and listing pages, its
    entries in feeds.json, the calendars list and the search form, its search filter, and
    the server's answers at its URLs; and it is gone again after the block."""
    at_zoom = [e.id for e in rich_data.events if e.location == "Online (Zoom)"]
    assert len(at_zoom) == 1
    with register(LOCATION):
        site = build_site(rich_data)
        feed = site.get("feeds/locations/online-zoom.ics")
        assert feed is not None and feed.content_type.startswith("text/calendar")
        for parser, events in parse_all(feed.body).items():
            assert [uid.split("@")[0] for uid in events] == at_zoom, parser
        assert b"X-WR-CALNAME:Rich events: Online (Zoom)\r\n" in feed.body
        assert b"DESCRIPTION:Events at Online (Zoom).\r\n" in feed.body
        jcal = json.loads(site.get("feeds/locations/online-zoom.json").body)
        assert [c[0] for c in jcal[2]].count("vevent") == 1
        page = site.get("locations/online-zoom/index.html")
        assert page is not None and page.content_type.startswith("text/html")
        assert "<h1>Location: Online (Zoom)</h1>" in page.body.decode()
        entries = [f for f in json.loads(site.get("feeds.json").body)["feeds"]
                   if f["kind"] == "location"]
        assert {f["slug"]: f["event_count"] for f in entries} == {
            location_slug(e.location): 1 for e in rich_data.events if e.location}
        assert next(f for f in entries if f["slug"] == "online-zoom")["url"] == \
            "https://events.example.org/calendar/feeds/locations/online-zoom.ics"
        home = site.get("index.html").body
        assert b"<legend>Locations</legend>" in home
        assert b'name="location" value="online-zoom"' in home
        calendars = site.get("calendars/index.html").body
        assert "/calendar/locations/online-zoom" in hrefs(calendars)
        assert b'<h2 id="kind-location">Locations</h2>' in calendars
        query = parse_query({"location": ["online-zoom"]}, rich_data)
        assert [e.id for e in filter_events(rich_data, query)] == at_zoom

        events = tmp_path / "events.yaml"
        shutil.copy(FIXTURES / "rich.yaml", events)
        client = create_app({"TESTING": True, "EVENTS_PATH": str(events),
                             "RELOAD_INTERVAL": 0}).test_client()
        for url in ("/feeds/locations/online-zoom.ics", "/feeds/locations/online-zoom.json",
                    "/locations/online-zoom", "/locations/online-zoom/"):
            response = client.get(url)
            assert response.status_code == 200, url
        served = client.get("/feeds/locations/online-zoom.ics").data  # with tracked values
        assert [uid.split("@")[0] for uid in parse_all(served)["icalendar"]] == at_zoom
        today = rich_data.calendar.today(datetime.now(timezone.utc))  # the server's as_of
        assert client.get("/locations/online-zoom").data == \
            build_site(rich_data, as_of=today).get("locations/online-zoom/index.html").body
        searched = client.get("/feeds/all.ics?location=online-zoom")
        assert searched.status_code == 200
        assert [uid.split("@")[0] for uid in parse_all(searched.data)["icalendar"]] == at_zoom
        assert client.get("/feeds/all.ics?location=nowhere").status_code == 400
        assert client.get("/feeds/locations/nowhere.ics").status_code == 404
    assert LOCATION not in kinds.KINDS
    after = build_site(rich_data)
    assert not any(path.startswith(("locations/", "feeds/locations/")) for path in after.resources)
