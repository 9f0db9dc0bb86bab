"""Stage 3: which events go into which feed.

One feed for everything, one per topic and one per organiser (an event is in an organiser's
feed when the organiser is any of its organisers). Events are ordered by start instant, then
id, so a feed's bytes do not depend on the order of the YAML file's sections.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from operator import attrgetter

from . import urls
from .model import Event, EventsData


@dataclass(frozen=True)
class Feed:
    kind: str  # "all" | "topic" | "organiser"
    slug: str  # "all" for the feed of everything
    name: str
    description: str
    events: tuple[Event, ...]

    @property
    def path(self) -> str:
        return urls.feed_path(self.kind, self.slug)

    @functools.cached_property
    def ids(self) -> tuple[str, ...]:
        """Its events' ids, in order."""
        return tuple(map(_ID, self.events))

    @property
    def filtered(self) -> bool:
        """A feed computed for a query (``search.QueryFeed``), not one the site publishes."""
        return False


def ordered(events: tuple[Event, ...] | list[Event]) -> tuple[Event, ...]:
    """By start instant, then id (each event's key computed once: :attr:`Event.order`)."""
    return tuple(sorted(events, key=_ORDER))


_ORDER, _ID = attrgetter("order"), attrgetter("id")


def all_feeds(data: EventsData) -> list[Feed]:
    """Every feed the site publishes, "all" first, then topics and organisers by slug."""
    cal = data.calendar
    events = ordered(data.events)
    by_topic: dict[str, list[Event]] = {slug: [] for slug in data.topics}
    by_organiser: dict[str, list[Event]] = {slug: [] for slug in data.organisers}
    for event in events:  # one pass: linear in events × their references
        for slug in event.topics:
            by_topic[slug].append(event)
        for slug in dict.fromkeys(event.organisers):
            by_organiser[slug].append(event)
    feeds = [Feed("all", "all", cal.name, cal.description, events)]
    feeds += [Feed("topic", slug, f"{cal.name}: {topic.name}", topic.description or cal.description,
                   tuple(by_topic[slug])) for slug, topic in sorted(data.topics.items())]
    feeds += [Feed("organiser", slug, f"{cal.name}: {org.name}", f"Events organised by {org.name}.",
                   tuple(by_organiser[slug])) for slug, org in sorted(data.organisers.items())]
    return feeds

