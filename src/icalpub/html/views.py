"""What the page templates show about an event, computed in Python so templates stay dumb.

Dates are written in the event's own zone with the zone's abbreviation ("14:00–16:00 CET"),
in English, without the process locale (output must not depend on the machine). The visitor's
local time is added in the browser by ``static/app.js`` from the ISO instants kept here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime

from ..core import urls
from ..core.model import Event, EventInputs, Venue
from ..core.richtext import render_markdown
from ..feeds.kinds import ORGANISER, TOPIC
from .links import EventLinks, cut, event_links

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: Characters of a description a listing's card shows (the event page has it all).
EXCERPT = 160
ONLINE_WORDS = ("online", "zoom", "webinar", "virtual", "teams", "webex", "livestream")


@dataclass(frozen=True)
class Named:
    """A topic or organiser as a link."""

    slug: str
    name: str
    href: str


@dataclass(frozen=True)
class EventView:
    event: Event
    href: str  # root-relative link to the event page
    url: str  # absolute: the event's own URL (its page here unless the file gives one)
    when: str  # "Tuesday 19 January 2021, 14:00–16:00 CET"
    zone: str  # IANA key
    start_iso: str  # instants with offsets (all-day: dates), for JavaScript and JSON-LD
    end_iso: str
    month: str  # "January 2021", the listing's group
    description_html: str
    description_text: str
    excerpt: str  # the start of the description's text, for cards
    organisers: tuple[Named, ...]
    topics: tuple[Named, ...]
    links: EventLinks
    repeats: str  # "" or e.g. "Every week, 6 times"
    excluded: tuple[str, ...]
    #: "Tuesday 16 March 2021, 10:00: moved to Wednesday 17 March 2021, 14:00–15:00 CET"
    changes: tuple[str, ...] = ()


def _day(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}"


def _zone_name(moment: datetime) -> str:
    return moment.tzname() or moment.strftime("UTC%z")


def when_text(event: Event) -> str:
    """A human date and time range in the event's zone, naming the zone."""
    if event.all_day:
        first, last = event.start, event.last_day
        if first == last:
            return f"{_day(first)} (all day)"
        return f"{_day(first)} – {_day(last)} (all day)"
    start, end = event.start, event.end
    assert isinstance(start, datetime) and isinstance(end, datetime)
    if start.date() == end.date():
        zone = _zone_name(start)
        end_zone = _zone_name(end)
        end_text = f"{end:%H:%M}" if zone == end_zone else f"{end:%H:%M} {end_zone}"
        return f"{_day(start.date())}, {start:%H:%M}–{end_text} {zone}"
    return (f"{_day(start.date())}, {start:%H:%M} {_zone_name(start)} – "
            f"{_day(end.date())}, {end:%H:%M} {_zone_name(end)}")


FREQUENCIES = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}


def repeats_text(rule: str | None) -> str:
    """A short English reading of an RRULE ("Every 2 weeks, until 30 June 2021")."""
    if not rule:
        return ""
    parts = dict(item.split("=", 1) for item in rule.split(";") if "=" in item)
    unit = FREQUENCIES.get(parts.get("FREQ", ""), parts.get("FREQ", "").lower())
    interval = int(parts.get("INTERVAL", "1") or 1)
    text = f"Every {unit}" if interval == 1 else f"Every {interval} {unit}s"
    if "COUNT" in parts:
        text += f", {parts['COUNT']} times"
    if "UNTIL" in parts:
        until = parts["UNTIL"][:8]
        try:
            text += f", until {_day(date(int(until[:4]), int(until[4:6]), int(until[6:8])))}"
        except ValueError:
            text += f", until {parts['UNTIL']}"
    return text


def iso(value: date | datetime) -> str:
    return value.isoformat()


def event_view(inputs: EventInputs) -> EventView:
    event, base = inputs.event, inputs.calendar.base_url
    rich = render_markdown(event.description)
    month_day = event.start if not isinstance(event.start, datetime) else event.start.date()
    return EventView(
        event=event,
        href=urls.site_relative(base, urls.event_page_path(event.id)),
        url=event.url or urls.absolute(base, urls.event_page_path(event.id)),
        when=when_text(event),
        zone=event.timezone,
        start_iso=iso(event.start),
        end_iso=iso(event.end),
        month=f"{MONTHS[month_day.month - 1]} {month_day.year}",
        description_html=rich.html,
        description_text=rich.text,
        excerpt=cut(" ".join(rich.text.split()), EXCERPT),
        organisers=tuple(Named(o.slug, o.name,
                               urls.site_relative(base, ORGANISER.page_path(o.slug)))
                         for o in inputs.organisers),
        topics=tuple(Named(t.slug, t.name, urls.site_relative(base, TOPIC.page_path(t.slug)))
                     for t in inputs.topics),
        links=event_links(event, inputs.calendar),
        repeats=repeats_text(event.recurrence),
        excluded=tuple(_day(d.date() if isinstance(d, datetime) else d) for d in event.exclude),
        changes=changes_lines(event),
    )


