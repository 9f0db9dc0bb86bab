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

import gzip
import hashlib
import json
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .core import urls
from .core.model import EventInputs, EventsData, Tracked
from .feeds.kinds import EVERYTHING, Feed, all_feeds
from .feeds.search import Query, query_feed
from .html.pages import (ASSETS, HTML_TYPE, ListingShell, Shell, asset, feed_listing,
                         listing_page, search_listing)
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


@dataclass(frozen=True)
class EventOutputs:
    """One event's own outputs: a function of its inputs and tracked values alone."""

    part: Part  # its VEVENT, in every feed that holds it
    invite: Resource
    page: Resource
    month: str  # its group in listings, "January 2021"
    card: str  # its card in listings (HTML)


def render_event(inputs: EventInputs, tracked: Tracked | None, shell: Shell) -> EventOutputs:
    """Everything one event shows on its own (``shell`` is a function of its calendar)."""
    event = inputs.event
    part = event_part(inputs, tracked)
    view = event_view(inputs)
    return EventOutputs(
        part,
        Resource(urls.invite_path(event.id), invite(inputs, part), CONTENT_TYPE,
                 download_name=f"{event.id}.ics"),
        Resource(urls.page_resource(urls.event_page_path(event.id)),
                 shell.event_page(view, inputs), HTML_TYPE),
        view.month, shell.card(view))


class Cache:
    """Values of one site, kept by their inputs for the next: each event's outputs under
    (inputs, tracked values), each other resource under its path while its inputs are equal.
    A cache looks a value up in its own values, then in the previous site's, and computes it
    only when neither has it; :meth:`release` drops the previous site's once the new site is
    complete, so a cache never holds more than one site's worth."""

    def __init__(self, previous: Cache | None = None):
        self._events: dict[Hashable, EventOutputs] = {}
        self._resources: dict[str, tuple[Any, Resource]] = {}
        self._old_events = previous._events if previous is not None else {}
        self._old_resources = previous._resources if previous is not None else {}
        #: Events rendered (not taken over) by this cache: for tests and benchmarks.
        self.rendered = 0

    def event(self, inputs: EventInputs, tracked: Tracked | None, shell: Shell) -> EventOutputs:
        key = (inputs, tracked)
        found = self._events.get(key) or self._old_events.get(key)
        if found is None:
            found = render_event(inputs, tracked, shell)
            self.rendered += 1
        self._events[key] = found
        return found

    def put(self, inputs: EventInputs, tracked: Tracked | None, outputs: EventOutputs) -> None:
        """Store what :meth:`event` would compute (``build`` renders in other processes)."""
        self._events[(inputs, tracked)] = outputs
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
    cache: Cache = field(compare=False, repr=False)

    def get(self, path: str) -> Resource | None:
        return self.resources.get(path)

    def search(self, path: str, query: Query) -> Resource | None:
        """The response to a search (``?q=…`` and filters) at ``path``: the listing page,
        feed or jCal feed of everything, filtered; None for a path that takes no query."""
        data, cal = self.data, self.data.calendar
        feed = query_feed(data, query)
        if path == urls.page_resource(EVERYTHING.page_path("all")):
            shell = ListingShell(data, self.feeds)
            return Resource(path, listing_page(shell, feed, search_listing(query),
                                               self._cards(feed, shell)), HTML_TYPE)
        parts = [self._outputs(event, shell=None).part for event in feed.events]
        if path == urls.ALL_FEED:
            return Resource(feed.path, feed_ical(feed, cal, parts), CONTENT_TYPE)
        if path == urls.jcal_path(urls.ALL_FEED):
            return Resource(urls.jcal_path(urls.ALL_FEED) + f"?{query.query_string()}",
                            feed_jcal(feed, cal, parts), JCAL_TYPE)
        return None

    def _outputs(self, event: Any, shell: Shell | None) -> EventOutputs:
        return self.cache.event(self.data.inputs(event), self.tracked.get(event.id),
                                shell or Shell(self.data.calendar))

    def _cards(self, feed: Feed, shell: Shell) -> list[tuple[str, str]]:
        outputs = [self._outputs(event, shell) for event in feed.events]
        return [(out.month, out.card) for out in outputs]


def build_site(data: EventsData, tracked: Mapping[str, Tracked] | None = None,
               previous: Site | None = None, cache: Cache | None = None) -> Site:
    """Render everything. Pure: the same data and tracked values (which ``changes`` decides)
    always give the same bytes. What ``previous`` rendered from equal inputs is taken over.
    ``cache``: one filled beforehand (``build`` renders events in other processes)."""
    tracked = dict(tracked or {})
    cache = cache if cache is not None else Cache(previous.cache if previous else None)
    cal, shell = data.calendar, Shell(data.calendar)
    outputs = {event.id: cache.event(data.inputs(event), tracked.get(event.id), shell)
               for event in data.events}
    feeds = tuple(all_feeds(data))
    resources: list[Resource] = []
    for feed in feeds:
        parts = [outputs[event.id].part for event in feed.events]
        inputs = (feed.name, feed.description, cal, parts)
        resources += [
            cache.resource(feed.path, inputs, feed_ical, feed, cal, parts,
                           content_type=CONTENT_TYPE),
            cache.resource(urls.jcal_path(feed.path), inputs, feed_jcal, feed, cal, parts,
                           content_type=JCAL_TYPE)]
    resources += [out.invite for out in outputs.values()]
    resources += [out.page for out in outputs.values()]
    resources.append(cache.resource(
        urls.FEEDS_INDEX, (cal, [(f.kind, f.slug, f.name, len(f.events)) for f in feeds]),
        feeds_index, feeds, data, content_type=JSON_TYPE))
    listings = ListingShell(data, feeds)
    shared = listings.inputs()
    for feed in feeds:
        path, listing = urls.page_resource(feed.page_path), feed_listing(feed)
        cards = [(outputs[event.id].month, outputs[event.id].card) for event in feed.events]
        resources.append(cache.resource(path, (listing, shared, cards), listing_page, listings,
                                        feed, listing, cards, content_type=HTML_TYPE))
    resources += [cache.resource(path, path, asset, path, content_type=content_type)
                  for path, (_file, content_type) in ASSETS.items()]
    cache.release()
    return Site(data, feeds, {r.path: r for r in resources}, tracked, cache)


def feeds_index(feeds: tuple[Feed, ...], data: EventsData) -> bytes:
    """``feeds.json``: what a page, script or person needs to subscribe to any feed."""
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
            }
            for feed in feeds
        ],
    }
    return (json.dumps(listing, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
