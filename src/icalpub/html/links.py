"""The URLs behind the "Subscribe" and "Add to calendar" buttons. Pure functions of the model.

Every link is absolute and built from ``calendar.base_url``; query strings are encoded as
``urllib.parse.urlencode(quote_via=quote, safe="")`` does (spaces as ``%20``, which every
calendar web app decodes, unlike ``+`` in a path-style parameter), by a table-driven
:func:`quote` with the same output: links are built for every event of every build.

Formats, as the calendar services document or accept them:

* Google subscribe: ``https://calendar.google.com/calendar/r?cid=<webcal URL>`` — Google only
  fetches ``https`` feeds and refreshes them every 12–24 hours.
* Outlook.com / Microsoft 365 subscribe: ``/calendar/0/addfromweb/?url=<webcal URL>&name=``.
* Google event template: ``/calendar/render?action=TEMPLATE&text&dates&details&location&ctz``;
  ``dates`` is ``YYYYMMDDTHHMMSSZ/YYYYMMDDTHHMMSSZ`` (UTC) or ``YYYYMMDD/YYYYMMDD`` with the
  end exclusive; ``ctz`` must be an IANA name (Google rejects abbreviations such as CET);
  ``recur=RRULE:…`` repeats it.
* Outlook compose: ``/calendar/0/action/compose?rru=addevent&startdt&enddt&subject&location
  &body`` (``allday=true`` and plain dates for all-day events). Outlook links cannot carry a
  recurrence: the page says so and offers the .ics for the series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from ..core import urls
from ..core.model import CalendarInfo, Event
from ..core.richtext import render_markdown

GOOGLE_SUBSCRIBE = "https://calendar.google.com/calendar/r"
GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
OUTLOOK_LIVE = "https://outlook.live.com"
OUTLOOK_OFFICE = "https://outlook.office.com"
#: Google truncates long template URLs; keep ``details`` near 1,000 characters.
GOOGLE_DETAILS_MAX = 1000
#: Outlook (and old browsers, proxies, Google) fail on URLs much past 2,000 characters.
URL_MAX = 2000
ELLIPSIS = "…"


#: What ``urllib.parse.quote(text, safe="")`` leaves as it is (RFC 3986 unreserved).
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


class _Escapes(dict[int, str]):
    """Code point -> its percent-encoded UTF-8 bytes (itself if unreserved), for
    ``str.translate``: one C-level pass per value, where ``quote`` runs a Python call per
    byte; code points outside ASCII are encoded on first sight and kept."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        escaped = char if char in UNRESERVED else "".join(f"%{b:02X}" for b in char.encode())
        self[code] = escaped
        return escaped


_ESCAPES = _Escapes()
for _code in range(128):
    _ESCAPES[_code]  # noqa: B018 - fills the ASCII table up front


def quote(text: str) -> str:
    """Exactly ``urllib.parse.quote(text, safe="")``: spaces as ``%20``, ``/`` encoded."""
    return text.translate(_ESCAPES)


def _query(params: list[tuple[str, str]]) -> str:
    """Exactly ``urlencode(params, quote_via=quote, safe="")`` for text keys and values."""
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in params)


@dataclass(frozen=True)
class SubscribeLinks:
    """Everything needed to subscribe to one feed."""

    name: str
    https: str  # the feed's own URL (the "copy link" field)
    webcal: str  # Apple Calendar, Outlook desktop, Thunderbird
    google: str
    outlook_com: str
    microsoft_365: str
    #: Google cannot fetch a plain-http feed; the page warns next to its button.
    google_can_fetch: bool


