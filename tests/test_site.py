import hashlib
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from icalpub.core import urls
from icalpub.site import GZIP_HEADER, Resource, build_site, gzip_body

FIXTURES = Path(__file__).parent / "fixtures"


def test_every_resource_path(minimal_site):
    feeds = ["feeds/all", "feeds/topics/circular", "feeds/topics/procurement",
             "feeds/organisers/acme", "feeds/organisers/nobody", "feeds/organisers/river"]
    events = [e.id for e in minimal_site.data.events]
    assert sorted(minimal_site.resources) == sorted([
        *(f"{feed}.ics" for feed in feeds), "feeds.json", *(f"events/{e}.ics" for e in events),
        # jCal twins, pages (directory/index.html, as static hosts serve them), assets
        *(f"{feed}.json" for feed in feeds), "index.html", "static/style.css", "static/app.js",
        "calendars/index.html", "archive/index.html", "404.html",
        *(f"events/{e}/index.html" for e in events),
        "topics/circular/index.html", "topics/procurement/index.html",
        "organisers/acme/index.html", "organisers/nobody/index.html",
        "organisers/river/index.html"])


def test_etag_is_a_digest_of_the_bytes(minimal_site):
    for resource in minimal_site.resources.values():
        assert resource.etag == hashlib.sha256(resource.body).hexdigest()[:32]


def test_feeds_json_is_deterministic(minimal_site):
    again = build_site(minimal_site.data)
    assert again.get("feeds.json").body == minimal_site.get("feeds.json").body
    assert json.loads(minimal_site.get("feeds.json").body)["calendar"] == {
        "name": "Test events", "url": "https://events.example.org/"}


def test_every_calendar_resource_reads_back_as_the_model_says(minimal_site, seed_site):
    """Every feed and invite, every parser: the events it should hold, at the model's instants."""
    from datetime import datetime, timezone

    from parsers import parse_all

    def instant(value):
        return value.astimezone(timezone.utc) if isinstance(value, datetime) else value

    for site in (minimal_site, seed_site):
        expected_members = {f.path: {e.id for e in f.events} for f in site.feeds}
        expected_members.update({f"events/{e.id}.ics": {e.id} for e in site.data.events})
        model = {e.id: (instant(e.start), instant(e.end)) for e in site.data.events}
        for path, members in expected_members.items():
            for parser, events in parse_all(site.get(path).body).items():
                got = {uid.split("@")[0]: (e.start, e.end) for uid, e in events.items()}
                assert got == {m: model[m] for m in members}, (path, parser)


def test_gzipped_bytes_are_deterministic(minimal_site):
    """The gzip body the server sends and the build writes: no name, no mtime, the same bytes
    for the same body, whichever site computed it."""
    import gzip

    resource = minimal_site.get("feeds/all.ics")
    packed = gzip_body(resource.body)
    assert resource.compressible and gzip.decompress(packed) == resource.body
    assert packed.startswith(GZIP_HEADER) and len(packed) < len(resource.body)
    assert gzip_body(build_site(minimal_site.data).get("feeds/all.ics").body) == packed
    assert packed[3] == 0 and packed[4:8] == bytes(4)  # no FNAME, MTIME 0
    # too small to pay, or not text: served and written as they are
    assert not Resource("x", b"BEGIN:VCALENDAR\r\n", "text/calendar").compressible
    assert not Resource("x", bytes(1000), "image/png").compressible


def _edits(path):
    """Edits of events.yaml, each published on top of the previous site: a title edit, an
    added line (every later event moves), an organiser renamed, an event moved to another
    place in the feeds (same year), one moved to another year (its zone's VTIMEZONE must cover
    more), the calendar's description and a topic's (shown by feeds and listings, by no
    event), the calendar's name (shown by every event), the refresh interval (a feed header),
    a new topic nobody uses yet (a new feed, page and search filter), an event added, an event
    removed."""
    text = path.read_text(encoding="utf-8")
    yield text.replace("title: Hybrid forum", "title: Hybrid forum (moved)")
    yield text.replace("title: Hybrid forum", "title: Hybrid forum (moved)\n    # a comment line")
    yield text.replace("name: Réseau Rivière", "name: Réseau Rivière Europe")
    yield text.replace("start: 2021-03-30 10:00\n    end: 2021-03-30 12:00",
                       "start: 2021-01-05 10:00\n    end: 2021-01-05 12:00")
    yield text.replace("start: 2021-11-07 09:00\n    end: 2021-11-07 11:00",
                       "start: 2023-11-07 09:00\n    end: 2023-11-07 11:00")
    yield text.replace("description: Markdown, links and buttons.",
                       "description: Markdown, links, buttons and more.")
    yield text.replace("    name: Public procurement\n",
                       "    name: Public procurement\n    description: Buying for the public.\n")
    yield text.replace("  name: Rich events\n", "  name: Rich events (renamed)\n")
    yield text.replace("  timezone: Europe/Brussels\n",
                       "  timezone: Europe/Brussels\n  refresh: PT6H\n")
    yield text.replace("topics:\n", "topics:\n  unused:\n    name: Not used yet\n", 1)
    yield text.replace("events:\n", "events:\n  - id: added\n    title: Added\n"
                       "    start: 2021-06-01 10:00\n    duration: PT1H\n"
                       "    topics: [procurement]\n", 1)
    start = text.index("  - id: summer-school")
    end = text.index("\n  - ", start + 1)
    yield text[:start] + text[end + 1:]


