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
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date

from icalendar import Calendar, Component

from ..model import Event, EventsData, Tracked
from ..select import Feed
from .calendar import feed_header, invite_header, zone_spans
from .event import vevent
from .jcal import plain_parameters
from .vtimezone import build_vtimezone

END = b"END:VCALENDAR\r\n"


@dataclass(frozen=True)
class Part:
    """One component, serialised: its iCalendar bytes and its jCal (compact JSON text)."""

    ical: bytes
    jcal: str

    @classmethod
    def of(cls, component: Component) -> Part:
        plain_parameters(component)
        return cls(component.to_ical(), _json(component.to_jcal()))


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Renderer:
    """Feeds and invites of one site, each component rendered at most once."""

    def __init__(self, data: EventsData, tracked: Mapping[str, Tracked] | None = None,
                 previous: Renderer | None = None):
        self.data = data
        self.tracked = dict(tracked or {})
        self._previous = previous._parts if previous is not None else {}
        self._parts: dict[Hashable, Part] = {}
        self._by_id: dict[str, Part] = {}  # event id -> part, for this renderer's data only
        self.rendered = 0  # parts rendered (not taken from the previous renderer): for tests

    # -- parts ------------------------------------------------------------------------------

    def _part(self, key: Hashable, make) -> Part:
        part = self._parts.get(key)
        if part is None:
            part = self._previous.get(key)
            if part is None:
                part = Part.of(make())
                self.rendered += 1
            self._parts[key] = part
        return part

    def event_part(self, event: Event) -> Part:
        # By id first: the full key (which hashes and compares whole dataclasses) is needed
        # only once per event, to find its part in the previous renderer.
        part = self._by_id.get(event.id)
        if part is None:
            data, tracked = self.data, self.tracked.get(event.id)
            key = ("VEVENT", event, tracked, data.calendar,
                   tuple(data.organisers[s] for s in event.organisers),
                   tuple(data.topics[s] for s in event.topics))
            part = self._by_id[event.id] = self._part(
                key, lambda: vevent(event, data, tracked=tracked))
        return part

    def timezone_part(self, zone: str, first: date, last: date | None) -> Part:
        return self._part(("VTIMEZONE", zone, first, last),
                          lambda: build_vtimezone(zone, first, last))

    def _components(self, events: tuple[Event, ...]) -> list[Part]:
        zones = [self.timezone_part(key, first, last)
                 for key, (first, last) in sorted(zone_spans(events).items())]
        return zones + [self.event_part(event) for event in events]

    # -- calendars --------------------------------------------------------------------------

    def feed(self, feed: Feed) -> bytes:
        return _assemble_ical(feed_header(feed, self.data), self._components(feed.events))

    def feed_jcal(self, feed: Feed) -> bytes:
        return _assemble_jcal(feed_header(feed, self.data), self._components(feed.events))

    def invite(self, event: Event) -> bytes:
        return _assemble_ical(invite_header(event), self._components((event,)))


def _assemble_ical(header: Calendar, parts: list[Part]) -> bytes:
    head = header.to_ical()
    assert head.endswith(END)
    return b"".join([head[: -len(END)], *(p.ical for p in parts), END])


def _assemble_jcal(header: Calendar, parts: list[Part]) -> bytes:
    name, properties, _components = header.to_jcal()
    text = f'["{name}",{_json(properties)},[{",".join(p.jcal for p in parts)}]]\n'
    return text.encode("utf-8")
