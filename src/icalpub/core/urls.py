"""Where each published thing lives, in one place (the feeds of each kind: ``feeds.kinds``).

Paths are relative ("feeds/all.ics"), the same for the server and for the files the static
export writes; :func:`absolute` joins them to ``calendar.base_url`` for links inside
calendars and pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

ALL_FEED = "feeds/all.ics"
FEEDS_INDEX = "feeds.json"
#: A built tree's list of files (``build``), read by ``serve --static``; never served.
MANIFEST = "manifest.json"


def invite_path(event_id: str) -> str:
    return f"events/{event_id}.ics"


def event_page_path(event_id: str) -> str:
    return f"events/{event_id}"


def absolute(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


def webcal(url: str) -> str:
    """The ``webcal://`` form that makes Apple Calendar, Outlook and Thunderbird subscribe."""
    return "webcal://" + url.split("://", 1)[1]


# Each page is stored as ``<dir>/index.html`` so that any static host serves ``/events/<id>``
# (or ``/events/<id>/``) from the exported tree, as the server does.
INDEX_PAGE = "index.html"
STYLESHEET = "static/style.css"
SCRIPT = "static/app.js"
#: The page of every feed with its subscribe buttons, and the archive of past events.
CALENDARS_PAGE = "calendars"
ARCHIVE_PAGE = "archive"
#: The page a static server sends for a missing path (nginx ``error_page``, GitHub Pages).
NOT_FOUND_PAGE = "404.html"


def listing_path(page_path: str, number: int) -> str:
    """Page ``number`` of a listing: the listing itself, then ``<listing>/page/<n>``."""
    if number == 1:
        return page_path
    return f"{page_path}/page/{number}" if page_path else f"page/{number}"


def archive_path(month: str) -> str:
    """The past events of one month, ``month`` as ``2021-01``."""
    return f"{ARCHIVE_PAGE}/{month}"


def page_resource(page_path: str) -> str:
    """The resource (file) behind a page URL path: "" -> index.html, "events/x" ->
    "events/x/index.html"."""
    return f"{page_path.strip('/')}/{INDEX_PAGE}" if page_path.strip("/") else INDEX_PAGE


def jcal_path(feed_path: str) -> str:
    """``feeds/all.ics`` -> ``feeds/all.json``: the jCal (RFC 7265) twin of a feed."""
    return feed_path.removesuffix(".ics") + ".json"


def site_relative(base_url: str, path: str) -> str:
    """A root-relative link (``/events/x``, or ``/prefix/events/x`` when the site lives under
    a path): pages link to each other this way so they work on whatever host serves them."""
    prefix = urlsplit(base_url).path.rstrip("/")
    return f"{prefix}/{path.lstrip('/')}"
