"""Every resource icalpub publishes, computed in one place: path -> bytes, type, ETag.

``serve`` looks a request path up here and ``build`` writes the same entries to disk, so the
server and the static files agree by construction (MkDocs' ``serve`` calls the same
``build``; Frozen-Flask writes what the app returns).

A server rebuilds its site after every edit of events.yaml, and an edit touches one event. So
each event's own outputs (:class:`EventOutputs`) are kept by their inputs (the event's
:class:`~icalpub.core.model.EventInputs` and its tracked values) and handed to the next site,
and so is every other resource by what it is made of (a feed by its parts, a listing by its
cards): the next site renders only what the edit changed, and keeps the rest as the very same
:class:`Resource` objects.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .core import urls
from .core.model import Event, EventInputs, EventsData, Tracked
from .feeds.kinds import EVERYTHING, Feed, all_feeds, kind_named, ordered, past
from .feeds.search import Query, describe, query_feed
from .html.pages import (ASSETS, HTML_TYPE, RECENT_PAST, Chip, ListingShell, Shell, archive_index,
                         archive_month, asset, calendars_page, feed_listing, listing_page,
                         not_found_page, paginate, search_page)
from .html.views import event_view
from .ical.parts import CONTENT_TYPE, JCAL_TYPE, Part, event_part, feed_ical, feed_jcal, invite

JSON_TYPE = "application/json"
#: Content types worth compressing (text), and the size below which gzip does not pay.
COMPRESSIBLE = ("text/", "application/json", "application/calendar+json")
GZIP_MIN_SIZE = 256
#: The compression level of every gzip body icalpub serves or writes (gzip's and nginx's
#: usual trade-off between size and time).
GZIP_LEVEL = 6
#: The 10-byte header :func:`gzip_body` writes: no name, no mtime.
GZIP_HEADER = gzip.compress(b"", compresslevel=GZIP_LEVEL, mtime=0)[:10]


def gzip_body(body: bytes) -> bytes:
    """``body`` gzip-compressed, deterministically (no name, mtime 0): the same bytes from
    the server and in a built tree's ``.gz`` files, which nginx's gzip_static sends."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


@dataclass(frozen=True)
class Resource:
    path: str  # relative URL path, e.g. "feeds/all.ics"
    body: bytes
    content_type: str
    download_name: str | None = None  # served with Content-Disposition: attachment
    #: Strong validator: a digest of the bytes. Computed unless given, as ``serve --static``
    #: does from the manifest (the build computed it from the same bytes).
    etag: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        if not self.etag:
            object.__setattr__(self, "etag", hashlib.sha256(self.body).hexdigest()[:32])

    @property
    def compressible(self) -> bool:
        return self.content_type.startswith(COMPRESSIBLE) and len(self.body) >= GZIP_MIN_SIZE


#: How long browsers and caches may keep a page without asking again (feeds: the calendar's
#: ``refresh``): a cancellation shows within minutes; the ETag makes asking again cheap.
PAGE_MAX_AGE = 300


def max_age(resource: Resource, refresh: int) -> int:
    """Cache-Control max-age: ``refresh`` for calendars and data, minutes for pages."""
    return PAGE_MAX_AGE if resource.content_type.startswith("text/html") else refresh


@dataclass(frozen=True)
class EventOutputs:
    """One event's own outputs: a function of its inputs, tracked values and whether it has
    ended (its page says so) alone."""

    part: Part  # its VEVENT, in every feed that holds it
    invite: Resource
    page: Resource
    month: str  # its group in listings, "January 2021"
    card: str  # its card in listings (HTML)


def render_event(inputs: EventInputs, tracked: Tracked | None, ended: bool,
                 shell: Shell) -> EventOutputs:
    """Everything one event shows on its own (``shell`` is a function of its calendar)."""
    event = inputs.event
    part = event_part(inputs, tracked)
    view = event_view(inputs)
    return EventOutputs(
        part,
        Resource(urls.invite_path(event.id), invite(inputs, part), CONTENT_TYPE,
                 download_name=f"{event.id}.ics"),
        Resource(urls.page_resource(urls.event_page_path(event.id)),
                 shell.event_page(view, inputs, ended), HTML_TYPE),
        view.month, shell.card(view))


