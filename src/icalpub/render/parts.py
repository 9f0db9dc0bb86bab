"""Render every component once; assemble every calendar from the serialised parts.

An event belongs to the "all" feed, two topic feeds, two organiser feeds, its invite and the
jCal twins of those: building a VEVENT for each would render it a dozen times, and most of the
cost of icalendar is building and folding content lines. icalendar serialises a calendar as
its own content lines, then each subcomponent's ``to_ical()``, then ``END:VCALENDAR``; so the
bytes of a VEVENT are the same wherever it appears, and a calendar is the join of its header
and its parts. The tests hold the assembled bytes equal to icalendar's ``to_ical()`` of the
same calendar built in one piece (``calendar.feed_calendar``).

Parts are cached by everything that goes into them (the event, its tracked values, the
organisers and topics it shows, the calendar settings), and a new :class:`Renderer` takes over
the parts of the previous one: after an edit of one event, only that event is rendered again.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any

from icalendar import Calendar, Component

from ..compress import Segment, cut_after, segments_of
from ..memo import SMALL_CHANGE, Memo, changed_positions, splice
from ..model import Event, EventsData, Tracked
from ..select import Feed
from .calendar import feed_header, invite_header, zone_spans
from .event import vevent
from .jcal import plain_parameters
from .vtimezone import build_vtimezone

END = b"END:VCALENDAR\r\n"


@dataclass(frozen=True, eq=False)
class Part:
    """One component, serialised: its iCalendar bytes and its jCal (compact JSON, UTF-8).
    Both are bytes so a feed of 10,000 parts is one C-level join, never re-encoded. Their
    sizes are kept beside them: a feed patched in place (:func:`_assembled_form`) finds
    where each part sits without touching the bytes of the parts that did not change.
    Parts compare and hash as themselves (identity): an unchanged part is the same object
    from one site to the next, and a compressed segment of parts is found again without
    hashing their bytes (``compress``)."""

    ical: bytes
    jcal: bytes
    ical_size: int = field(init=False, repr=False, compare=False)
    jcal_size: int = field(init=False, repr=False, compare=False)
    #: Whether a compressed segment of a feed ends after this part (``compress.cut_after``).
    cut: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ical_size", len(self.ical))
        object.__setattr__(self, "jcal_size", len(self.jcal))
        object.__setattr__(self, "cut", cut_after(self.ical))

    @classmethod
    def of(cls, component: Component) -> Part:
        plain_parameters(component)
        return cls(component.to_ical(), _json(component.to_jcal()).encode("utf-8"))


@dataclass(frozen=True)
class Assembled:
    """A feed's bytes in one form, with what they were made of and where each part begins."""

    form: str  # "ical" or "jcal"
    head: Any
    parts: list[Part]
    body: bytes
    starts: array  # offset of each part's bytes in ``body``

    def segments(self) -> Iterator[Segment]:
        """``body`` as the segments its gzip is compressed in (``compress``): the head, runs
        of parts (each but the first led by the separator), the end."""
        separator, end = _FORMS[self.form]
        yield (self.head,)
        # where each part ends: where the next begins (its separator counted with it), and
        # the last where the end begins: offsets kept with the body, no part is looked at
        if self.parts:
            ends = self.starts[1:]
            ends.append(len(self.body) - len(end))
            yield from segments_of(self.parts, ends, map(_CUT, self.parts), separator or None,
                                   self.starts[0])
        yield (end,)

    def segment_bytes(self, segment: Segment) -> bytes:
        """A segment's bytes: its leading bytes (head, end or separator), then its parts
        joined by the separator."""
        first = segment[0]
        lead, parts = (first, segment[1:]) if isinstance(first, bytes) else (b"", segment)
        return lead + _FORMS[self.form][0].join(map(attrgetter(self.form), parts))


_CUT = attrgetter("cut")


#: A form's separator between parts and its end (the head comes first).
_FORMS = {"ical": (b"", b"END:VCALENDAR\r\n"), "jcal": (b",", b"]]\n")}


