"""A hostile or damaged state file, and ``publish``'s hooks for whoever must keep its output and
the state file in agreement (a build's tree).

The state file is committed next to events.yaml, so people edit and merge it: every record is
checked before it is used, and a bad one is a :class:`StateFileError` naming the file, the
record and what to do — never a traceback (``icalpub check`` and ``build`` exit 1 with it)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from tracking_helpers import FIXTURES, T0, FakeClock, copy_fixture, remove_event

from icalpub.changes import state as state_module
from icalpub.changes.publish import publish
from icalpub.changes.state import EventRecord, State, state_path_for
from icalpub.changes.tracking import mass_removal, reconcile
from icalpub.cli import main
from icalpub.core.errors import StateFileError
from icalpub.load import load_events
from icalpub.site import build_site


def render(outcome):
    return build_site(outcome.data, outcome.tracked)


@pytest.fixture
def events(tmp_path):
    return copy_fixture(tmp_path)


@pytest.fixture
def clock():
    return FakeClock()


def run(events, clock, **kwargs):
    return publish(load_events(events), state_path_for(events), render, now=clock(), **kwargs)


def doctor(events, change) -> None:
    """Edit the state file's JSON with ``change(document)``."""
    state = state_path_for(events)
    document = json.loads(state.read_text())
    change(document)
    state.write_text(json.dumps(document, indent=1))


def last_event(document, event_id="winter-webinar"):
    return document["events"][event_id]["last"]["event"]


# Each: how the record of the removed event ``winter-webinar`` is damaged, and what the
# message must say. These were tracebacks (KeyError, ValueError, ZoneInfoNotFoundError,
# OverflowError) before.
DAMAGED = {
    "empty last": (lambda d: d["events"]["winter-webinar"].update(last={}),
                   "events.winter-webinar.last: expected an object with an `event` object"),
    "bad start": (lambda d: last_event(d).update(start="2021-02-30T10:00:00+01:00"),
                  "events.winter-webinar.last: cannot be read (day is out of range for month)"),
    "naive start": (lambda d: last_event(d).update(start="2021-01-19T14:00:00"),
                    "has no UTC offset"),
    "start of year 9999": (lambda d: last_event(d).update(start="9999-12-31T23:00:00+00:00"),
                           "is not between 1970 and 2200"),
    "bad timezone": (lambda d: last_event(d).update(timezone="Mars/Olympus_Mons"),
                     "timezone 'Mars/Olympus_Mons' is not an IANA time zone"),
    "path in timezone": (lambda d: last_event(d).update(timezone="../../../etc/passwd"),
                         "is not an IANA time zone"),
    "last_modified of year 9999": (
        lambda d: d["events"]["winter-webinar"].update(last_modified="9999-12-31T23:59:59Z"),
        ("events.winter-webinar.last_modified: '9999-12-31T23:59:59Z' is not between 1970 "
         "and 2200")),
    "huge sequence": (lambda d: d["events"]["winter-webinar"].update(sequence=2**63),
                      "events.winter-webinar.sequence: 9223372036854775808 is more than"),
    "title not text": (lambda d: last_event(d).update(title=["a", "list"]),
                       "title: expected text"),
    "control character": (lambda d: last_event(d).update(title="a\rBEGIN:VEVENT"),
                          "with control characters"),
    "unknown field": (lambda d: last_event(d).update(attendee="mailto:x@example.org"),
                      "unknown field `attendee`"),
    "missing field": (lambda d: last_event(d).pop("end"), "missing `end`"),
    "other id": (lambda d: last_event(d).update(id="../../x"),
                 "id '../../x' is not this record's id"),
    "end before start": (lambda d: last_event(d).update(end="2021-01-19T13:00:00+01:00"),
                         "end is not after start"),
    "dates and times mixed": (lambda d: last_event(d).update(end="2021-01-20"),
                              "mix dates and times"),
    "endless rule": (lambda d: last_event(d).update(recurrence="FREQ=SECONDLY;COUNT=100000000"),
                     "is more than 10,000 occurrences"),
    "rule that is not one": (lambda d: last_event(d).update(recurrence="FREQ=SOMETIMES"),
                             "FREQ=SOMETIMES is not a frequency"),
    "bad status": (lambda d: last_event(d).update(status="deleted"),
                   "status 'deleted' is not one of"),
}


