"""The typed model of events.yaml, produced by ``load`` and read by every later stage.

Frozen dataclasses: once loaded and validated, the data is a value that can be shared between
threads and compared, and nothing downstream has to re-check it.

:class:`EventInputs` is the one declaration of what an event's own outputs (its VEVENT, invite,
page, listing card and change hash) may read. Renderers receive it and nothing else, so the
per-event cache (keyed by it), incremental reload and the change hash cannot disagree on
what an edit touches.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

T = TypeVar("T")

#: Field metadata. ``NOT_SHOWN``: no output of an event shows this field of a calendar,
#: organiser or topic, so it is left out of the event's inputs (an edit of it renders no event
#: again). ``NOT_CONTENT``: a field of an event that its outputs may show but that is not
#: what the event says (the change hash, hence SEQUENCE, ignores it).
NOT_SHOWN = {"shown": False}
NOT_CONTENT = {"content": False}


@dataclass(frozen=True)
class CalendarInfo:
    """The ``calendar:`` section: what the whole site is called and where it lives."""

    name: str
    base_url: str  # no trailing slash, e.g. ``https://events.example.org``
    description: str = field(default="", metadata=NOT_SHOWN)
    #: The default IANA zone of events (``load`` resolves every event's own zone).
    timezone: str | None = field(default=None, metadata=NOT_SHOWN)
    #: How often clients should poll a feed.
    refresh: timedelta = field(default=timedelta(hours=12), metadata=NOT_SHOWN)
    #: How long a cancelled or removed event stays in the feeds as STATUS:CANCELLED, so that
    #: subscribed calendars remove it, before it disappears.
    keep_cancelled: timedelta = field(default=timedelta(days=30), metadata=NOT_SHOWN)
    #: The right-hand side of every UID. ``load`` sets it from the file (``uid_domain``, else
    #: the host of the file's own ``base_url``), so serving the site at another address
    #: (``ICALPUB_BASE_URL``, ``icalpub serve --port``) never changes a UID.
    uid_domain: str = ""
    #: Events that ended longer ago than this leave the feeds (not the pages); None: never.
    feeds_past: timedelta | None = field(default=None, metadata=NOT_SHOWN)
    #: Reminders of every event (how long before its start), unless the event gives its own:
    #: VALARMs in invites, and in feeds only if ``reminders_in_feeds``.
    reminders: tuple[timedelta, ...] = ()
    reminders_in_feeds: bool = False
    #: A CSS3 colour name (RFC 7986 COLOR) of its feeds; no event shows it.
    color: str | None = field(default=None, metadata=NOT_SHOWN)

    def today(self, now: datetime) -> date:
        """The date at instant ``now`` in the calendar's zone (UTC without one): the day a
        site is made for (``as_of``)."""
        from zoneinfo import ZoneInfo

        return now.astimezone(ZoneInfo(self.timezone or "UTC")).date()

    @property
    def host(self) -> str:
        """The right-hand side of every UID: ``uid_domain``, else the host of ``base_url``."""
        return self.uid_domain or urlsplit(self.base_url).hostname or ""


@dataclass(frozen=True)
class Organiser:
    slug: str
    name: str
    email: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Topic:
    slug: str
    name: str
    description: str = field(default="", metadata=NOT_SHOWN)  # on the topic's own page
    color: str | None = field(default=None, metadata=NOT_SHOWN)  # its feed's, a CSS3 name


@dataclass(frozen=True)
class Online:
    """How to join an event online: a link (CONFERENCE), what to call it, an access code.
    ``load`` requires a link or a code; a code without a link is only text."""

    url: str | None = None
    label: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Venue:
    """Where an event takes place: a name, an address, coordinates (WGS 84 degrees, both or
    neither). ``load`` makes the event's ``location`` its text, so LOCATION, cards and the
    JSON-LD place say the same."""

    name: str
    address: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def text(self) -> str:
        """"Town hall, Grand-Place 1, 1000 Brussels": the name, then the address."""
        return f"{self.name}, {self.address}" if self.address else self.name

    @property
    def map_url(self) -> str | None:
        """The OpenStreetMap page of the coordinates (a link: no request is made)."""
        if self.lat is None or self.lon is None:
            return None
        return (f"https://www.openstreetmap.org/?mlat={self.lat}&mlon={self.lon}"
                f"#map=18/{self.lat}/{self.lon}")


@dataclass(frozen=True)
class Attachment:
    """A document of an event, by reference (ATTACH), and what to call it."""

    url: str
    title: str | None = None

    @property
    def name(self) -> str:
        """Its title, else the last part of its URL's path ("agenda.pdf"), else the URL."""
        if self.title:
            return self.title
        path = unquote(urlsplit(self.url).path).rstrip("/")
        return path.rsplit("/", 1)[-1] or self.url


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a series, changed: moved, retitled, relocated or cancelled.
    ``recurrence_id`` is its start as the rule gives it (RECURRENCE-ID), ``start``/``end``
    its times now (the same types and zone as the series'); the texts replace the series'.
    A cancelled occurrence is dropped from the series (EXDATE)."""

    recurrence_id: date | datetime
    start: date | datetime
    end: date | datetime
    title: str | None = None
    location: str | None = None
    description: str | None = None
    status: str | None = None  # tentative | confirmed | cancelled (None: the series')

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    def retold(self) -> list[str]:
        """What it says instead of the series besides its times and description, in words:
        its title in quotes, "at" its place, its status (the page and DESCRIPTION both list
        these)."""
        said = [f"“{self.title}”"] if self.title else []
        if self.location is not None:
            said.append(f"at {self.location}")
        if self.status:
            said.append(self.status)
        return said


@dataclass(frozen=True)
class Event:
    """One event. Times are resolved: ``start``/``end`` are aware datetimes in ``timezone``
    for timed events, or dates for all-day events, where ``end`` is *exclusive* (the day after
    the last day, as RFC 5545 DTEND wants it)."""

    id: str
    title: str
    start: date | datetime
    end: date | datetime
    timezone: str  # IANA key, or "UTC"
    #: Where the event starts in events.yaml, for messages. Not part of its value (compare=False):
    #: an event that only moved in the file is the same event, and its rendered parts are reused.
    line: int = field(default=0, compare=False, metadata=NOT_CONTENT)
    location: str = ""  # the venue's text when there is one
    venue: Venue | None = None
    url: str | None = None
    registration_url: str | None = None
    image: str | None = None  # an https URL
    attachments: tuple[Attachment, ...] = ()
    description: str = ""
    agenda: tuple[str, ...] = ()
    organisers: tuple[str, ...] = ()  # slugs; the first is the main organiser
    topics: tuple[str, ...] = ()  # slugs
    contacts: tuple[str, ...] = ()
    status: str = "confirmed"  # confirmed | tentative | cancelled
    recurrence: str | None = None  # a normalised RRULE value, e.g. ``FREQ=WEEKLY;COUNT=4``
    exclude: tuple[date | datetime, ...] = ()  # EXDATEs, same type and zone as ``start``
    #: Changed occurrences, in the order of the file (``load`` checks each is one).
    occurrences: tuple[Occurrence, ...] = ()
    online: Online | None = None
    #: Its own reminders (None: the calendar's; () none). Not content: when to be reminded is
    #: the reader's concern, not what the event says, so editing them bumps no SEQUENCE.
    reminders: tuple[timedelta, ...] | None = field(default=None, metadata=NOT_CONTENT)
    #: UTC; when the event was last changed, if the file says (DTSTAMP without a state file).
    updated: datetime | None = field(default=None, metadata=NOT_CONTENT)
    #: The last day any occurrence touches (inclusive); None when the recurrence never ends.
    #: Tells the VTIMEZONE how many years to cover. Derived by ``load`` from the fields above.
    span_end: date | None = None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def last_day(self) -> date:
        """The last day the event runs on, inclusive, as people write it."""
        if self.all_day:
            return self.end - timedelta(days=1)  # type: ignore[operator]
        return (self.end - timedelta(microseconds=1)).date()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return self._hash

    def moved(self, occurrence: Occurrence) -> bool:
        """Whether a changed occurrence no longer starts, or lasts, as the rule has it (a
        length is elapsed time, so a night across a clock change is not "moved")."""
        if self.all_day:
            return (occurrence.start, occurrence.end) != (
                occurrence.recurrence_id, occurrence.recurrence_id + (self.end - self.start))
        elapsed = self.end.astimezone(timezone.utc) - self.start.astimezone(timezone.utc)  # type: ignore[union-attr]
        start = occurrence.recurrence_id
        end = (start.astimezone(timezone.utc) + elapsed).astimezone(start.tzinfo)  # type: ignore[union-attr]
        return (occurrence.start, occurrence.end) != (start, end)

    @functools.cached_property
    def _hash(self) -> int:
        """Computed once: every reload hashes every event's inputs (see :class:`EventInputs`)."""
        return hash(tuple(getattr(self, f.name) for f in fields(self) if f.compare))

    @functools.cached_property
    def order(self) -> tuple[datetime, str]:
        """Where the event goes in feeds and listings: its start instant in UTC (an all-day
        event at midnight UTC), then its id."""
        start = self.start
        if isinstance(start, datetime):
            return start.astimezone(timezone.utc), self.id
        return datetime.combine(start, datetime.min.time(), timezone.utc), self.id


@dataclass(frozen=True)
class EventInputs:
    """Everything one event's own outputs may show: the event, the calendar it is published
    in (name, base URL: UIDs and links), and its organisers and topics in its order.

    The per-event cache is keyed by it (with the event's :class:`Tracked` values for the
    calendar outputs), and the change hash is computed from it (without the calendar: moving
    the site is not an edit of its events). The hash is computed once: a reload looks up
    every event's inputs.
    """

    event: Event
    calendar: CalendarInfo
    organisers: tuple[Organiser, ...]
    topics: tuple[Topic, ...]
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.event, self.calendar, self.organisers,
                                                self.topics)))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True)
