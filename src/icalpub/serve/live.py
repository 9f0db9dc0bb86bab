"""The site a running server serves: reloaded when events.yaml changes, never lost.

A server must keep answering while an editor saves a half-written or broken events.yaml: the
new file is only swapped in once it loads cleanly; until then the last good site stays, and
the problems are logged once per version of the file.

A half-written file can also be *valid*: an editor that truncates the file and writes it in
two chunks leaves, between them, a shorter file that may end exactly after an event. Serving
it would drop events from every subscriber's calendar until the next poll. So a version is
only read once it has not been modified for ``settle`` seconds, and a read during which the
file changed (its identity, size or mtime moved) is thrown away and retried.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
import datetime as dt
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo
from pathlib import Path

from ..changes.publish import Clock, publish, system_clock
from ..changes.state import state_path_for
from ..changes.tracking import Outcome, mass_removal
from ..core.errors import EventsFileError, StateFileError
from ..load import EventsCache, load_events
from ..site import Resource, Site, build_site, gzip_body
from .answers import Served

log = logging.getLogger("icalpub")
_NEVER = ("never",)  # a signature no file has: nothing has failed yet
WATCH_INTERVAL = 0.05  # seconds between two looks at the file by :meth:`LiveSite.watch`


class Snapshot(Served):
    """A published site as this server answers it: its resources with their HTTP
    Last-Modified (from the state file) and gzip bodies, compressed before it is served (a
    request never compresses; a gunicorn master's workers inherit them)."""

    def __init__(self, site: Site, modified: Mapping[str, datetime],
                 valid_until: datetime | None = None, previous: Snapshot | None = None,
                 outcome: Outcome | None = None):
        super().__init__(int(site.data.calendar.refresh.total_seconds()))
        self.site = site
        self.outcome = outcome  # what ``changes`` decided, for the next reload
        self.modified = modified
        self.valid_until = valid_until  # a cancelled event's retention ends: publish again
        self.gzipped = _gzipped(site, previous)
        self.last_modified = max(modified.values(),
                                 default=datetime.fromtimestamp(0, timezone.utc))

    def get(self, path: str) -> Resource | None:
        return self.site.get(path)

    def find(self, path: str) -> tuple[Resource, bytes | None, datetime] | None:
        resource = self.site.get(path)
        if resource is None:
            return None
        return resource, self.gzipped.get(path), self.resource_modified(path)

    def resource_modified(self, path: str) -> datetime:
        modified = self.modified.get(path)
        return modified if modified is not None else self.last_modified


def _day_start(day: date, zone: str | None) -> datetime:
    """When ``day`` begins in ``zone`` (UTC without one), as a UTC instant."""
    return datetime.combine(day, dt.time(), ZoneInfo(zone or "UTC")).astimezone(timezone.utc)


def _gzipped(site: Site, previous: Snapshot | None) -> dict[str, bytes]:
    """Every compressible body of ``site`` gzipped: a resource that ``previous`` served too
    (the same object: nothing it shows changed) keeps its bytes, the others are compressed
    in a thread per core (zlib lets go of the GIL)."""
    before = previous.site.resources if previous is not None else {}
    kept = previous.gzipped if previous is not None else {}
    out, todo = {}, []
    for path, resource in site.resources.items():
        if not resource.compressible:
            continue
        if before.get(path) is resource and path in kept:
            out[path] = kept[path]
        else:
            todo.append(resource)
    if todo:
        with ThreadPoolExecutor(min(len(todo), len(os.sched_getaffinity(0)))) as pool:
            out.update(zip([r.path for r in todo], pool.map(lambda r: gzip_body(r.body), todo)))
    return out


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a site is rebuilt: the rebuild allocates hundreds of
    thousands of objects, none in cycles, and each collection they trigger walks the new ones
    again (~0.4 s per reload at 10,000 events). :func:`_out_of_collector_sight` follows."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _out_of_collector_sight() -> None:
    """Freeze what is alive now (mostly the new site) out of the cyclic garbage collector.

    A site of 10,000 events is millions of objects, and each full collection walks all of them
    with the GIL held (~1.5 s measured per reload at 10,000 events: every request waits). A
    site holds no reference cycles, so the collector could never free any of it anyway: when a
    reload replaces the site, reference counting frees what is no longer used, frozen or not.
    Garbage pending now is collected first, or it would be kept forever: a full collection,
    since cyclic garbage that reached the oldest generation between two reloads (a request's,
    say) was frozen for good by a young one (measured: a 1 MB cycle per reload, never freed).
    It costs about what a young one did: the objects frozen before are not walked, and the new
    site is young anyway (the collector was paused while it was built).
    """
    gc.collect()
    gc.freeze()


def _signature(path: Path) -> tuple | None:
    """What changes when the file is rewritten: identity, size and modification time."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class _ReadDuringWrite(Exception):
    """The file changed while it was being read."""


class _HeldBack(Exception):
    """A version that drops many events at once has not stayed unchanged long enough."""


#: How long a version of the file that drops many events at once (``tracking.mass_removal``)
#: must stay unchanged before a server publishes it: an editor that paused 2.5 s in the
#: middle of a save once had its half file published, and 107 events went out as cancelled.
MASS_REMOVAL_SETTLE = 10.0


class LiveSite:
    """Holds the current :class:`Snapshot` and reloads it when the file changes.

    ``check_interval`` bounds how often the file is stat-ed (0: on every request);
    ``settle`` is how long a new version must stay unmodified before it is read.
    A reload runs in a background thread: the request that noticed the change waits for it at
    most ``reload_wait`` seconds, every other request is answered from the current snapshot
    at once. A large site takes seconds to rebuild; done inside a request, that would hold a
    gunicorn worker past its timeout and turn into 500s.
    Every load goes through :func:`~icalpub.changes.publish.publish` with the state file
    (``state_path``, default ``events.state.json`` next to the events file), so SEQUENCE and
    DTSTAMP are the ones ``icalpub build`` and the other workers give; ``clock`` gives "now".
    A version that drops many of the file's events at once is published only once it has
    stayed unchanged for ``mass_removal_settle`` seconds (logged once per version).
    """

    def __init__(self, path: str | os.PathLike[str], *, base_url: str | None = None,
                 check_interval: float = 0.25, settle: float = 0.5, reload_wait: float = 5.0,
                 state_path: str | os.PathLike[str] | None = None, clock: Clock = system_clock,
                 mass_removal_settle: float = MASS_REMOVAL_SETTLE):
        self.path = Path(path)
        self.base_url = base_url
        self.check_interval = check_interval
        self.settle = settle
        self.reload_wait = reload_wait
        self.mass_removal_settle = mass_removal_settle
        self._held: tuple | None = None  # the version held back, see _approve
        self._reloading: threading.Thread | None = None
        self.state_path = Path(state_path) if state_path else state_path_for(self.path)
        self.clock = clock
        self._lock = threading.Lock()
        self._events_cache = EventsCache()  # a reload composes only the edited events
        self._watching = False  # see :meth:`watch`
        self._checked_at = 0.0
        self._signature = _signature(self.path)
        # None is a real signature (the file is missing), so "nothing failed" is _NEVER.
        self._failed_signature: tuple | None = _NEVER
        # Start-up with a bad file raises: better no server than a half-working one.
        while True:
            try:
                self._snapshot = self._load(previous=None)
                break
            except _HeldBack as exc:  # nothing to serve meanwhile: wait for it to settle
                self._hold(self._signature, exc)
                age = time.time() - self._signature[2] / 1e9 if self._signature else 0
                time.sleep(min(max(0.05, self.mass_removal_settle - age), 1.0))
                self._signature = _signature(self.path)
        _out_of_collector_sight()

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot, after reloading the file if it changed."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_interval:
            self._checked_at = now
            due = self._due()
            if due is not None:
                started = self._start_reload(*due)
                if started is not None:
                    started.join(self.reload_wait)
        return self._snapshot

    def _due(self, settled: bool = True) -> tuple[tuple | None, bool] | None:
        """(signature, expired) when the site must be rebuilt now: the file changed (and
        has settled, unless ``settled`` is False), or a cancelled event's retention ended;
        else None."""
        signature = _signature(self.path)
        expired = self._snapshot.valid_until is not None and \
            self.clock() >= self._snapshot.valid_until
        changed = signature != self._signature and signature != self._failed_signature
        if changed and signature is not None and signature == self._held \
                and not self._settled(signature, self.mass_removal_settle):
            changed = False  # held back, see _approve
        if (expired or changed) and (not settled or self._settled(signature)):
            return signature, expired
        return None

    def check(self) -> bool:
        """Reload in this thread if due (see :meth:`watch`); True when a new site is in.

        A watching process starts on a new version at once and lets it settle while it
        rebuilds: ``publish`` waits for the settle before it saves anything, and a version
        that changed meanwhile is dropped (then the next check reads the newer one)."""
        due = self._due(settled=not self._watching)
        if due is None:
            return False
        before = self._snapshot
        self._reload_safely(due[0])
        return self._snapshot is not before

    def watch(self, on_new: Callable[[], None]) -> threading.Thread:
        """Check the file in a thread of its own, and call ``on_new`` after each reload that
        brought a new site. For a pre-fork server's master (``gunicorn_config``): it rebuilds
        once for all workers, whose :meth:`follow` stops them from rebuilding the same edit
        themselves.

        The file is stat-ed every ``check_interval`` seconds but at least every
        :data:`WATCH_INTERVAL`: a request-driven check is paid by requests, this one by a
        thread of a process that serves nothing, and a stat costs microseconds there while
        each 0.25 s of polling added 0.125 s on average to every edit's way to subscribers."""
        interval = min(self.check_interval, WATCH_INTERVAL)

        def loop() -> None:
            while True:
                time.sleep(interval)
                try:
                    if self.check():
                        on_new()
                except Exception:  # noqa: BLE001 — the watcher must outlive any one failure
                    log.exception("watching %s failed; trying again", self.path)

        self._watching = True  # the only publisher, usually: see ``publish(optimistic=)``
        thread = threading.Thread(target=loop, name="icalpub-watch", daemon=True)
        thread.start()
        return thread

    def follow(self) -> None:
        """Never look at the file again: another process (a pre-fork server's master, see
        :meth:`watch`) reloads, and replaces this process when it has a new site."""
        self.check_interval = math.inf

    def _start_reload(self, signature: tuple | None, expired: bool) -> threading.Thread | None:
        """Start one reload thread unless one is running; return it if this call started it."""
        with self._lock:
            if self._reloading is not None and self._reloading.is_alive():
                return None
            if not expired and signature == self._signature:
                return None  # another request's reload already took this version in
            thread = threading.Thread(target=self._reload_safely, args=(signature,),
                                      name="icalpub-reload", daemon=True)
            self._reloading = thread
            thread.start()
            return thread

    def _reload_safely(self, signature: tuple | None) -> None:
        try:
            self._reload(signature)
        except Exception:  # noqa: BLE001 — a bug in a reload must not take the server down
            log.exception("reloading %s failed; still serving the last good version", self.path)

    def _settled(self, signature: tuple | None, settle: float | None = None) -> bool:
        """Whether the file has been left alone for ``settle`` seconds (default: the
        ``settle`` of this site; a missing file is final at once). An mtime in the future
        (clock skew, ``touch -d``) cannot be judged and counts as settled."""
        if signature is None:
            return True
        age = time.time() - signature[2] / 1e9
        return age >= (self.settle if settle is None else settle) or age < 0

    def _approve(self, signature: tuple | None, outcome: Outcome) -> None:
        """``publish``'s ``approve``: a version that drops many events at once (a half-saved
        file, often) must have stayed unchanged for ``mass_removal_settle`` seconds."""
        found = mass_removal(outcome)
        if found is not None and not self._settled(signature, self.mass_removal_settle):
            raise _HeldBack(found)

    def _hold(self, signature: tuple | None, reason: _HeldBack) -> None:
        if self._held != signature:  # once per version
            self._held = signature
            log.warning("%s: %s; publishing this version only once it has stayed unchanged "
                        "for %g s (a half-saved file?)", self.path, reason,
                        self.mass_removal_settle)

    def _reload(self, signature: tuple | None) -> None:
        started = time.perf_counter()
        try:
            with _collector_paused():
                snapshot = self._load(previous=self._snapshot, signature=signature)
                # frozen before the collector is back: else its first, automatic pass walks
                # every object the rebuild made, and the freeze's own pass walks them again
                _out_of_collector_sight()
        except EventsFileError as exc:
            try:
                self._settled_and_unchanged(signature)
            except _ReadDuringWrite:
                return  # rewritten while being read: judge the next version instead
            self._failed_signature = signature
            log.error("%s was not loaded; still serving the last good version (%s).\n%s",
                      self.path, exc.summary(), exc)
            return
        except StateFileError as exc:
            self._failed_signature = signature
            log.error("%s; still serving the last good version.", exc)
            return
        except _ReadDuringWrite:
            return  # these bytes may mix two versions: read the file again next time
        except _HeldBack as exc:
            self._hold(signature, exc)
            return
        self._snapshot = snapshot
        self._signature = signature
        self._failed_signature = _NEVER
        log.info("reloaded %s: %d events in %.2f s", self.path,
                 len(self._snapshot.site.data.events), time.perf_counter() - started)

    def _settled_and_unchanged(self, signature: tuple | None) -> None:
        """Wait until the version read has stayed unmodified for ``settle`` seconds, then
        raise :class:`_ReadDuringWrite` if the file is no longer that version. Only such a
        version is published or reported as broken (a half-written file may be either)."""
        if signature is not None:
            while not self._settled(signature):
                time.sleep(max(0.01, self.settle - (time.time() - signature[2] / 1e9)))
        if _signature(self.path) != signature:
            raise _ReadDuringWrite

    def _load(self, previous: Snapshot | None, signature: object = _NEVER) -> Snapshot:
        data = load_events(self.path, base_url=self.base_url, cache=self._events_cache)
        if signature is not _NEVER and _signature(self.path) != signature:
            raise _ReadDuringWrite  # before publish(), so its state never records such bytes
        # ``publish`` calls this before it saves anything: the state never records a version
        # that did not settle (a watching master reads a new version at once, see ``check``)
        commit = (None if signature is _NEVER
                  else functools.partial(self._settled_and_unchanged, signature))
        served = previous.site if previous is not None else None
        now = self.clock()
        as_of = data.calendar.today(now)
        result = publish(data, self.state_path,
                         lambda outcome: build_site(outcome.data, outcome.tracked, served,
                                                    as_of=as_of),
                         now=now, optimistic=self._watching, before_commit=commit,
                         previous=previous.outcome if previous is not None else None,
                         approve=functools.partial(
                             self._approve, self._signature if signature is _NEVER else signature))
        for change in result.changes:
            log.info("%s", change)
        # Pages and feeds are made for a day: the next one starts a new site.
        tomorrow = _day_start(as_of + timedelta(days=1), data.calendar.timezone)
        valid_until = min(filter(None, (result.valid_until, tomorrow)))
        return Snapshot(result.site, result.modified, valid_until, previous, result.outcome)
