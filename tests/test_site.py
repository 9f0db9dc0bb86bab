import hashlib
import json

import pytest

from icalpub.ical import Renderer
from icalpub.site import build_site, pack_fresh


def test_every_resource_path(minimal_site):
    feeds = ["feeds/all", "feeds/topics/circular", "feeds/topics/procurement",
             "feeds/organisers/acme", "feeds/organisers/nobody", "feeds/organisers/river"]
    events = [e.id for e in minimal_site.data.events]
    assert sorted(minimal_site.resources) == sorted([
        *(f"{feed}.ics" for feed in feeds), "feeds.json", *(f"events/{e}.ics" for e in events),
        # issue 3: jCal twins, pages (directory/index.html, as static hosts serve them), assets
        *(f"{feed}.json" for feed in feeds), "index.html", "static/style.css", "static/app.js",
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
    import gzip

    resource = minimal_site.get("feeds/all.ics")
    assert resource.compressible and gzip.decompress(resource.gzipped) == resource.body
    assert build_site(minimal_site.data).get("feeds/all.ics").gzipped == resource.gzipped


def _edits(path):
    """A title edit, an added line (every later event moves), an organiser renamed, an event
    moved to another place in the feeds (same year), one moved to another year (its zone's
    VTIMEZONE must cover more), an event removed: each step is published on top of the
    previous site."""
    text = path.read_text(encoding="utf-8")
    yield text.replace("title: Hybrid forum", "title: Hybrid forum (moved)")
    yield text.replace("title: Hybrid forum", "title: Hybrid forum (moved)\n    # a comment line")
    yield text.replace("name: Réseau Rivière", "name: Réseau Rivière Europe")
    yield text.replace("start: 2021-03-30 10:00\n    end: 2021-03-30 12:00",
                       "start: 2021-01-05 10:00\n    end: 2021-01-05 12:00")
    yield text.replace("start: 2021-11-07 09:00\n    end: 2021-11-07 11:00",
                       "start: 2023-11-07 09:00\n    end: 2023-11-07 11:00")
    start = text.index("  - id: summer-school") if "  - id: summer-school" in text else None
    if start is not None:
        end = text.index("\n  - ", start + 1)
        yield text[:start] + text[end + 1:]


@pytest.mark.parametrize("optimistic", [False, True], ids=["worker", "master"])
def test_a_site_built_on_the_previous_one_equals_a_fresh_build(tmp_path, optimistic):
    """What a server publishes after each edit (reusing the previous site's parts, pages and
    listings, and the events cache) is byte for byte what a fresh build of the same file and
    state publishes — a worker's careful turns or a watching master's optimistic save, and
    ``icalpub build``'s settings (optimistic, nothing kept for a next site) or the default."""
    import shutil
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from icalpub.load import EventsCache, load_events
    from icalpub.changes.publish import publish

    rich = Path(__file__).parent / "fixtures" / "rich.yaml"
    path = tmp_path / "events.yaml"
    shutil.copy(rich, path)
    cache, now = EventsCache(), datetime(2021, 1, 1, tzinfo=timezone.utc)
    site = publish(load_events(path, cache=cache), tmp_path / "state.json", now=now,
                   built=lambda new: pack_fresh(new, None)).site
    steps = list(_edits(path))
    assert len(steps) == 6 and len(set(steps)) == 6
    for step, text in enumerate(steps, 1):
        path.write_text(text, encoding="utf-8")
        now += timedelta(hours=1)
        before = site
        site = publish(load_events(path, cache=cache), tmp_path / "state.json", now=now,
                       previous=site, optimistic=optimistic,
                       built=lambda new: pack_fresh(new, before)).site
        shutil.copy(tmp_path / "state.json", tmp_path / "fresh.json")
        as_build = step % 2 == 0
        fresh = publish(load_events(path), tmp_path / "fresh.json", now=now,
                        optimistic=as_build, incremental=not as_build).site
        assert {p: r.body for p, r in site.resources.items()} == \
            {p: r.body for p, r in fresh.resources.items()}, step
        assert {p: r.etag for p, r in site.resources.items()} == \
            {p: r.etag for p, r in fresh.resources.items()}, step
        # gzip bodies compressed from the previous ones' segments: as if compressed anew
        assert {p: vars(r).get("gzipped") for p, r in site.resources.items() if r.compressible} \
            == {p: r.gzipped for p, r in fresh.resources.items() if r.compressible}, step


def test_an_edit_renders_only_what_shows_the_edited_event(tmp_path):
    import shutil
    from pathlib import Path

    from icalpub.load import load_events

    path = tmp_path / "events.yaml"
    shutil.copy(Path(__file__).parent / "fixtures" / "rich.yaml", path)
    first = build_site(load_events(path))
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Hybrid forum", "title: Hybrid forum (moved)"), encoding="utf-8")
    looked_up = []  # the events whose parts are looked up one by one, per call
    components = Renderer._components
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Renderer, "_components",
                      lambda self, events: looked_up.append(len(events)) or components(self, events))
        second = build_site(load_events(path), previous=first)
    # the edited feeds are the previous part lists with one part replaced: only the edited
    # event's invite looks its parts up
    assert looked_up == [1]
    computed = second.renderer.memo.computed
    edited = next(e for e in second.data.events if e.title == "Hybrid forum (moved)")
    listings = 1 + len(edited.topics) + len(set(edited.organisers))  # all, topics, organisers
    assert (computed["VEVENT"], computed["invite"], computed["event page"], computed["card"],
            computed["listing"], computed["feed ical"], computed["feed jcal"]) == \
        (1, 1, 1, 1, listings, listings, listings)
    unchanged = [p for p in second.resources
                 if second.resources[p] is first.resources.get(p)]
    # every other event's invite and page is the previous Resource object (no re-hash)
    assert len(unchanged) >= 2 * (len(second.data.events) - 1)


def test_a_site_built_on_the_previous_one_follows_tracked_values_alone(fixture_path):
    """The same events with another SEQUENCE for one of them (another process decided it):
    that event's invite and the feeds showing it change, every other resource is taken over."""
    from dataclasses import replace
    from datetime import datetime, timezone

    from icalpub.load import load_events
    from icalpub.core.model import Tracked

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
    assert not any(p.startswith("events/") and p != f"events/{bumped}.ics" for p in changed)
