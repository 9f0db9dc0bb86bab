"""Values computed for one site and handed to the next, so a reload computes only what changed.

A server rebuilds its site after every edit of events.yaml. Most of the site is a function of
one event and a few things it shows (its organisers' and topics' names, the calendar): its
VEVENT, its invite, its page, its card in listings. Each is kept under a key made of exactly
those inputs; the next site's :class:`Memo` looks a key up in its own values, then in the
previous site's, and computes it only when neither has it. Only keys the newer site asked for
are kept, and :meth:`Memo.release` drops the previous site's values once the new site is
built, so a memo never holds more than one site's worth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from .model import Event, EventsData

T = TypeVar("T")
_MISSING: Any = object()


class Key(tuple):
    """A memo key that hashes once: an event's inputs are looked up for each of its parts, and
    hashing them means hashing every field of the event and its organisers."""

    def __hash__(self) -> int:
        try:
            return self._hash  # type: ignore[has-type]
        except AttributeError:
            self._hash = tuple.__hash__(self)
            return self._hash


class Memo:
    """Memoised values by key (the first element of a key names its kind, for counting), and
    each event's values in one bundle under its inputs (:meth:`per_event`)."""

    def __init__(self, previous: Memo | None = None):
        self._previous: dict[Hashable, Any] = previous._values if previous is not None else {}
        self._values: dict[Hashable, Any] = {}
        #: This site's values of each event, by event id: one bundle per event (kind ->
        #: (extra, value)), found by the event's inputs once per site however many feeds
        #: and pages show it.
        self._bundles: dict[str, dict[str, tuple[Any, Any]]] = {}
        #: How many values of each kind this memo computed (not reused): tests and benchmarks.
        self.computed: Counter[str] = Counter()

    def _bundle(self, event: Event, data: EventsData) -> dict[str, tuple[Any, Any]]:
        bundle = self._bundles.get(event.id)
        if bundle is None:
            key = event_inputs(event, data)
            bundle = self._values.get(key)
            if bundle is None:
                # a copy: the previous site still serves (and may add to) its own bundles
                bundle = self._values[key] = dict(self._previous.get(key, ()))
            self._bundles[event.id] = bundle
        return bundle

    def per_event(self, kind: str, event: Event, data: EventsData, make: Callable[[], T],
                  extra: Hashable = None) -> T:
        """The value of ``kind`` for ``event``: a function of the event's inputs (see
        :func:`event_inputs`) and of ``extra`` (e.g. its tracked values), within one site's
        ``data``."""
        bundle = self._bundle(event, data)
        entry = bundle.get(kind)
        if entry is None or not (entry[0] is extra or entry[0] == extra):
            entry = bundle[kind] = (extra, make())
            self.computed[kind] += 1
        return entry[1]

    def seed(self, kind: str, event: Event, data: EventsData, value: Any,
             extra: Hashable = None) -> None:
        """Store what :meth:`per_event` would compute (``prerender`` computes it in another
        process)."""
        self._bundle(event, data)[kind] = (extra, value)
        self.computed[kind] += 1

    def get(self, key: tuple, make: Callable[[], T]) -> T:
        value = self._values.get(key, _MISSING)
        if value is _MISSING:
            value = self._previous.get(key, _MISSING)
            if value is _MISSING:
                value = make()
                self.computed[key[0]] += 1
            self._values[key] = value
        return value

    def revalidate(self, key: tuple, still_valid: Callable[[Any], bool],
                   make: Callable[[], T]) -> T:
        """Like :meth:`get` for a value whose key cannot hold all of its inputs (a feed of
        10,000 events): the previous site's value is taken when ``still_valid(value)``."""
        value = self._values.get(key, _MISSING)
        if value is _MISSING:
            value = self._previous.get(key, _MISSING)
            if value is _MISSING or not still_valid(value):
                value = make()
                self.computed[key[0]] += 1
            self._values[key] = value
        return value

    def release(self) -> None:
        """Forget the previous site's values (call when this site is complete)."""
        self._previous = {}


def event_inputs(event: Event, data: EventsData) -> Key:
    """Everything of ``data`` that an event's own renderings show: the event, the calendar
    (name, base URL), and its organisers and topics. Part of every per-event memo key."""
    return Key((event, data.calendar, tuple(data.organisers[s] for s in event.organisers),
                tuple(data.topics[s] for s in event.topics)))
