"""The kinds of feed, declared once, and which events go into each feed.

A site publishes one feed of everything and one per member of every other kind (a topic, an
organiser). Each :class:`FeedKind` says where its feeds and pages live, what they are called
and which events they hold; the routes, ``feeds.json``, the listing pages, the search filters
and the calendars list are all generated from :data:`KINDS`, so a new kind is one entry here
(or one :func:`register` call) and nothing else.

Events are ordered by start instant, then id, so a feed's bytes do not depend on the order of
the YAML file's sections.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo
from operator import attrgetter
from typing import Any

from ..core import urls
from ..core.model import CalendarInfo, Event, EventsData


@dataclass(frozen=True)
class FeedKind:
    """One kind of feed. A *member* is what a feed of the kind is about (a ``Topic``, an
    ``Organiser``; the calendar itself for the feed of everything): anything with a ``name``.
    """

    name: str  # "topic": ``kind`` in feeds.json, the search parameter, element ids
    #: The URL folder of its feeds and pages ("topics": feeds/topics/<slug>.ics, topics/<slug>);
    #: None for the one feed of everything (feeds/all.ics, the home page).
    folder: str | None
    label: str  # what the calendars list calls it: "everything", "topic"
    legend: str  # the search form's group of its members: "Topics"
    members: Callable[[EventsData], Mapping[str, Any]]  # slug -> member
    slugs_of: Callable[[Event], Iterable[str]]  # the members an event belongs to
    describe: Callable[[Any, CalendarInfo], str]  # a feed's DESCRIPTION
    heading: str = "{}"  # its listing page's heading, from the member's name
    intro: Callable[[Any], str] = lambda member: ""  # its listing page's first paragraph

    @property
    def everything(self) -> bool:
        return self.folder is None

    def feed_path(self, slug: str) -> str:
        return urls.ALL_FEED if self.folder is None else f"feeds/{self.folder}/{slug}.ics"

    def page_path(self, slug: str) -> str:
        return "" if self.folder is None else f"{self.folder}/{slug}"


EVERYTHING = FeedKind(
    name="all", folder=None, label="everything", legend="",
    members=lambda data: {"all": data.calendar}, slugs_of=lambda event: ("all",),
    describe=lambda calendar, _cal: calendar.description, intro=attrgetter("description"))
TOPIC = FeedKind(
    name="topic", folder="topics", label="topic", legend="Topics",
    members=attrgetter("topics"), slugs_of=attrgetter("topics"),
    describe=lambda topic, cal: topic.description or cal.description,
    heading="Topic: {}", intro=attrgetter("description"))
ORGANISER = FeedKind(
    name="organiser", folder="organisers", label="organiser", legend="Organisers",
    members=attrgetter("organisers"), slugs_of=attrgetter("organisers"),
    describe=lambda org, _cal: f"Events organised by {org.name}.", heading="Organiser: {}")

#: Every kind, in the order feeds.json, the calendars list and the search form show them.
KINDS: list[FeedKind] = [EVERYTHING, TOPIC, ORGANISER]


@contextlib.contextmanager
def register(kind: FeedKind) -> Iterator[FeedKind]:
    """Publish ``kind`` too while the block runs (an extension, or a test)."""
    KINDS.append(kind)
    try:
        yield kind
    finally:
        KINDS.remove(kind)


def kind_named(name: str) -> FeedKind:
    return next(kind for kind in KINDS if kind.name == name)


def filter_kinds() -> list[FeedKind]:
    """The kinds a search can filter by (all but the feed of everything)."""
    return [kind for kind in KINDS if not kind.everything]


@dataclass(frozen=True)
class Feed:
    kind: FeedKind
    slug: str  # "all" for the feed of everything
    member: Any  # the topic, organiser or calendar it is about
    name: str  # NAME / X-WR-CALNAME
    description: str
    events: tuple[Event, ...]
    #: The query string of a search's feed (its path carries it), else "".
    query_string: str = ""

    @property
    def path(self) -> str:
        path = self.kind.feed_path(self.slug)
        return f"{path}?{self.query_string}" if self.query_string else path

    @property
    def page_path(self) -> str:
        return self.kind.page_path(self.slug)

    @property
    def title(self) -> str:
        """What the feed is about: the topic's or organiser's name, or the calendar's."""
        return self.member.name


def ordered(events: Iterable[Event]) -> tuple[Event, ...]:
    """By start instant, then id."""
    return tuple(sorted(events, key=_ORDER))


_ORDER = attrgetter("order")


def day_start(day: date, calendar: CalendarInfo) -> datetime:
    """When ``day`` begins in the calendar's zone (UTC without one)."""
    return datetime.combine(day, time(), ZoneInfo(calendar.timezone or "UTC"))


def ended_by(event: Event, moment: datetime) -> bool:
    """Whether every occurrence of ``event`` is over at ``moment``: its end, in its own zone
    (a series: the end of its last day; without an end, never)."""
    if event.recurrence:
        if event.span_end is None:
            return False
        end = datetime.combine(event.span_end + timedelta(days=1), time(),
                               ZoneInfo(event.timezone))
    elif isinstance(event.end, datetime):
        end = event.end
    else:  # an all-day event ends at midnight where it takes place
        end = datetime.combine(event.end, time(), ZoneInfo(event.timezone))
    return end <= moment


def past(data: EventsData, as_of: date | None) -> Callable[[Event], bool]:
    """Whether an event is past on ``as_of`` (over when that day begins in the calendar's
    zone); with no date, none is."""
    if as_of is None:
        return lambda event: False
    moment = day_start(as_of, data.calendar)
    over = {event.id for event in data.events if ended_by(event, moment)}
    return lambda event: event.id in over


def in_feeds(data: EventsData, as_of: date | None) -> tuple[Event, ...]:
    """The events the feeds publish, in order: all of them, unless ``calendar.feeds.past``
    drops those that ended longer ago than that before ``as_of`` (pages keep them)."""
    events = ordered(data.events)
    window = data.calendar.feeds_past
    if window is None or as_of is None:
        return events
    cutoff = day_start(as_of, data.calendar) - timedelta(days=window.days)
    return tuple(event for event in events if not ended_by(event, cutoff))


def all_feeds(data: EventsData, as_of: date | None = None) -> list[Feed]:
    """Every feed the site publishes: by kind (in :data:`KINDS` order), then by slug."""
    cal = data.calendar
    events = in_feeds(data, as_of)
    feeds = []
    for kind in KINDS:
        members = kind.members(data)
        selected: dict[str, list[Event]] = {slug: [] for slug in members}
        for event in events:  # one pass: linear in events × their references
            for slug in dict.fromkeys(kind.slugs_of(event)):
                if slug in selected:
                    selected[slug].append(event)
        for slug, member in sorted(members.items()) if not kind.everything else members.items():
            name = cal.name if kind.everything else f"{cal.name}: {member.name}"
            feeds.append(Feed(kind, slug, member, name, kind.describe(member, cal),
                              tuple(selected[slug])))
    return feeds
