"""Responses that depend on the query string: the search page and filtered feeds.

Pure functions of (site, query) -> :class:`~icalpub.site.Resource`, so ``web`` stays a thin
look-up layer and the bytes for a query are as deterministic as every other resource. Results
are memoised in a bounded LRU (:class:`~icalpub.search.QueryCache`) keyed by the normalised
query and the site they came from.
"""

from __future__ import annotations

from . import urls
from .pages import HTML_TYPE, search_page
from .render import CONTENT_TYPE, JCAL_TYPE
from .search import Query, QueryCache, query_feed
from .site import Resource, Site

#: The kinds of query response, by the resource path they filter.
KINDS = {urls.INDEX_PAGE: "page", urls.ALL_FEED: "ics", urls.jcal_path(urls.ALL_FEED): "jcal"}


def compute(site: Site, kind: str, query: Query) -> Resource:
    data = site.data
    if kind == "page":
        return Resource(urls.INDEX_PAGE, search_page(data, site.feeds, query, site.renderer.memo), HTML_TYPE)
    feed = query_feed(data, query)
    if kind == "ics":
        return Resource(feed.path, site.renderer.feed(feed), CONTENT_TYPE)
    if kind == "jcal":
        return Resource(urls.jcal_path(urls.ALL_FEED) + f"?{query.query_string()}",
                        site.renderer.feed_jcal(feed), JCAL_TYPE)
    raise ValueError(f"unknown query response kind {kind!r}")


def query_resource(cache: QueryCache, site: Site, kind: str, query: Query) -> Resource:
    return cache.get(site, kind, query, lambda: compute(site, kind, query))
