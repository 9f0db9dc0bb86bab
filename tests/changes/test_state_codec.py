"""The state file's codec: one record per line (``encode``), any JSON layout read back, and
format 1 (written by earlier versions) still read."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from icalpub.core.errors import StateFileError
from icalpub.changes.state import FORMAT, EventRecord, ResourceRecord, State, decode, encode

T = datetime(2021, 1, 10, 9, 30, tzinfo=timezone.utc)
U = datetime(2021, 2, 1, 12, 0, 5, tzinfo=timezone.utc)


def sample() -> State:
    return State(
        events={
            "plain": EventRecord("h1", 0, T, T, T, last={"title": "Plain", "agenda": ["a", "b"]}),
            "cancelled": EventRecord("h2", 3, T, U, U, cancelled_at=U, removed=True,
                                     last={"title": "Gone \"soon\"\nwith a newline", "x": None}),
            "tombstone": EventRecord("h3", 7, T, U, U, cancelled_at=T, removed=True, gone=True),
            "ünïcode": EventRecord("h4", 1, T, U, U, last={"title": "Café – 東京"}),
        },
        resources={"feeds/all.ics": ResourceRecord("e1", T), "events/ünïcode.ics": ResourceRecord("e2", U)},
    )


def test_round_trip_with_every_optional_field():
    state = sample()
    assert decode(encode(state), "s.json") == state


def test_one_record_per_line_and_valid_json():
    raw = encode(sample())
    lines = raw.decode().split("\n")
    assert sum(line.startswith('  "') for line in lines) == 4 + 2
    document = json.loads(raw)
    assert document["format"] == FORMAT and set(document["events"]) == set(sample().events)
    assert document["events"]["tombstone"] == {
        "hash": "h3", "sequence": 7, "created": "2021-01-10T09:30:00Z",
        "last_modified": "2021-02-01T12:00:05Z", "dtstamp": "2021-02-01T12:00:05Z",
        "cancelled_at": "2021-01-10T09:30:00Z", "removed": True, "gone": True}


def test_empty_state():
    raw = encode(State())
    assert json.loads(raw)["events"] == {}
    assert decode(raw, "s.json") == State()


def test_any_other_json_layout_is_read_whole():
    """Files written by earlier versions (indented) or reformatted by a person still load."""
    document = json.loads(encode(sample()))
    for layout in (json.dumps(document, indent=1, sort_keys=True),
                   json.dumps(document), json.dumps(document, indent=4)):
        assert decode(layout.encode(), "s.json") == sample()


def test_an_edited_line_is_read_as_edited_and_the_others_as_they_were():
    """A person (or a merge) edits one line of the file: only that record changes."""
    raw = encode(sample())
    edited = raw.replace(b'"sequence":0', b'"sequence":5')
    second = decode(edited, "s.json")
    assert second.events["plain"].sequence == 5
    assert second.events == {**sample().events, "plain": EventRecord(
        "h1", 5, T, T, T, last={"title": "Plain", "agenda": ["a", "b"]})}


def test_encoding_again_after_a_change_gives_the_change():
    state = sample()
    encode(state)
    state.events["plain"] = EventRecord("h9", 1, T, U, U, last={"title": "Plain, moved"})
    assert decode(encode(state), "s.json").events["plain"].last == {"title": "Plain, moved"}


@pytest.mark.parametrize("change, message", [
    ((b'"sequence":7', b'"sequence":-1'), "events.tombstone.sequence: -1 is negative"),
    ((b'"created":"2021-01-10T09:30:00Z"', b'"created":"2021-01-10 09:30"'),
     "is not a UTC time like"),
    ((b'"format": 2', b'"format": 3'), "unknown format 3"),
    ((b'"etag":"e1"', b'"etag":1'), "resources.feeds/all.ics.etag: expected str"),
])
def test_a_bad_record_is_reported_in_either_layout(change, message):
    raw = encode(sample())
    bad = raw.replace(*change, 1)
    assert bad != raw
    for layout in (bad, json.dumps(json.loads(bad), indent=2).encode()):
        with pytest.raises(StateFileError, match=message):
            decode(layout, "s.json")


def test_a_file_replaced_by_someone_else_is_read_again(tmp_path):
    """The store keeps what it last read or wrote while the file is the same (inode, size,
    mtime); a file replaced by another process (or by hand) is decoded again."""
    from icalpub.changes.state import StateStore

    store = StateStore(tmp_path / "events.state.json")
    with store.transaction() as txn:
        txn.save(sample())
    assert store.read() == sample()
    changed = sample()
    changed.events["plain"] = EventRecord("h1", 9, T, U, U, last={"title": "Plain"})
    other = tmp_path / "other.json"
    other.write_bytes(encode(changed))
    other.replace(tmp_path / "events.state.json")
    assert store.read().events["plain"].sequence == 9
    again = store.read()
    assert again == changed and again is not store.read()  # copies: a caller may replace fields


def test_encoding_after_random_edits_equals_a_fresh_encoding():
    """``encode`` reuses the line of a record it encoded before (records are replaced, never
    changed in place): after records are changed, added, removed, replaced by equal new
    objects, or every section emptied, the bytes are those of an encoding of fresh copies,
    and they decode to the state."""
    import copy
    import dataclasses
    import random

    chance = random.Random(5)
    state = State(
        events={f"event-{i:02d}": EventRecord(f"h{i}", i, T, T, T, last={"title": f"T{i}"})
                for i in range(12)},
        resources={f"events/event-{i:02d}.ics": ResourceRecord(f"e{i}", T) for i in range(12)})
    encode(state)
    for step in range(80):
        events, resources = dict(state.events), dict(state.resources)
        for _ in range(chance.randint(0, 4)):
            key = f"event-{chance.randrange(14):02d}"
            what = chance.random()
            if what < 0.3 and key in events:
                events[key] = dataclasses.replace(events[key], sequence=events[key].sequence + 1,
                                                  last={"title": "x" * chance.randrange(40)})
            elif what < 0.4 and key in events:
                events[key] = dataclasses.replace(events[key])  # equal, a new object
            elif what < 0.6:
                events.pop(key, None)
                resources.pop(f"events/{key}.ics", None)
            else:
                events[key] = EventRecord("new", 0, U, U, U, last={"title": f"step {step}"})
                resources[f"events/{key}.ics"] = ResourceRecord("y" * chance.randrange(1, 30), U)
        if step == 40:
            events, resources = {}, {}
        state = State(events=events, resources=resources)
        incremental = encode(state)
        assert incremental == encode(copy.deepcopy(state)), step
        assert decode(incremental, "s.json") == state
        if step % 3:  # now and then another state is encoded in between
            encode(State(events=dict(list(events.items())[::2])))


def test_encoding_twice_gives_identical_bytes():
    state = sample()
    assert encode(state) == encode(state) == encode(decode(encode(state), "s.json"))