class Cache:
    """Values of one site, kept by their inputs for the next: each event's outputs under
    (inputs, tracked values, ended), each other resource under its path while its inputs are
    equal. A cache looks a value up in its own values, then in the previous site's, and
    computes it only when neither has it; :meth:`release` drops the previous site's once the
    new site is complete, so a cache never holds more than one site's worth."""

    def __init__(self, previous: Cache | None = None):
        self._events: dict[Hashable, EventOutputs] = {}
        self._resources: dict[str, tuple[Any, Resource]] = {}
        self._old_events = previous._events if previous is not None else {}
        self._old_resources = previous._resources if previous is not None else {}
        #: Events rendered (not taken over) by this cache: for tests and benchmarks.
        self.rendered = 0

    def event(self, inputs: EventInputs, tracked: Tracked | None, ended: bool,
              shell: Shell) -> EventOutputs:
        key = (inputs, tracked, ended)
        found = self._events.get(key) or self._old_events.get(key)
        if found is None:
            found = render_event(inputs, tracked, ended, shell)
            self.rendered += 1
        self._events[key] = found
        return found

    def put(self, inputs: EventInputs, tracked: Tracked | None, ended: bool,
            outputs: EventOutputs) -> None:
        """Store what :meth:`event` would compute (``build`` renders in other processes)."""
        self._events[(inputs, tracked, ended)] = outputs
        self.rendered += 1

    def resource(self, path: str, inputs: Any, make: Callable[..., bytes], *args: Any,
                 content_type: str) -> Resource:
        """The resource at ``path``, with the body ``make(*args)``, unless the previous
        site's was made of equal ``inputs``."""
        old = self._old_resources.get(path)
        resource = old[1] if old is not None and old[0] == inputs else \
            Resource(path, make(*args), content_type)
        self._resources[path] = (inputs, resource)
        return resource

    def release(self) -> None:
        self._old_events, self._old_resources = {}, {}


@dataclass(frozen=True)
class Site:
    data: EventsData
    feeds: tuple[Feed, ...]
    resources: Mapping[str, Resource]
    tracked: Mapping[str, Tracked]
    as_of: date | None
    cache: Cache = field(compare=False, repr=False)

    def get(self, path: str) -> Resource | None:
        return self.resources.get(path)

    def outputs(self, event: Event, shell: Shell) -> EventOutputs:
        """An event's outputs (all of this site's events are in its cache)."""
        return self.cache.event(self.data.inputs(event), self.tracked.get(event.id),
                                past(self.data, self.as_of)(event), shell)

    def search(self, path: str, query: Query, number: int = 1) -> Resource | None:
        """The response to a search (``?q=…`` and filters) at ``path``: a page of results,
        or the feed or jCal feed of everything, filtered; None for a path that takes no
        query, or a page number past the results."""
        data, cal = self.data, self.data.calendar
        feed = query_feed(data, query)
        if path == urls.page_resource(EVERYTHING.page_path("all")):
            shell = ListingShell(data, self.feeds)
            qs = query.query_string()
            pages = paginate(len(feed.events), lambda n: shell.link("") + "?" + qs +
                             (f"&page={n}" if n > 1 else ""))
            if not 1 <= number <= len(pages):
                return None
            page = pages[number - 1]
            ended = past(data, self.as_of)  # upcoming first, then the latest past ones
            found = [e for e in feed.events if not ended(e)] + \
                [e for e in reversed(feed.events) if ended(e)]
            shown = found[page.first - 1:page.last]
            cards = [(out.month, out.card) for out in (self.outputs(e, shell) for e in shown)]
            return Resource(path, search_page(shell, feed, query, describe(query, data),
                                              chips(query, data, shell), page, cards), HTML_TYPE)
        shell = Shell(cal)
        parts = [self.outputs(event, shell).part for event in feed.events]
        if path == urls.ALL_FEED:
            return Resource(feed.path, feed_ical(feed, cal, parts), CONTENT_TYPE)
        if path == urls.jcal_path(urls.ALL_FEED):
            return Resource(urls.jcal_path(urls.ALL_FEED) + f"?{query.query_string()}",
                            feed_jcal(feed, cal, parts), JCAL_TYPE)
        return None