def subscribe_links(base_url: str, feed_path: str, name: str) -> SubscribeLinks:
    """``feed_path`` is relative (``feeds/all.ics`` or ``feeds/all.ics?q=…``)."""
    url = urls.absolute(base_url, feed_path)
    webcal = urls.webcal(url)
    outlook_query = _query([("url", webcal), ("name", name)])
    return SubscribeLinks(
        name=name,
        https=url,
        webcal=webcal,
        google=f"{GOOGLE_SUBSCRIBE}?{_query([('cid', webcal)])}",
        outlook_com=f"{OUTLOOK_LIVE}/calendar/0/addfromweb/?{outlook_query}",
        microsoft_365=f"{OUTLOOK_OFFICE}/calendar/0/addfromweb/?{outlook_query}",
        google_can_fetch=url.startswith("https://"),
    )


@dataclass(frozen=True)
class EventLinks:
    """The buttons of one event."""

    ics: str  # the single-event invite (Download .ics)
    google: str
    outlook_com: str
    microsoft_365: str


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def google_dates(event: Event) -> str:
    """``start/end``: UTC instants, or dates with the end exclusive (as DTEND)."""
    if event.all_day:
        return f"{event.start:%Y%m%d}/{event.end:%Y%m%d}"
    return f"{utc_stamp(event.start)}/{utc_stamp(event.end)}"  # type: ignore[arg-type]


def _outlook_time(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit * 0.8:
        head = head[:space]
    return head.rstrip() + ELLIPSIS


def _details_with_page(event: Event, calendar: CalendarInfo, limit: int) -> str:
    """Cut the description, never the page link at its end."""
    page = urls.absolute(calendar.base_url, urls.event_page_path(event.id))
    text = render_markdown(event.description).text
    if not text:
        return page
    room = max(limit - len(page) - 2, 0)
    return f"{cut(text, room)}\n\n{page}" if room else page


def _fit(base: str, params: list[tuple[str, str]], name: str, event: Event,
         calendar: CalendarInfo, limit: int) -> str:
    """``base`` + the query with a ``name`` text of at most ``limit`` characters, shrunk until
    the whole URL is shorter than :data:`URL_MAX` (percent-encoding makes a character up to
    nine bytes long, so the text shrinks in proportion)."""
    head = f"{base}{_query(params)}&{quote(name)}="  # the fixed part, encoded once
    while True:
        url = head + quote(_details_with_page(event, calendar, limit))
        if len(url) < URL_MAX or limit <= 0:
            return url
        limit = min(limit - 1, int(limit * (URL_MAX - len(base) - 200) / len(url)))


def google_event_link(event: Event, calendar: CalendarInfo) -> str:
    """Google's event template; ``details`` near 1,000 characters and the URL < 2,000."""
    params = [("action", "TEMPLATE"), ("text", event.title), ("dates", google_dates(event))]
    if event.location:
        params.append(("location", event.location))
    params.append(("ctz", event.timezone))
    if event.recurrence:
        params.append(("recur", f"RRULE:{event.recurrence}"))
    return _fit(f"{GOOGLE_TEMPLATE}?", params, "details", event, calendar, GOOGLE_DETAILS_MAX)


def outlook_event_link(event: Event, calendar: CalendarInfo, host: str = OUTLOOK_LIVE) -> str:
    """Outlook's compose deep link; the body shrinks until the URL is under 2,000."""
    params = [("rru", "addevent"), ("startdt", _outlook_time(event.start)),
              ("enddt", _outlook_time(event.end))]
    if event.all_day:
        params.append(("allday", "true"))
    params.append(("subject", event.title))
    if event.location:
        params.append(("location", event.location))
    return _fit(f"{host}/calendar/0/action/compose?", params, "body", event, calendar, URL_MAX)


def event_links(event: Event, calendar: CalendarInfo) -> EventLinks:
    return EventLinks(
        ics=urls.absolute(calendar.base_url, urls.invite_path(event.id)),
        google=google_event_link(event, calendar),
        outlook_com=outlook_event_link(event, calendar, OUTLOOK_LIVE),
        microsoft_365=outlook_event_link(event, calendar, OUTLOOK_OFFICE),
    )
