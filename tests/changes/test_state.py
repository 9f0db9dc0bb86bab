"""Change tracking end to end: events.yaml edits -> SEQUENCE / DTSTAMP / cancellations in the
published bytes, through the same ``publish`` step that ``serve`` and ``build`` use."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from icalpub.cli import main
from icalpub.core.errors import EventsFileError, StateFileError
from icalpub.load import load_events
from icalpub.changes.publish import publish
from icalpub.changes.state import StateStore, state_path_for
from icalpub.changes.tracking import Change, content_hash, snapshot
from icalpub.site import build_site
from tracking_helpers import T0, FakeClock, copy_fixture, edit, event_of, remove_event, vevent_blocks

UID = "winter-webinar@events.example.org"


def render(outcome):
    return build_site(outcome.data, outcome.tracked)


def run(events, clock, **kwargs):
    return publish(load_events(events), state_path_for(events), render, now=clock(), **kwargs)


@pytest.fixture
def events(tmp_path):
    return copy_fixture(tmp_path)


@pytest.fixture
def clock():
    return FakeClock()


def test_new_events_get_sequence_0_and_now(events, clock):
    result = run(events, clock)
    ev = event_of(result.site.get("feeds/all.ics").body, UID)
    assert ev["SEQUENCE"] == 0
    for prop in ("DTSTAMP", "CREATED", "LAST-MODIFIED"):
        assert ev.decoded(prop) == T0, prop
    assert b"DTSTAMP:20300101T120000Z" in result.site.get("events/winter-webinar.ics").body
    assert {c.kind for c in result.changes} == {"new"}
    state = json.loads(state_path_for(events).read_text())
    assert state["events"]["winter-webinar"]["sequence"] == 0
    assert state["events"]["winter-webinar"]["dtstamp"] == "2030-01-01T12:00:00Z"


def test_unchanged_file_gives_identical_bytes_and_state(events, clock):
    first = run(events, clock)
    state_bytes = state_path_for(events).read_bytes()
    clock.advance(days=3)
    second = run(events, clock)
    assert {p: r.body for p, r in second.site.resources.items()} == \
        {p: r.body for p, r in first.site.resources.items()}
    assert second.modified == first.modified
    assert second.changes == ()
    assert state_path_for(events).read_bytes() == state_bytes


def test_editing_a_time_bumps_sequence_and_nothing_else(events, clock):
    before = run(events, clock)
    edit(events, "end: 2021-01-19 16:00", "end: 2021-01-19 16:30")
    clock.advance(hours=5)
    after = run(events, clock)

    old_all, new_all = before.site.get("feeds/all.ics").body, after.site.get("feeds/all.ics").body
    ev = event_of(new_all, UID)
    assert str(ev["UID"]) == UID
    assert ev["SEQUENCE"] == 1
    assert ev.decoded("DTEND").astimezone(timezone.utc) == datetime(2021, 1, 19, 15, 30, tzinfo=timezone.utc)
    assert ev.decoded("LAST-MODIFIED") == ev.decoded("DTSTAMP") == clock.now
    assert ev.decoded("CREATED") == T0
    # every other event's VEVENT is byte for byte what it was
    old_blocks, new_blocks = vevent_blocks(old_all), vevent_blocks(new_all)
    assert old_blocks.keys() == new_blocks.keys()
    assert [uid for uid in old_blocks if old_blocks[uid] != new_blocks[uid]] == [UID]
    # so are the resources that do not contain it, and their Last-Modified
    untouched = [p for p, r in before.site.resources.items()
                 if r.body == after.site.get(p).body]
    assert "events/summer-workshop.ics" in untouched and "feeds/organisers/nobody.ics" in untouched
    assert "feeds/topics/circular.ics" not in untouched
    for path in untouched:
        assert after.modified[path] == before.modified[path]
    assert after.modified["feeds/all.ics"] == clock.now
    assert [(c.kind, c.event_id, c.sequence) for c in after.changes] == [("changed", "winter-webinar", 1)]


def test_each_calendar_relevant_field_counts(events, clock):
    run(events, clock)
    for old, new in [("title: Winter webinar", "title: Winter webinar (moved)"),
                     ("location: Online (Zoom)", "location: Brussels"),
                     ("Second paragraph.", "Second paragraph, edited."),
                     ("    organisers: [acme, river]\n    topics: [circular, procurement]",
                      "    organisers: [acme, river]\n    topics: [circular, procurement]\n    status: tentative")]:
        edit(events, old, new)
        clock.advance(minutes=1)
        result = run(events, clock)
        assert [c.event_id for c in result.changes] == ["winter-webinar"], new
    assert event_of(result.site.get("feeds/all.ics").body, UID)["SEQUENCE"] == 4


def test_renaming_an_organiser_updates_its_events(events, clock):
    run(events, clock)
    edit(events, "name: River Network", "name: River Network Europe")
    result = run(events, clock)
    assert sorted(c.event_id for c in result.changes) == ["summer-workshop", "winter-webinar"]


def test_order_and_updated_are_not_content(events, clock):
    """The hash comes from the model's calendar fields: moving an event within the file or
    changing its line number is not a revision."""
    run(events, clock)
    text = events.read_text()
    events.write_text(text.replace("events:\n", "events:\n  # a comment moves every line\n", 1))
    assert run(events, clock).changes == ()
    data = load_events(events)
    ev = data.events[0]
    moved = dataclasses.replace(ev, line=999, updated=T0)
    assert content_hash(snapshot(data.inputs(ev))) == content_hash(snapshot(data.inputs(moved)))


def test_status_cancelled_is_published_then_expires(events, clock):
    run(events, clock)
    edit(events, "    organisers: [acme, river]\n    topics: [circular, procurement]",
         "    organisers: [acme, river]\n    topics: [circular, procurement]\n    status: cancelled")
    clock.advance(days=1)
    cancelled_on = clock.now
    result = run(events, clock)
    ev = event_of(result.site.get("feeds/all.ics").body, UID)
    assert (str(ev["STATUS"]), ev["SEQUENCE"]) == ("CANCELLED", 1)
    invite = Calendar.from_ical(result.site.get("events/winter-webinar.ics").body)
    assert invite["METHOD"] == "CANCEL"
    assert [(c.kind, c.detail) for c in result.changes] == [("cancelled", "status: cancelled")]

    clock.now = cancelled_on + timedelta(days=30) - timedelta(seconds=1)
    assert UID in vevent_blocks(run(events, clock).site.get("feeds/all.ics").body)
    clock.now = cancelled_on + timedelta(days=30)
    result = run(events, clock)
    assert [c.kind for c in result.changes] == ["expired"]
    assert UID not in vevent_blocks(result.site.get("feeds/all.ics").body)
    assert result.site.get("events/winter-webinar.ics") is None
    # the bundled cancelled event was cancelled on the first run and has expired by now too
    assert "cancelled-talk@events.example.org" not in vevent_blocks(result.site.get("feeds/all.ics").body)


def test_removed_event_is_cancelled_for_the_retention_then_gone(events, clock):
    first = run(events, clock)
    remove_event(events, "winter-webinar")
    clock.advance(days=2)
    removed_on = clock.now
    result = run(events, clock)
    assert [(c.kind, c.event_id, c.sequence, c.detail) for c in result.changes] == \
        [("cancelled", "winter-webinar", 1, "removed from the events file")]
    for path in ("feeds/all.ics", "feeds/topics/circular.ics", "feeds/organisers/acme.ics",
                 "feeds/organisers/river.ics"):
        ev = event_of(result.site.get(path).body, UID)
        assert (str(ev["STATUS"]), ev["SEQUENCE"]) == ("CANCELLED", 1), path
        assert ev.decoded("DTSTAMP") == removed_on
        # the rest of the event is what it was: same time, title, organiser, description
        old = event_of(first.site.get(path).body, UID)
        for prop in ("DTSTART", "DTEND", "SUMMARY", "ORGANIZER", "DESCRIPTION", "CREATED"):
            assert ev[prop].to_ical() == old[prop].to_ical(), prop
    invite = Calendar.from_ical(result.site.get("events/winter-webinar.ics").body)
    assert invite["METHOD"] == "CANCEL"
    assert str(invite.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"

    clock.now = removed_on + timedelta(days=29)
    later = run(events, clock)
    assert [c for c in later.changes if c.event_id == "winter-webinar"] == []
    assert vevent_blocks(later.site.get("feeds/all.ics").body)[UID] == \
        vevent_blocks(result.site.get("feeds/all.ics").body)[UID]

    clock.now = removed_on + timedelta(days=30)
    gone = run(events, clock)
    assert ("expired", "winter-webinar") in [(c.kind, c.event_id) for c in gone.changes]
    assert all(UID.encode() not in r.body for r in gone.site.resources.values())
    assert gone.site.get("events/winter-webinar.ics") is None
    tombstone = json.loads(state_path_for(events).read_text())["events"]["winter-webinar"]
    assert tombstone["gone"] is True and tombstone["sequence"] == 1 and "last" not in tombstone

    # the same id coming back continues above the last SEQUENCE calendars saw
    events.write_text(events.read_text() + (
        "  - id: winter-webinar\n    title: Winter webinar\n    start: 2021-01-19 14:00\n"
        "    end: 2021-01-19 16:00\n"))
    back = run(events, clock)
    assert event_of(back.site.get("feeds/all.ics").body, UID)["SEQUENCE"] == 2


def test_removed_then_restored_within_retention(events, clock):
    original = events.read_text()
    run(events, clock)
    remove_event(events, "winter-webinar")
    clock.advance(days=1)
    run(events, clock)
    events.write_text(original)
    clock.advance(days=1)
    result = run(events, clock)
    ev = event_of(result.site.get("feeds/all.ics").body, UID)
    assert (str(ev["STATUS"]), ev["SEQUENCE"]) == ("CONFIRMED", 2)
    assert [(c.kind, c.detail) for c in result.changes] == [("changed", "back in the events file")]


def test_keep_cancelled_setting(events, clock):
    edit(events, "refresh: PT6H", "refresh: PT6H\n  keep_cancelled: P7D")
    run(events, clock)
    remove_event(events, "summer-workshop")
    run(events, clock)
    clock.advance(days=7)
    result = run(events, clock)
    assert Change("expired", "summer-workshop", 1, "cancelled on 2030-01-01, kept 7 days") in \
        result.changes


def test_keep_cancelled_is_validated(events):
    edit(events, "refresh: PT6H", "refresh: PT6H\n  keep_cancelled: a month")
    with pytest.raises(EventsFileError) as info:
        load_events(events)
    [problem] = info.value.problems
    assert (problem.line, problem.where) == (8, "calendar.keep_cancelled")
    assert "'a month' is not a duration" in problem.message


def test_missing_state_file_is_a_first_run(events, clock):
    run(events, clock)
    state_path_for(events).unlink()
    clock.advance(days=1)
    result = run(events, clock)
    assert {c.kind for c in result.changes} == {"new"}
    assert state_path_for(events).exists()


@pytest.mark.parametrize("content, message", [
    (b'{"format": 1, "events": {', "not valid JSON"),
    (b'{"format": 1, "events": {"a": {"sequence": "one"}}, "resources": {}}',
     "events.a.sequence: expected int"),
    (b'{"format": 7, "events": {}, "resources": {}}', "unknown format 7"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_corrupt_state_file_is_an_error_not_a_reset(events, clock, content, message):
    state = state_path_for(events)
    state.write_bytes(content)
    with pytest.raises(StateFileError) as info:
        run(events, clock)
    assert str(state) in str(info.value) and message in str(info.value)
    assert "restore it from version control" in str(info.value)
    assert state.read_bytes() == content  # never silently rewritten

    result = CliRunner().invoke(main, ["build", "--events", str(events), "--out",
                                       str(events.parent / "public")])
    assert result.exit_code == 1
    assert str(state) in result.output and "Traceback" not in result.output
    assert not (events.parent / "public").exists()


def format_1_last(event, data):
    """An event's ``last`` as icalpub wrote it in format 1 (before ``EventInputs``): every
    field, defaults included, and its organisers' and topics' details as lists."""
    return {
        "title": event.title, "start": event.start.isoformat(), "end": event.end.isoformat(),
        "timezone": event.timezone, "location": event.location, "url": event.url,
        "registration_url": event.registration_url, "description": event.description,
        "agenda": list(event.agenda), "organisers": list(event.organisers),
        "topics": list(event.topics), "contacts": list(event.contacts), "status": event.status,
        "recurrence": event.recurrence, "exclude": [d.isoformat() for d in event.exclude],
        "span_end": event.span_end.isoformat() if event.span_end else None,
        "organiser_details": [[slug, o.name, o.email, o.url] for slug in event.organisers
                              if (o := data.organisers.get(slug))],
        "topic_names": [[slug, t.name] for slug in event.topics if (t := data.topics.get(slug))],
    }


@pytest.mark.parametrize("fixture, removed", [("minimal.yaml", "winter-webinar"),
                                              ("rich.yaml", "hybrid-forum")])
def test_a_format_1_state_file_is_read_with_its_values_and_no_change(tmp_path, clock, fixture,
                                                                     removed):
    """Upgrading icalpub must not bump any SEQUENCE: calendars would see every event as
    edited. A format-1 file (written here by hand, as the earlier version did, for events of
    every shape and one removed event still kept as cancelled) is read with its SEQUENCE and
    timestamps, reports no change, and is saved in the current format."""
    events = copy_fixture(tmp_path, fixture)
    data = load_events(events)
    recorded = datetime(2029, 12, 1, 8, 0, tzinfo=timezone.utc)
    stamp = "2029-12-01T08:00:00Z"
    records = {}
    for number, event in enumerate(data.events, 3):
        last = format_1_last(event, data)
        record = {"hash": content_hash(last), "sequence": number, "created": stamp,
                  "last_modified": stamp, "dtstamp": stamp, "last": last}
        if event.id == removed:
            last["status"] = "cancelled"
            record.update(hash=content_hash(last), removed=True, cancelled_at=stamp)
        elif event.status == "cancelled":
            record["cancelled_at"] = stamp
        records[event.id] = record
    state = state_path_for(events)
    state.write_text(json.dumps({"about": "icalpub", "format": 1, "events": records,
                                 "resources": {}}, indent=1))
    remove_event(events, removed)
    clock.now = recorded + timedelta(days=1)  # within the removed event's retention

    result = run(events, clock)
    assert result.changes == ()
    feed = result.site.get("feeds/all.ics").body
    host = data.calendar.host
    for event_id, record in records.items():
        ev = event_of(feed, f"{event_id}@{host}")
        assert ev["SEQUENCE"] == record["sequence"], event_id
        assert ev.decoded("DTSTAMP") == recorded, event_id
    assert str(event_of(feed, f"{removed}@{host}")["STATUS"]) == "CANCELLED"
    saved = state.read_bytes()
    assert json.loads(saved)["format"] == 2
    clock.advance(days=1)
    assert run(events, clock).changes == ()
    assert state.read_bytes() == saved


def test_state_is_written_atomically(events, clock, monkeypatch):
    run(events, clock)
    state = state_path_for(events)
    before = state.read_bytes()
    edit(events, "title: Winter webinar", "title: Winter webinar 2")

    def crash(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StateFileError, match="cannot be written: No space left on device"):
        run(events, clock)
    assert state.read_bytes() == before
    assert sorted(p.name for p in events.parent.iterdir()) == \
        [".events.state.json.lock", "events.state.json", "events.yaml"]


def test_unwritable_folder_is_fine_while_nothing_changes(events, clock, monkeypatch):
    """A read-only deployment with a committed, up-to-date state file still serves."""
    run(events, clock)
    StateStore(state_path_for(events)).lock_path.unlink()
    real_open = os.open

    def read_only(path, flags, *args):
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)
    monkeypatch.setattr(os, "open", read_only)
    assert run(events, clock).changes == ()
    edit(events, "title: Winter webinar", "title: Winter webinar 2")
    with pytest.raises(StateFileError, match="no write access"):
        run(events, clock)


def test_check_reports_changes_without_writing(events, clock):
    run(events, clock)
    state = state_path_for(events)
    before = state.read_bytes()
    edit(events, "start: 2021-07-14 09:30", "start: 2021-07-14 10:00")
    remove_event(events, "utc-briefing")
    events.write_text(events.read_text() + (
        "  - id: brand-new\n    title: Brand new\n    start: 2031-01-01 10:00\n    duration: PT1H\n"))
    result = CliRunner().invoke(main, ["check", str(events)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "will publish 3 changes" in lines[1]
    assert lines[2:] == [
        "  cancelled utc-briefing: SEQUENCE 1 (removed from the events file)",
        "  changed   summer-workshop: SEQUENCE 1",
        "  new       brand-new: SEQUENCE 0",
    ]
    assert state.read_bytes() == before
    assert not list(events.parent.glob(".*.tmp"))
    # and the build then does exactly that
    result = CliRunner().invoke(main, ["build", "--events", str(events), "--out",
                                       str(events.parent / "public")])
    assert result.exit_code == 0, result.output
    assert "  changed   summer-workshop: SEQUENCE 1" in result.output
    again = CliRunner().invoke(main, ["check", str(events)])
    assert "up to date; the next build changes nothing" in again.output


def test_bundled_state_file_matches_bundled_events(tmp_path):
    """The repository commits events.state.json with events.yaml: it must be up to date, so
    that serving or building the bundled events never rewrites it."""
    from tracking_helpers import ROOT

    events = copy_fixture(tmp_path, "events.yaml", source=ROOT)
    committed = (ROOT / "events.state.json").read_bytes()
    (tmp_path / "events.state.json").write_bytes(committed)
    data, now = load_events(events), datetime(2099, 1, 1, tzinfo=timezone.utc)
    # pages are made for a day: every bundled event (January 2021) is past, then as now
    result = publish(data, tmp_path / "events.state.json", lambda outcome: build_site(
        outcome.data, outcome.tracked, as_of=data.calendar.today(now)), now=now)
    assert result.changes == ()
    assert (tmp_path / "events.state.json").read_bytes() == committed, (
        "events.state.json is stale (the published bytes changed); after checking the change, "
        "update it with: .venv/bin/icalpub build --events events.yaml --out /tmp/icalpub-public")


def test_keep_cancelled_and_the_state_file_are_documented():
    from tracking_helpers import ROOT

    readme = (ROOT / "README.md").read_text()
    assert "| `keep_cancelled` |" in readme and "### `calendar.keep_cancelled`" in readme
    assert "default `P30D`" in readme
    assert "## State file" in readme and "events.state.json" in readme


def test_check_creates_no_file(events):
    result = CliRunner().invoke(main, ["check", str(events)])
    assert result.exit_code == 0 and "will publish 7 changes" in result.output
    assert [p.name for p in events.parent.iterdir()] == ["events.yaml"]
