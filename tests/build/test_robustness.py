"""``icalpub build`` when things go wrong, end to end through the CLI.

* A full disk or a read-only output folder is a message naming the file and what to do, exit
  1, and both the previous tree and the state file stay exactly as they were: the state file
  is saved only once the new tree is in place (and the tree is swapped back if that save
  fails), so it never records a change — a cancellation above all — that was not published.
* SEQUENCE never goes backwards: a state file that is lost or replaced by an older copy is
  noticed from the previous tree, and every event continues from what it published.
* A version of the file that drops many events at once (a half-saved file) is refused unless
  ``--allow-mass-removal`` says it is meant; ``check`` warns about it.

The real-file-system cases mount a tiny or read-only tmpfs when the tests run as root (root
ignores permission bits) and use permission bits otherwise; the same faults are also injected
by monkeypatching, which runs everywhere.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner
from tracking_helpers import T0, copy_fixture, edit, remove_event

from icalpub.build import export as export_module
from icalpub.changes import state as state_module
from icalpub.changes.state import state_path_for
from icalpub.cli import main

EPOCH = int(T0.timestamp())
HOUR = 3600


def cli(*args: str, epoch: int = EPOCH):
    return CliRunner(env={"SOURCE_DATE_EPOCH": str(epoch)}).invoke(main, list(args))


def build(events: Path, out: Path, *extra: str, epoch: int = EPOCH):
    return cli("build", "--events", str(events), "--out", str(out), "--jobs", "1", *extra,
               epoch=epoch)


def ok(result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None


def refused(result) -> str:
    """The build failed as a message: exit 1, no traceback; returns stderr."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.stderr


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def invite(out: Path, event_id: str) -> icalendar.Event:
    calendar = icalendar.Calendar.from_ical((out / f"events/{event_id}.ics").read_bytes())
    (event,) = calendar.walk("VEVENT")
    return event


def sequences(out: Path) -> dict[str, int]:
    return {p.stem: int(invite(out, p.stem)["SEQUENCE"])
            for p in sorted((out / "events").glob("*.ics"))}


def in_feed(out: Path) -> dict[str, str]:
    """UID -> STATUS of every VEVENT in feeds/all.ics."""
    calendar = icalendar.Calendar.from_ical((out / "feeds/all.ics").read_bytes())
    return {str(e["UID"]).split("@")[0]: str(e.get("STATUS")) for e in calendar.walk("VEVENT")}


@pytest.fixture
def events(tmp_path):
    return copy_fixture(tmp_path)


@pytest.fixture
def built(events, tmp_path):
    """A first build, then a change that matters: an event removed (to be cancelled) and one
    retitled. Returns (events, out, the state file's bytes, the tree)."""
    out = tmp_path / "public"
    ok(build(events, out))
    remove_event(events, "summer-workshop")
    edit(events, "title: Winter webinar", "title: Winter webinar (moved)")
    return events, out, state_path_for(events).read_bytes(), tree(out)


def unchanged(events: Path, out: Path, state: bytes, before: dict[str, bytes]) -> None:
    assert state_path_for(events).read_bytes() == state
    assert tree(out) == before
    assert not list(out.parent.glob(f".{out.name}.tmp-*"))
    assert not list(out.parent.glob(f".{out.name}.old-*"))


# --- a full disk, a read-only folder -----------------------------------------------------------

def test_a_full_disk_midway_is_a_message_and_changes_nothing(built, monkeypatch):
    events, out, state, before = built
    calls = []
    real = export_module.write_file

    def full(target, body):
        calls.append(target)
        if len(calls) >= 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        real(target, body)

    monkeypatch.setattr(export_module, "write_file", full)
    message = refused(build(events, out, epoch=EPOCH + HOUR))
    assert "No space left on device" in message and "the disk is full" in message
    assert f".{out.name}.tmp-" in message  # the file it could not write
    assert f"the previous tree at {out}/ is unchanged" in message
    assert "Nothing was published; the state file is unchanged." in message
    unchanged(events, out, state, before)
    monkeypatch.undo()  # space freed: the same build goes through, cancellation and all
    ok(build(events, out, epoch=EPOCH + 2 * HOUR))
    assert in_feed(out)["summer-workshop"] == "CANCELLED"


