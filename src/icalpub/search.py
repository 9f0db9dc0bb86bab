"""Search and filters: ``?q=``, ``?topic=``, ``?organiser=``, ``?from=``, ``?to=``.

The same query works on the listing (``/?q=…``) and on the feed (``/feeds/all.ics?q=…``), so
a filtered view can be subscribed to. These are the only responses that depend on the request;
they are computed here, by pure functions of (site data, query), and memoised in a small LRU
keyed by the *normalised* query and the site they were computed from. ``web`` only calls them.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from urllib.parse import quote, urlencode

from . import urls
from .model import Event, EventsData
from .richtext import render_markdown
from .select import Feed, ordered

PARAMS = ("q", "topic", "organiser", "from", "to")
MAX_QUERY_LENGTH = 200


class QueryError(ValueError):
    """A query parameter that cannot be understood; ``web`` answers 400 with the message."""


@dataclass(frozen=True)
class Query:
    """A normalised query: equal queries are equal objects (the cache key)."""

    words: tuple[str, ...] = ()  # folded (lower-case, no accents), sorted, unique
    topics: tuple[str, ...] = ()  # sorted, unique
    organisers: tuple[str, ...] = ()
    start: date | None = None  # ``from``: events ending on or after this day
    end: date | None = None  # ``to``: events starting on or before this day
    text: str = ""  # the q= text as typed (trimmed), for the search box

    @property
    def empty(self) -> bool:
        return not (self.words or self.topics or self.organisers or self.start or self.end)

    def params(self) -> list[tuple[str, str]]:
        """Canonical query parameters, in a fixed order."""
        out = [("q", self.text)] if self.text else []
        out += [("topic", slug) for slug in self.topics]
        out += [("organiser", slug) for slug in self.organisers]
        if self.start:
            out.append(("from", self.start.isoformat()))
        if self.end:
            out.append(("to", self.end.isoformat()))
        return out

    def query_string(self) -> str:
        return urlencode(self.params(), quote_via=quote)


def fold(text: str) -> str:
    """Case- and accent-insensitive form: "Économie" and "economie" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise QueryError(f"{name}={value!r} is not a date; write it as YYYY-MM-DD") from None


def parse_query(args: Mapping[str, list[str]], data: EventsData) -> Query:
    """Normalise request arguments ({name: [values]}). Unknown topic or organiser slugs and
    malformed dates are errors (a typo must not silently give an empty feed)."""
    text = " ".join(" ".join(args.get("q", [])).split())[:MAX_QUERY_LENGTH]
    topics = sorted({v.strip() for v in args.get("topic", []) if v.strip()})
    organisers = sorted({v.strip() for v in args.get("organiser", []) if v.strip()})
    for name, slugs, known in (("topic", topics, data.topics),
                               ("organiser", organisers, data.organisers)):
        for slug in slugs:
            if slug not in known:
                raise QueryError(f"{name}={slug!r} is unknown; expected one of: "
                                 f"{', '.join(sorted(known)) or '(none)'}")
    start = next((_day(v, "from") for v in args.get("from", []) if v.strip()), None)
    end = next((_day(v, "to") for v in args.get("to", []) if v.strip()), None)
    return Query(words=tuple(sorted(set(fold(text).split()))), topics=tuple(topics),
                 organisers=tuple(organisers), start=start, end=end, text=text)


def haystack(event: Event, data: EventsData) -> str:
    """The searchable text of an event: title, description (as plain text), agenda and
    organiser names, folded."""
    names = [data.organisers[slug].name for slug in event.organisers]
    parts = [event.title, render_markdown(event.description).text, *event.agenda, *names]
    return fold("\n".join(parts))


def _first_day(event: Event) -> date:
    return event.start if not isinstance(event.start, datetime) else event.start.date()


def matches(event: Event, query: Query, data: EventsData) -> bool:
    """All words must occur; any of the topics; any of the organisers; the event's days
    must overlap [from, to]. A recurring event counts from its first day to its last."""
    if query.words:
        text = haystack(event, data)
        if not all(word in text for word in query.words):
            return False
    if query.topics and not set(query.topics) & set(event.topics):
        return False
    if query.organisers and not set(query.organisers) & set(event.organisers):
        return False
    if query.start and event.span_end is not None and event.span_end < query.start:
        return False
    if query.end and _first_day(event) > query.end:
        return False
    return True


def filter_events(data: EventsData, query: Query) -> tuple[Event, ...]:
    return ordered([e for e in data.events if matches(e, query, data)])


def describe(query: Query, data: EventsData) -> str:
    """A human name for the filtered view, e.g. ``"procurement" · Circular economy``."""
    parts = [f"“{query.text}”"] if query.text else []
    parts += [data.topics[s].name for s in query.topics]
    parts += [data.organisers[s].name for s in query.organisers]
    if query.start or query.end:
        parts.append(f"{query.start or '…'} – {query.end or '…'}")
    return " · ".join(parts)


@dataclass(frozen=True)
class QueryFeed(Feed):
    """The feed of a filtered view. Its path carries the query, so the feed's SOURCE and the
    subscribe buttons point back at exactly this selection."""

    query_string: str = ""

    @property
    def path(self) -> str:
        return f"{urls.ALL_FEED}?{self.query_string}" if self.query_string else urls.ALL_FEED

    @property
    def filtered(self) -> bool:
        return True


def query_feed(data: EventsData, query: Query) -> QueryFeed:
    cal = data.calendar
    label = describe(query, data)
    return QueryFeed("all", "all", f"{cal.name}: {label}" if label else cal.name,
                     f"{cal.description} Filtered: {label}.".strip() if label else cal.description,
                     filter_events(data, query), query_string=query.query_string())


T = TypeVar("T")


class QueryCache:
    """A bounded LRU of query responses. The key holds the site object itself (compared by
    identity), so a reload of events.yaml can never serve a result computed from old data."""

    def __init__(self, maxsize: int = 256):
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, str, Query], tuple[object, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, site: object, kind: str, query: Query, compute: Callable[[], T]) -> T:
        key = (id(site), kind, query)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is site:
                self._entries.move_to_end(key)
                return entry[1]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._entries[key] = (site, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


def multidict(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Group (name, value) pairs, keeping only the parameters a query understands."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in PARAMS:
            out.setdefault(name, []).append(value)
    return out