def _render(outcome):
    return build_site(outcome.data, outcome.tracked)


def _described(site):
    """Everything a site publishes about each resource."""
    return {p: (r.body, r.etag, r.content_type, r.download_name)
            for p, r in site.resources.items()}


@pytest.mark.parametrize("optimistic", [False, True], ids=["worker", "master"])
def test_a_site_built_on_the_previous_one_equals_a_fresh_build(tmp_path, optimistic):
    """What a server publishes after each edit (its site built on the previous one, taking
    over the previous events' outputs and unchanged feeds and listings, and the hashes of the
    previous outcome) is byte for byte what a fresh build of the same file and state publishes
    — a worker's careful turns or a watching master's optimistic save, against ``icalpub
    build``'s settings (optimistic) or the default: every body, ETag, type, download name and
    Last-Modified, and the state file it leaves."""
    from icalpub.changes.publish import publish
    from icalpub.load import EventsCache, load_events

    path = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "rich.yaml", path)
    cache, now = EventsCache(), datetime(2021, 1, 1, tzinfo=timezone.utc)
    result = publish(load_events(path, cache=cache), tmp_path / "state.json", _render, now=now)
    steps = list(_edits(path))
    assert len(steps) == 12 and len(set(steps)) == 12
    for step, text in enumerate(steps, 1):
        path.write_text(text, encoding="utf-8")
        now += timedelta(hours=1)
        before = result.site
        result = publish(load_events(path, cache=cache), tmp_path / "state.json",
                         lambda outcome: build_site(outcome.data, outcome.tracked, before),
                         now=now, optimistic=optimistic, previous=result.outcome)
        site = result.site
        if step == 2:  # only lines moved: every event's outputs are taken over
            assert site.cache.rendered == 0
            assert all(site.get(urls.invite_path(e.id)) is before.get(urls.invite_path(e.id))
                       for e in site.data.events)
        else:  # every other edit shows somewhere
            assert _described(site) != _described(before), step
        shutil.copy(tmp_path / "state.json", tmp_path / "fresh.json")
        fresh = publish(load_events(path), tmp_path / "fresh.json", _render, now=now,
                        optimistic=step % 2 == 0)
        assert sorted(site.resources) == sorted(fresh.site.resources), step
        assert _described(site) == _described(fresh.site), step
        assert result.modified == fresh.modified, step
        assert (tmp_path / "state.json").read_bytes() == (tmp_path / "fresh.json").read_bytes()
        assert [f.path for f in site.feeds] == [f.path for f in fresh.site.feeds], step


def test_a_chain_of_incremental_builds_equals_fresh_builds(rich_data):
    """Without the state file: every site of a chain of edits, each built on the one before
    (and so on values kept across several sites), equals a fresh build of its data."""
    from dataclasses import replace

    events = rich_data.events
    versions = [
        rich_data,
        replace(rich_data, events=(replace(events[0], title="Edited"), *events[1:])),
        replace(rich_data, events=events[1:]),  # the edited event removed
        rich_data,  # back to the first version: its values were dropped two sites ago
        replace(rich_data, events=(*events[:2], replace(events[2], location="Elsewhere"),
                                   *events[3:])),
        replace(rich_data, calendar=replace(rich_data.calendar,
                                            base_url="https://moved.example/cal")),
    ]
    site = None
    for number, data in enumerate(versions):
        site = build_site(data, previous=site)
        assert _described(site) == _described(build_site(data)), number


