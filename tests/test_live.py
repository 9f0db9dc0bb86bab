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
