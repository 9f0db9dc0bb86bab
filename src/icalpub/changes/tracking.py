"""Decide SEQUENCE, CREATED, LAST-MODIFIED and DTSTAMP per event, and what to publish.

Pure functions of (previous :class:`~icalpub.state.State`, loaded data, now): no files, no
clock, so every rule is tested by passing a time. ``publish`` runs them under the state lock.

Rules (RFC 5545 §3.8.7, RFC 5546 §2.1.4 — a calendar applies an update of a UID only when its
SEQUENCE is higher, or equal with a newer DTSTAMP):

* new event: SEQUENCE 0, CREATED = LAST-MODIFIED = DTSTAMP = now;
* changed calendar-relevant content (see :func:`content_hash`): SEQUENCE + 1, LAST-MODIFIED =
  DTSTAMP = now; unchanged: every value kept, so the bytes stay identical;
* removed from the events file, or ``status: cancelled``: published as STATUS:CANCELLED (with
  SEQUENCE + 1 when that is a change) for ``calendar.keep_cancelled``, so subscribed and invited
  calendars delete it; then it is no longer published. A removed id keeps a tombstone with its
  last SEQUENCE, so an event that comes back continues above it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..core import model
from ..core.model import Event, EventInputs, EventsData, Tracked, content_fields
from ..load.recurrence import parse_rule
from ..load.values import CONTROL, MAX_TEXT, SLUG, zone_exists
from ..load.yamlfile import Invalid
from .state import MAX_SEQUENCE, MAX_YEAR, MIN_YEAR, EventRecord, ResourceRecord, State

_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Change:
    """One line of ``icalpub check``'s report."""

    kind: str  # "new" | "changed" | "cancelled" | "expired"
    event_id: str
    sequence: int  # the SEQUENCE it is published with after the change (last one if expired)
    detail: str = ""

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.kind:9} {self.event_id}: SEQUENCE {self.sequence}{extra}"


@dataclass(frozen=True)
class Outcome:
    state: State  # the state to save
    data: EventsData  # what to publish: the file's live events plus removed-but-kept ones
    tracked: dict[str, Tracked]  # per published event id
    changes: tuple[Change, ...]
    #: The next time a cancelled event's retention ends (when a server must rebuild).
    valid_until: datetime | None
    #: Each event's snapshot and hash by its inputs: the next reconcile's ``known``.
    hashes: dict[EventInputs, tuple[dict[str, Any], str]] = dataclasses.field(
        default_factory=dict, repr=False, compare=False)
    #: Ids that were in the events file at the last publish and are not now (see
    #: :func:`mass_removal`), and how many events the file had then.
    dropped: tuple[str, ...] = ()
    in_file_before: int = 0


# --- the content that counts -------------------------------------------------------------------

