"""Issue 17's fields and the change hash: what an event says (its online link, venue,
attachments, image, occurrence overrides) is content, bumps SEQUENCE when edited, and is
kept in the state file so that a removed event is re-rendered with it; reminders are not
content (the next build changes no SEQUENCE for them)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from icalpub.changes.state import State
from icalpub.changes.tracking import BadRecord, content_hash, reconcile, restore, snapshot
from icalpub.load import load_events

FIXTURE = Path(__file__).parent.parent / "fixtures" / "extras.yaml"
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def data():
    return load_events(FIXTURE)


def digest(data, event):
    return content_hash(snapshot(data.inputs(event)))


def test_every_event_restores_from_its_snapshot_as_json(data):
    """The state file holds the snapshot as JSON: every event comes back equal (but
    cancelled), nested values included."""
    for event in data.events:
        last = json.loads(json.dumps(snapshot(data.inputs(event))))
        back = restore(event.id, last, data)
        # what is not content is not kept (a cancelled event has no reminder anyway)
        assert back == dataclasses.replace(event, status="cancelled", reminders=None), event.id


@pytest.mark.parametrize("field, value", [
    ("online", None),
    ("venue", None),
    ("image", None),
    ("attachments", ()),
    ("occurrences", ()),
])
def test_an_edit_of_a_content_field_changes_the_hash(data, field, value):
    event = next(e for e in data.events if getattr(e, field) not in (None, ()))
    assert digest(data, dataclasses.replace(event, **{field: value})) != digest(data, event)


def test_an_edit_inside_a_value_changes_the_hash(data):
    event = next(e for e in data.events if e.online is not None and e.online.code)
    edited = dataclasses.replace(event, online=dataclasses.replace(event.online, code="1"))
    assert digest(data, edited) != digest(data, event)


def test_a_bad_nested_record_is_a_bad_record(data):
    event = next(e for e in data.events if e.online is not None)
    last = json.loads(json.dumps(snapshot(data.inputs(event))))
    last["event"]["online"] = {"url": "https://x.example", "colour": "red"}
    with pytest.raises(BadRecord, match="online: unknown field `colour`"):
        restore(event.id, last, data)
    last["event"]["online"] = "https://x.example"
    with pytest.raises(BadRecord, match="online: expected an object"):
        restore(event.id, last, data)


def test_a_removed_event_is_published_with_its_nested_values(data):
    first = reconcile(State(), data, NOW)
    fewer = dataclasses.replace(data, events=tuple(e for e in data.events
                                                   if e.id != "zoom-webinar"))
    outcome = reconcile(first.state, fewer, NOW)
    (removed,) = [e for e in outcome.data.events if e.id == "zoom-webinar"]
    assert removed.status == "cancelled"
    assert removed.online == next(e for e in data.events if e.id == "zoom-webinar").online


def test_reminders_are_not_content(data):
    from datetime import timedelta

    for event in data.events:
        edited = dataclasses.replace(event, reminders=(timedelta(hours=2),))
        assert digest(data, edited) == digest(data, event)
        assert "reminders" not in snapshot(data.inputs(event))["event"]


def test_a_topic_colour_is_no_event_content(data):
    """The colour is the feed's: an edit changes no event's hash (nor any event's inputs)."""
    topics = dict(data.topics)
    topics["climate"] = dataclasses.replace(topics["climate"], color="tomato")
    edited = dataclasses.replace(data, topics=topics)
    for event in data.events:
        assert edited.inputs(event) == data.inputs(event)


def test_editing_an_occurrence_raises_the_series_sequence_for_every_vevent(data, tmp_path):
    """An override is part of the series: its content is in the series' hash, and all the
    series' VEVENTs go out with the one SEQUENCE and DTSTAMP (RFC 5545 §3.8.7.4)."""
    import icalendar

    from icalpub.site import build_site

    first = reconcile(State(), data, NOW)
    event = next(e for e in data.events if e.id == "weekly-call")
    moved = dataclasses.replace(event.occurrences[0], title="Weekly call (moved again)")
    edited = dataclasses.replace(data, events=tuple(
        dataclasses.replace(e, occurrences=(moved, *e.occurrences[1:])) if e is event else e
        for e in data.events))
    later = NOW.replace(day=2)
    outcome = reconcile(first.state, edited, later)
    assert [(c.kind, c.event_id, c.sequence) for c in outcome.changes] == [
        ("changed", "weekly-call", 1)]
    body = build_site(outcome.data, outcome.tracked).get("events/weekly-call.ics").body
    components = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert len(components) == 3
    assert {c["SEQUENCE"] for c in components} == {1}
    assert {c.decoded("DTSTAMP") for c in components} == {later}
