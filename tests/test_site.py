import hashlib
import json

from icalpub.site import build_site


def test_every_resource_path(minimal_site):
    assert sorted(minimal_site.resources) == sorted([
        "feeds/all.ics", "feeds/topics/circular.ics", "feeds/topics/procurement.ics",
        "feeds/organisers/acme.ics", "feeds/organisers/nobody.ics", "feeds/organisers/river.ics",
        "feeds.json", *(f"events/{e.id}.ics" for e in minimal_site.data.events)])


def test_etag_is_a_digest_of_the_bytes(minimal_site):
    for resource in minimal_site.resources.values():
        assert resource.etag == hashlib.sha256(resource.body).hexdigest()[:32]


def test_feeds_json_is_deterministic(minimal_site):
    again = build_site(minimal_site.data)
    assert again.get("feeds.json").body == minimal_site.get("feeds.json").body
    assert json.loads(minimal_site.get("feeds.json").body)["calendar"] == {
        "name": "Test events", "url": "https://events.example.org/"}
