"""Loaded data + state file -> what to publish: the one step ``serve``, ``build`` and
``check`` share, so they agree on every SEQUENCE, DTSTAMP and Last-Modified.

Rendering is passed in (``render``: the decided outcome -> a site whose resources have
ETags), so this layer knows nothing of how a site is made.

Two short turns under the state file's lock, with the slow part (rendering) between them:

1. read what was published, decide every event's SEQUENCE and timestamps (``tracking``),
   save — from here on every process gives the same values for this version of the file;
2. render without the lock, so other workers are not held up for seconds;
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
from typing import Generic, Protocol, TypeVar

from ..core.errors import StateFileError
from ..core.model import EventsData
from .state import State, StateStore
from .tracking import BadRecord, Change, Outcome, reconcile, stamp_resources

#: Returns the current time (aware, UTC). Injected in tests; see :func:`system_clock`.
Clock = Callable[[], datetime]


class _Tagged(Protocol):
    etag: str


class Rendered(Protocol):
    """What ``render`` returns: resources by path, each with its ETag."""

    @property
    def resources(self) -> Mapping[str, _Tagged]: ...


S = TypeVar("S", bound=Rendered)


def system_clock() -> datetime:
    """Now, in UTC, to the second. ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention)
    replaces it, so a build can be repeated with the same timestamps."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class Published(Generic[S]):
    site: S
    modified: Mapping[str, datetime]  # path -> HTTP Last-Modified (UTC, whole seconds)
    changes: tuple[Change, ...]  # what this run changed (or, dry run, would change)
    valid_until: datetime | None  # rebuild at this time: a cancelled event's retention ends
    outcome: Outcome  # what was decided (its ``hashes`` are the next publish's ``known``)

    @functools.cached_property
    def last_modified(self) -> datetime:
        """The newest Last-Modified of all resources."""
        return max(self.modified.values(), default=datetime.fromtimestamp(0, timezone.utc))


def publish(data: EventsData, state_path: str | os.PathLike[str], render: Callable[[Outcome], S],
            *, now: datetime, write: bool = True, optimistic: bool = False,
            before_commit: Callable[[], None] | None = None,
            previous: Outcome | None = None,
            adopt: Callable[[State], State] | None = None,
            approve: Callable[[Outcome], None] | None = None,
            stage: Callable[[Published[S]], Callable[[], None]] | None = None) -> Published[S]:
    """Decide, render (``render(outcome)``) and, unless ``write`` is False (``check``), save
    the state.

    ``optimistic``: for a process that is usually the only one publishing this file (``icalpub
    build``, a gunicorn master that rebuilds for its workers): decide and render from the state
    as read, without the lock, and save once at the end, under the lock, if nobody wrote the
    file meanwhile (else decide again the careful way). One save instead of two, and nothing
    written until ``before_commit`` has returned: a server calls this while it waits for the
    file to settle, and ``before_commit`` raises if it did not.
    ``previous``: the last outcome of a server's publish, whose hashes are reused.
    ``adopt``: applied to the state as read, before anything is decided (a build raises it to
    what its previous output published, when the state file was lost).
    ``approve``: called with what was decided, before anything is rendered or saved; it raises
    to publish nothing (a file that drops many events at once, see ``tracking.mass_removal``).
    ``stage``: for a publisher whose output must agree with the state file (a build's tree):
    called with the result before the lock is taken, it prepares the output (writes a
    temporary tree) and returns the step that puts it in place, which runs under the lock just
    before the state is saved. If anything up to the save fails, the state file stays as it
    was (whoever staged undoes the step; the exception tells it). Implies one save, as with
    ``optimistic``; if another process saved meanwhile, everything is decided, rendered and
    staged again under the lock.
    Raises :class:`~icalpub.core.errors.StateFileError` for a corrupt or unwritable state file.
    """
    now = now.astimezone(timezone.utc).replace(microsecond=0)
    known = previous.hashes if previous is not None else None
    store = StateStore(Path(state_path))

    def decide(state: State) -> Outcome:
        if adopt is not None:
            state = adopt(state)
        try:
            outcome = reconcile(state, data, now, known)
        except BadRecord as exc:
            raise StateFileError(
                f"{store.path}: {exc}. Restore the file from version control (git checkout -- "
                f"FILE), or delete the record's `last` (the removed event is then no longer "
                "published as cancelled).") from None
        if approve is not None:
            approve(outcome)
        return outcome

    def whole(outcome: Outcome) -> Published[S]:
        """Render and stamp (the stamps go into ``outcome.state``, which is not saved yet)."""
        site = render(outcome)
        modified = stamp_resources(outcome.state, _etags(site), now)
        return Published(site, modified, outcome.changes, outcome.valid_until, outcome)

    if write and (optimistic or stage is not None):
        state, seen = store.read_versioned()
        outcome = decide(state)
        result = whole(outcome)
        put = stage(result) if stage is not None else None
        if before_commit is not None:
            before_commit()
        with store.transaction() as txn:
            if txn.signature != seen and stage is not None:
                # another process saved meanwhile: all again, under the lock this time
                outcome = decide(txn.state)
                result = whole(outcome)
                put = stage(result)
            if txn.signature == seen or stage is not None:  # as if decided under this lock
                if put is not None:
                    put()
                txn.save(outcome.state)
                return result
    elif before_commit is not None:
        before_commit()
    with store.transaction(write=write) as txn:
        outcome = decide(txn.state)
        if write:
            txn.save(outcome.state)
    site = render(outcome)  # without the lock: others go on
    etags = _etags(site)
    if not write:
        modified = stamp_resources(outcome.state, etags, now)
    else:
        with store.transaction() as txn:
            state = txn.state  # as saved above, or as a later process left it
            modified = stamp_resources(state, etags, now)
            txn.save(state)
    return Published(site, modified, outcome.changes, outcome.valid_until, outcome)


def _etags(site: Rendered) -> dict[str, str]:
    return {path: resource.etag for path, resource in site.resources.items()}
