"""Every resource icalpub publishes, computed in one place: path -> bytes, type, ETag.

``web`` looks a request path up here and ``export`` writes the same entries to disk, so the
server and the static files agree by construction (MkDocs' ``serve`` calls the same ``build``;
Frozen-Flask writes what the app returns).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from . import urls
from .compress import Offsets, SegmentSource, gzip_bytes, segmented_gzip
from .memo import SMALL_CHANGE, Memo, changed_positions
from .model import Event, EventsData, Tracked
from .pages import HTML_TYPE, PageContext, page_resources, static_resources
from .render import CONTENT_TYPE, JCAL_TYPE, Renderer
from .select import Feed, all_feeds

JSON_TYPE = "application/json"
#: Content types worth compressing (text), and the size below which gzip does not pay.
COMPRESSIBLE = ("text/", "application/json", "application/calendar+json")
GZIP_MIN_SIZE = 256


@dataclass(frozen=True)
class Resource:
    path: str  # relative URL path, e.g. "feeds/all.ics"
    body: bytes
    content_type: str
    download_name: str | None = None  # served with Content-Disposition: attachment
    #: Strong validator: a digest of the bytes. Computed unless given, as ``serve --static``
    #: does from the manifest (the build computed it from the same bytes).
    etag: str = field(default="", kw_only=True)
    #: The HTTP answers (headers of the 200s and the 304) for the snapshot serving this
    #: resource, memoised on the first request by ``httpcache.answers_for``; not data.
    http_answers: Any = field(default=None, init=False, repr=False, compare=False)
    #: What the body is joined from, in segments (a feed's parts, a listing's months), when
    #: it is: its gzip is then compressed segment by segment, and the next version of the
    #: resource takes over the segments that did not change (``compress``).
    segments: SegmentSource | None = field(default=None, kw_only=True, repr=False,
                                           compare=False)

    def __post_init__(self) -> None:
        if not self.etag:
            object.__setattr__(self, "etag", hashlib.sha256(self.body).hexdigest()[:32])

    @property
    def compressible(self) -> bool:
        return self.content_type.startswith(COMPRESSIBLE) and len(self.body) >= GZIP_MIN_SIZE

    @functools.cached_property
    def gzipped(self) -> bytes:
        """The body gzip-compressed once, deterministically (the same bytes for the same
        body and segments, however they were reached): served with ``Content-Encoding: gzip``
        and written as the ``.gz`` sibling nginx's gzip_static sends, so neither compresses
        per request. A server packs it beforehand (:meth:`pack`)."""
        return self.compress()[0]

    def compress(self, previous: Resource | None = None) -> tuple[bytes, Offsets | None]:
        """The gzip bytes, computed now and not kept (see :attr:`gzipped` and :meth:`pack`),
        and where its segments lie, if it has any."""
        if self.segments is None:
            return gzip_bytes(self.body), None
        old = vars(previous).get("_offsets") if previous is not None else None
        return segmented_gzip(self.segments, self.body,
                              (previous.gzipped, old) if old else None)  # type: ignore[union-attr]

    def pack(self, previous: Resource | None = None) -> None:
        """Compute and keep :attr:`gzipped`, from the unchanged segments of ``previous`` (the
        resource this one replaces at its path) where it has any."""
        if "gzipped" not in vars(self):
            self.keep_gzipped(*self.compress(previous))

    def keep_gzipped(self, packed: bytes, offsets: Offsets | None = None) -> None:
        """Keep ``packed`` as :attr:`gzipped` (for instance a built tree's ``.gz`` file)."""
        vars(self).update(gzipped=packed, _offsets=offsets)  # the cached_property's slot


@dataclass(frozen=True)
class EventResources:
    """Each event's invite and page in the order of ``events``, and what they were made of:
    the context every event is shown in (``Renderer.context``) and each event's tracked
    values. The next site takes them over at every position where the event and its tracked
    values are the very same objects and the context is equal (:func:`_changed_events`)."""

    context: tuple
    events: tuple[Event, ...]
    tracked: tuple[Tracked | None, ...]
    invites: list[Resource]
    pages: list[Resource]


@dataclass(frozen=True)
class Site:
    data: EventsData
    feeds: tuple[Feed, ...]
    resources: dict[str, Resource]
    #: Renders anything asked of this site later (a filtered feed) with the same parts and
    #: tracked values (SEQUENCE, timestamps) as its resources, and hands them to the next site.
    renderer: Renderer
    #: The same resources as in ``resources``, by event (for the next site).
    own: EventResources | None = None
    #: The resources made for this site, not taken over from the previous one: the ones
    #: a server must compress (:func:`pack_fresh`).
    fresh: tuple[Resource, ...] = field(default=(), compare=False, repr=False)

    @property
    def tracked(self) -> Mapping[str, Tracked]:
        return self.renderer.tracked

    def get(self, path: str) -> Resource | None:
        return self.resources.get(path)


def build_site(data: EventsData, tracked: Mapping[str, Tracked] | None = None,
               previous: Site | None = None, memo: Memo | None = None) -> Site:
    """Render everything. Pure: the same data (and tracked values, which ``publish`` reads
    from the state file) always give the same bytes. Components of ``previous`` whose inputs
    did not change are reused, so a reload after one edit renders one event again. ``memo``:
    this version's (``publish`` gives the one ``tracking`` used), else one taking over the
    previous site's."""
    tracked = tracked or {}
    renderer = Renderer(data, tracked, previous.renderer if previous is not None else None, memo)
    before = previous.resources if previous is not None else {}
    fresh: list[Resource] = []

    def resource(path: str, body: bytes, content_type: str, download_name: str | None = None,
                 segments: SegmentSource | None = None) -> Resource:
        # The memo hands back the same bytes object for an unchanged invite or page: keep
        # its Resource, and so its ETag and compressed bytes, instead of hashing it again.
        old = before.get(path)
        if old is not None and old.body is body and old.content_type == content_type \
                and old.download_name == download_name:
            return old
        made = Resource(path, body, content_type, download_name, segments=segments)
        fresh.append(made)
        return made

    def per_event(kind: str, event: Event, path: str, make_body: Callable[[], bytes],
                  content_type: str, download_name: str | None = None,
                  extra: Hashable = None) -> Resource:
        """An event's own resource, kept whole in the memo under the event's inputs: while
        they are the same, the previous Resource is taken as it is, and its bytes are not even
        looked at (a server's master shares them with its workers copy-on-write: touching
        10,000 pages' bytes would copy their memory)."""
        return memo.per_event(f"{kind} resource", event, data, lambda: resource(
            path, make_body(), content_type, download_name), extra)

    memo = renderer.memo
    feeds = tuple(all_feeds(data))
    resources = [resource(feed.path, assembled.body, CONTENT_TYPE, segments=assembled)
                 for feed in feeds for assembled in [renderer.feed_assembled(feed, "ical")]]
    tracked_in_order = tuple(map(renderer.tracked.get, map(_ID, data.events)))
    old = previous.own if previous is not None else None
    changed = _changed_events(old, renderer.context, data.events, tracked_in_order)

    def each_event(taken: list[Resource], make: Callable[[Event], Resource]) -> list[Resource]:
        """``make`` for every event, or only at the changed positions of ``taken``."""
        if changed is None:
            return [make(event) for event in data.events]
        taken = list(taken)
        for i in changed:
            taken[i] = make(data.events[i])
        return taken

    invites = each_event(old.invites if old else [], lambda event: per_event(
        "invite", event, urls.invite_path(event.id), functools.partial(renderer.invite, event),
        CONTENT_TYPE, download_name=f"{event.id}.ics", extra=renderer.tracked.get(event.id)))
    resources += invites
    resources.append(resource(urls.FEEDS_INDEX, feeds_index(feeds, data), JSON_TYPE))
    # Issue 3: jCal twins of the feeds, and the HTML pages with their CSS and script.
    resources += [resource(urls.jcal_path(feed.path), assembled.body, JCAL_TYPE,
                           segments=assembled)
                  for feed in feeds for assembled in [renderer.feed_assembled(feed, "jcal")]]
    pages = PageContext(data, feeds, memo)
    resources += [resource(path, page.body, HTML_TYPE, segments=page)
                  for path, page in page_resources(pages, feeds)]
    event_pages = each_event(old.pages if old else [], lambda event: per_event(
        "page", event, urls.page_resource(urls.event_page_path(event.id)),
        functools.partial(pages.event_page, event), HTML_TYPE))
    resources += event_pages
    resources += [resource(path, body, content_type)
                  for path, body, content_type in static_resources()]
    renderer.memo.release()
    own = EventResources(renderer.context, data.events, tracked_in_order, invites, event_pages)
    return Site(data, feeds, {r.path: r for r in resources}, renderer, own, tuple(fresh))


def pack_fresh(site: Site, previous: Site | None) -> None:
    """Compress every compressible body that ``site`` made (the ones it took over from
    ``previous`` are compressed already), each from the unchanged segments of the body it
    replaces: a server then answers ``Accept-Encoding: gzip`` by a look-up alone, and a
    gunicorn master's workers inherit the compressed bytes instead of each compressing them."""
    before = previous.resources if previous is not None else {}
    todo = [res for res in site.fresh if res.compressible]
    # zlib lets go of the GIL while it compresses: threads use every core (a start-up
    # compresses ~350 MB at 10,000 events: 9.4 s in one thread)
    with ThreadPoolExecutor(min(len(todo), len(os.sched_getaffinity(0))) or 1,
                            thread_name_prefix="icalpub-pack") as pool:
        for _ in pool.map(lambda res: res.pack(before.get(res.path)), todo,
                          chunksize=1):
            pass


_ID = attrgetter("id")


def _changed_events(old: EventResources | None, context: tuple, events: tuple[Event, ...],
                    tracked: tuple[Tracked | None, ...]) -> list[int] | None:
    """The positions at which ``new`` cannot take ``old``'s invite and page (its event or
    tracked values are other objects), or None when it can take none: no previous site,
    another context, events added or removed, or more than a few changed. One C-level pass
    instead of a memo look-up per event and resource (20,000 per reload at 10,000 events);
    the memo still decides at the changed positions."""
    if old is None or old.context != context or len(old.events) != len(events):
        return None
    changed = sorted({*changed_positions(old.events, events),
                      *changed_positions(old.tracked, tracked)})
    return changed if len(changed) <= SMALL_CHANGE else None


def feeds_index(feeds: tuple[Feed, ...], data: EventsData) -> bytes:
    """``feeds.json``: what a page, script or person needs to subscribe to any feed."""
    base = data.calendar.base_url
    listing = {
        "calendar": {"name": data.calendar.name, "url": urls.absolute(base, "")},
        "feeds": [
            {
                "kind": feed.kind,
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
