"""What an event's change hash covers: its inputs (``core.model.EventInputs``), declared once.

An upgrade that adds a field to the model must not bump SEQUENCE on every event of every user
(calendars would treat every event as updated), and a state file written by an older version
must be read without reporting changes.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime, timezone
from pathlib import Path

from icalpub.changes.state import State, StateStore
from icalpub.changes.tracking import reconcile, snapshot
from icalpub.core.model import Event
from icalpub.load import load_events

FIXTURES = Path(__file__).parent.parent / "fixtures"
T0, T1, T2 = (datetime(2021, 1, day, 9, tzinfo=timezone.utc) for day in (1, 2, 3))


def _upgraded(events):
    """The same events as instances of a model with one more field (at its default), as a
    later icalpub version would load them."""
    extended = dataclasses.make_dataclass(
        "Event", [("colour", "str | None", dataclasses.field(default=None))],
        bases=(Event,), frozen=True)
    return tuple(extended(**{f.name: getattr(e, f.name) for f in dataclasses.fields(Event)})
                 for e in events)


def test_a_new_field_at_its_default_bumps_no_sequence():
    data = load_events(FIXTURES / "rich.yaml")
    first = reconcile(State(), data, T0)
    upgraded = dataclasses.replace(data, events=_upgraded(data.events))
    second = reconcile(first.state, upgraded, T1)
    assert second.changes == ()
    assert {k: r.sequence for k, r in second.state.events.items()} == \
        {k: r.sequence for k, r in first.state.events.items()}
    # once a file sets the new field, the event has changed
    edited = (dataclasses.replace(upgraded.events[0], colour="red"), *upgraded.events[1:])
    third = reconcile(second.state, dataclasses.replace(data, events=edited), T2)
    assert [(c.kind, c.event_id, c.sequence) for c in third.changes] == \
        [("changed", edited[0].id, 1)]


def test_what_the_hash_covers():
    """The event's content fields, and the organisers and topics as its outputs show them: a
    topic's description (shown on the topic's page only) and the calendar are not in it."""
    data = load_events(FIXTURES / "rich.yaml")
    event = next(e for e in data.events if e.topics and e.organisers)
    fields = snapshot(data.inputs(event))
    assert fields["event"]["id"] == event.id and "line" not in fields["event"]
    assert "updated" not in fields["event"]
    assert all(set(t) == {"slug", "name"} for t in fields["topics"])
    slug = event.topics[0]
    renamed = dataclasses.replace(data, topics={
        **data.topics, slug: dataclasses.replace(data.topics[slug], description="Other.")},
        calendar=dataclasses.replace(data.calendar, base_url="https://elsewhere.example"))
    assert snapshot(renamed.inputs(event)) == fields
    retitled = dataclasses.replace(data, topics={
        **data.topics, slug: dataclasses.replace(data.topics[slug], name="Renamed")})
    assert snapshot(retitled.inputs(event)) != fields


def test_a_format_1_state_file_is_read_without_changes(tmp_path):
    """The bundled events.yaml with the state file version 0.1 wrote (format 1): nothing to
    publish, and the next save writes today's format."""
    for name in ("events.yaml", "events.state.json"):
        shutil.copy(FIXTURES / "format1" / name, tmp_path / name)
    data = load_events(tmp_path / "events.yaml")
    store = StateStore(tmp_path / "events.state.json")
    old = store.read()
    outcome = reconcile(old, data, T0)
    assert outcome.changes == ()
    assert {k: r.sequence for k, r in outcome.state.events.items()} == \
        {k: r.sequence for k, r in old.events.items()}
    with store.transaction() as txn:
        txn.save(outcome.state)
    assert '"format": 2' in (tmp_path / "events.state.json").read_text()
    again = reconcile(store.read(), data, T1)
    assert again.changes == ()