def snapshot(inputs: EventInputs) -> dict[str, Any]:
    """What the event says, as JSON: the content fields of the event and of the organisers
    and topics it shows (``core.model.content_fields``: defaults left out, so a field added
    in a later version changes no hash until a file uses it). The calendar is left out: moving
    the site is not an edit of its events. What the hash covers, and what a removed event is
    re-rendered from."""
    return {"event": _json(content_fields(inputs.event)),
            "organisers": [_json(content_fields(o)) for o in inputs.organisers],
            "topics": [_json(content_fields(t)) for t in inputs.topics]}


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_json(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()  # dates: 2021-01-19; aware times keep their offset
    if dataclasses.is_dataclass(value):  # a value of the model (Online, Venue …): its content
        return _json(content_fields(value))
    return value


def content_hash(fields: Mapping[str, Any]) -> str:
    """A digest of the calendar-relevant content: computed from the model's fields, never from
    rendered bytes (which contain SEQUENCE and DTSTAMP themselves)."""
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_EVENT_TYPES = {f.name: str(f.type) for f in dataclasses.fields(Event)}
#: The model's value types (``Online``, ``Venue`` …) by name: a snapshot holds each as an
#: object of its content fields, restored by the type its field declares.
_VALUE_TYPES = {name: cls for name, cls in vars(model).items()
                if isinstance(cls, type) and dataclasses.is_dataclass(cls)}
#: The fields a snapshot may hold (``content_fields``), and those it must hold.
_CONTENT = {f.name for f in dataclasses.fields(Event) if f.metadata.get("content", True)}
_REQUIRED = {f.name for f in dataclasses.fields(Event)
             if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
STATUSES = ("confirmed", "tentative", "cancelled")


class BadRecord(ValueError):
    """A record of the state file cannot be used (``publish`` names the file)."""

    def __init__(self, event_id: str, detail: str):
        self.event_id, self.detail = event_id, detail
        super().__init__(f"events.{event_id}.last: {detail}")


def _parse_when(raw: str, zone: str) -> date | datetime:
    value = date.fromisoformat(raw) if "T" not in raw else datetime.fromisoformat(raw)
    if not MIN_YEAR <= value.year <= MAX_YEAR:  # before any zone arithmetic overflows
        raise ValueError(f"{raw!r} is not between {MIN_YEAR} and {MAX_YEAR}")
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        raise ValueError(f"{raw!r} has no UTC offset")
    return value.astimezone(ZoneInfo(zone))  # with the right fold


def restore(event_id: str, last: Mapping[str, Any], data: EventsData) -> Event:
    """Rebuild a removed event from its :func:`snapshot`, as cancelled. References to
    organisers or topics that no longer exist are dropped (their feeds are gone too).

    The snapshot comes from a file people edit and merge, so it is checked as the loader
    checks events.yaml (types, zone, times, rule, text); :class:`BadRecord` says what is wrong.
    """
    try:
        event = _restored(event_id, last)
    except BadRecord:
        raise
    except (KeyError, TypeError, ValueError, OverflowError, Invalid) as exc:
        raise BadRecord(event_id, f"cannot be read ({exc})") from None
    return dataclasses.replace(
        event, status="cancelled",
        organisers=tuple(s for s in event.organisers if s in data.organisers),
        topics=tuple(s for s in event.topics if s in data.topics))


def _restored(event_id: str, last: Mapping[str, Any]) -> Event:
    fields = last.get("event") if isinstance(last, Mapping) else None
    if not isinstance(fields, dict):
        raise BadRecord(event_id, "expected an object with an `event` object")
    unknown, missing = sorted(set(fields) - _CONTENT), sorted(_REQUIRED - set(fields))
    if unknown or missing:
        raise BadRecord(event_id, ", ".join(
            [f"unknown field `{k}`" for k in unknown] + [f"missing `{k}`" for k in missing]))
    if fields["id"] != event_id or not isinstance(event_id, str) or not SLUG.match(event_id):
        raise BadRecord(event_id, f"id {fields['id']!r} is not this record's id (a slug)")
    zone = fields["timezone"]
    if not isinstance(zone, str) or not (zone == "UTC" or zone_exists(zone)):
        raise BadRecord(event_id, f"timezone {zone!r} is not an IANA time zone")

    def value(name: str, kind: str, raw: Any) -> Any:
        if kind.startswith("tuple["):
            if not isinstance(raw, list):
                raise BadRecord(event_id, f"{name}: expected a list, got {raw!r:.80}")
            return tuple(value(name, kind[6:-6], item) for item in raw)
        if raw is None and "None" in kind:
            return None
        nested = _VALUE_TYPES.get(kind.removesuffix(" | None"))
        if nested is not None:
            if not isinstance(raw, dict):
                raise BadRecord(event_id, f"{name}: expected an object, got {raw!r:.80}")
            types = {f.name: str(f.type) for f in dataclasses.fields(nested)
                     if f.metadata.get("content", True)}
            unknown = sorted(set(raw) - set(types))
            if unknown:
                raise BadRecord(event_id, f"{name}: unknown field `{unknown[0]:.80}`")
            return nested(**{key: value(f"{name}.{key}", types[key], item)
                             for key, item in raw.items()})
        if kind.removesuffix(" | None") == "float":
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) \
                    or not math.isfinite(raw):
                raise BadRecord(event_id, f"{name}: expected a number, got {raw!r:.80}")
            return float(raw)
        if "date" in kind:
            if not isinstance(raw, str):
                raise BadRecord(event_id, f"{name}: expected a date or time, got {raw!r:.80}")
            return _parse_when(raw, zone)
        if not isinstance(raw, str):
            raise BadRecord(event_id, f"{name}: expected text, got {raw!r:.80}")
        if len(raw) > MAX_TEXT or CONTROL.search(raw):
            raise BadRecord(event_id, f"{name}: text longer than {MAX_TEXT:,} characters or "
                                      "with control characters")
        return raw

    event = Event(**{name: value(name, _EVENT_TYPES[name], raw) for name, raw in fields.items()})
    if event.status not in STATUSES:
        raise BadRecord(event_id, f"status {event.status!r} is not one of {', '.join(STATUSES)}")
    kinds = {type(event.start), type(event.end)} | {type(d) for d in event.exclude}
    if len(kinds) != 1:
        raise BadRecord(event_id, "start, end and exclude mix dates and times")
    if not event.end > event.start:  # type: ignore[operator]
        raise BadRecord(event_id, "end is not after start")
    if event.recurrence is not None:
        start = event.start
        parse_rule(event.recurrence, start.replace(tzinfo=None)
                   if isinstance(start, datetime) else start, zone)
    return event


def _span(value: timedelta) -> str:
    if value % timedelta(days=1):
        return f"{value.total_seconds() / 3600:g} hours"
    return f"{value.days} day{'s' if value.days != 1 else ''}"


# --- the decisions -----------------------------------------------------------------------------

def _tracked(rec: EventRecord) -> Tracked:
    return Tracked(rec.sequence, rec.created, rec.last_modified, rec.stamp)


def _bumped(rec: EventRecord, now: datetime, **changes: Any) -> EventRecord:
    """A new revision: SEQUENCE + 1 and fresh LAST-MODIFIED/DTSTAMP, never going backwards."""
    moment = max(now, rec.last_modified + _ONE_SECOND)
    return dataclasses.replace(rec, sequence=min(rec.sequence + 1, MAX_SEQUENCE), last_modified=moment, stamp=moment,
                               gone=False, removed=False, **changes)


def reconcile(previous: State, data: EventsData, now: datetime,
              known: Mapping[EventInputs, tuple[dict[str, Any], str]] | None = None) -> Outcome:
    """Compare the loaded events with what was published and decide what to publish now.
    ``known``: the previous outcome's ``hashes`` (a server's reload hashes only edited events;
    an event's hash is a function of its inputs)."""
    now = now.replace(microsecond=0)
    known = known or {}
    hashes: dict[EventInputs, tuple[dict[str, Any], str]] = {}
    keep = data.calendar.keep_cancelled
    events: dict[str, EventRecord] = {}
    published: list[Event] = []
    changes: list[Change] = []
    expiries: list[datetime] = []

    def publish(event: Event, rec: EventRecord) -> None:
        """Publish unless its cancellation's retention is over (then tombstone it)."""
        if rec.cancelled_at is not None and now >= rec.cancelled_at + keep:
            if not rec.gone:
                changes.append(Change("expired", event.id, rec.sequence,
                                      f"cancelled on {rec.cancelled_at:%Y-%m-%d}, kept {_span(keep)}"))
            # a new record: the previous state's records are shared, never changed in place
            rec = dataclasses.replace(rec, gone=True,
                                      last=None if rec.removed else rec.last)  # a tombstone
        else:
            published.append(event)
            if rec.cancelled_at is not None:
                expiries.append(rec.cancelled_at + keep)
        events[event.id] = rec

    for event in data.events:
        inputs = data.inputs(event)
        found = known.get(inputs)
        if found is None:
            fields = snapshot(inputs)
            found = (fields, content_hash(fields))
        fields, digest = hashes[inputs] = found
        rec = previous.events.get(event.id)
        cancelled = event.status == "cancelled"
        if rec is None:
            rec = EventRecord(digest, 0, now, now, now, cancelled_at=now if cancelled else None,
                              last=fields)
            changes.append(Change("new", event.id, 0, "cancelled" if cancelled else ""))
        elif rec.hash != digest or (rec.gone and not cancelled):
            was_cancelled = rec.cancelled_at is not None
            rec = _bumped(rec, now, hash=digest, last=fields,
                          cancelled_at=(rec.cancelled_at or now) if cancelled else None)
            if cancelled and not was_cancelled:
                changes.append(Change("cancelled", event.id, rec.sequence, "status: cancelled"))
            else:
                detail = "back in the events file" if previous.events[event.id].removed else ""
                changes.append(Change("changed", event.id, rec.sequence, detail))
        elif rec.removed or rec.last != fields:
            # unchanged: keep every value (a removed event put back as it was stays as is)
            rec = dataclasses.replace(rec, removed=False, last=fields)
        # else: the very same record, so the state file's line for it is reused
        publish(event, rec)

    in_file_before = 0
    dropped: list[str] = []
    for event_id, old in previous.events.items():
        if not old.removed and not old.gone:
            in_file_before += 1
            if event_id not in events:
                dropped.append(event_id)
        if event_id in events:
            continue
        rec = dataclasses.replace(old)
        if rec.gone or rec.last is None:
            rec.gone, rec.last = True, None  # a tombstone: remembers the SEQUENCE only
            events[event_id] = rec
            continue
        event = restore(event_id, rec.last, data)  # checks the record before it is used
        if not rec.removed:  # removed since the last run: publish its cancellation
            fields = dict(rec.last, event=dict(rec.last["event"], status="cancelled"))
            digest = content_hash(fields)
            if digest != rec.hash:
                rec = _bumped(rec, now, hash=digest, last=fields)
            rec.removed = True
            rec.cancelled_at = rec.cancelled_at or now
            changes.append(Change("cancelled", event_id, rec.sequence, "removed from the events file"))
        publish(event, rec)

    tracked = {event.id: _tracked(events[event.id]) for event in published}
    return Outcome(
        state=State(events=events, resources=dict(previous.resources)),
        # the very data when it publishes exactly the file's events (what it made is reused)
        data=data if tuple(published) == data.events else
        dataclasses.replace(data, events=tuple(published)),
        tracked=tracked,
        changes=tuple(sorted(changes, key=lambda c: (c.kind, c.event_id))),
        valid_until=min(expiries, default=None),
        hashes=hashes,
        dropped=tuple(sorted(dropped)),
        in_file_before=in_file_before,
    )


#: A new version of the events file that drops more than this share of its events, and at
#: least ``MASS_REMOVAL_MINIMUM`` of them, looks like a half-saved file (an editor that wrote
#: the first half and paused): ``build`` refuses it unless told, a server waits longer.
MASS_REMOVAL_SHARE = 0.10
MASS_REMOVAL_MINIMUM = 3


@dataclass(frozen=True)
class MassRemoval:
    """Many events gone at once from the events file (see :func:`mass_removal`)."""

    dropped: tuple[str, ...]
    of: int  # events in the file at the last publish
    share: float

    def __str__(self) -> str:
        shown = ", ".join(self.dropped[:5])
        more = f" and {len(self.dropped) - 5} more" if len(self.dropped) > 5 else ""
        return (f"{len(self.dropped)} of the {self.of} published events are missing from it "
                f"(more than {self.share:.0%}), so they would go out as cancelled: {shown}{more}")


def mass_removal(outcome: Outcome, share: float = MASS_REMOVAL_SHARE,
                 minimum: int = MASS_REMOVAL_MINIMUM) -> MassRemoval | None:
    """The events this outcome drops, when they are more than ``share`` of the events the file
    had and at least ``minimum``; else None."""
    count = len(outcome.dropped)
    if count >= max(minimum, 1) and count > share * outcome.in_file_before:
        return MassRemoval(outcome.dropped, outcome.in_file_before, share)
    return None


def stamp_resources(state: State, etags: Mapping[str, str], now: datetime) -> dict[str, datetime]:
    """Per published path, when its bytes last changed (HTTP Last-Modified), updating ``state``.

    Kept while the ETag is the same, so it is as precise as the events' LAST-MODIFIED and equal
    in every process; moved to now (and always forward — Apple Calendar revalidates with
    If-Modified-Since only) when the bytes change. Paths no longer published are forgotten.
    """
    now = now.replace(microsecond=0)
    records: dict[str, ResourceRecord] = {}
    for path, etag in etags.items():
        old = state.resources.get(path)
        if old is not None and old.etag == etag:
            records[path] = old
        else:
            moment = now if old is None else max(now, old.last_modified + _ONE_SECOND)
            records[path] = ResourceRecord(etag, moment)
    state.resources = records
    return {path: rec.last_modified for path, rec in records.items()}
