"""The Flask app end to end through the test client: routes, headers, 304s, 404s, reload."""

import os
import time

import icalendar
import pytest

from parsers import parse_all

ICS = "text/calendar; charset=utf-8"


@pytest.mark.parametrize("path", [
    "/feeds/all.ics", "/feeds/topics/circular.ics", "/feeds/topics/procurement.ics",
    "/feeds/organisers/acme.ics", "/feeds/organisers/river.ics", "/feeds/organisers/nobody.ics",
    "/events/winter-webinar.ics", "/events/summer-school.ics",
])
def test_calendar_routes(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICS
    assert response.headers["Cache-Control"] == "public, max-age=21600"
    assert response.headers["ETag"].startswith('"') and not response.headers["ETag"].startswith('W/')
    assert response.headers["Last-Modified"]
    for name, events in parse_all(response.data).items():
        assert events, (path, name)


def test_feed_membership(client):
    def uids(path):
        cal = icalendar.Calendar.from_ical(client.get(path).data)
        return sorted(str(e["UID"]).split("@")[0] for e in cal.walk("VEVENT"))

    assert uids("/feeds/topics/circular.ics") == ["weekly-call", "winter-webinar"]
    assert uids("/feeds/topics/procurement.ics") == ["summer-workshop", "winter-webinar"]
    # an organiser's feed holds every event the organiser is *any* organiser of
    assert uids("/feeds/organisers/river.ics") == ["summer-workshop", "winter-webinar"]
    assert uids("/feeds/organisers/acme.ics") == ["cancelled-talk", "winter-webinar"]
    assert len(uids("/feeds/all.ics")) == 7


def test_topic_feed_is_named_after_topic(client):
    cal = icalendar.Calendar.from_ical(client.get("/feeds/topics/circular.ics").data)
    assert str(cal["X-WR-CALNAME"]) == "Test events: Circular economy"
    assert str(cal["X-WR-CALDESC"]) == "Closing loops."


def test_invite_is_an_attachment(client):
    response = client.get("/events/winter-webinar.ics")
    assert response.headers["Content-Disposition"] == 'attachment; filename="winter-webinar.ics"'
    assert "Content-Disposition" not in client.get("/feeds/all.ics").headers


def test_feeds_json(client):
    listing = client.get("/feeds.json").get_json()
    feeds = {(f["kind"], f["slug"]): f for f in listing["feeds"]}
    assert feeds[("all", "all")] == {
        "kind": "all", "slug": "all", "name": "Test events", "event_count": 7,
        "url": "https://events.example.org/feeds/all.ics",
        "webcal_url": "webcal://events.example.org/feeds/all.ics",
        "bytes": len(client.get("/feeds/all.ics").data)}
    assert feeds[("topic", "circular")]["event_count"] == 2
    assert feeds[("organiser", "river")]["url"] == "https://events.example.org/feeds/organisers/river.ics"
    assert len(feeds) == 1 + 2 + 3
    for feed in listing["feeds"]:  # every listed URL is served, with the size it says
        answer = client.get(feed["url"].replace("https://events.example.org", ""))
        assert answer.status_code == 200 and len(answer.data) == feed["bytes"], feed["url"]


def test_head_has_headers_and_no_body(client):
    get, head = client.get("/feeds/all.ics"), client.head("/feeds/all.ics")
    assert head.status_code == 200 and head.data == b""
    for key in ("ETag", "Last-Modified", "Content-Type", "Content-Length"):
        assert head.headers[key] == get.headers[key]


def test_etag_and_if_modified_since_give_304(client):
    first = client.get("/feeds/all.ics")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/feeds/all.ics", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/all.ics", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/feeds/all.ics", headers={"If-None-Match": '"other"'}).status_code == 200
    not_modified = client.get("/feeds/all.ics", headers={"If-None-Match": etag})
    assert not_modified.data == b"" and not_modified.headers["ETag"] == etag


@pytest.mark.parametrize("path", [
    "/feeds/topics/unknown.ics", "/feeds/organisers/unknown.ics", "/events/unknown.ics",
    "/feeds/topics/../all.ics", "/feeds/topics/..%2Fall.ics", "/feeds/topics/%2e%2e/all.ics",
    "/events/..%2f..%2fetc%2fpasswd.ics", "/feeds/all.ics/", "/feeds/topics/circular",
    "/feeds/topics/circular.ICS", "/nothing", "/events/winter-webinar.ics%00",
    "/feeds/topics/" + "a" * 5000 + ".ics", "/feeds/topics/ü.ics",
])
def test_unknown_and_odd_paths_are_404_with_text(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    assert b"Not found" in response.data


def test_post_is_405(client):
    assert client.post("/feeds/all.ics").status_code == 405


def rewrite(path, text):
    """Write new content and make sure the mtime moves even on coarse-grained filesystems."""
    before = os.stat(path).st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_reload_on_change(app, client):
    path = app.config["EVENTS_PATH"]
    from pathlib import Path

    path = Path(path)
    first = client.get("/feeds/all.ics")
    rewrite(path, path.read_text().replace("title: Winter webinar", "title: Winter webinar, renamed"))
    second = client.get("/feeds/all.ics")
    assert b"SUMMARY:Winter webinar\\, renamed" in second.data
    assert second.headers["ETag"] != first.headers["ETag"]
    assert second.last_modified > first.last_modified  # Apple Calendar relies on this
    assert client.get("/feeds/all.ics", headers={
        "If-Modified-Since": first.headers["Last-Modified"]}).status_code == 200


def test_invalid_file_keeps_last_good_data_and_logs(app, client, caplog):
    from pathlib import Path

    path = Path(app.config["EVENTS_PATH"])
    good = client.get("/feeds/all.ics")
    rewrite(path, path.read_text().replace("start: 2021-01-19 14:00", "start: 2021-02-30 14:00"))
    with caplog.at_level("ERROR", logger="icalpub"):
        kept = client.get("/feeds/all.ics")
        client.get("/feeds/all.ics")  # logged once per version of the file, not per request
    assert kept.status_code == 200 and kept.data == good.data
    assert kept.headers["ETag"] == good.headers["ETag"]
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert "is not a date (February has 28 days in 2021)" in errors[0].getMessage()
    assert "still serving the last good version" in errors[0].getMessage()
    # fixing the file is picked up again
    rewrite(path, path.read_text().replace("start: 2021-02-30 14:00", "start: 2021-01-19 15:00"))
    assert b"DTSTART;TZID=Europe/Brussels:20210119T150000" in client.get("/events/winter-webinar.ics").data


def test_deleted_file_keeps_last_good_data(app, client):
    from pathlib import Path

    good = client.get("/feeds/all.ics").data
    Path(app.config["EVENTS_PATH"]).unlink()
    assert client.get("/feeds/all.ics").data == good


def test_two_app_instances_serve_identical_bytes(events_file):
    from icalpub.serve.app import create_app

    path = str(events_file())
    a = create_app({"EVENTS_PATH": path}).test_client()
    time.sleep(0.01)
    b = create_app({"EVENTS_PATH": path}).test_client()
    for url in ("/feeds/all.ics", "/events/weekly-call.ics", "/feeds.json"):
        ra, rb = a.get(url), b.get(url)
        assert ra.data == rb.data and ra.headers["ETag"] == rb.headers["ETag"]
        assert ra.headers["Last-Modified"] == rb.headers["Last-Modified"]


def test_gzip_from_precompressed_bytes(client):
    import gzip

    plain = client.get("/feeds/all.ics")
    packed = client.get("/feeds/all.ics", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert packed.headers["Vary"] == plain.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data) / 3
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    again = client.get("/feeds/all.ics", headers={"Accept-Encoding": "gzip",
                                                  "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304
    refused = client.get("/feeds/all.ics", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_304_carries_the_validators_and_caching_headers(client):
    full = client.get("/feeds/all.ics", headers={"Accept-Encoding": "gzip"})
    for match in (full.headers["ETag"], "W/" + full.headers["ETag"], '"x", ' + full.headers["ETag"], "*"):
        answer = client.get("/feeds/all.ics", headers={"Accept-Encoding": "gzip",
                                                       "If-None-Match": match})
        assert answer.status_code == 304 and answer.data == b"", match
        for key in ("ETag", "Cache-Control", "Vary", "X-Content-Type-Options"):
            assert answer.headers[key] == full.headers[key], (match, key)
        assert "Content-Encoding" not in answer.headers
    # the plain representation's ETag does not validate the gzip one, and vice versa
    plain_etag = client.get("/feeds/all.ics").headers["ETag"]
    assert client.get("/feeds/all.ics", headers={"Accept-Encoding": "gzip",
                                                 "If-None-Match": plain_etag}).status_code == 200


@pytest.mark.parametrize("page", ["", "events/winter-webinar", "topics/circular",
                                  "organisers/river"])
def test_a_page_is_served_at_its_folder_and_at_its_index_file(client, page):
    """One route serves the tree ``icalpub build`` writes, so a page answers at every URL a
    static host would answer it at: ``/x``, ``/x/`` and ``/x/index.html``."""
    urls = ["/"] if not page else [f"/{page}", f"/{page}/"]
    urls.append(f"/{page}/index.html" if page else "/index.html")
    answers = [client.get(url) for url in urls]
    assert [a.status_code for a in answers] == [200] * len(urls)
    assert len({a.data for a in answers}) == 1 and len({a.headers["ETag"] for a in answers}) == 1


@pytest.mark.parametrize("path", ["/feeds//all.ics", "//feeds/all.ics", "/events//winter-webinar",
                                  "/topics/circular//", "/feeds/all.ics/", "/events/winter-webinar.ics/"])
def test_a_double_or_trailing_slash_on_a_file_is_404_never_a_redirect(client, path):
    """A redirect would be built from the Host header, and a cache in front would then send
    an attacker's host to everyone."""
    response = client.get(path)
    assert response.status_code == 404 and "Location" not in response.headers


def test_a_registered_feed_kind_is_served_without_a_route_of_its_own(events_file):
    """A new kind of feed is one :func:`~icalpub.feeds.kinds.register` call: its feeds, jCal
    and pages are served by the one route, and listed in feeds.json."""
    from types import SimpleNamespace

    from icalpub.feeds.kinds import FeedKind, register
    from icalpub.serve.app import create_app

    online = SimpleNamespace(slug="online", name="Online")
    kind = FeedKind(name="place", folder="places", label="place", legend="Places",
                    members=lambda data: {"online": online},
                    slugs_of=lambda event: ("online",) if "Online" in event.location else (),
                    describe=lambda member, cal: f"Events {member.name}.")
    with register(kind):
        client = create_app({"TESTING": True, "EVENTS_PATH": str(events_file()),
                             "RELOAD_INTERVAL": 0}).test_client()
        feed = client.get("/feeds/places/online.ics")
        assert feed.status_code == 200 and feed.headers["Content-Type"] == ICS
        uids = [str(e["UID"]) for e in icalendar.Calendar.from_ical(feed.data).walk("VEVENT")]
        assert uids == ["winter-webinar@events.example.org"]
        assert client.get("/feeds/places/online.json").status_code == 200
        assert client.get("/places/online").status_code == 200
        listed = {(f["kind"], f["slug"]) for f in client.get("/feeds.json").get_json()["feeds"]}
        assert ("place", "online") in listed
        assert client.get("/feeds/places/offline.ics").status_code == 404
