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

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .errors import EventsFileError
from .load import load_events
from .site import Site, build_site

log = logging.getLogger("icalpub")
_ONE_SECOND = timedelta(seconds=1)
_NEVER = ("never",)  # a signature no file has: nothing has failed yet


@dataclass(frozen=True)
class Snapshot:
    """A loaded site and the HTTP Last-Modified that goes with its bytes."""

    site: Site
    last_modified: datetime  # UTC, whole seconds


def _signature(path: Path) -> tuple | None:
    """What changes when the file is rewritten: identity, size and modification time."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class LiveSite:
    """Holds the current :class:`Snapshot` and reloads it when the file changes.

    ``check_interval`` bounds how often the file is stat-ed (0: on every request);
    ``settle`` is how long a new version must stay unmodified before it is read.
    """

    def __init__(self, path: str | os.PathLike[str], *, base_url: str | None = None,
                 check_interval: float = 1.0, settle: float = 0.5):
        self.path = Path(path)
        self.base_url = base_url
        self.check_interval = check_interval
        self.settle = settle
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._signature = _signature(self.path)
        # None is a real signature (the file is missing), so "nothing failed" is _NEVER.
        self._failed_signature: tuple | None = _NEVER
        # Start-up with a bad file raises: better no server than a half-working one.
        self._snapshot = self._load(previous=None)

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot, after reloading the file if it changed."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_interval:
            self._checked_at = now
            signature = _signature(self.path)
            if signature != self._signature and signature != self._failed_signature \
                    and self._settled(signature):
                with self._lock:
                    if signature != self._signature:
                        self._reload(signature)
        return self._snapshot

    def _settled(self, signature: tuple | None) -> bool:
        """Whether the file has been left alone for ``settle`` seconds (a missing file is
        final at once). An mtime in the future (clock skew, ``touch -d``) cannot be judged and
        counts as settled."""
        if signature is None:
            return True
        age = time.time() - signature[2] / 1e9
        return age >= self.settle or age < 0

    def _reload(self, signature: tuple | None) -> None:
        try:
            snapshot = self._load(previous=self._snapshot)
        except EventsFileError as exc:
            if _signature(self.path) != signature:
                return  # rewritten while being read: judge the next version instead
            self._failed_signature = signature
            log.error("%s was not loaded; still serving the last good version (%s).\n%s",
                      self.path, exc.summary(), exc)
            return
        if _signature(self.path) != signature:
            return  # rewritten while being read: these bytes may be a mix of two versions
        self._snapshot = snapshot
        self._signature = signature
        self._failed_signature = None
        log.info("reloaded %s: %d events", self.path, len(self._snapshot.site.data.events))

    def _load(self, previous: Snapshot | None) -> Snapshot:
        data = load_events(self.path, base_url=self.base_url)
        site = build_site(data)
        return Snapshot(site, _last_modified(self.path, site, previous))


def _last_modified(path: Path, site: Site, previous: Snapshot | None) -> datetime:
    """When the served bytes last changed, as HTTP Last-Modified.

    Apple Calendar revalidates with If-Modified-Since only, so this must move forward whenever
    any bytes change, and should not move when none do. It is the newest of the file's mtime
    and the events' ``updated`` (so two processes on the same file agree), and never goes
    backwards within a process.
    """
    try:
        mtime = datetime.fromtimestamp(int(path.stat().st_mtime), timezone.utc)
    except OSError:
        mtime = datetime.fromtimestamp(0, timezone.utc)
    candidates = [mtime] + [e.updated.replace(microsecond=0) for e in site.data.events if e.updated]
    value = max(candidates)
    if previous is not None:
        old = {p: r.etag for p, r in previous.site.resources.items()}
        new = {p: r.etag for p, r in site.resources.items()}
        if old == new:
            return previous.last_modified
        value = max(value, previous.last_modified.replace(microsecond=0) + _ONE_SECOND)
    return value

