"""Faults while serving: the events file deleted, truncated mid-write, unreadable, replaced by
a directory, or rewritten while being read. In every case the server keeps serving the last
good bytes and logs one clear error per version of the file; a fixed file is picked up again.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pytest

from icalpub.load import yamlfile
from icalpub.serve.app import create_app

FIXTURES = Path(__file__).parent.parent / "fixtures"
FEEDS = ("/feeds/all.ics", "/events/winter-webinar.ics", "/feeds.json")


@pytest.fixture
def served(tmp_path):
    """A test client on a writable copy of minimal.yaml that re-checks the file on every
    request and reads a new version at once (settle 0), and the path of that copy."""
    path = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", path)
    app = create_app({"TESTING": True, "EVENTS_PATH": str(path), "RELOAD_INTERVAL": 0,
                      "RELOAD_SETTLE": 0})
    return app.test_client(), path


def bodies(client) -> dict[str, bytes]:
    responses = {url: client.get(url) for url in FEEDS}
    assert all(r.status_code == 200 for r in responses.values())
    return {url: r.data for url, r in responses.items()}


def errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "icalpub" and r.levelno >= logging.ERROR]


def bump(path: Path) -> None:
    """Move the mtime on, as a later save would (the test runs faster than the clock ticks)."""
    stamp = time.time_ns() + 5_000_000_000
    os.utime(path, ns=(stamp, stamp))


def keeps_serving(client, good: dict[str, bytes], caplog, expected: str) -> None:
    with caplog.at_level(logging.ERROR, logger="icalpub"):
        for _ in range(3):  # several requests, one log entry
            assert bodies(client) == good
    (message,) = errors(caplog)
    assert "was not loaded; still serving the last good version (1 problem in" in message
    assert expected in message, message


def recovers(client, path: Path, good: dict[str, bytes]) -> None:
    text = (FIXTURES / "minimal.yaml").read_text().replace("Winter webinar", "Winter webinar II")
    path.write_text(text)
    bump(path)
    assert b"SUMMARY:Winter webinar II" in client.get("/feeds/all.ics").data
    assert bodies(client) != good


def test_deleted(served, caplog):
    client, path = served
    good = bodies(client)
    path.unlink()
    keeps_serving(client, good, caplog, f"{path}: file: file not found")
    recovers(client, path, good)


def test_truncated_mid_write(served, caplog):
    client, path = served
    good = bodies(client)
    text = path.read_text()
    path.write_text(text[: text.index("title: Winter webinar") + 11])  # "title: Wint"
    bump(path)
    keeps_serving(client, good, caplog, "winter-webinar: missing required key `start`")
    recovers(client, path, good)


def test_emptied(served, caplog):
    client, path = served
    good = bodies(client)
    path.write_bytes(b"")
    bump(path)
    keeps_serving(client, good, caplog, f"{path}: file: is empty")
    recovers(client, path, good)


def test_unreadable(served, caplog, monkeypatch):
    """``chmod 000`` stops nobody when the tests run as root (CI does), so the permission
    error is also raised by ``os.open`` (which the loader opens the file with) for this path;
    as another user the chmod alone does it. Either way the loader meets the same
    PermissionError a server would."""
    client, path = served
    good = bodies(client)
    real_open = os.open

    def guarded_open(file, *args, **kwargs):
        """What the kernel does for a user without root's override: no read bit, no read."""
        if Path(file) == path and not path.stat().st_mode & 0o444:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(yamlfile.os, "open", guarded_open)
    path.chmod(0)
    bump(path)
    keeps_serving(client, good, caplog, f"{path}: file: cannot be read: Permission denied")
    path.chmod(0o644)
    recovers(client, path, good)


def test_replaced_by_a_directory(served, caplog):
    client, path = served
    good = bodies(client)
    path.unlink()
    path.mkdir()
    keeps_serving(client, good, caplog, f"{path}: file: is a directory, not a YAML file")
    path.rmdir()
    recovers(client, path, good)


def test_valid_prefix_of_an_unfinished_write_is_never_served(tmp_path):
    """An editor truncates the file and writes it in two chunks; between them the file is a
    valid calendar with fewer events. With the default settle time (0.5 s) it is not read."""
    path = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", path)
    client = create_app({"EVENTS_PATH": str(path), "RELOAD_INTERVAL": 0,
                         "RELOAD_SETTLE": 0.5}).test_client()
    good = bodies(client)
    text = (FIXTURES / "minimal.yaml").read_text().replace("Winter webinar", "Winter talk")
    cut = text.index("  - id: summer-workshop")
    with path.open("w") as editor:
        editor.write(text[:cut])  # a valid file: only the first event
        editor.flush()
        for _ in range(5):
            assert bodies(client) == good
        editor.write(text[cut:])
    deadline = time.monotonic() + 5
    while b"Winter talk" not in client.get("/feeds/all.ics").data:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.get("/events/summer-workshop.ics").status_code == 200


def test_a_file_rewritten_while_being_read_is_read_again(served, monkeypatch):
    """The bytes of a read that overlapped a write may mix two versions: they are dropped
    (before publish() can record them in the state file) and the file is read again."""
    import icalpub.serve.live as live

    client, path = served
    real_load = live.load_events
    loaded = []

    def load_then_rewrite(*args, **kwargs):
        data = real_load(*args, **kwargs)
        loaded.append(data)
        if len(loaded) == 1:
            bump(path)  # another save lands while this one is being read
        return data

    monkeypatch.setattr(live, "load_events", load_then_rewrite)
    path.write_text((FIXTURES / "minimal.yaml").read_text().replace("Winter webinar", "Winter 2"))
    bump(path)
    # The request that noticed the change may get the last good version (its read was
    # dropped); the next one reads the file again. (The Flask route used to look at the
    # snapshot twice per request, so the same request did both; the fast path looks once.)
    answers = [client.get("/feeds/all.ics").data for _ in range(2)]
    assert b"SUMMARY:Winter 2" in answers[-1]
    assert len(loaded) == 2  # read, dropped, read again