def chips(query: Query, data: EventsData, shell: Shell) -> list[Chip]:
    """Each active part of a search, labelled, with a link to the search without it."""
    found = []
    if query.text:
        found.append((f"Words: “{query.text}”", dataclasses.replace(query, words=(), text="")))
    for name, slugs in query.filters:
        kind = kind_named(name)
        for slug in slugs:
            rest = tuple((n, tuple(x for x in s if (n, x) != (name, slug)))
                         for n, s in query.filters)
            found.append((f"{kind.label.capitalize()}: {kind.members(data)[slug].name}",
                          dataclasses.replace(query, filters=tuple((n, s) for n, s in rest if s))))
    if query.start:
        found.append((f"From {query.start.isoformat()}", dataclasses.replace(query, start=None)))
    if query.end:
        found.append((f"To {query.end.isoformat()}", dataclasses.replace(query, end=None)))
    home = shell.link("")
    return [Chip(label, home + (f"?{rest.query_string()}" if not rest.empty else ""))
            for label, rest in found]


def build_site(data: EventsData, tracked: Mapping[str, Tracked] | None = None,
               previous: Site | None = None, cache: Cache | None = None,
               as_of: date | None = None) -> Site:
    """Render everything. Pure: the same data, tracked values (which ``changes`` decides) and
    date always give the same bytes. ``as_of``: the day the site is made for, in the
    calendar's zone (None: no event has ended). What ``previous`` rendered from equal inputs
    is taken over. ``cache``: one filled beforehand (``build`` renders events in other
    processes)."""
    tracked = dict(tracked or {})
    cache = cache if cache is not None else Cache(previous.cache if previous else None)
    cal, shell, ended = data.calendar, Shell(data.calendar), past(data, as_of)
    outputs = {event.id: cache.event(data.inputs(event), tracked.get(event.id), ended(event),
                                     shell)
               for event in data.events}
    feeds = tuple(all_feeds(data, as_of))
    resources: list[Resource] = []
    for feed in feeds:
        parts = [outputs[event.id].part for event in feed.events]
        inputs = (feed.name, feed.description, feed.member, cal, parts)  # member: its colour
        resources += [
            cache.resource(feed.path, inputs, feed_ical, feed, cal, parts,
                           content_type=CONTENT_TYPE),
            cache.resource(urls.jcal_path(feed.path), inputs, feed_jcal, feed, cal, parts,
                           content_type=JCAL_TYPE)]
    sizes = {r.path: len(r.body) for r in resources}
    resources += [out.invite for out in outputs.values()]
    resources += [out.page for out in outputs.values()]
    resources.append(cache.resource(
        urls.FEEDS_INDEX, (cal, [(f.kind, f.slug, f.name, len(f.events), sizes[f.path])
                                 for f in feeds]),
        feeds_index, feeds, data, sizes, content_type=JSON_TYPE))
    listings = ListingShell(data, feeds)
    # listings show every event; the feeds may leave old ones out (calendar.feeds.past)
    listed = feeds if cal.feeds_past is None else tuple(all_feeds(data))
    resources += _listings(listed, listings, outputs, ended, cache)
    resources += _archive(data, shell, outputs, ended, cache)
    resources.append(cache.resource(urls.page_resource(urls.CALENDARS_PAGE),
                                    listings.calendars_inputs(), calendars_page, listings,
                                    content_type=HTML_TYPE))
    resources.append(cache.resource(urls.NOT_FOUND_PAGE, cal, not_found_page, shell,
                                    content_type=HTML_TYPE))
    resources += [cache.resource(path, path, asset, path, content_type=content_type)
                  for path, (_file, content_type) in ASSETS.items()]
    cache.release()
    return Site(data, feeds, {r.path: r for r in resources}, tracked, as_of, cache)


