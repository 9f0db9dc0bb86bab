"""A slow rebuild happens beside the requests, never inside them (gunicorn's timeout)."""

import math
import os
import threading
import time

from icalpub.serve import live
from icalpub.serve.app import create_app


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
    replaces must be freed by reference counting, or every reload would leak for good: the
    replaced snapshots, sites and resources die, and the frozen heap stops growing (bounded
    caches, such as the state codec's recent lines, may keep some objects for a while)."""
    import gc
    import weakref

    path = events_file()
    site = live.LiveSite(path, check_interval=math.inf, settle=0)  # reloads by check() only
    text = path.read_text()
    steps = iter(range(1000))

    def reload():
        step = next(steps)
        title = "Winter talk" if step % 2 else "Winter webinar"
        path.write_text(text.replace("title: Winter webinar", f"title: {title}"))
        past = time.time() - 5
        os.utime(path, (past, past + step))  # a new signature every time
        assert site.check() is True
        assert f"SUMMARY:{title}".encode() in site.snapshot.get("feeds/all.ics").body

    served = []
    for _ in range(4):
        reload()
        current = site.snapshot
        served.append([weakref.ref(current), weakref.ref(current.site),
                       weakref.ref(current.get("feeds/all.ics")),
                       weakref.ref(current.get("events/winter-webinar.ics"))])
        del current
    assert all(ref() is not None for ref in served[-1])
    assert [ref() for refs in served[:-1] for ref in refs] == [None] * 4 * (len(served) - 1)

    counts = []  # no object of the test's own is made (and frozen) from here on
    for _ in range(140):
        reload()
        counts.append(gc.get_freeze_count())
    # Each half holds a full cycle of the bounded caches (about 50 reloads here), so each
    # holds the level they fall back to; a leak of two objects per reload raises it by 100.
    assert min(counts[70:]) - min(counts[:70]) < 60, counts


def _edit(path, title: str, age: float = 5) -> None:
    """Retitle the fixture's first event, dated ``age`` seconds ago (settled at once)."""
    path.write_text(path.read_text().replace("title: Winter webinar", f"title: {title}"))
    past = time.time() - age
    os.utime(path, (past, past))


def test_check_reloads_in_the_calling_thread_and_says_whether_the_site_is_new(events_file):
    path = events_file()
    site = live.LiveSite(path, check_interval=0, settle=0.5)
    first = site.snapshot
    assert site.check() is False  # nothing changed
    _edit(path, "Winter talk", age=0)  # just written: not settled yet
    assert site.check() is False and site.snapshot is first
    past = time.time() - 5
    os.utime(path, (past, past))
    assert site.check() is True
    assert b"SUMMARY:Winter talk" in site.snapshot.get("feeds/all.ics").body
    assert site.check() is False  # the same version is not loaded twice
    path.write_text("events: [")  # broken: the last good site stays, and is not "new"
    os.utime(path, (past + 1, past + 1))
    before = site.snapshot
    assert site.check() is False and site.snapshot is before


def test_a_follower_never_reads_the_file_and_a_watcher_reports_each_new_site(events_file):
    """The two halves of ``gunicorn_config``: workers follow, the master watches."""
    path = events_file()
    follower = live.LiveSite(path, check_interval=0, settle=0)
    follower.follow()
    watcher = live.LiveSite(path, check_interval=0.02, settle=0)
    new_sites = []
    watcher.watch(lambda: new_sites.append(watcher.snapshot))
    old = follower.snapshot
    _edit(path, "Winter talk")
    deadline = time.monotonic() + 10
    while not new_sites and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(new_sites) == 1, "the watcher did not report the new site"
    assert b"SUMMARY:Winter talk" in new_sites[0].get("feeds/all.ics").body
    for _ in range(3):
        assert follower.snapshot is old  # never reloaded, however often asked
    time.sleep(0.2)
    assert len(new_sites) == 1  # one edit, one report


def test_a_watcher_rebuilds_while_the_file_settles_and_never_saves_an_unsettled_version(
        events_file, monkeypatch):
    """Watching, a new version is read at once and published once it has settled; a version
    rewritten during the settle (a half-written save) never reaches the state file."""
    import json

    path = events_file()
    site = live.LiveSite(path, check_interval=math.inf, settle=0.3)  # no checks but ours
    site._watching = True  # as watch() sets it, without its thread
    state = site.state_path
    sequence = lambda: json.loads(state.read_text())["events"]["winter-webinar"]["sequence"]  # noqa: E731
    assert sequence() == 0

    real_wait = site._settled_and_unchanged
    def rewritten_during_the_settle(signature):  # noqa: E306
        path.write_text(text.replace("title: Winter webinar", "title: Winter talk finished"))
        real_wait(signature)
    monkeypatch.setattr(site, "_settled_and_unchanged", rewritten_during_the_settle)
    text = path.read_text()
    path.write_text(text.replace("title: Winter webinar", "title: Winter talk"))  # half a save
    started = time.monotonic()
    assert site.check() is False  # read at once, dropped: the file changed while it settled
    assert sequence() == 0  # nothing of it was saved
    monkeypatch.undo()

    assert site.check() is True  # the finished save: read at once, published after the settle
    assert time.monotonic() - started >= 0.3
    assert b"SUMMARY:Winter talk finished" in site._snapshot.get("feeds/all.ics").body
    assert sequence() == 1  # one bump for the one version that was published


def test_a_reload_keeps_what_the_edit_did_not_touch(events_file):
    """A reload renders only what an edit changed: every resource that does not show the
    edited event is the very object the previous site served, with the same gzip body, and
    so the same ETag and Last-Modified (subscribers' caches stay valid)."""
    path = events_file()
    site = live.LiveSite(path, check_interval=math.inf, settle=0)
    before = site.snapshot
    _edit(path, "Winter talk")
    assert site.check() is True
    after = site.snapshot
    kept = {p for p, r in after.site.resources.items() if before.site.get(p) is r}
    showing = {p for p, r in after.site.resources.items() if b"Winter talk" in r.body}
    showing.add("feeds.json")  # it gives each feed's size
    assert {"events/winter-webinar.ics", "events/winter-webinar/index.html", "feeds/all.ics",
            "feeds/all.json", "topics/circular/index.html"} <= showing
    assert kept.isdisjoint(showing)
    untouched = set(after.site.resources) - showing
    # at most these small ones are made afresh on every build, with equal bytes
    assert untouched - kept <= {"static/style.css", "static/app.js"}
    assert "feeds/organisers/nobody.ics" in kept and "events/summer-workshop.ics" in kept
    for p in untouched:
        assert after.answers(p).etag == before.answers(p).etag, p
        assert after.answers(p).last_modified == before.answers(p).last_modified, p
        assert after.gzipped.get(p) == before.gzipped.get(p), p
    for p in kept:
        assert after.gzipped.get(p) is before.gzipped.get(p), p  # not compressed again
    for p in showing:
        assert after.answers(p).etag != before.answers(p).etag, p
