"""Calendars assembled from parts rendered once equal icalendar's own serialisation."""

import json

import icalendar
import pytest

from icalpub.load import load_events
from icalpub.ical.calendar import feed_calendar, invite_calendar
from icalpub.ical.jcal import calendar_to_jcal
from icalpub.ical.parts import Renderer
from icalpub.feeds.kinds import all_feeds
from parsers import parse_all


@pytest.mark.parametrize("name", ["minimal.yaml", "injection.yaml", "../../events.yaml"])
def test_assembled_bytes_equal_icalendar_to_ical(fixture_path, name):
    data = load_events(fixture_path(name))
    renderer = Renderer(data)
    for feed in all_feeds(data):
        assert renderer.feed(feed) == feed_calendar(feed, data).to_ical(), feed.path
        assert renderer.feed_jcal(feed) == calendar_to_jcal(feed_calendar(feed, data)), feed.path
        json.loads(renderer.feed_jcal(feed))
    for event in data.events:
        assert renderer.invite(event) == invite_calendar(event, data).to_ical(), event.id
        assert parse_all(renderer.invite(event))["vobject"]


def test_each_component_is_rendered_once(fixture_path):
    data = load_events(fixture_path("minimal.yaml"))
    renderer = Renderer(data)
    for feed in all_feeds(data):
        renderer.feed(feed)
        renderer.feed_jcal(feed)
    for event in data.events:
        renderer.invite(event)
    vtimezones = {(k, f, l) for k, f, l in [(key[1], key[2], key[3]) for key in renderer.memo._values
                                             if key[0] == "VTIMEZONE"]}
    assert renderer.rendered == len(data.events) + len(vtimezones)
    assert renderer.memo.computed["invite"] == len(data.events)


def test_an_edit_renders_only_the_edited_event_again(tmp_path, fixture_path):
    path = tmp_path / "events.yaml"
    text = fixture_path("minimal.yaml").read_text()
    path.write_text(text)
    first = Renderer(load_events(path))
    feeds = all_feeds(first.data)
    for feed in feeds:
        first.feed(feed)
    path.write_text(text.replace("title: Weekly call", "title: Weekly call (new room)"))
    data = load_events(path)
    second = Renderer(data, previous=first)
    bodies = [second.feed(feed) for feed in all_feeds(data)]
    assert second.rendered == 1
    (event,) = [e for e in icalendar.Calendar.from_ical(bodies[0]).walk("VEVENT")
                if e["UID"].startswith("weekly-call@")]
    assert event["SUMMARY"] == "Weekly call (new room)"
    assert bodies[0] == feed_calendar(all_feeds(data)[0], data).to_ical()


def test_parts_do_not_leak_between_organiser_renames(tmp_path, fixture_path):
    """An event's bytes show its organisers' names: renaming one re-renders its events."""
    path = tmp_path / "events.yaml"
    text = fixture_path("minimal.yaml").read_text()
    path.write_text(text)
    first = Renderer(load_events(path))
    first.feed(all_feeds(first.data)[0])
    path.write_text(text.replace("name: River Network", "name: River Network Europe"))
    data = load_events(path)
    second = Renderer(data, previous=first)
    body = second.feed(all_feeds(data)[0])
    assert second.rendered == 2  # the two events River organises
    assert b"River Network Europe" in body


def test_a_filtered_feed_is_never_taken_for_the_site_feed_at_its_path(fixture_path):
    """The site's feeds are kept by path; a feed computed for a query is not, even when its
    path is the unfiltered one (no query string), so it always holds just its own events."""
    from icalpub.feeds.search import QueryFeed

    data = load_events(fixture_path("minimal.yaml"))
    renderer = Renderer(data)
    everything = all_feeds(data)[0]
    renderer.feed(everything)
    first = everything.events[:1]
    filtered = QueryFeed("all", "all", everything.name, everything.description, first)
    assert filtered.path == everything.path
    body = renderer.feed(filtered)
    assert body.count(b"BEGIN:VEVENT") == 1 < everything.events.__len__()
    assert renderer.feed_jcal(filtered).count(b'["vevent"') == 1


def test_a_feed_patched_in_place_equals_the_feed_joined_anew():
    """``_assembled_form`` patches the previous bytes where parts were replaced: every
    combination of replaced positions (first, last, neighbours, sizes growing and shrinking)
    gives the bytes and part offsets of a fresh join, in both forms."""
    import itertools

    from icalpub.ical.parts import END, Part, _assembled_form

    def part(text: str) -> Part:
        return Part(f"BEGIN:VEVENT\r\nSUMMARY:{text}\r\nEND:VEVENT\r\n".encode(),
                    f'["vevent",[["summary",{{}},"text","{text}"]],[]]'.encode())

    heads = {"ical": b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", "jcal": b'["vcalendar",[],['}
    old_parts = [part(f"event {i}") for i in range(6)]
    for form, head in heads.items():
        old = _assembled_form(form, head, old_parts, None)
        for count in (1, 2, 3):
            for positions in itertools.combinations(range(6), count):
                parts = list(old_parts)
                for n, i in enumerate(positions):
                    parts[i] = part("x" * (n * 7) if n % 2 else f"edited {i} " + "y" * 30)
                patched = _assembled_form(form, head, parts, old)
                fresh = _assembled_form(form, head, parts, None)
                assert patched.body == fresh.body, (form, positions)
                assert list(patched.starts) == list(fresh.starts), (form, positions)
        assert _assembled_form(form, head, list(old_parts), old) is old  # nothing replaced
    assert b"".join([heads["ical"], *(p.ical for p in old_parts), END]) == \
        _assembled_form("ical", heads["ical"], old_parts, None).body
