"""Loaded data + state file -> the site to publish: the one step ``serve``, ``build`` and
``check`` share, so they agree on every SEQUENCE, DTSTAMP and Last-Modified.

Two short turns under the state file's lock, with the slow part (rendering) between them:

1. read what was published, decide every event's SEQUENCE and timestamps (``tracking``),
   save — from here on every process gives the same values for this version of the file;
2. render (``site``) without the lock, so other workers are not held up for seconds;
3. re-read the state, record each resource's ETag and Last-Modified (kept while the ETag is
   the same, so a second process rendering the same bytes keeps the first one's time), save.

A process that is usually alone in publishing the file (``icalpub build``, the gunicorn master
of ``gunicorn_config``) may go *optimistic*: decide and render from the state as read, then
take the lock once and save, provided the file is still the one it read (an optimistic
concurrency check on its inode, size and mtime); if another process saved in between, it
falls back to the turns above.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .memo import Memo
from .model import EventsData
from .prerender import prerender
from .site import Site, build_site
from .state import StateStore
from .tracking import Change, Outcome, reconcile, stamp_resources

#: Returns the current time (aware, UTC). Injected in tests; see :func:`system_clock`.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC, to the second. ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention)
    replaces it, so a build can be repeated with the same timestamps."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class Published:
    site: Site
    modified: Mapping[str, datetime]  # path -> HTTP Last-Modified (UTC, whole seconds)
    changes: tuple[Change, ...]  # what this run changed (or, dry run, would change)
    valid_until: datetime | None  # rebuild at this time: a cancelled event's retention ends

    @functools.cached_property
    def last_modified(self) -> datetime:
        """The newest Last-Modified of all resources."""
        return max(self.modified.values(), default=datetime.fromtimestamp(0, timezone.utc))


def publish(data: EventsData, state_path: str | os.PathLike[str], *, now: datetime,
            write: bool = True, previous: Site | None = None, workers: int = 1,
            optimistic: bool = False, incremental: bool = True,
            before_commit: Callable[[], None] | None = None,
            built: Callable[[Site], None] | None = None) -> Published:
    """Decide, render and (unless ``write`` is False, as for ``check``) save the state.

    ``workers`` > 1 renders the events' own parts in that many processes first
    (``prerender``; ``icalpub build`` does, a server does not).

    ``previous`` (the site a server published before) lends its rendered components, so
    only what changed is rendered again. ``incremental`` False (``icalpub build``): this site
    will never be a ``previous``, so what would only speed up the next rebuild is not kept.

    ``optimistic``: for a process that is usually the only one publishing this file (``icalpub
    build``, a gunicorn master that rebuilds for its workers): decide and render from the state
    as read, without the lock, and save once at the end, under the lock, if nobody wrote the
    file meanwhile (else decide again the careful way, rendering only what differs). One save
    instead of two, and nothing written until ``before_commit`` has returned: a server calls
    this while it waits for the file to settle, and ``before_commit`` raises if it did not.
    ``built`` is called with every site rendered, before ``before_commit``: a server
    compresses the site's new bodies there, while the file settles.
    Raises :class:`~icalpub.errors.StateFileError` for a corrupt or unwritable state file.
    """
    now = now.astimezone(timezone.utc).replace(microsecond=0)
    store = StateStore(Path(state_path))
    if write and optimistic:
        state, seen = store.read_versioned()
        memo = _memo_after(previous, incremental)
        outcome = reconcile(state, data, now, memo)
        site = _render(outcome, previous, memo, workers, built)
        if before_commit is not None:
            before_commit()
        with store.transaction() as txn:
            if txn.signature == seen:  # as if decided under this lock: save it
                modified = stamp_resources(outcome.state, _etags(site), now)
                txn.save(outcome.state)
                return Published(site, modified, outcome.changes, outcome.valid_until)
        previous = site  # another process saved meanwhile: its decisions count, ours are parts
    elif before_commit is not None:
        before_commit()
    memo = _memo_after(previous, incremental)
    with store.transaction(write=write) as txn:
        outcome = reconcile(txn.state, data, now, memo)
        if write:
            txn.save(outcome.state)
    site = _render(outcome, previous, memo, workers, built)  # without the lock: others go on
    etags = _etags(site)
    if not write:
        modified = stamp_resources(outcome.state, etags, now)
    else:
        with store.transaction() as txn:
            state = txn.state  # as saved above, or as a later process left it
            modified = stamp_resources(state, etags, now)
            txn.save(state)
    return Published(site, modified, outcome.changes, outcome.valid_until)


def _memo_after(previous: Site | None, incremental: bool) -> Memo:
    """One memo for this version, taking over the previous site's (snapshots, parts, pages)."""
    return Memo(previous.renderer.memo if previous is not None else None,
                incremental=incremental)


def _render(outcome: Outcome, previous: Site | None, memo: Memo, workers: int,
            built: Callable[[Site], None] | None = None) -> Site:
    prerender(outcome.data, outcome.tracked, memo, workers)
    site = build_site(outcome.data, outcome.tracked, previous, memo)
    if built is not None:
        built(site)
    return site


def _etags(site: Site) -> dict[str, str]:
    return {path: resource.etag for path, resource in site.resources.items()}