def _listings(feeds: Sequence[Feed], shell: ListingShell, outputs: Mapping[str, EventOutputs],
              ended: Callable[[Event], bool], cache: Cache) -> list[Resource]:
    """Every feed's listing (all its events, whatever the feeds' window): upcoming events
    by pages, and on the first page its latest past events."""
    shared = shell.inputs()
    found = []
    for feed in feeds:
        listing = feed_listing(feed)
        upcoming = [e for e in feed.events if not ended(e)]
        over = [e for e in reversed(feed.events) if ended(e)]
        recent = [outputs[e.id].card for e in over[:RECENT_PAST]]
        pages = paginate(len(upcoming), lambda n, feed=feed: shell.link(
            urls.listing_path(feed.page_path, n)))
        for page in pages:
            path = urls.page_resource(urls.listing_path(feed.page_path, page.number))
            cards = [(outputs[e.id].month, outputs[e.id].card)
                     for e in upcoming[page.first - 1:page.last]]
            shown_past = recent if page.number == 1 else []
            found.append(cache.resource(
                path, (listing, shared, feed.name, feed.path, page, cards, shown_past, len(over)),
                listing_page, shell, feed, listing, page, cards, shown_past, len(over),
                content_type=HTML_TYPE))
    return found


def _archive(data: EventsData, shell: Shell, outputs: Mapping[str, EventOutputs],
             ended: Callable[[Event], bool], cache: Cache) -> list[Resource]:
    """The archive: past events by the month they started, newest first, and its index."""
    months: dict[str, list[Event]] = {}
    for event in reversed(ordered(data.events)):
        if ended(event):
            first = event.start if not isinstance(event.start, datetime) else event.start.date()
            months.setdefault(f"{first:%Y-%m}", []).append(event)
    found, index = [], []
    for key, events in months.items():
        label = outputs[events[0].id].month
        cards = [outputs[e.id].card for e in events]
        path = urls.page_resource(urls.archive_path(key))
        index.append((label, shell.link(urls.archive_path(key)), len(events)))
        found.append(cache.resource(path, (data.calendar, label, cards), archive_month, shell,
                                    label, cards, content_type=HTML_TYPE))
    found.append(cache.resource(urls.page_resource(urls.ARCHIVE_PAGE), (data.calendar, index),
                                archive_index, shell, index, content_type=HTML_TYPE))
    return found


#: Google Calendar stops reading a subscribed feed at about this size.
FEED_SIZE_LIMIT = 1_000_000


def oversized(site: Site) -> list[str]:
    """A warning for each feed larger than Google Calendar reads, saying what to set."""
    found = []
    for feed in site.feeds:
        size = len(site.resources[feed.path].body)
        if size > FEED_SIZE_LIMIT:
            found.append(f"{feed.path} is {size / 1e6:.1f} MB with {len(feed.events):,} events; "
                         "Google Calendar stops reading a subscribed feed at about 1 MB: set "
                         "`feeds: {past: P90D}` in the calendar section to publish only recent "
                         "and upcoming events")
    return found


def feeds_index(feeds: tuple[Feed, ...], data: EventsData, sizes: Mapping[str, int]) -> bytes:
    """``feeds.json``: what a page, script or person needs to subscribe to any feed, and each
    feed's size (Google Calendar stops reading a subscribed feed at about 1 MB)."""
    base = data.calendar.base_url
    listing = {
        "calendar": {"name": data.calendar.name, "url": urls.absolute(base, "")},
        "feeds": [
            {
                "kind": feed.kind.name,
                "slug": feed.slug,
                "name": feed.name,
                "url": urls.absolute(base, feed.path),
                "webcal_url": urls.webcal(urls.absolute(base, feed.path)),
                "event_count": len(feed.events),
                "bytes": sizes[feed.path],
            }
            for feed in feeds
        ],
    }
    return (json.dumps(listing, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
