"""Calendars assembled from parts rendered once equal icalendar's own serialisation."""

import json
from datetime import datetime, timedelta, timezone

import icalendar
import pytest
from parsers import parse_all

from icalpub.core import urls
from icalpub.core.model import Tracked
from icalpub.feeds.kinds import all_feeds
from icalpub.feeds.search import parse_query, query_feed
from icalpub.ical import parts as parts_module
from icalpub.ical.calendar import feed_calendar, invite_calendar, zone_spans
from icalpub.ical.jcal import calendar_to_jcal
from icalpub.ical.parts import event_part, feed_ical, feed_jcal, invite
from icalpub.load import load_events
from icalpub.site import build_site

T0 = datetime(2021, 1, 1, tzinfo=timezone.utc)


def tracked_values(data):
    """Tracked values that differ per event (another SEQUENCE and DTSTAMP each)."""
    return {e.id: Tracked(i, T0, T0 + timedelta(hours=i), T0 + timedelta(hours=i, minutes=1))
            for i, e in enumerate(data.events)}


@pytest.mark.parametrize("with_tracked", [False, True], ids=["untracked", "tracked"])
@pytest.mark.parametrize("name", ["minimal.yaml", "injection.yaml", "rich.yaml",
                                  "../../events.yaml"])
def test_assembled_bytes_equal_icalendar_to_ical(fixture_path, name, with_tracked):
    """Every feed, its jCal and every invite, joined from parts, are the bytes icalendar
    writes for the same calendar built in one piece; and they are what the site publishes."""
    data = load_events(fixture_path(name))
    tracked = tracked_values(data) if with_tracked else {}
    site = build_site(data, tracked)
    cal = data.calendar
    parts = {e.id: event_part(data.inputs(e), tracked.get(e.id)) for e in data.events}
    for feed in all_feeds(data):
        reference = feed_calendar(feed, data, tracked)
        feed_parts = [parts[e.id] for e in feed.events]
        assert feed_ical(feed, cal, feed_parts) == reference.to_ical(), feed.path
        assert feed_jcal(feed, cal, feed_parts) == calendar_to_jcal(reference), feed.path
        json.loads(feed_jcal(feed, cal, feed_parts))
        assert site.get(feed.path).body == reference.to_ical(), feed.path
        assert site.get(urls.jcal_path(feed.path)).body == calendar_to_jcal(reference), feed.path
    for event in data.events:
        inputs = data.inputs(event)
        reference = invite_calendar(inputs, tracked.get(event.id)).to_ical()
        assert invite(inputs, parts[event.id]) == reference, event.id
        assert site.get(urls.invite_path(event.id)).body == reference, event.id
        assert parse_all(reference)["vobject"]
    if with_tracked:
        last = len(data.events) - 1  # the last event's tracked SEQUENCE
        assert f"SEQUENCE:{last}\r\n".encode() in site.get(urls.ALL_FEED).body


def test_a_search_feed_equals_its_reference(fixture_path):
    """A filtered feed (its own path, its events) is assembled from the same parts, and
    equals icalendar's to_ical() of the same filtered feed; the site's feed at the
    unfiltered path is not touched."""
    data = load_events(fixture_path("rich.yaml"))
    tracked = tracked_values(data)
    site = build_site(data, tracked)
    everything = site.get(urls.ALL_FEED)
    query = parse_query({"topic": ["circular-economy"]}, data)
    feed = query_feed(data, query)
    assert 0 < len(feed.events) < len(data.events)
    found = site.search(urls.ALL_FEED, query)
    assert found.path == "feeds/all.ics?topic=circular-economy"
    assert found.body == feed_calendar(feed, data, tracked).to_ical()
    assert found.body.count(b"BEGIN:VEVENT") == len(feed.events)
    jcal = site.search(urls.jcal_path(urls.ALL_FEED), query)
    assert jcal.body == calendar_to_jcal(feed_calendar(feed, data, tracked))
    assert site.get(urls.ALL_FEED) is everything
    assert everything.body.count(b"BEGIN:VEVENT") == len(data.events)


def count_calls(monkeypatch, name):
    """Count the calls of ``icalpub.ical.parts.<name>`` (what renders a component)."""
    calls = []
    real = getattr(parts_module, name)
    monkeypatch.setattr(parts_module, name, lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


def test_each_component_is_rendered_once(fixture_path, monkeypatch):
    """A site shows each event in several feeds, its invite and their jCal twins, and each
    zone in several of them: each VEVENT and each VTIMEZONE is built once."""
    data = load_events(fixture_path("rich.yaml"))
    parts_module.timezone_part.cache_clear()
    vevents = count_calls(monkeypatch, "vevents")
    vtimezones = count_calls(monkeypatch, "build_vtimezone")
    site = build_site(data)
    assert sorted(inputs.event.id for inputs, *_ in vevents) == sorted(e.id for e in data.events)
    spans = {(zone, first, last) for feed in site.feeds
             for zone, (first, last) in zone_spans(feed.events).items()}
    spans |= {(zone, first, last) for e in data.events
              for zone, (first, last) in zone_spans((e,)).items()}
    assert len(spans) >= 2
    assert sorted(vtimezones) == sorted(spans)
    assert site.get(urls.ALL_FEED).body.count(b"BEGIN:VTIMEZONE") >= 2


def test_an_edit_renders_only_the_edited_event_again(tmp_path, fixture_path, monkeypatch):
    path = tmp_path / "events.yaml"
    text = fixture_path("minimal.yaml").read_text()
    path.write_text(text)
    first = build_site(load_events(path))
    path.write_text(text.replace("title: Weekly call", "title: Weekly call (new room)"))
    data = load_events(path)
    vevents = count_calls(monkeypatch, "vevents")
    second = build_site(data, previous=first)
    assert [inputs.event.id for inputs, *_ in vevents] == ["weekly-call"]
    body = second.get(urls.ALL_FEED).body
    (event,) = [e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")
                if e["UID"].startswith("weekly-call@")]
    assert event["SUMMARY"] == "Weekly call (new room)"
    assert body == feed_calendar(all_feeds(data)[0], data).to_ical()


def test_parts_do_not_leak_between_organiser_renames(tmp_path, fixture_path, monkeypatch):
    """An event's bytes show its organisers' names: renaming one re-renders its events."""
    path = tmp_path / "events.yaml"
    text = fixture_path("minimal.yaml").read_text()
    path.write_text(text)
    first = build_site(load_events(path))
    path.write_text(text.replace("name: River Network", "name: River Network Europe"))
    data = load_events(path)
    vevents = count_calls(monkeypatch, "vevents")
    second = build_site(data, previous=first)
    river = sorted(e.id for e in data.events if "river" in e.organisers)
    assert len(river) == 2
    assert sorted(inputs.event.id for inputs, *_ in vevents) == river
    body = second.get(urls.ALL_FEED).body
    assert b"River Network Europe" in body
    assert body == feed_calendar(all_feeds(data)[0], data).to_ical()
    for event_id in river:
        assert b"River Network Europe" in second.get(urls.invite_path(event_id)).body
