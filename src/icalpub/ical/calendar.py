"""VCALENDAR objects: subscription feeds (RFC 5545 + RFC 7986 properties) and single-event
invites (RFC 5546 METHOD:PUBLISH / CANCEL)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from icalendar import Calendar, Timezone, vDuration, vText

from .. import __version__
from ..core import urls
from ..core.colors import CSS3_COLORS
from ..core.model import CalendarInfo, Event, EventInputs, EventsData, Tracked
from ..feeds.kinds import Feed
from .event import vevents
from .vtimezone import build_vtimezone

PRODID = f"-//icalpub//icalpub {__version__}//EN"


def zone_spans(events: tuple[Event, ...]) -> dict[str, tuple[date, date | None]]:
    """Per time zone used, the first and last day its events touch (None: never ends).

    Outlook needs a VTIMEZONE for every TZID it meets ("undeclared time zone", events an hour
    off); it must cover these days and need not cover more.
    """
    spans: dict[str, tuple[date, date | None]] = {}
    for event in events:
        if event.all_day or event.timezone == "UTC":  # dates and Z times need no VTIMEZONE
            continue
        first, last = event.start.date(), event.span_end  # type: ignore[union-attr]
        first = min([first, *(o.start.date() for o in event.occurrences)])  # moved earlier
        if event.timezone in spans:
            old_first, old_last = spans[event.timezone]
            first = min(first, old_first)
            last = None if last is None or old_last is None else max(last, old_last)
        spans[event.timezone] = (first, last)
    # Whole years: a VTIMEZONE covers from the year before ``first`` anyway, and whole years
    # let every invite and feed of a zone share a handful of rendered VTIMEZONEs.
    return {key: (date(first.year, 1, 1), None if last is None else date(last.year, 12, 31))
            for key, (first, last) in spans.items()}


def timezones(events: tuple[Event, ...]) -> list[Timezone]:
    return [build_vtimezone(key, first, last)
            for key, (first, last) in sorted(zone_spans(events).items())]


def _calendar(**properties) -> Calendar:
    return Calendar.new(prodid=PRODID, calscale="GREGORIAN", **properties)


def feed_header(feed: Feed, info: CalendarInfo) -> Calendar:
    """A feed's VCALENDAR with its properties and no components (``parts`` adds those as
    already-serialised parts)."""
    cal = _calendar(
        method="PUBLISH",
        uid=f"{feed.path}@{info.host}",
        refresh_interval=info.refresh,
        source=urls.absolute(info.base_url, feed.path),
        url=urls.absolute(info.base_url, ""),
    )
    # NAME / X-WR-CALNAME and DESCRIPTION / X-WR-CALDESC are TEXT (RFC 7986 §5.1, RFC 5545
    # §3.3.11). icalendar 7.3 writes the NAME and X-WR-* that Calendar.new adds unescaped, so a
    # comma or backslash in a name would be misread: add them as vText, which escapes.
    for key, value in (("NAME", feed.name), ("X-WR-CALNAME", feed.name),
                       ("DESCRIPTION", feed.description), ("X-WR-CALDESC", feed.description)):
        if value:
            cal.add(key, vText(value))
    # RFC 7986 §5.7 requires VALUE=DURATION on REFRESH-INTERVAL; icalendar 7 leaves it out.
    cal["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    # Outlook's and Google's older spelling of the same hint; a vDuration writes PT12H.
    cal.add("X-PUBLISHED-TTL", vDuration(info.refresh))
    if writes_x_wr_timezone(feed, info):
        cal.add("X-WR-TIMEZONE", info.timezone)
    color = feed_color(feed, info)
    if color:  # RFC 7986 §5.9: a CSS3 name; Apple Calendar reads its own property, in hex
        cal.add("COLOR", color)
        cal.add("X-APPLE-CALENDAR-COLOR", CSS3_COLORS[color].upper())
    return cal


def feed_color(feed: Feed, info: CalendarInfo) -> str | None:
    """A feed's colour: its topic's (any member with a ``color``), else the calendar's."""
    return getattr(feed.member, "color", None) or info.color


def writes_x_wr_timezone(feed: Feed, info: CalendarInfo) -> bool:
    """Whether the feed carries ``X-WR-TIMEZONE`` (the calendar's default zone): only when
    no event of it is a UTC series.

    X-WR-TIMEZONE is Apple's and Google's hint for the zone of times that have none. We never
    write floating times, so it changes nothing for an event with a TZID or a date. But
    Google, and every reader that follows it (the ``x-wr-timezone`` package, hence
    ``recurring-ical-events``, Home Assistant, many web calendars), also moves UTC times
    (``DTSTART:20210320T090000Z``) into that zone: harmless for one event (the same instant),
    but a weekly UTC series is then expanded in Brussels wall time and every occurrence after
    a change of the clocks moves by an hour. A feed with such a series goes without the hint;
    every other feed keeps it (Apple Calendar shows a subscription in it).
    """
    if not info.timezone:
        return False
    return not any(event.recurrence and not event.all_day and event.timezone == "UTC"
                   for event in feed.events)


def invite_header(event: Event) -> Calendar:
    """A single-event invite's VCALENDAR, without components. No NAME / X-WR-CALNAME: with
    them Outlook opens the file as a new calendar instead of an appointment (MS-OXCICAL). A
    cancelled event is sent as METHOD:CANCEL with the same UID, which makes calendars that
    imported it remove it."""
    method = "CANCEL" if event.status == "cancelled" else "PUBLISH"
    cal = _calendar(method=method)
    cal.pop("UID", None)  # Calendar.new invents a random one; an invite needs none
    return cal


def feed_calendar(feed: Feed, data: EventsData,
                  tracked: Mapping[str, Tracked] | None = None) -> Calendar:
    """The whole feed as one icalendar object: every event plus one VTIMEZONE per TZID used.

    ``parts`` produces the same bytes from parts rendered once; this straightforward form
    is the reference it is tested against."""
    tracked = tracked or {}
    cal = feed_header(feed, data.calendar)
    for component in [*timezones(feed.events),
                      *(component for e in feed.events
                        for component in vevents(data.inputs(e), tracked.get(e.id)))]:
        cal.add_component(component)
    return cal


def invite_calendar(inputs: EventInputs, tracked: Tracked | None = None) -> Calendar:
    """The invite as one icalendar object (the reference for ``parts.invite``)."""
    cal = invite_header(inputs.event)
    for component in [*timezones((inputs.event,)), *vevents(inputs, tracked, alarms=True)]:
        cal.add_component(component)
    return cal
