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

from icalpub.changes.state import StateStore, state_path_for
from icalpub.serve.app import create_app
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


def test_gunicorn_workers_agree_before_and_after_an_edit(tmp_path):
    """Four gunicorn workers load (and later reload) the same file, each at its own moment and
    with the real clock; the lock makes the first decide and the others reuse its values."""
    import http.client
    import re
    import socket

    from tracking_helpers import edit

    events = copy_fixture(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, ICALPUB_EVENTS=str(events))
    env.pop("SOURCE_DATE_EPOCH", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}",
         "icalpub.serve.app:create_app()"], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def fetch_many(n: int = 24) -> set[bytes]:
        bodies = set()
        for _ in range(n):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/feeds/all.ics", headers={"Connection": "close"})
            bodies.add(conn.getresponse().read())
            conn.close()
        return bodies

    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[0].decode()
            try:
                first = fetch_many()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert len(first) == 1  # every worker, the same bytes
        time.sleep(1.1)  # the next second: a worker deciding on its own would differ
        edit(events, "title: Winter webinar", "title: Winter webinar (moved)")
        deadline = time.monotonic() + 30
        while True:
            bodies = fetch_many()
            if all(b"Winter webinar (moved)" in body for body in bodies):
                break
            assert time.monotonic() < deadline, "workers did not reload"
            time.sleep(0.3)
        assert len(bodies) == 1
        [body] = bodies
        assert re.search(rb"SUMMARY:Winter webinar \(moved\)\r\n(?:.*\r\n)*?SEQUENCE:1\r\n", body)
    finally:
        server.terminate()
        server.wait(timeout=30)
