"""Where each published thing lives, in one place.

Paths are relative ("feeds/all.ics"), the same for the Flask routes and for the files the
static export writes; :func:`absolute` joins them to ``calendar.base_url`` for links inside
calendars and pages.
"""

from __future__ import annotations

ALL_FEED = "feeds/all.ics"
FEEDS_INDEX = "feeds.json"


def feed_path(kind: str, slug: str) -> str:
    """``kind`` is "all", "topic" or "organiser"."""
    if kind == "all":
        return ALL_FEED
    return f"feeds/{kind}s/{slug}.ics"


def invite_path(event_id: str) -> str:
    return f"events/{event_id}.ics"


def event_page_path(event_id: str) -> str:
    return f"events/{event_id}"


def absolute(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


def webcal(url: str) -> str:
    """The ``webcal://`` form that makes Apple Calendar, Outlook and Thunderbird subscribe."""
    return "webcal://" + url.split("://", 1)[1]