def changes_lines(event: Event) -> tuple[str, ...]:
    """What happens to each changed occurrence of a series, in the event's zone."""
    lines = []
    for occurrence in event.occurrences:
        original = occurrence.recurrence_id
        said = f"{_day(original.date())}, {original:%H:%M}" \
            if isinstance(original, datetime) else _day(original)
        if occurrence.cancelled:
            lines.append(f"{said}: cancelled")
            continue
        moved = replace(event, start=occurrence.start, end=occurrence.end, recurrence=None)
        what = [f"moved to {when_text(moved)}"] if event.moved(occurrence) else []
        what += occurrence.retold()
        if occurrence.description is not None:
            what.append(cut(" ".join(render_markdown(occurrence.description).text.split()),
                            EXCERPT))
        lines.append(f"{said}: {'; '.join(what)}")
    return tuple(lines)


def attendance_mode(location: str) -> str:
    """schema.org attendance mode guessed from the location text: "hybrid" or online words
    together with a place -> Mixed; online words -> Online; a place -> Offline. No location
    at all -> Online with the event's URL: Google requires a location, and a Place needs an
    address we do not have."""
    folded = location.casefold()
    online = any(word in folded for word in ONLINE_WORDS)
    if "hybrid" in folded or (online and any(sep in folded for sep in (" and ", " + ", " & "))):
        return "Mixed"
    if online or not location:
        return "Online"
    return "Offline"


STATUS = {"confirmed": "EventScheduled", "tentative": "EventScheduled",
          "cancelled": "EventCancelled"}


def json_ld(view: EventView, inputs: EventInputs) -> dict:
    """schema.org ``Event`` as Google's event rich results want it: name, startDate with an
    offset, location (Place with an address or VirtualLocation with a URL), plus endDate,
    eventStatus, eventAttendanceMode, organizer, url and description."""
    event = view.event
    mode = attendance_mode(event.location)
    join = event.online.url if event.online else None
    if event.venue:  # a place, and a link to join it may have
        mode = "Mixed" if join or mode == "Mixed" else "Offline"
    elif join and mode != "Online":
        mode = "Mixed"
    virtual = {"@type": "VirtualLocation", "url": join or event.registration_url or view.url}
    place = venue_place(event.venue) if event.venue else \
        {"@type": "Place", "name": event.location, "address": event.location}
    location: object = {"Online": virtual, "Offline": place, "Mixed": [place, virtual]}[mode]
    organizers = [
        {"@type": "Organization", "name": org.name, **({"url": org.url} if org.url else {}),
         **({"email": org.email} if org.email else {})}
        for org in inputs.organisers
    ] or [{"@type": "Organization", "name": inputs.calendar.name,
           "url": urls.absolute(inputs.calendar.base_url, "")}]
    return {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "startDate": view.start_iso,
        "endDate": iso(event.last_day) if event.all_day else view.end_iso,
        "eventStatus": f"https://schema.org/{STATUS[event.status]}",
        "eventAttendanceMode": f"https://schema.org/{mode}EventAttendanceMode",
        "location": location,
        "organizer": organizers[0] if len(organizers) == 1 else organizers,
        "url": view.url,
        "description": view.description_text or event.title,
        **({"image": [event.image]} if event.image else {}),
    }


def venue_place(venue: Venue) -> dict:
    """schema.org ``Place`` with a ``PostalAddress`` (the address as one line: its street
    address; the name when there is none, as Google requires an address) and its
    ``GeoCoordinates``."""
    place: dict = {"@type": "Place", "name": venue.name,
                   "address": {"@type": "PostalAddress",
                               "streetAddress": venue.address or venue.name}}
    if venue.lat is not None:
        place["geo"] = {"@type": "GeoCoordinates", "latitude": venue.lat,
                        "longitude": venue.lon}
    return place


def json_ld_script(view: EventView, inputs: EventInputs) -> str:
    """JSON for a ``<script type="application/ld+json">`` block: ``<``, ``>`` and ``&`` are
    escaped so no text of the event can close the script element."""
    text = indented_json(json_ld(view, inputs))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_encode_string = json.encoder.encode_basestring  # the C function when available


def indented_json(value: object, level: int = 1) -> str:
    """Exactly ``json.dumps(value, ensure_ascii=False, indent=1)`` for dicts, lists and
    strings (what :func:`json_ld` builds), without the pure-Python encoder that ``indent``
    selects: every event page carries one. Anything else is left to :func:`json.dumps`."""
    if isinstance(value, str):
        return _encode_string(value)
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        pad = "\n" + " " * level
        items = [f"{_encode_string(k)}: {indented_json(v, level + 1)}" for k, v in value.items()]
        return "{" + pad + ("," + pad).join(items) + "\n" + " " * (level - 1) + "}"
    if isinstance(value, list) and value:
        pad = "\n" + " " * level
        items = [indented_json(v, level + 1) for v in value]
        return "[" + pad + ("," + pad).join(items) + "\n" + " " * (level - 1) + "]"
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return text.replace("\n", "\n" + " " * (level - 1))
