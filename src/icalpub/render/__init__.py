"""Stage 2: model -> iCalendar bytes. The only part of icalpub that imports ``icalendar``."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Event, EventsData, Tracked
from ..select import Feed
from .calendar import feed_calendar, invite_calendar
from .jcal import JCAL_TYPE, calendar_to_jcal

CONTENT_TYPE = "text/calendar; charset=utf-8"
__all__ = ["CONTENT_TYPE", "JCAL_TYPE", "render_feed", "render_feed_jcal", "render_invite"]


def render_feed(feed: Feed, data: EventsData,
                tracked: Mapping[str, Tracked] | None = None) -> bytes:
    return feed_calendar(feed, data, tracked).to_ical()


def render_invite(event: Event, data: EventsData, tracked: Tracked | None = None) -> bytes:
    return invite_calendar(event, data, tracked).to_ical()


def render_feed_jcal(feed: Feed, data: EventsData,
                     tracked: Mapping[str, Tracked] | None = None) -> bytes:
    """The feed as jCal (RFC 7265), from the same components as :func:`render_feed`."""
    return calendar_to_jcal(feed_calendar(feed, data, tracked))
