"""The server applies the state on load and reload; HTTP validators follow it."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest

from icalpub.changes.state import state_path_for
from icalpub.serve.app import create_app
from tracking_helpers import FakeClock, copy_fixture, edit, event_of, remove_event

UID = "winter-webinar@events.example.org"


@pytest.fixture
def setup(tmp_path):
    events = copy_fixture(tmp_path)
    clock = FakeClock()
    app = create_app({"TESTING": True, "EVENTS_PATH": str(events), "RELOAD_INTERVAL": 0,
                      "CLOCK": clock})
    return events, clock, app.test_client()


def http_date(moment) -> str:
    return format_datetime(moment, usegmt=True)


def test_reload_bumps_sequence_and_moves_only_the_changed_validators(setup):
    events, clock, client = setup
    first_all = client.get("/feeds/all.ics")
    first_other = client.get("/feeds/organisers/nobody.ics")
    assert event_of(first_all.data, UID)["SEQUENCE"] == 0
    assert first_all.headers["Last-Modified"] == http_date(clock.now)
    assert state_path_for(events).exists()

    clock.advance(hours=2)
    edit(events, "start: 2021-01-19 14:00", "start: 2021-01-19 14:30")
    second_all = client.get("/feeds/all.ics")
    ev = event_of(second_all.data, UID)
    assert (ev["SEQUENCE"], str(ev["UID"])) == (1, UID)
    assert second_all.headers["Last-Modified"] == http_date(clock.now)
    assert second_all.headers["ETag"] != first_all.headers["ETag"]
    # a feed without the event: same bytes, same ETag, same Last-Modified -> still 304
    second_other = client.get("/feeds/organisers/nobody.ics")
    assert second_other.data == first_other.data
    assert second_other.headers["Last-Modified"] == first_other.headers["Last-Modified"]
    assert client.get("/feeds/organisers/nobody.ics", headers={
        "If-Modified-Since": first_other.headers["Last-Modified"]}).status_code == 304
    assert client.get("/feeds/all.ics", headers={
        "If-Modified-Since": first_all.headers["Last-Modified"]}).status_code == 200
    assert client.get("/feeds/all.ics", headers={
        "If-None-Match": second_all.headers["ETag"]}).status_code == 304


def test_restart_serves_identical_bytes(setup, tmp_path):
    events, clock, client = setup
    before = {p: client.get(p) for p in ("/feeds/all.ics", "/events/winter-webinar.ics", "/feeds.json")}
    clock.advance(days=1)
    again = create_app({"TESTING": True, "EVENTS_PATH": str(events), "CLOCK": clock}).test_client()
    for path, response in before.items():
        other = again.get(path)
        assert other.data == response.data
        assert other.headers["ETag"] == response.headers["ETag"]
        assert other.headers["Last-Modified"] == response.headers["Last-Modified"]


def test_removed_event_is_served_cancelled_then_dropped_without_a_file_change(setup):
    events, clock, client = setup
    client.get("/feeds/all.ics")
    clock.advance(days=1)
    remove_event(events, "winter-webinar")
    ev = event_of(client.get("/feeds/all.ics").data, UID)
    assert (str(ev["STATUS"]), ev["SEQUENCE"]) == ("CANCELLED", 1)
    invite = client.get("/events/winter-webinar.ics")
    assert invite.status_code == 200 and b"METHOD:CANCEL" in invite.data
    clock.advance(days=30)  # nothing on disk changes; the retention simply ends
    assert UID.encode() not in client.get("/feeds/all.ics").data
    assert client.get("/events/winter-webinar.ics").status_code == 404


def test_invalid_edit_keeps_the_last_good_site_and_state(setup):
    events, clock, client = setup
    good = client.get("/feeds/all.ics").data
    state = state_path_for(events).read_bytes()
    events.write_text(events.read_text() + "  - id: Bad Id\n")
    assert client.get("/feeds/all.ics").data == good
    assert state_path_for(events).read_bytes() == state


def test_corrupt_state_on_reload_keeps_the_last_good_site(setup, caplog):
    events, clock, client = setup
    good = client.get("/feeds/all.ics").data
    state_path_for(events).write_text("{ broken")
    edit(events, "title: Winter webinar", "title: Winter webinar!")
    assert client.get("/feeds/all.ics").data == good
    assert "events.state.json: not valid JSON" in caplog.text
    assert state_path_for(events).read_text() == "{ broken"


def test_state_path_can_be_configured(tmp_path):
    events = copy_fixture(tmp_path)
    elsewhere = tmp_path / "var" / "state.json"
    elsewhere.parent.mkdir()
    create_app({"TESTING": True, "EVENTS_PATH": str(events), "STATE_PATH": str(elsewhere),
                "CLOCK": FakeClock()})
    assert elsewhere.exists() and not state_path_for(events).exists()


def test_retention_end_is_exact(setup):
    events, clock, client = setup
    client.get("/feeds/all.ics")
    remove_event(events, "summer-workshop")
    removed_at = clock.now
    client.get("/feeds/all.ics")
    clock.now = removed_at + timedelta(days=30) - timedelta(seconds=1)
    assert b"summer-workshop@" in client.get("/feeds/all.ics").data
    clock.now = removed_at + timedelta(days=30)
    assert b"summer-workshop@" not in client.get("/feeds/all.ics").data


def test_the_site_carries_the_tracked_values_for_later_rendering(setup):
    """Resources rendered on demand from the snapshot (e.g. a filtered feed) must use the same
    SEQUENCE/DTSTAMP as the published ones: the served site's data and tracked values,
    rendered by the reference calendar code, give the bytes served."""
    from icalpub.ical.calendar import feed_calendar

    events, clock, client = setup
    clock.advance(hours=1)
    edit(events, "title: Winter webinar", "title: Winter webinar!")
    served = client.get("/feeds/all.ics").data
    site = client.application.extensions["icalpub"].snapshot.site
    assert site.tracked["winter-webinar"].sequence == 1
    assert site.feeds[0].kind.name == "all"
    assert feed_calendar(site.feeds[0], site.data, site.tracked).to_ical() == served


def test_filtered_feeds_carry_the_tracked_values(setup):
    events, clock, client = setup
    client.get("/feeds/all.ics")
    clock.advance(hours=3)
    edit(events, "title: Winter webinar", "title: Winter webinar!")
    full = event_of(client.get("/feeds/all.ics").data, UID)
    for url in ("/feeds/all.ics?q=winter", "/feeds/all.ics?topic=circular"):
        filtered = event_of(client.get(url).data, UID)
        assert filtered.to_ical() == full.to_ical(), url
        assert filtered["SEQUENCE"] == 1
    jcal = client.get("/feeds/all.json?q=winter").get_json()
    [vevent] = [c for c in jcal[2] if c[0] == "vevent"]
    assert ["sequence", {}, "integer", 1] in vevent[1]