# --- a half-saved file that is valid: the mass-removal guard ----------------------------------

HALF = ("summer-workshop", "weekly-call", "new-york-meetup", "utc-briefing")


def half_file() -> str:
    """minimal.yaml without 4 of its 7 events: what an editor that paused mid-save leaves."""
    import re

    text = (FIXTURES / "minimal.yaml").read_text()
    for event_id in HALF:
        text = re.sub(rf"  - id: {event_id}\n(?:    .*\n|\n)*", "", text, count=1)
    return text


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "icalpub" and r.levelno == logging.WARNING]


def test_a_version_that_drops_many_events_waits_longer_then_is_published(tmp_path, caplog):
    """An editor paused 2.5 s mid-save and its half file, valid, went out: 107 events
    cancelled. Now such a version is published only once it has stayed unchanged for
    MASS_REMOVAL_SETTLE seconds (10 by default); the server says once why it waits."""
    path = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", path)
    app = create_app({"TESTING": True, "EVENTS_PATH": str(path), "RELOAD_INTERVAL": 0,
                      "RELOAD_SETTLE": 0, "MASS_REMOVAL_SETTLE": 1.0})
    client = app.test_client()
    good = bodies(client)
    state = path.with_name("events.state.json")
    recorded = state.read_bytes()
    with caplog.at_level(logging.WARNING, logger="icalpub"):
        path.write_text(half_file())
        written = time.time()
        while time.time() - written < 0.7:
            assert bodies(client) == good  # every request meanwhile: the last good version
            time.sleep(0.02)
        assert state.read_bytes() == recorded  # no cancellation recorded either
        (message,) = warnings(caplog)
        assert "4 of the 7 published events are missing from it (more than 10%)" in message
        assert "only once it has stayed unchanged for 1 s (a half-saved file?)" in message
        deadline = time.monotonic() + 5
        while b"STATUS:CANCELLED" not in client.get("/events/utc-briefing.ics").data:
            assert time.monotonic() < deadline, "never published"
            time.sleep(0.05)
    assert time.time() - written >= 1.0
    assert len(warnings(caplog)) == 1
    assert b"utc-briefing" in state.read_bytes() and state.read_bytes() != recorded


def test_a_half_file_completed_in_time_is_never_published(tmp_path, caplog):
    path = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", path)
    client = create_app({"TESTING": True, "EVENTS_PATH": str(path), "RELOAD_INTERVAL": 0,
                         "RELOAD_SETTLE": 0, "MASS_REMOVAL_SETTLE": 30}).test_client()
    good = bodies(client)
    state = path.with_name("events.state.json")
    recorded = state.read_bytes()
    with caplog.at_level(logging.WARNING, logger="icalpub"):
        path.write_text(half_file())
        for _ in range(5):
            assert bodies(client) == good
        time.sleep(0.05)
        whole = (FIXTURES / "minimal.yaml").read_text().replace("Winter webinar", "Winter talk")
        path.write_text(whole)  # the editor's save completes
        bump(path)
        assert b"SUMMARY:Winter talk" in client.get("/feeds/all.ics").data
    assert client.get("/events/utc-briefing.ics").data.count(b"STATUS:CANCELLED") == 0
    saved = state.read_text()
    assert '"removed"' not in saved and saved != recorded.decode()
    assert len(warnings(caplog)) == 1


def test_a_watching_master_holds_a_mass_removal_too(tmp_path, caplog):
    """Under gunicorn_config the master reads a new version at once (it settles while it is
    rebuilt); a version that drops many events is held back the same way."""
    import math

    from icalpub.serve import live

    path = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", path)
    site = live.LiveSite(path, check_interval=math.inf, settle=0, mass_removal_settle=0.6)
    site._watching = True  # as watch() sets it, without its thread
    first = site.snapshot
    with caplog.at_level(logging.WARNING, logger="icalpub"):
        path.write_text(half_file())
        written = time.time()
        while time.time() - written < 0.4:
            assert site.check() is False and site.snapshot is first
            time.sleep(0.02)
        time.sleep(max(0, 0.65 - (time.time() - written)))
        assert site.check() is True
    assert b"STATUS:CANCELLED" in site.snapshot.get("events/utc-briefing.ics").body
    assert len(warnings(caplog)) == 1


def test_a_server_started_on_a_fresh_half_file_waits_for_it_to_settle(tmp_path, caplog):
    """With nothing to serve yet, start-up waits (and says why) instead of publishing a file
    that drops most of what the state file says was published."""
    from icalpub.serve import live

    path = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", path)
    live.LiveSite(path, settle=0)  # publishes all 7: the state file records them
    path.write_text(half_file())
    written = time.time()
    with caplog.at_level(logging.WARNING, logger="icalpub"):
        site = live.LiveSite(path, settle=0, mass_removal_settle=0.8)
    assert time.time() - written >= 0.8
    assert b"STATUS:CANCELLED" in site.snapshot.get("events/utc-briefing.ics").body
    (message,) = warnings(caplog)
    assert "4 of the 7 published events are missing" in message
