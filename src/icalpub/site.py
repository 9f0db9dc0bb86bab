"""Every resource icalpub publishes, computed in one place: path -> bytes, type, ETag.

``web`` looks a request path up here and ``export`` writes the same entries to disk, so the
server and the static files agree by construction (MkDocs' ``serve`` calls the same ``build``;
Frozen-Flask writes what the app returns).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import urls
from .model import EventsData, Tracked
from .pages import page_resources
from .render import CONTENT_TYPE, JCAL_TYPE, render_feed, render_feed_jcal, render_invite
from .select import Feed, all_feeds

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Resource:
    path: str  # relative URL path, e.g. "feeds/all.ics"
    body: bytes
    content_type: str
    download_name: str | None = None  # served with Content-Disposition: attachment
    etag: str = field(init=False)  # strong validator: a digest of the bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "etag", hashlib.sha256(self.body).hexdigest()[:32])


@dataclass(frozen=True)
class Site:
    data: EventsData
    feeds: tuple[Feed, ...]
    resources: dict[str, Resource]
    #: SEQUENCE/timestamps per event id the resources were rendered with; anything rendered
    #: later from this site (e.g. a filtered feed) must pass them to render too.
    tracked: Mapping[str, Tracked] = field(default_factory=dict)

    def get(self, path: str) -> Resource | None:
        return self.resources.get(path)


def build_site(data: EventsData, tracked: Mapping[str, Tracked] | None = None) -> Site:
    """Render everything once. Pure: the same data (and tracked values, which ``publish``
    reads from the state file) always give the same bytes."""
    tracked = tracked or {}
    feeds = tuple(all_feeds(data))
    resources = [Resource(feed.path, render_feed(feed, data, tracked), CONTENT_TYPE)
                 for feed in feeds]
    resources += [
        Resource(urls.invite_path(event.id), render_invite(event, data, tracked.get(event.id)),
                 CONTENT_TYPE,
                 download_name=f"{event.id}.ics")
        for event in data.events
    ]
    resources.append(Resource(urls.FEEDS_INDEX, feeds_index(feeds, data), JSON_TYPE))
    # Issue 3: jCal twins of the feeds, and the HTML pages with their CSS and script.
    resources += [Resource(urls.jcal_path(feed.path), render_feed_jcal(feed, data, tracked),
                           JCAL_TYPE)
                  for feed in feeds]
    resources += [Resource(path, body, content_type)
                  for path, body, content_type in page_resources(data, feeds)]
    return Site(data, feeds, {r.path: r for r in resources}, dict(tracked))


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
