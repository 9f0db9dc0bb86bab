"""Search and filters: ``?q=``, ``?from=``, ``?to=`` and one parameter per feed kind
(``?topic=``, ``?organiser=``).

The same query works on the listing (``/?q=…``) and on the feed (``/feeds/all.ics?q=…``), so
a filtered view can be subscribed to. Pure functions of (site data, query); the serving layer
computes and caches the responses.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote, urlencode

from ..core.model import Event, EventsData
from ..core.richtext import render_markdown
from .kinds import EVERYTHING, Feed, filter_kinds, kind_named, ordered

MAX_QUERY_LENGTH = 200


class QueryError(ValueError):
    """A query parameter that cannot be understood; ``web`` answers 400 with the message."""


@dataclass(frozen=True)
class Query:
    """A normalised query: equal queries are equal objects (the cache key)."""

    words: tuple[str, ...] = ()  # folded (lower-case, no accents), sorted, unique
    #: (kind name, slugs sorted and unique) per filtered kind, in :data:`KINDS` order; an
    #: event matches any of a kind's slugs.
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    start: date | None = None  # ``from``: events ending on or after this day
    end: date | None = None  # ``to``: events starting on or before this day
    text: str = ""  # the q= text as typed (trimmed), for the search box

    @property
    def empty(self) -> bool:
        return not (self.words or self.filters or self.start or self.end)

    def selected(self, kind: str) -> tuple[str, ...]:
        """The slugs of ``kind`` the query filters by."""
        return dict(self.filters).get(kind, ())

    def params(self) -> list[tuple[str, str]]:
        """Canonical query parameters, in a fixed order."""
        out = [("q", self.text)] if self.text else []
        out += [(kind, slug) for kind, slugs in self.filters for slug in slugs]
        if self.start:
            out.append(("from", self.start.isoformat()))
        if self.end:
            out.append(("to", self.end.isoformat()))
        return out

    def query_string(self) -> str:
        return urlencode(self.params(), quote_via=quote)


def params() -> tuple[str, ...]:
    """The query parameters a search understands."""
    return ("q", *(kind.name for kind in filter_kinds()), "from", "to")


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
    """Normalise request arguments ({name: [values]}). Unknown slugs and malformed dates are
    errors (a typo must not silently give an empty feed)."""
    text = " ".join(" ".join(args.get("q", [])).split())[:MAX_QUERY_LENGTH]
    filters = []
    for kind in filter_kinds():
        slugs = sorted({v.strip() for v in args.get(kind.name, []) if v.strip()})
        known = kind.members(data)
        for slug in slugs:
            if slug not in known:
                raise QueryError(f"{kind.name}={slug!r} is unknown; expected one of: "
                                 f"{', '.join(sorted(known)) or '(none)'}")
        if slugs:
            filters.append((kind.name, tuple(slugs)))
    start = next((_day(v, "from") for v in args.get("from", []) if v.strip()), None)
    end = next((_day(v, "to") for v in args.get("to", []) if v.strip()), None)
    if start and end and start > end:
        raise QueryError(f"from={start} is after to={end}; swap the two dates")
    return Query(words=tuple(sorted(set(fold(text).split()))), filters=tuple(filters),
                 start=start, end=end, text=text)


def haystack(event: Event, data: EventsData) -> str:
    """The searchable text of an event: title, description (as plain text), agenda and
    organiser names, folded."""
    names = [data.organisers[slug].name for slug in event.organisers]
    parts = [event.title, render_markdown(event.description).text, *event.agenda, *names]
    return fold("\n".join(parts))


def _first_day(event: Event) -> date:
    return event.start if not isinstance(event.start, datetime) else event.start.date()


def matches(event: Event, query: Query, data: EventsData) -> bool:
    """All words must occur; for each filtered kind, any of its slugs; the event's days
    must overlap [from, to]. A recurring event counts from its first day to its last."""
    if query.words:
        text = haystack(event, data)
        if not all(word in text for word in query.words):
            return False
    for name, slugs in query.filters:
        if not set(slugs) & set(kind_named(name).slugs_of(event)):
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
    for name, slugs in query.filters:
        members = kind_named(name).members(data)
        parts += [members[slug].name for slug in slugs]
    if query.start or query.end:
        parts.append(f"{query.start or '…'} – {query.end or '…'}")
    return " · ".join(parts)


def query_feed(data: EventsData, query: Query) -> Feed:
    """The feed of a filtered view. Its path carries the query, so the feed's SOURCE and the
    subscribe buttons point back at exactly this selection."""
    cal = data.calendar
    label = describe(query, data)
    return Feed(EVERYTHING, "all", cal, f"{cal.name}: {label}" if label else cal.name,
                f"{cal.description} Filtered: {label}.".strip() if label else cal.description,
                filter_events(data, query), query_string=query.query_string())


def multidict(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Group (name, value) pairs, keeping only the parameters a query understands."""
    names = params()
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in names:
            out.setdefault(name, []).append(value)
    return out