def _assembled_form(form: str, head: bytes, parts: list[Part],
                    old: Assembled | None) -> Assembled:
    """The feed's bytes: ``old``'s patched where its parts were replaced (same head, same
    number of parts: an edited event that kept its place), else joined anew. Patching copies
    the unchanged bytes as two or three slices; joining refers to each part's bytes, which in
    a gunicorn master shared with its workers means copying every page they are on."""
    separator, end = _FORMS[form]
    size = attrgetter(f"{form}_size")
    if old is not None and old.head is head and len(old.parts) == len(parts):
        changed = changed_positions(old.parts, parts)
        if not changed:
            return old
        if len(changed) <= SMALL_CHANGE:
            chunk = attrgetter(form)
            body, starts = splice(old.body, old.starts, changed, lambda i: (
                old.starts[i] + size(old.parts[i]), chunk(parts[i])))
            return Assembled(form, head, parts, body, starts)
    chunk = attrgetter(form)
    body = b"".join((head, separator.join([chunk(p) for p in parts]), end))
    starts, position = array("q"), len(head)
    for part in parts:
        starts.append(position)
        position += size(part) + len(separator)
    return Assembled(form, head, parts, body, starts)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Renderer:
    """Feeds and invites of one site, each component rendered at most once.

    Its :class:`~icalpub.memo.Memo` (``memo``) is shared with the pages of the same site and
    takes over the previous renderer's values.
    """

    def __init__(self, data: EventsData, tracked: Mapping[str, Tracked] | None = None,
                 previous: Renderer | None = None, memo: Memo | None = None):
        self.data = data
        self.tracked = dict(tracked or {})
        self.memo = memo if memo is not None else Memo(
            previous.memo if previous is not None else None)
        self._feed_parts: dict[str, list[Part]] = {}
        #: What every event's parts show besides the event (equal objects compare at once:
        #: ``load.reuse`` hands out the previous load's when they are equal).
        self.context = (data.calendar, tuple(data.organisers.values()),
                        tuple(data.topics.values()))

    @property
    def rendered(self) -> int:
        """Components rendered (not taken from the previous renderer): for tests."""
        return self.memo.computed["VEVENT"] + self.memo.computed["VTIMEZONE"]

    # -- parts ------------------------------------------------------------------------------

    def event_part(self, event: Event) -> Part:
        tracked = self.tracked.get(event.id)
        return self.memo.per_event("VEVENT", event, self.data,
                                   lambda: Part.of(vevent(event, self.data, tracked=tracked)),
                                   tracked)

    def timezone_part(self, zone: str, first: date, last: date | None) -> Part:
        return self.memo.get(("VTIMEZONE", zone, first, last),
                             lambda: Part.of(build_vtimezone(zone, first, last)))

    def _components(self, events: tuple[Event, ...]) -> list[Part]:
        zones = [self.timezone_part(key, first, last)
                 for key, (first, last) in sorted(zone_spans(events).items())]
        return zones + [self.event_part(event) for event in events]

    # -- calendars --------------------------------------------------------------------------

    def _header(self, feed: Feed, form: str, make):  # noqa: ANN001, ANN202
        """A feed's header in one form, kept per site feed. A filtered feed's is not kept:
        queries are unbounded, and their bytes have a bounded cache of their own."""
        if feed.filtered:
            return make(feed_header(feed, self.data))
        return self.memo.get((f"header {form}", feed.path, feed.name, feed.description,
                              self.data.calendar), lambda: make(feed_header(feed, self.data)))

    def _feed_components(self, feed: Feed) -> list[Part]:
        """A site feed's parts, found once for its iCalendar and its jCal form. The previous
        site's list is kept while everything the parts are made of is the same: the feed's
        events (the same objects when unchanged), their tracked values, and the calendar,
        organisers and topics they show — then no part is looked up event by event. When
        only a few events changed, the previous list is copied with their parts replaced
        (:meth:`_patched_components`)."""
        if feed.filtered:
            return self._components(feed.events)
        parts = self._feed_parts.get(feed.path)
        if parts is None:
            tracked = list(map(self.tracked.get, feed.ids))
            inputs = (self.context, feed.events, tracked)
            key = ("components", feed.path)
            parts = self._feed_parts[feed.path] = self.memo.revalidate(
                key, lambda old: old[0] == inputs,
                lambda: (inputs, self._patched_components(inputs, self.memo.handed_over(key))
                         or self._components(feed.events)))[1]
        return parts

    def _patched_components(self, inputs: tuple, old: tuple | None) -> list[Part] | None:
        """The previous site's parts of a feed with those of its changed events replaced, or
        None when the change is not that small: another context, events added, removed or
        moved (another length, or more than ``SMALL_CHANGE`` positions), or an edit that
        changes the days a time zone must cover (then the VTIMEZONEs change too).

        A part depends on its event, its tracked values and the context; at a position where
        the event and the tracked values are the very same objects as before, and the
        context is equal, the previous part is the part (``memo.per_event`` would give it)."""
        if old is None:
            return None
        (context, events, tracked), ((old_context, old_events, old_tracked), old_parts) = \
            inputs, old
        if context != old_context or len(events) != len(old_events):
            return None
        changed = sorted({*changed_positions(old_events, events),
                          *changed_positions(old_tracked, tracked)})
        if len(changed) > SMALL_CHANGE or any(
                zone_spans((old_events[i],)) != zone_spans((events[i],)) for i in changed):
            return None  # whole years: equal spans per event give equal spans per feed
        parts = list(old_parts)
        zones = len(old_parts) - len(old_events)
        for i in changed:
            parts[zones + i] = self.event_part(events[i])
        return parts

    def feed(self, feed: Feed) -> bytes:
        if feed.filtered:
            return _assemble_ical(self._header(feed, "ical", _head_ical),
                                  self._feed_components(feed))
        return self.feed_assembled(feed, "ical").body

    def feed_jcal(self, feed: Feed) -> bytes:
        if feed.filtered:
            return _assemble_jcal(self._header(feed, "jcal", _head_jcal),
                                  self._feed_components(feed))
        return self.feed_assembled(feed, "jcal").body

    def feed_assembled(self, feed: Feed, form: str) -> Assembled:
        """A site feed in ``form``: the previous site's very bytes object while the header
        and every part are the same objects (so ``site`` keeps its Resource: no joining, no
        hashing of a feed the edit did not touch), patched where only some parts changed."""
        assert not feed.filtered, "a filtered feed is not kept"
        head = self._header(feed, form, _head_ical if form == "ical" else _head_jcal)
        parts = self._feed_components(feed)
        key = (f"feed {form}", feed.path)
        old = self.memo.handed_over(key)
        return self.memo.revalidate(
            key, lambda old: old.head is head and old.parts == parts,
            lambda: _assembled_form(form, head, parts, old))

    def invite(self, event: Event) -> bytes:
        """The same bytes object as long as the event's inputs are the same (``site`` then
        keeps its Resource and ETag)."""
        return self.memo.per_event("invite", event, self.data, lambda: _assemble_ical(
            _head_ical(invite_header(event)), self._components((event,))),
            self.tracked.get(event.id))


def _head_ical(header: Calendar) -> bytes:
    """The serialised header without its END line: the parts go between."""
    head = header.to_ical()
    assert head.endswith(END)
    return head[: -len(END)]


def _head_jcal(header: Calendar) -> bytes:
    """``["vcalendar",[properties…],[`` : the parts and ``]]`` follow."""
    name, properties, _components = header.to_jcal()
    return f'["{name}",{_json(properties)},['.encode("utf-8")


def _assemble_ical(head: bytes, parts: list[Part]) -> bytes:
    chunks = [p.ical for p in parts]
    chunks.insert(0, head)
    chunks.append(END)
    return b"".join(chunks)


def _assemble_jcal(head: bytes, parts: list[Part]) -> bytes:
    return b"".join((head, b",".join([p.jcal for p in parts]), b"]]\n"))
