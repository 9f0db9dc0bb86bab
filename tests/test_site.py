import hashlib
import json

from icalpub.site import build_site


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