class EventsData:
    """Everything in one events.yaml, validated."""

    source: str  # the file it came from, for messages
    calendar: CalendarInfo
    organisers: dict[str, Organiser] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    events: tuple[Event, ...] = ()

    def inputs(self, event: Event) -> EventInputs:
        """``event`` with what it shows of this file (see :class:`EventInputs`); made once
        per event (changes and site both ask)."""
        made = self._inputs.get(event.id)
        if made is None or made.event is not event:
            calendar, organisers, topics = self._shown
            made = self._inputs[event.id] = EventInputs(
                event, calendar,
                tuple(organisers[slug] for slug in dict.fromkeys(event.organisers)),
                tuple(topics[slug] for slug in dict.fromkeys(event.topics)))
        return made

    @functools.cached_property
    def _inputs(self) -> dict[str, EventInputs]:
        return {}

    @functools.cached_property
    def _shown(self) -> tuple[CalendarInfo, dict[str, Organiser], dict[str, Topic]]:
        return (shown(self.calendar), {slug: shown(o) for slug, o in self.organisers.items()},
                {slug: shown(t) for slug, t in self.topics.items()})


def shown(value: T) -> T:
    """``value`` with its ``NOT_SHOWN`` fields at their defaults: what an event's outputs see."""
    hidden = {f.name: f.default for f in fields(value)  # type: ignore[arg-type]
              if f.metadata.get("shown", True) is False}
    return replace(value, **hidden) if hidden else value  # type: ignore[type-var]


def content_fields(value: Any) -> dict[str, Any]:
    """The fields of a model object that are content (not ``NOT_CONTENT``) and not at their
    default: the part of an event's inputs its change hash covers. A field added to the model
    later is left out until a file sets it, so an upgrade changes no event's hash."""
    out = {}
    for f in fields(value):
        item = getattr(value, f.name)
        if f.metadata.get("content", True) and f.metadata.get("shown", True) \
                and (f.default is dataclasses.MISSING or item != f.default):
            out[f.name] = item
    return out


@dataclass(frozen=True)
class Tracked:
    """The per-event values that change tracking (``state``) decides and ``render`` writes:
    SEQUENCE and the UTC timestamps CREATED, LAST-MODIFIED and DTSTAMP (RFC 5545 §3.8.7,
    §3.8.7.4). Passed into render as plain values so render never reads files."""

    sequence: int
    created: datetime
    last_modified: datetime
    stamp: datetime