def _shows(site, path, event_id):
    """Whether the feed or listing at ``path`` holds the event."""
    feed = next(f for f in site.feeds if path in (f.path, urls.jcal_path(f.path),
                                                     urls.page_resource(f.page_path)))
    return any(e.id == event_id for e in feed.events)


def test_an_edit_renders_only_what_shows_the_edited_event(tmp_path):
    """After an edit of one event, every other event's invite and page is the previous
    Resource object, and a feed, jCal twin or listing is a new object exactly when it shows
    the edited event; the rest has the same bytes, but feeds.json, which gives each feed's
    size."""
    from icalpub.load import load_events

    path = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "rich.yaml", path)
    first = build_site(load_events(path))
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Hybrid forum", "title: Hybrid forum (moved)"), encoding="utf-8")
    second = build_site(load_events(path), previous=first)
    assert second.cache.rendered == 1  # one event rendered; the others taken over
    assert sorted(second.resources) == sorted(first.resources)
    edited = "hybrid-forum"
    by_feed = {p for f in second.feeds
               for p in (f.path, urls.jcal_path(f.path), urls.page_resource(f.page_path))}
    per_event = {p for e in second.data.events
                 for p in (urls.invite_path(e.id), urls.page_resource(urls.event_page_path(e.id)))}
    new = {p for p, r in second.resources.items() if r is not first.resources[p]}
    assert {p for p in new if p in per_event} == {
        urls.invite_path(edited), urls.page_resource(urls.event_page_path(edited))}
    assert {p for p in new if p in by_feed} == {p for p in by_feed
                                                if _shows(second, p, edited)}
    assert 3 <= len({p for p in by_feed if _shows(second, p, edited)}) < len(by_feed)
    for p in set(second.resources) - per_event - by_feed - {"feeds.json"}:
        assert second.resources[p].body == first.resources[p].body, p
    counts = [{k: v for k, v in f.items() if k != "bytes"}
              for site in (first, second) for f in json.loads(site.get("feeds.json").body)["feeds"]]
    assert counts[:len(counts) // 2] == counts[len(counts) // 2:]
    for p in new & (per_event | by_feed):
        assert b"Hybrid forum (moved)" in second.resources[p].body, p


def test_an_edit_no_event_shows_renders_no_event(tmp_path):
    """A topic's description is shown by its feed (DESCRIPTION) and listing, by no event:
    no event is rendered again, no event's resource is replaced, and the site equals a fresh
    build."""
    from icalpub.load import load_events

    path = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "rich.yaml", path)
    first = build_site(load_events(path))
    path.write_text(path.read_text(encoding="utf-8").replace(
        "    name: Public procurement\n",
        "    name: Public procurement\n    description: Buying for the public.\n"),
        encoding="utf-8")
    data = load_events(path)
    second = build_site(data, previous=first)
    assert second.cache.rendered == 0
    assert _described(second) == _described(build_site(data))
    new = {p for p, r in second.resources.items() if r is not first.resources[p]}
    assert {"feeds/topics/procurement.ics", "feeds/topics/procurement.json",
            "topics/procurement/index.html"} <= new
    assert not any(p.startswith("events/") for p in new), new
    assert "feeds/all.ics" not in new and "feeds/topics/circular-economy.ics" not in new


def test_a_site_built_on_the_previous_one_follows_tracked_values_alone(fixture_path):
    """The same events with another SEQUENCE for one of them (another process decided it):
    that event's invite and the feeds showing it change, every other resource is taken over."""
    from dataclasses import replace
    from datetime import datetime, timezone

    from icalpub.core.model import Tracked
    from icalpub.load import load_events

    data = load_events(fixture_path("rich.yaml"))
    when = datetime(2021, 1, 1, tzinfo=timezone.utc)
    tracked = {e.id: Tracked(0, when, when, when) for e in data.events}
    first = build_site(data, tracked)
    bumped = data.events[2].id
    later = dict(tracked, **{bumped: replace(tracked[bumped], sequence=1)})
    second = build_site(data, later, previous=first)
    assert {p: r.body for p, r in second.resources.items()} == \
        {p: r.body for p, r in build_site(data, later).resources.items()}
    assert b"SEQUENCE:1" in second.resources[f"events/{bumped}.ics"].body
    changed = {p for p, r in second.resources.items() if r is not first.resources[p]}
    assert f"events/{bumped}.ics" in changed and "feeds/all.ics" in changed
    assert not any(p.startswith("events/") and bumped not in p for p in changed)
    page = urls.page_resource(urls.event_page_path(bumped))  # shows no tracked value
    assert second.get(page).body == first.get(page).body
