"""Stage 2: model -> iCalendar bytes. The only part of icalpub that imports ``icalendar``."""

from __future__ import annotations

from ..model import Event, EventsData
from ..select import Feed
from .calendar import feed_calendar, invite_calendar

CONTENT_TYPE = "text/calendar; charset=utf-8"


def render_feed(feed: Feed, data: EventsData) -> bytes:
    return feed_calendar(feed, data).to_ical()


def render_invite(event: Event, data: EventsData) -> bytes:
    return invite_calendar(event, data).to_ical()