def test_a_read_only_output_folder_is_a_message_and_changes_nothing(built, monkeypatch):
    events, out, state, before = built
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self.name.startswith(f".{out.name}.tmp-"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    message = refused(build(events, out, epoch=EPOCH + HOUR))
    assert "Read-only file system; the file system is read-only: choose another --out" in message
    unchanged(events, out, state, before)


def test_a_failing_swap_changes_nothing(built, monkeypatch):
    events, out, state, before = built

    def no_exchange(a, b):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(b))

    monkeypatch.setattr(export_module, "_exchange", no_exchange)
    message = refused(build(events, out, epoch=EPOCH + HOUR))
    assert "Permission denied; no permission: give this user write access to" in message
    unchanged(events, out, state, before)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two renames"])
def test_a_state_file_that_cannot_be_saved_puts_the_previous_tree_back(built, monkeypatch,
                                                                       exchange):
    """The tree is swapped in first, then the state saved: if the save fails, the previous
    tree returns, so what is published is always what the state file records."""
    events, out, state, before = built
    if not exchange:
        monkeypatch.setattr(export_module, "_exchange", lambda a, b: False)

    def no_space(self, data):
        assert b"Winter webinar (moved)" in (out / "feeds/all.ics").read_bytes()  # swapped in
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(state_module.StateStore, "write_bytes", no_space)
    message = refused(build(events, out, epoch=EPOCH + HOUR))
    assert f"{state_path_for(events)}: cannot be written: No space left on device" in message
    unchanged(events, out, state, before)


def test_no_lock_file_possible_is_a_message(events, tmp_path, monkeypatch):
    real_open = os.open

    def refuse_lock(path, *args, **kwargs):
        if str(path).endswith(".public.lock"):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(export_module.os, "open", refuse_lock)
    message = refused(build(events, tmp_path / "public"))
    assert ".public.lock: Permission denied" in message
    assert not state_path_for(events).exists() and not (tmp_path / "public").exists()


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Path:
    """A real tmpfs of ``size`` at ``where`` (root only; skips where mounting is not allowed)."""
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")


@needs_root
def test_a_really_full_disk(built, tmp_path):
    """A 64 kB tmpfs: the tree (about 300 kB with its .gz files) does not fit."""
    events, _, state, _ = built
    with tmpfs(tmp_path / "small", "64k") as small:
        target = small / "public"
        message = refused(build(events, target, epoch=EPOCH + HOUR))
        assert "No space left on device; the disk is full" in message
        assert state_path_for(events).read_bytes() == state
        assert list(small.iterdir()) == [small / ".public.lock"]  # nothing half-written left


@needs_root
def test_a_really_read_only_output_folder(events, tmp_path):
    with tmpfs(tmp_path / "disk", "16m") as disk:
        out = disk / "public"
        ok(build(events, out))
        state, before = state_path_for(events).read_bytes(), tree(out)
        remove_event(events, "summer-workshop")
        remount_read_only(disk)
        message = refused(build(events, out, epoch=EPOCH + HOUR))
        assert "Read-only file system; the file system is read-only" in message
        unchanged(events, out, state, before)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits (see the tmpfs test)")
