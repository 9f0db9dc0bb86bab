"""Recurrence edge cases of issue 16 that are about what we write, not one parser: where
``X-WR-TIMEZONE`` may go, and every form of ``UNTIL`` the README promises.

The load-time errors (a slug listed twice, an occurrence in a skipped or repeated hour or
across a change of offset) are in the bad-input catalogue (tests/bad_inputs/), and every
occurrence of edge.yaml through seven parsers in ``test_conformance.py``.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import icalendar
import pytest

from conformance import readers
from icalpub.load import load_events
from icalpub.load.recurrence import parse_rule
from icalpub.site import build_site

HERE = Path(__file__).resolve().parent


def _x_wr_timezone():
    try:
        import x_wr_timezone
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("x-wr-timezone is missing in CI (pip install -e '.[test]')", pytrace=False)
        pytest.skip("x-wr-timezone is not installed (pip install -e '.[test]')")
    return x_wr_timezone


@pytest.fixture(scope="module")
def edge_site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edge")
    shutil.copy(HERE / "edge.yaml", folder / "events.yaml")
    return build_site(load_events(folder / "events.yaml"))


def _feeds(site) -> dict[str, str]:
    return {path: resource.body.decode("utf-8") for path, resource in site.resources.items()
            if path.startswith("feeds/") and path.endswith(".ics")}


def test_x_wr_timezone_only_in_feeds_without_a_utc_series(edge_site):
    feeds = _feeds(edge_site)
    with_hint = {path for path, text in feeds.items() if "\r\nX-WR-TIMEZONE:" in text}
    assert "feeds/all.ics" not in with_hint  # it has utc-weekly
    assert "feeds/topics/utc.ics" not in with_hint
    assert "feeds/topics/zones.ics" in with_hint  # UTC only in a single event, or none
    assert "feeds/organisers/lab.ics" in with_hint


def test_x_wr_timezone_readers_see_the_instants_we_wrote(edge_site):
    """The ``x-wr-timezone`` package (used by recurring-ical-events, hence by many web
    calendars) moves UTC times into the X-WR-TIMEZONE zone, as Google does. Every feed, so
    converted, still has every occurrence at the same instant; the same feed with the hint
    forced in would not (the control: the UTC series moves by an hour after 28 March)."""
    x_wr_timezone = _x_wr_timezone()

    def converted(text: str) -> str:
        calendar = icalendar.Calendar.from_ical(text)
        return x_wr_timezone.to_standard(calendar).to_ical().decode("utf-8")

    for path, text in _feeds(edge_site).items():
        assert readers.reference(converted(text)) == readers.reference(text), path
    text = _feeds(edge_site)["feeds/topics/utc.ics"]
    forced = text.replace("\r\nBEGIN:VEVENT", "\r\nX-WR-TIMEZONE:Europe/Brussels\r\nBEGIN:VEVENT", 1)
    moved = readers.reference(converted(forced))["utc-weekly@edge.example.org"]
    assert moved[2][0] == "2021-04-03T08:00:00Z"  # 09:00 Brussels wall time, not 09:00 UTC
    assert readers.reference(text)["utc-weekly@edge.example.org"][2][0] == "2021-04-03T09:00:00Z"


@pytest.mark.parametrize("until", [
    "20211120T100000", "2021-11-20 10:00", "2021-11-20T10:00", "2021-11-20 10:00:00",
    "20211120T090000Z", "2021-11-20T09:00:00Z",
])
def test_until_as_local_or_utc_time(until):
    """The README: `UNTIL` may be a date or a local time, and is written in UTC."""
    rule, _expanded = parse_rule(f"FREQ=WEEKLY;UNTIL={until}", datetime(2021, 10, 2, 10),
                                 "Europe/Brussels")
    assert rule == "FREQ=WEEKLY;UNTIL=20211120T090000Z"


@pytest.mark.parametrize("until", ["20211120", "2021-11-20"])
def test_until_as_date(until):
    timed, _ = parse_rule(f"FREQ=WEEKLY;UNTIL={until}", datetime(2021, 10, 2, 23, 30),
                          "America/New_York")
    assert timed == "FREQ=WEEKLY;UNTIL=20211121T045959Z"  # the end of that day in New York
    all_day, _ = parse_rule(f"FREQ=WEEKLY;UNTIL={until}", datetime(2021, 10, 2).date(),
                            "Europe/Brussels")
    assert all_day == "FREQ=WEEKLY;UNTIL=20211120"


def test_every_until_form_of_edge_yaml_gives_the_same_series(edge_site):
    events = {event.id: event for event in edge_site.data.events}
    rules = {events[i].recurrence for i in ("until-local", "until-local-spaced", "until-utc")}
    assert rules == {"FREQ=WEEKLY;UNTIL=20211120T090000Z"}
    feed = readers.reference(_feeds(edge_site)["feeds/all.ics"])
    assert [s for s, _e in feed["until-local-spaced@edge.example.org"]][-1] == \
        "2021-11-20T09:00:00Z"
