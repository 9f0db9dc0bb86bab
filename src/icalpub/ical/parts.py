"""Render every component once; assemble every calendar from the serialised parts.

An event belongs to the "all" feed, its topic and organiser feeds, its invite and the jCal
twins of those: building a VEVENT for each would render it a dozen times, and most of the cost
of icalendar is building and folding content lines. icalendar serialises a calendar as its own
content lines, then each subcomponent's ``to_ical()``, then ``END:VCALENDAR``; so the bytes of
a VEVENT are the same wherever it appears, and a calendar is the join of its header and its
parts. The tests hold the assembled bytes equal to icalendar's ``to_ical()`` of the same
calendar built in one piece (``calendar.feed_calendar``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from icalendar import Calendar, Component

from ..core.model import CalendarInfo, Event, EventInputs, Tracked
from ..feeds.kinds import Feed
from .calendar import feed_header, invite_header, zone_spans
from .event import occurrence_inputs, valarms, vevents
from .jcal import plain_parameters
from .vtimezone import build_vtimezone

CONTENT_TYPE = "text/calendar; charset=utf-8"
JCAL_TYPE = "application/calendar+json; charset=utf-8"
END = b"END:VCALENDAR\r\n"
END_VEVENT = b"END:VEVENT\r\n"


@dataclass(frozen=True, eq=False)
class Part:
    """One component, serialised: its iCalendar bytes and its jCal (compact JSON, UTF-8), so a
    feed of 10,000 parts is one C-level join. Parts compare as themselves (identity): an
    unchanged event's part is the same object from one site to the next, which is how a
    feed that does not show an edit is recognised without looking at its bytes."""

    ical: bytes
    jcal: bytes

    @classmethod
    def of(cls, component: Component) -> Part:
        plain_parameters(component)
        return cls(component.to_ical(), _json(component.to_jcal()).encode("utf-8"))


def event_part(inputs: EventInputs, tracked: Tracked | None) -> Part:
    """The event's VEVENT and those of its changed occurrences, as one part."""
    components = vevents(inputs, tracked)
    if len(components) == 1:
        return Part.of(components[0])
    parts = [Part.of(component) for component in components]
    return Part(b"".join(p.ical for p in parts), b",".join(p.jcal for p in parts))


@functools.lru_cache(maxsize=1024)
def timezone_part(zone: str, first: date, last: date | None) -> Part:
    """A VTIMEZONE covering whole years (``zone_spans``), so every feed and invite of a zone
    shares a handful of them."""
    return Part.of(build_vtimezone(zone, first, last))


def zone_parts(events: Sequence[Event]) -> list[Part]:
    return [timezone_part(key, first, last)
            for key, (first, last) in sorted(zone_spans(tuple(events)).items())]


def feed_ical(feed: Feed, calendar: CalendarInfo, parts: Sequence[Part]) -> bytes:
    """A feed: its header, a VTIMEZONE per zone its events use, its events' ``parts``."""
    head = _head_ical(feed_header(feed, calendar))
    return b"".join([head, *[p.ical for p in zone_parts(feed.events)], *[p.ical for p in parts],
                     END])


def feed_jcal(feed: Feed, calendar: CalendarInfo, parts: Sequence[Part]) -> bytes:
    """The same feed as jCal (RFC 7265), from the same components."""
    name, properties, _components = feed_header(feed, calendar).to_jcal()
    head = f'["{name}",{_json(properties)},['.encode("utf-8")
    return b"".join((head, b",".join([p.jcal for p in [*zone_parts(feed.events), *parts]]),
                     b"]]\n"))


def invite(inputs: EventInputs, part: Part) -> bytes:
    """A single-event invite around the event's ``part``. An invite carries the event's
    reminders; when the feeds do not (``calendar.reminders_in_feeds``), its VALARMs go in
    before the part's ``END:VEVENT``, where icalendar writes subcomponents."""
    event = inputs.event
    body = part.ical
    if not inputs.calendar.reminders_in_feeds and valarms(inputs):
        # one VEVENT for the series, then one per changed occurrence, each with its alarms
        each = [inputs, *(changed for _occurrence, changed in occurrence_inputs(inputs))]
        blocks = body.split(END_VEVENT)
        assert len(blocks) == len(each) + 1 and blocks[-1] == b""
        body = b"".join(block + b"".join(alarm.to_ical() for alarm in valarms(one)) + END_VEVENT
                        for block, one in zip(blocks, each))
    return b"".join([_head_ical(invite_header(event)),
                     *[p.ical for p in zone_parts((event,))], body, END])


def _head_ical(header: Calendar) -> bytes:
    """The serialised header without its END line: the parts go between."""
    head = header.to_ical()
    assert head.endswith(END)
    return head[: -len(END)]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