def test_an_output_folder_without_write_permission(events, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    out = site / "public"
    ok(build(events, out))
    state, before = state_path_for(events).read_bytes(), tree(out)
    remove_event(events, "summer-workshop")
    site.chmod(0o555)
    try:
        message = refused(build(events, out, epoch=EPOCH + HOUR))
    finally:
        site.chmod(0o755)
    assert "Permission denied; no permission: give this user write access to" in message
    unchanged(events, out, state, before)


# --- SEQUENCE never goes backwards -------------------------------------------------------------

def test_a_deleted_state_file_continues_from_the_published_sequence(events, tmp_path):
    out = tmp_path / "public"
    ok(build(events, out))
    for n in (1, 2):  # winter-webinar reaches SEQUENCE 2
        edit(events, "title: Winter webinar", f"title: Winter webinar {n}")
        ok(build(events, out, epoch=EPOCH + n * HOUR))
    published = sequences(out)
    assert published["winter-webinar"] == 2 and set(published.values()) == {0, 2}
    files = tree(out)

    state_path_for(events).unlink()  # lost
    result = build(events, out, epoch=EPOCH + 5 * HOUR)
    ok(result)
    assert "lacked 7 events that" in result.stderr and "(a lost or older state file?)" in result.stderr
    assert sequences(out) == published
    # nothing changed, so nothing moved: same DTSTAMPs, same bytes, same Last-Modified
    assert tree(out) == files
    restored = json.loads(state_path_for(events).read_text())
    assert restored["events"]["winter-webinar"]["sequence"] == 2

    state_path_for(events).unlink()  # lost again, and this time an event changed too
    edit(events, "title: Winter webinar 2", "title: Winter webinar 3")
    ok(build(events, out, epoch=EPOCH + 6 * HOUR))
    after = sequences(out)
    assert after["winter-webinar"] == 3  # above what calendars hold
    assert {k: v for k, v in after.items() if k != "winter-webinar"} == \
        {k: v for k, v in published.items() if k != "winter-webinar"}
    stamp = invite(out, "winter-webinar").decoded("DTSTAMP")
    assert stamp.timestamp() == EPOCH + 6 * HOUR


def test_an_older_state_file_never_takes_a_sequence_back(events, tmp_path):
    """A revert or a bad merge brings back an older state file: what the tree published wins
    wherever it is ahead."""
    out = tmp_path / "public"
    ok(build(events, out))
    old_state = state_path_for(events).read_bytes()
    edit(events, "title: Winter webinar", "title: Winter talk")
    ok(build(events, out, epoch=EPOCH + HOUR))
    edit(events, "title: Winter talk", "title: Winter webinar")  # back to the first title
    ok(build(events, out, epoch=EPOCH + 2 * HOUR))
    assert sequences(out)["winter-webinar"] == 2
    state_path_for(events).write_bytes(old_state)  # says SEQUENCE 0, and the same content
    ok(build(events, out, epoch=EPOCH + 3 * HOUR))
    assert sequences(out)["winter-webinar"] == 2  # not 0; unchanged since, so not 3 either


def test_sequence_never_decreases_over_builds_with_the_state_file_lost_at_random(events,
                                                                                tmp_path):
    out = tmp_path / "public"
    highest: dict[str, int] = {}
    title = "Winter webinar"
    for step in range(9):
        if step % 2:
            state_path_for(events).unlink(missing_ok=True)
        if step % 3 == 1:
            edit(events, f"title: {title}\n", f"title: Winter {step}\n")
            title = f"Winter {step}"
        ok(build(events, out, epoch=EPOCH + step * HOUR))
        for event_id, sequence in sequences(out).items():
            assert sequence >= highest.get(event_id, 0), (step, event_id)
            highest[event_id] = sequence
    assert highest["winter-webinar"] == 3  # three edits, each above the last


def test_an_event_removed_while_the_state_file_was_lost_keeps_its_sequence(events, tmp_path):
    """It cannot be re-rendered as cancelled (its content was in the lost file), so it leaves
    the feeds; if it comes back it goes out above its published SEQUENCE."""
    out = tmp_path / "public"
    ok(build(events, out))
    edit(events, "title: Winter webinar", "title: Winter talk")
    ok(build(events, out, epoch=EPOCH + HOUR))
    text = events.read_text()
    state_path_for(events).unlink()
    remove_event(events, "winter-webinar")
    ok(build(events, out, epoch=EPOCH + 2 * HOUR))
    assert "winter-webinar" not in in_feed(out)
    tombstone = json.loads(state_path_for(events).read_text())["events"]["winter-webinar"]
    assert tombstone["sequence"] == 1 and tombstone["gone"] is True
    events.write_text(text)  # it comes back, as it was
    ok(build(events, out, epoch=EPOCH + 3 * HOUR))
    assert sequences(out)["winter-webinar"] == 2


def test_a_state_file_that_matches_the_tree_reads_no_invite(events, tmp_path, monkeypatch):
    from icalpub.build import recover

    out = tmp_path / "public"
    ok(build(events, out))
    edit(events, "title: Winter webinar", "title: Winter talk")
    read = []
    real = recover.read_invite
    monkeypatch.setattr(recover, "read_invite", lambda *a: read.append(a) or real(*a))
    ok(build(events, out, epoch=EPOCH + HOUR))
    assert read == []


def test_a_tampered_tree_is_not_believed(events, tmp_path):
    """Only icalpub's own invites are read: a foreign UID, a SEQUENCE beyond 32 bits or a
    year-9999 DTSTAMP in the previous tree is ignored, never a crash."""
    out = tmp_path / "public"
    ok(build(events, out))
    state_path_for(events).unlink()
    for event_id, (old, new) in {
            "winter-webinar": (b"SEQUENCE:0", b"SEQUENCE:99999999999"),
            "summer-workshop": (b"UID:summer-workshop@", b"UID:someone-else@"),
            "weekly-call": (b"DTSTAMP:2030", b"DTSTAMP:9999")}.items():
        path = out / f"events/{event_id}.ics"
        body = path.read_bytes()
        assert old in body
        path.write_bytes(body.replace(old, new))
    ok(build(events, out, epoch=EPOCH + HOUR))
    assert sequences(out)["winter-webinar"] == 0


# --- the mass-removal guard --------------------------------------------------------------------

HALF = ("summer-workshop", "weekly-call", "new-york-meetup", "utc-briefing")


def test_a_build_that_drops_many_events_is_refused_unless_allowed(events, tmp_path):
    out = tmp_path / "public"
    ok(build(events, out))
    state, before = state_path_for(events).read_bytes(), tree(out)
    for event_id in HALF:  # as a half-saved file would
        remove_event(events, event_id)

    check = cli("check", str(events))
    ok(check)
    assert "warning:" in check.stderr and "4 of the 7 published events are missing" in check.stderr
    assert "--allow-mass-removal" in check.stderr

    message = refused(build(events, out, epoch=EPOCH + HOUR))
    assert f"{events}: 4 of the 7 published events are missing from it (more than 10%)" in message
    assert "new-york-meetup, summer-workshop, utc-briefing, weekly-call" in message
    assert "build with --allow-mass-removal" in message
    unchanged(events, out, state, before)

    result = build(events, out, "--allow-mass-removal", epoch=EPOCH + 2 * HOUR)
    ok(result)
    assert all(in_feed(out)[event_id] == "CANCELLED" for event_id in HALF)
    assert result.stdout.count("removed from the events file") == 4


def test_a_few_removals_need_no_permission(events, tmp_path):
    out = tmp_path / "public"
    ok(build(events, out))
    for event_id in HALF[:2]:
        remove_event(events, event_id)
    check = cli("check", str(events))
    assert "--allow-mass-removal" not in check.output
    ok(build(events, out, epoch=EPOCH + HOUR))


def test_a_lost_state_file_and_a_half_file_together_are_refused(events, tmp_path):
    """The guard counts what the previous tree published when the state file is gone."""
    out = tmp_path / "public"
    ok(build(events, out))
    state_path_for(events).unlink()
    for event_id in HALF:
        remove_event(events, event_id)
    before = tree(out)
    message = refused(build(events, out, epoch=EPOCH + HOUR))
    assert "4 of the 7 published events are missing" in message
    assert tree(out) == before and not state_path_for(events).exists()


def test_the_first_build_has_nothing_to_remove(events, tmp_path):
    for event_id in HALF:
        remove_event(events, event_id)
    ok(build(events, tmp_path / "public"))