@pytest.mark.parametrize("damage", DAMAGED, ids=list(DAMAGED))
def test_a_damaged_record_of_a_removed_event_is_an_error_naming_it(events, clock, damage):
    change, message = DAMAGED[damage]
    run(events, clock)
    doctor(events, change)
    remove_event(events, "winter-webinar")  # now published from its record
    before = state_path_for(events).read_bytes()
    clock.advance(hours=1)
    with pytest.raises(StateFileError) as raised:
        run(events, clock)
    text = str(raised.value)
    assert str(state_path_for(events)) in text and message in text, text
    assert "git checkout" in text
    assert state_path_for(events).read_bytes() == before


@pytest.mark.parametrize("command", ["check", "build"])
@pytest.mark.parametrize("damage", ["empty last", "bad start", "bad timezone",
                                    "last_modified of year 9999"])
def test_the_cli_says_so_and_exits_1_without_a_traceback(events, clock, tmp_path, command,
                                                         damage):
    change, message = DAMAGED[damage]
    run(events, clock)
    doctor(events, change)
    remove_event(events, "winter-webinar")
    before = state_path_for(events).read_bytes()
    args = [str(events)] if command == "check" else ["--events", str(events),
                                                     "--out", str(tmp_path / "public")]
    result = CliRunner().invoke(main, [command, *args])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert message in result.stderr and "Nothing was published" in result.stderr
    assert state_path_for(events).read_bytes() == before
    assert not (tmp_path / "public").exists()


def test_a_removed_event_whose_record_is_fine_is_still_cancelled(events, clock):
    """The checks accept what icalpub writes, for every shape of event in the fixtures."""
    for fixture in ("minimal.yaml", "rich.yaml"):
        folder = events.parent / fixture.split(".")[0]
        folder.mkdir()
        path = copy_fixture(folder, fixture)
        run(path, clock)
        data = load_events(path)
        for event in data.events[1:]:  # all but one: a file needs an event
            remove_event(path, event.id)
        clock.advance(hours=1)
        result = publish(load_events(path), state_path_for(path), render, now=clock())
        cancelled = {c.event_id for c in result.changes if c.kind == "cancelled"}
        assert cancelled >= {e.id for e in data.events[1:] if e.status != "cancelled"}
        assert len(cancelled) >= 4


def test_a_state_file_beyond_any_real_size_is_refused_unread(events, clock, monkeypatch):
    run(events, clock)
    monkeypatch.setattr(state_module, "MAX_BYTES", 100)
    state_module._known.clear()
    with pytest.raises(StateFileError, match="is more than a state file holds"):
        run(events, clock)


def test_a_format_1_record_with_damaged_details_is_an_error(events, clock):
    run(events, clock)

    def to_format_1(document):
        document["format"] = 1
        document["events"]["winter-webinar"]["last"] = {"organiser_details": 5}

    doctor(events, to_format_1)
    with pytest.raises(StateFileError, match="organiser_details: expected lists"):
        run(events, clock)


# --- the mass-removal rule ---------------------------------------------------------------------

@pytest.mark.parametrize("in_file, dropped, held", [
    (7, 2, False),    # under the minimum of 3
    (7, 3, True),     # 43 %
    (40, 3, False),   # 7.5 %: an ordinary clean-up
    (40, 4, False),   # exactly 10 % is not more than 10 %
    (40, 5, True),    # 12.5 %
    (200, 107, True),  # the half-saved file of the issue
    (0, 0, False),    # a first publish
])
def test_mass_removal_is_more_than_a_tenth_and_at_least_three(in_file, dropped, held):
    state = State(events={f"event-{i}": EventRecord("h", 0, T0, T0, T0) for i in range(in_file)})
    data = load_events(FIXTURES / "minimal.yaml")
    outcome = reconcile(state, data, T0)  # none of event-N is in the file: all dropped
    outcome = type(outcome)(**{**outcome.__dict__, "dropped": outcome.dropped[:dropped]})
    found = mass_removal(outcome)
    assert (found is not None) is held
    if held:
        assert found.dropped == outcome.dropped and found.of == in_file
        assert f"{dropped} of the {in_file} published events are missing" in str(found)


def test_events_removed_and_cancelled_before_do_not_count(events, clock):
    """Only events that were in the file at the last publish count: a removed event still
    shown as cancelled, or a tombstone, was published as gone already."""
    run(events, clock)
    for event_id in ("winter-webinar", "summer-workshop"):
        remove_event(events, event_id)
    clock.advance(hours=1)
    first = run(events, clock)
    assert first.outcome.dropped == ("summer-workshop", "winter-webinar")
    assert first.outcome.in_file_before == 7
    clock.advance(hours=1)
    again = run(events, clock)
    assert again.outcome.dropped == () and again.outcome.in_file_before == 5


