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

from array import array
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from itertools import compress
from operator import is_not
from typing import Any, TypeVar

from .model import Event, EventsData

T = TypeVar("T")
_MISSING: Any = object()
#: Positions changed (see :func:`changed_positions`) up to which a list of the previous site
#: is patched rather than made anew: an edit changes one event, or moves it a few places.
SMALL_CHANGE = 64


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

    def __init__(self, previous: Memo | None = None, *, incremental: bool = True):
        #: Whether this site will be the previous one of a later site (a server's): values
        #: that only make the next rebuild cheaper are kept only then (``icalpub build``
        #: renders once and exits).
        self.incremental = incremental
        self._previous: dict[Hashable, Any] = previous._values if previous is not None else {}
        self._values: dict[Hashable, Any] = {}
        #: This site's values of each event, by event id: one bundle per event (kind ->
        #: (extra, value)), found by the event's inputs once per site however many feeds
        #: and pages show it. Kept as (event, data, key, bundle).
        self._bundles: dict[str, tuple[Event, EventsData, Key, dict[str, tuple[Any, Any]]]] = {}
        #: The previous site's, by event id: an event that is the very same object, shown with
        #: the same calendar, organisers and topics, takes its bundle without hashing its
        #: inputs (10,000 events' worth of hashing per reload).
        self._prior = previous._bundles if previous is not None else {}
        self._same_context: dict[tuple[int, int], tuple[EventsData, EventsData, bool]] = {}
        #: How many values of each kind this memo computed (not reused): tests and benchmarks.
        self.computed: Counter[str] = Counter()

    def _bundle(self, event: Event, data: EventsData) -> dict[str, tuple[Any, Any]]:
        entry = self._bundles.get(event.id)
        if entry is not None:
            return entry[3]
        prior = self._prior.get(event.id)
        if prior is not None and prior[0] is event and self._context_same(prior[1], data):
            key = prior[2]
        else:
            key = event_inputs(event, data)
        bundle = self._values.get(key)
        if bundle is None:
            # a copy: the previous site still serves (and may add to) its own bundles
            if prior is not None and prior[2] is key:
                bundle = dict(prior[3])
            else:
                bundle = dict(self._previous.get(key, ()))
            self._values[key] = bundle
        self._bundles[event.id] = (event, data, key, bundle)
        return bundle

    def _context_same(self, before: EventsData, now: EventsData) -> bool:
        """Whether two sites' data show their events with equal calendar, organisers and topics
        (``event_inputs`` then gives equal keys for the same event), decided once per pair."""
        if before is now:
            return True
        known = self._same_context.get((id(before), id(now)))
        if known is None:
            same = before.calendar == now.calendar and before.organisers == now.organisers \
                and before.topics == now.topics
            # the data objects are held too, so their ids are not reused while cached
            known = self._same_context[(id(before), id(now))] = (before, now, same)
        return known[2]

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

    def handed_over(self, key: tuple) -> Any:
        """The previous site's value of ``key`` (None if it had none): for a value this site
        builds anew from the previous one's, rather than takes over."""
        return self._previous.get(key)

    def release(self) -> None:
        """Forget the previous site's values (call when this site is complete)."""
        self._previous, self._prior, self._same_context = {}, {}, {}


def event_inputs(event: Event, data: EventsData) -> Key:
    """Everything of ``data`` that an event's own renderings show: the event, the calendar
    (name, base URL), and its organisers and topics. Part of every per-event memo key."""
    return Key((event, data.calendar, tuple(data.organisers[s] for s in event.organisers),
                tuple(data.topics[s] for s in event.topics)))


def changed_positions(before: Sequence[Any], after: Sequence[Any]) -> list[int]:
    """The indices at which two sequences of the same length hold different objects.

    Identity, not equality: a reload hands unchanged events (and their tracked values) over as
    the very same objects, so this finds an edit among 10,000 in one C-level pass instead of
    looking each event up again. A false "changed" (an equal but new object) only costs a
    look-up; a position whose object is the same cannot be stale."""
    return list(compress(range(len(after)), map(is_not, before, after)))


def splice(data: bytes, starts: array, changed: Sequence[int],
           replacement: Callable[[int], tuple[int, bytes]]) -> tuple[bytes, array]:
    """``data`` (pieces one after the other, piece ``i`` beginning at ``starts[i]``) with the
    pieces at ``changed`` (sorted indices) replaced, and the new starts. ``replacement(i)``
    gives where piece ``i`` ends in ``data`` and its new bytes. The unchanged bytes are copied
    as a few slices of ``data``: a feed or a state-file section patched after an edit never
    refers to its 10,000 unchanged pieces one by one (in a server's master, touching them
    would copy the memory pages it shares with its workers)."""
    pieces: list[bytes] = []
    new_starts = array("q", starts)
    position = shift = 0
    for index, following in zip(changed, [*changed[1:], len(starts)]):
        begin = starts[index]
        end, new = replacement(index)
        pieces += [data[position:begin], new]
        position = end
        new_starts[index] += shift  # moved by the pieces replaced before it
        shift += len(new) - (end - begin)
        if shift:
            for later in range(index + 1, following):
                new_starts[later] += shift
    pieces.append(data[position:])
    return b"".join(pieces), new_starts
