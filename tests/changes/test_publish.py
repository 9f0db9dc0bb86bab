"""``publish(optimistic=True)``: decide and render without the lock, save once at the end if
nobody saved meanwhile, else fall back to the locked turns — always the result the careful
path gives."""

from __future__ import annotations

from datetime import timedelta

import pytest

from icalpub.changes import state as state_module
from icalpub.load import load_events
from icalpub.changes.publish import publish
from icalpub.changes.state import state_path_for
from icalpub.site import build_site
from tracking_helpers import FakeClock, copy_fixture, edit, event_of

UID = "winter-webinar@events.example.org"


@pytest.fixture
def saves(monkeypatch):
    """Every write of a state file, counted."""
    written: list[bytes] = []
    real = state_module.StateStore.write_bytes

    def counting(self, data):
        written.append(data)
        return real(self, data)

    monkeypatch.setattr(state_module.StateStore, "write_bytes", counting)
    return written


def _publish(events, clock, **kwargs):
    return publish(load_events(events), state_path_for(events),
                   lambda outcome: build_site(outcome.data, outcome.tracked), now=clock(), **kwargs)


def _edited_twins(tmp_path):
    """Two copies of one history (published once, then edited), to publish both ways."""
    clock = FakeClock()
    twins = []
    for name in ("careful", "optimistic"):
        (tmp_path / name).mkdir()
        events = copy_fixture(tmp_path / name)
        _publish(events, clock)
        edit(events, "title: Winter webinar", "title: Winter talk")
        twins.append(events)
    clock.advance(hours=1)
    return twins, clock


def test_alone_it_saves_once_and_gives_what_the_careful_path_gives(tmp_path, saves):
    (careful, optimistic), clock = _edited_twins(tmp_path)
    saves.clear()
    expected = _publish(careful, clock)
    assert len(saves) == 2  # the locked turns: decisions, then ETags
    saves.clear()
    result = _publish(optimistic, clock, optimistic=True)
    assert len(saves) == 1
    assert {p: r.body for p, r in result.site.resources.items()} == \
        {p: r.body for p, r in expected.site.resources.items()}
    assert result.modified == expected.modified and result.changes == expected.changes
    assert state_path_for(optimistic).read_bytes() == state_path_for(careful).read_bytes()
    assert event_of(result.site.get("feeds/all.ics").body, UID)["SEQUENCE"] == 1


def test_when_another_process_saved_meanwhile_its_decisions_win(tmp_path):
    """The other process published the same edit an hour earlier: SEQUENCE and DTSTAMP are
    the ones it saved, as with the locked turns, not the ones decided before it saved."""
    (events, _), clock = _edited_twins(tmp_path)
    other = FakeClock(clock() - timedelta(minutes=30))

    def someone_else_publishes_first():
        _publish(events, other)

    result = _publish(events, clock, optimistic=True, before_commit=someone_else_publishes_first)
    event = event_of(result.site.get("feeds/all.ics").body, UID)
    assert event["SEQUENCE"] == 1  # one edit, one bump: not bumped again on top of the other's
    assert event.decoded("DTSTAMP") == other()  # the first saver's time
    again = _publish(events, clock)  # and the state file agrees with what was served
    assert again.changes == ()
    assert event_of(again.site.get("feeds/all.ics").body, UID).decoded("DTSTAMP") == other()


def test_nothing_is_saved_when_before_commit_refuses(tmp_path, saves):
    (events, _), clock = _edited_twins(tmp_path)
    before = state_path_for(events).read_bytes()
    saves.clear()

    class Refused(Exception):
        pass

    def refuse():
        raise Refused

    for optimistic in (True, False):
        with pytest.raises(Refused):
            _publish(events, clock, optimistic=optimistic, before_commit=refuse)
    assert saves == [] and state_path_for(events).read_bytes() == before