# --- publish's hooks ---------------------------------------------------------------------------

def test_approve_sees_the_decision_and_stops_everything_before_rendering(events, clock):
    run(events, clock)
    for event_id in ("winter-webinar", "summer-workshop", "weekly-call"):
        remove_event(events, event_id)
    before = state_path_for(events).read_bytes()
    rendered = []

    class No(Exception):
        pass

    def approve(outcome):
        assert mass_removal(outcome) is not None
        raise No

    for optimistic in (False, True):
        with pytest.raises(No):
            publish(load_events(events), state_path_for(events),
                    lambda o: rendered.append(o) or render(o), now=clock(),
                    optimistic=optimistic, approve=approve)
    assert rendered == []
    assert state_path_for(events).read_bytes() == before


@pytest.mark.parametrize("fails", ["stage", "put"])
def test_a_failing_stage_leaves_the_state_file_as_it_was(events, clock, fails):
    run(events, clock)
    remove_event(events, "winter-webinar")  # a cancellation, to be recorded only if published
    before = state_path_for(events).read_bytes()

    def stage(published):
        assert "feeds/all.ics" in published.modified
        if fails == "stage":
            raise OSError(28, "No space left on device")

        def put():
            raise OSError(30, "Read-only file system")
        return put

    clock.advance(hours=1)
    with pytest.raises(OSError):
        run(events, clock, stage=stage)
    assert state_path_for(events).read_bytes() == before


def test_no_state_file_is_created_when_the_first_stage_fails(events, clock):
    def stage(published):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        run(events, clock, stage=stage)
    assert not state_path_for(events).exists()


def test_stage_puts_in_place_under_the_lock_just_before_the_save(events, clock):
    order = []
    state = state_path_for(events)

    def stage(published):
        order.append(("stage", state.exists()))
        return lambda: order.append(("put", state.exists()))

    result = run(events, clock, stage=stage)
    assert order == [("stage", False), ("put", False)]
    saved = json.loads(state.read_text())
    assert set(saved["events"]) == {e.id for e in result.site.data.events}
    assert set(saved["resources"]) == set(result.modified)


def test_a_save_by_another_process_meanwhile_makes_stage_run_again(events, clock):
    """The optimistic check: if the state file changed between the read and the save, what was
    staged may disagree with it, so everything is decided and staged again under the lock."""
    run(events, clock)
    remove_event(events, "winter-webinar")
    clock.advance(hours=1)
    staged = []

    def stage(published):
        staged.append(published)
        if len(staged) == 1:  # a server saves its own decision meanwhile
            publish(load_events(events), state_path_for(events), render,
                    now=clock() + timedelta(seconds=5))
        return lambda: None

    result = run(events, clock, stage=stage)
    assert len(staged) == 2 and result is staged[1]
    saved = json.loads(state_path_for(events).read_text())
    record = saved["events"]["winter-webinar"]
    # the second decision saw the other process's cancellation and kept it
    assert record["removed"] is True and record["sequence"] == 1
    assert result.changes == ()


@pytest.mark.parametrize("command", ["check", "build", "serve"])
@pytest.mark.parametrize("where", ["a folder", "in a missing folder", "damaged"])
def test_an_unusable_state_file_is_a_message_for_every_command(events, clock, tmp_path,
                                                              command, where):
    if where == "a folder":
        state = tmp_path / "state-folder"
        state.mkdir()
    elif where == "in a missing folder":
        state = tmp_path / "missing" / "events.state.json"
    else:
        state = state_path_for(events)
        run(events, clock)
        doctor(events, DAMAGED["bad timezone"][0])
        remove_event(events, "winter-webinar")
    args = {"check": [str(events)],
            "build": ["--events", str(events), "--out", str(tmp_path / "public")],
            "serve": ["--events", str(events), "--port", "1"]}[command]
    result = CliRunner().invoke(main, [command, *args, "--state", str(state)])
    if command == "check" and where == "in a missing folder":
        assert result.exit_code == 0, result.output  # nothing to read: a first run
        return
    if where == "a folder":  # click's own check of the option: a usage error
        assert result.exit_code == 2 and "is a directory" in result.output
        return
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert str(state) in result.stderr and "Nothing was published" in result.stderr
