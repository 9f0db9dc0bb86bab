import pytest

from icalpub.core.errors import EventsFileError
from icalpub.serve.app import create_app


def test_config(events_file):
    path = str(events_file())
    assert not create_app({"EVENTS_PATH": path}).testing
    assert create_app({"EVENTS_PATH": path, "TESTING": True}).testing


def test_events_path_from_environment(events_file, monkeypatch):
    monkeypatch.setenv("ICALPUB_EVENTS", str(events_file()))
    assert create_app().test_client().get("/feeds/all.ics").status_code == 200


def test_base_url_setting_changes_links_but_never_uids(events_file):
    """Serving the site at another address moves its links; a UID names the event for
    good (a new one would duplicate the event in every subscribed calendar), so it keeps
    the host of the file's own base_url."""
    app = create_app({"EVENTS_PATH": str(events_file()), "BASE_URL": "https://cal.example.net"})
    body = app.test_client().get("/events/winter-webinar.ics").data
    assert b"UID:winter-webinar@events.example.org" in body
    assert b"URL:https://cal.example.net/events/winter-webinar" in body


def test_start_up_with_a_bad_file_fails_with_every_problem(fixture_path):
    with pytest.raises(EventsFileError) as info:
        create_app({"EVENTS_PATH": str(fixture_path("bad/many_errors.yaml"))})
    assert len(info.value.problems) == 16
