"""The typed model of events.yaml, produced by ``load`` and read by every later stage.

Frozen dataclasses: once loaded and validated, the data is a value that can be shared between
threads and compared, and nothing downstream has to re-check it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit


@dataclass(frozen=True)
class CalendarInfo:
    """The ``calendar:`` section: what the whole site is called and where it lives."""

    name: str
    base_url: str  # no trailing slash, e.g. ``https://events.example.org``
    description: str = ""
    timezone: str | None = None  # default IANA zone for events
    refresh: timedelta = timedelta(hours=12)  # how often clients should poll a feed
    #: How long a cancelled or removed event stays in the feeds as STATUS:CANCELLED, so that
    #: subscribed calendars remove it, before it disappears.
    keep_cancelled: timedelta = timedelta(days=30)

    @property
    def host(self) -> str:
        """The host of ``base_url``; the right-hand side of every UID."""
        return urlsplit(self.base_url).hostname or ""


@dataclass(frozen=True)
class Organiser:
    slug: str
    name: str
    email: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Topic:
    slug: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Event:
    """One event. Times are resolved: ``start``/``end`` are aware datetimes in ``timezone``
    for timed events, or dates for all-day events, where ``end`` is *exclusive* (the day after
    the last day, as RFC 5545 DTEND wants it)."""

    id: str
    title: str
    start: date | datetime
    end: date | datetime
    timezone: str  # IANA key, or "UTC"
    #: Where the event starts in events.yaml, for messages. Not part of its value (compare=False):
    #: an event that only moved in the file is the same event, and its rendered parts are reused.
    line: int = field(default=0, compare=False)
    location: str = ""
    url: str | None = None
    registration_url: str | None = None
    description: str = ""
    agenda: tuple[str, ...] = ()
    organisers: tuple[str, ...] = ()  # slugs; the first is the main organiser
    topics: tuple[str, ...] = ()  # slugs
    contacts: tuple[str, ...] = ()
    status: str = "confirmed"  # confirmed | tentative | cancelled
    recurrence: str | None = None  # a normalised RRULE value, e.g. ``FREQ=WEEKLY;COUNT=4``
    exclude: tuple[date | datetime, ...] = ()  # EXDATEs, same type and zone as ``start``
    updated: datetime | None = None  # UTC; when the event was last changed, if the file says
    #: The last day any occurrence touches (inclusive); None when the recurrence never ends.
    #: Tells ``render`` how many years a VTIMEZONE must cover.
    span_end: date | None = None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def last_day(self) -> date:
        """The last day the event runs on, inclusive, as people write it."""
        if self.all_day:
            return self.end - timedelta(days=1)  # type: ignore[operator]
        return (self.end - timedelta(microseconds=1)).date()  # type: ignore[union-attr]

    @functools.cached_property
    def order(self) -> tuple[datetime, str]:
        """Where the event goes in feeds and listings: its start instant in UTC (an all-day
        event at midnight UTC), then its id. Cached on the event: a server sorts its 10,000
        events again after each edit, and all but the edited one are the same objects."""
        start = self.start
        if isinstance(start, datetime):
            return start.astimezone(timezone.utc), self.id
        return datetime.combine(start, datetime.min.time(), timezone.utc), self.id


@dataclass(frozen=True)
class EventsData:
    """Everything in one events.yaml, validated."""

    source: str  # the file it came from, for messages
    calendar: CalendarInfo
    organisers: dict[str, Organiser] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Tracked:
    """The per-event values that change tracking (``state``) decides and ``render`` writes:
    SEQUENCE and the UTC timestamps CREATED, LAST-MODIFIED and DTSTAMP (RFC 5545 §3.8.7,
    §3.8.7.4). Passed into render as plain values so render never reads files."""

    sequence: int
    created: datetime
    last_modified: datetime
    stamp: datetime
