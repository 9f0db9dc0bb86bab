"""Stage 2: model -> iCalendar bytes. The only part of icalpub that imports ``icalendar``."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Event, EventsData, Tracked
from ..select import Feed
from .calendar import feed_calendar, invite_calendar

CONTENT_TYPE = "text/calendar; charset=utf-8"


def render_feed(feed: Feed, data: EventsData,
                tracked: Mapping[str, Tracked] | None = None) -> bytes:
    return feed_calendar(feed, data, tracked).to_ical()


def render_invite(event: Event, data: EventsData, tracked: Tracked | None = None) -> bytes:
    return invite_calendar(event, data, tracked).to_ical()
