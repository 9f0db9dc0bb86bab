"""Several processes, one state file: they take turns (flock) and agree on every value.

Real processes (``icalpub build`` subprocesses next to the test process), because a lock
that only works within one process is the bug this guards against.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from icalpub.state import StateStore, state_path_for
from icalpub.web import create_app
from tracking_helpers import FakeClock, copy_fixture

ICALPUB = [sys.executable, "-m", "icalpub.cli"]
EPOCH_A, EPOCH_B = "1893585600", "1893844800"  # 2030-01-02 and 2030-01-05, 12:00 UTC


def start_build(events: Path, out: Path, epoch: str) -> subprocess.Popen:
    env = dict(os.environ, SOURCE_DATE_EPOCH=epoch)
    return subprocess.Popen([*ICALPUB, "build", "--events", str(events), "--out", str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def hold_lock(events: Path) -> int:
    fd = os.open(StateStore(state_path_for(events)).lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_second_writer_waits_for_the_lock(tmp_path):
    events = copy_fixture(tmp_path)
    fd = hold_lock(events)
    try:
        build = start_build(events, tmp_path / "public", EPOCH_A)
        time.sleep(1.5)
        assert build.poll() is None, build.communicate()[0]  # still waiting
        assert not state_path_for(events).exists()
    finally:
        os.close(fd)
    output, _ = build.communicate(timeout=60)
    assert build.returncode == 0, output
    assert state_path_for(events).exists()


def test_two_builds_at_once_give_the_same_sequence_and_dtstamp(tmp_path):
    events = copy_fixture(tmp_path)
    fd = hold_lock(events)  # both start, both queue on the lock, then race for it
    try:
        a = start_build(events, tmp_path / "a", EPOCH_A)
        b = start_build(events, tmp_path / "b", EPOCH_B)
        time.sleep(1.0)
    finally:
        os.close(fd)
    for proc in (a, b):
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
    tree_a, tree_b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert tree_a == tree_b  # every byte, manifest included
    stamps = {line for line in tree_a["feeds/all.ics"].split(b"\r\n") if line.startswith(b"DTSTAMP")}
    # one process decided (its clock), the other reused its decision
    assert stamps in ({b"DTSTAMP:20300102T120000Z"}, {b"DTSTAMP:20300105T120000Z"})


def test_a_build_next_to_a_server_uses_the_servers_values(tmp_path):
    events = copy_fixture(tmp_path)
    clock = FakeClock()
    client = create_app({"TESTING": True, "EVENTS_PATH": str(events), "RELOAD_INTERVAL": 0,
                         "CLOCK": clock}).test_client()
    served = client.get("/feeds/all.ics")
    assert b"DTSTAMP:20300101T120000Z" in served.data
    build = start_build(events, tmp_path / "public", EPOCH_B)  # another clock, same answers
    output, _ = build.communicate(timeout=60)
    assert build.returncode == 0, output
    built = tree(tmp_path / "public")
    assert built["feeds/all.ics"] == served.data
    assert built["events/winter-webinar.ics"] == client.get("/events/winter-webinar.ics").data
