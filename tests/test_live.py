"""A slow rebuild happens beside the requests, never inside them (gunicorn's timeout)."""

import os
import threading
import time

from icalpub import live
from icalpub.web import create_app


def test_slow_reload_serves_old_data_meanwhile_then_new(events_file, monkeypatch):
    path = events_file()
    app = create_app({"EVENTS_PATH": str(path), "RELOAD_INTERVAL": 0, "RELOAD_WAIT": 0.05,
                      "TESTING": True})
    client = app.test_client()
    old = client.get("/feeds/all.ics").data
    release = threading.Event()
    real_load = live.LiveSite._load

    def slow_load(self, *args, **kwargs):
        release.wait(10)  # a rebuild that takes as long as the test wants
        return real_load(self, *args, **kwargs)

    monkeypatch.setattr(live.LiveSite, "_load", slow_load)
    path.write_text(path.read_text().replace("title: Winter webinar", "title: Winter talk"))
    past = time.time() - 5  # as if saved seconds ago: no settle wait
    os.utime(path, (past, past))
    started = time.perf_counter()
    answers = [client.get("/feeds/all.ics") for _ in range(5)]
    assert time.perf_counter() - started < 2  # nobody waited for the rebuild
    assert all(a.status_code == 200 and a.data == old for a in answers)
    release.set()
    site = app.extensions["icalpub"]
    site._reloading.join(10)
    assert b"SUMMARY:Winter talk" in client.get("/feeds/all.ics").data


def test_reloads_leave_nothing_behind_in_the_frozen_heap(events_file):
    """Each loaded site is frozen out of the cyclic collector (``gc.freeze``); what a reload
    replaces must be freed by reference counting, or every reload would leak for good."""
    import gc

    path = events_file()
    site = live.LiveSite(path, check_interval=0, settle=0)
    text = path.read_text()
    counts = []
    for step in range(16):
        title = "Winter talk" if step % 2 else "Winter webinar"
        path.write_text(text.replace("title: Winter webinar", f"title: {title}"))
        past = time.time() - 5
        os.utime(path, (past, past + step))  # a new signature every time
        site._reload(live._signature(path))
        assert f"SUMMARY:{title}".encode() in site.snapshot.get("feeds/all.ics").body
        counts.append(gc.get_freeze_count())
    # a leak of even a few objects per reload (a cache that grows) shows over ten reloads
    assert counts[-1] - counts[5] < 30, counts
