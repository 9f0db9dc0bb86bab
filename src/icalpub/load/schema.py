"""What events.yaml may contain, declared as data, and the code that turns nodes into the model.

Each section lists its keys with a value parser and whether the key is required (MkDocs'
``config/defaults.py`` style). The README documents exactly these keys, and a test keeps the
two in step.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml

from ..core.colors import CSS3_COLORS, nearest
from ..core.model import Attachment, CalendarInfo, Event, Occurrence, Online, Organiser, Topic, Venue
from . import recurrence as rrules
from . import values as v
from .yamlfile import Invalid, Reader, is_null, shown

UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Field:
    parse: Callable[[yaml.Node], Any]
    required: bool = False
    many: bool = False  # a list of values; a single value is taken as a list of one
    doc: str = ""
    #: A mapping with keys of its own (``venue: {name: …, lat: …}``), declared like a
    #: section's: each key is read and reported at its own line. ``parse`` then receives the
    #: parsed keys (:data:`Values`) and makes the value, raising Invalid for rules between them.
    fields: dict[str, Field] | None = None


CALENDAR = {
    "name": Field(v.text, required=True, doc="the calendar's name, shown by calendar apps"),
    "description": Field(v.multiline_text, doc="a sentence or two about the calendar"),
    "base_url": Field(v.http_url, required=True,
                      doc="public URL of the site; makes UIDs and links (env ICALPUB_BASE_URL overrides)"),
    "timezone": Field(v.zone, doc="default IANA zone of events, e.g. Europe/Brussels"),
    "refresh": Field(v.duration, doc="how often clients should poll feeds (default PT12H)"),
    "keep_cancelled": Field(v.duration, doc="how long a cancelled or removed event stays in the "
                                            "feeds as STATUS:CANCELLED (default P30D)"),
    "uid_domain": Field(lambda node: _domain(node), doc="right-hand side of UIDs (default: the "
                                                        "host of base_url)"),
    "feeds": Field(lambda node: _feeds(node), doc="`past:` an ISO 8601 duration: events that "
                                                  "ended longer ago leave the feeds"),
    "reminders": Field(lambda node: _reminder(node), many=True,
                       doc="reminders of every event, before its start: `[PT15M, P1D]`"),
    "reminders_in_feeds": Field(lambda node: _boolean(node),
                                doc="`true`: feeds carry the reminders too (default `false`)"),
    "color": Field(lambda node: _color(node), doc="the feeds' colour, a CSS3 colour name such "
                                                  "as `steelblue` (COLOR)"),
}
ORGANISER = {
    "name": Field(v.text, required=True, doc="the organiser's name"),
    "email": Field(v.email, doc="contact address; becomes ORGANIZER:mailto:"),
    "url": Field(v.http_url, doc="web site"),
}
TOPIC = {
    "name": Field(v.text, required=True, doc="the topic's name; becomes a CATEGORIES value"),
    "description": Field(v.multiline_text, doc="what the topic covers"),
    "color": Field(lambda node: _color(node), doc="its feed's colour, a CSS3 colour name "
                                                  "(default: the calendar's)"),
}
def _online(found: Values) -> Online:
    values = {key: value for key, (value, _node) in found.items()}
    if "label" in values and "url" not in values:
        raise Invalid("`label` names the link: add `url`, or remove `label`",
                      node=found["label"][1])
    if "url" not in values and "code" not in values:
        raise Invalid("give `url` (the link that joins the event) or `code` (an access code), "
                      "or remove `online`")
    return Online(**values)


ONLINE = {
    "url": Field(v.http_url, doc="the link that joins the event (CONFERENCE)"),
    "label": Field(v.text, doc="what the link is, e.g. `Zoom meeting`"),
    "code": Field(v.text, doc="an access code, passcode or meeting ID"),
}
_DEGREES = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{1,12})?")


def _degrees(node: yaml.Node, limit: int, what: str, example: str) -> float:
    raw = v.scalar(node).strip()
    if len(raw) > 20 or not _DEGREES.fullmatch(raw):
        hint = " (write the decimal point as a dot)" if re.fullmatch(r"-?[0-9]+,[0-9]+", raw[:20]) else ""
        raise Invalid(f"{shown(raw)} is not a {what} in decimal degrees{hint}; write it as "
                      f"{example}")
    value = float(raw)
    if not -limit <= value <= limit:
        raise Invalid(f"{raw} is out of range; a {what} goes from -{limit} to {limit}")
    return value + 0.0  # -0.0 is 0.0


def _latitude(node: yaml.Node) -> float:
    return _degrees(node, 90, "latitude", "50.8467 (north is positive)")


def _longitude(node: yaml.Node) -> float:
    return _degrees(node, 180, "longitude", "4.3525 (east is positive)")


def _venue(found: Values) -> Venue:
    values = {key: value for key, (value, _node) in found.items()}
    for key, other in (("lat", "lon"), ("lon", "lat")):
        if key in values and other not in values:
            raise Invalid(f"`{key}` needs `{other}`: give both coordinates, or neither",
                          node=found[key][1])
    return Venue(**values)


VENUE = {
    "name": Field(v.text, required=True, doc="the place's name, e.g. `Town hall`"),
    "address": Field(v.text, doc="its address on one line"),
    "lat": Field(_latitude, doc="latitude in decimal degrees, e.g. `50.8467` (with `lon`)"),
    "lon": Field(_longitude, doc="longitude in decimal degrees, e.g. `4.3525` (with `lat`)"),
}
def _attachment(found: Values) -> Attachment:
    return Attachment(**{key: value for key, (value, _node) in found.items()})


ATTACHMENT = {
    "url": Field(v.http_url, required=True, doc="where the document is"),
    "title": Field(v.text, doc="what it is (default: its file name)"),
}
def _occurrence(found: Values) -> Values:
    """An item of ``occurrences``, its keys parsed: resolved against the series (its rule,
    zone and length) by ``_resolve_occurrences``."""
    return found


OCCURRENCE = {
    "date": Field(v.when, required=True, doc="which occurrence: its date, or its local start "
                                             "time `2021-03-16 10:00`"),
    "start": Field(v.when, doc="its new start (default: unchanged)"),
    "end": Field(v.when, doc="its new end, or last day (default: the series' length)"),
    "duration": Field(v.duration, doc="instead of end"),
    "title": Field(v.text, doc="its own title"),
    "location": Field(v.text, doc="its own location"),
    "description": Field(v.markdown_text, doc="its own description"),
    "status": Field(v.choice("confirmed", "tentative", "cancelled"),
                    doc="`cancelled` drops it (EXDATE); `tentative`, `confirmed`"),
}
EVENT = {
    "id": Field(v.slug, required=True, doc="stable slug; makes the UID — never change it"),
    "title": Field(v.text, required=True, doc="SUMMARY"),
    "start": Field(v.when, required=True,
                   doc="local wall time `2021-01-19 14:00`, or a date for an all-day event"),
    "end": Field(v.when, doc="local end time, or the last day (inclusive) of an all-day event"),
    "duration": Field(v.duration, doc="instead of end: `PT2H` or `1h30m`"),
    "timezone": Field(v.zone, doc="IANA zone of start/end (default: calendar.timezone)"),
    "location": Field(v.text, doc="where it happens, e.g. `Online (Zoom)`"),
    "venue": Field(_venue, fields=VENUE, doc="instead of location: `name`, `address`, `lat`, "
                                             "`lon`; LOCATION, GEO and a map link"),
    "url": Field(v.http_url, doc="the event's page (default: its page on this site)"),
    "registration_url": Field(v.http_url, doc="where to register"),
    "online": Field(_online, fields=ONLINE, doc="how to join online: `url`, `label`, `code`"),
    "image": Field(lambda node: _https_url(node), doc="an https URL of an image of the event "
                                                      "(IMAGE, og:image)"),
    "attachments": Field(_attachment, many=True, fields=ATTACHMENT,
                         doc="documents: a list of `url` and `title` (ATTACH)"),
    "description": Field(v.markdown_text, doc="multi-line text"),
    "agenda": Field(v.text, many=True, doc="list of programme lines"),
    "organisers": Field(v.slug, many=True, doc="organiser slugs, main organiser first"),
    "topics": Field(v.slug, many=True, doc="topic slugs"),
    "contact": Field(v.text, many=True, doc="contact line, or a list of them"),
    "status": Field(v.choice("confirmed", "tentative", "cancelled"),
                    doc="confirmed (default), tentative or cancelled"),
    "reminders": Field(lambda node: _reminder(node), many=True,
                       doc="reminders before the start, e.g. `[PT15M, P1D]`, instead of the "
                           "calendar's; `[]` for none"),
    "recurrence": Field(v.text, doc="an RRULE such as `FREQ=WEEKLY;COUNT=4`"),
    "exclude": Field(v.when, many=True, doc="occurrences to skip (dates or local times)"),
    "occurrences": Field(_occurrence, many=True, fields=OCCURRENCE,
                         doc="changed occurrences of the recurrence: `date` and what changes"),
    "updated": Field(v.instant, doc="when the event last changed (`2021-01-10 09:00`, "
                                    "or with Z / an offset); DTSTAMP and LAST-MODIFIED"),
}
TOP = ("calendar", "organisers", "topics", "events")

#: Every section's keys, for the README test.
SCHEMA: dict[str, dict[str, Field]] = {
    "calendar": CALENDAR, "organisers": ORGANISER, "topics": TOPIC, "events": EVENT,
}

Values = dict[str, tuple[Any, yaml.Node]]


def declared_ids(reader: Reader, events: list[yaml.Node]) -> dict[str, int]:
    """Every valid id in ``events:`` and the index of its first use (no errors reported)."""
    ids: dict[str, int] = {}
    for index, node in enumerate(events):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == "id" \
                        and isinstance(value, yaml.ScalarNode) and v.SLUG.match(value.value):
                    ids.setdefault(value.value, index)
    return ids


def read_fields(reader: Reader, node: yaml.Node, where: str, fields: dict[str, Field],
                items: dict[str, tuple[yaml.Node, yaml.Node]] | None = None) -> Values:
    """Parse a mapping against its declared fields; every problem goes to ``reader``."""
    if items is None:
        items = reader.mapping(node, where)
        if items is None:  # already reported; "missing key" errors would only be noise
            return {}
    found: Values = {}
    for key, (key_node, value_node) in items.items():
        path = f"{where}.{key}"
        field = fields.get(key)
        if field is None:
            close = difflib.get_close_matches(key[:100], fields, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            reader.error(key_node, path, f"unknown key; {hint}expected one of: {', '.join(fields)}")
            continue
        if is_null(value_node):
            if field.required:
                reader.error(value_node, path, "is empty; give it a value")
            continue
        if field.many:
            nodes = [value_node] if isinstance(value_node, yaml.ScalarNode) else reader.sequence(value_node, path)
            if nodes is None:
                continue
            parsed = [_read_value(reader, n, f"{path}[{i}]", field) for i, n in enumerate(nodes)]
            if all(p is not None for p in parsed):
                found[key] = (tuple(parsed), value_node)
        else:
            value = _read_value(reader, value_node, path, field)
            if value is not None:
                found[key] = (value, value_node)
    for key, field in fields.items():
        if field.required and key not in items:
            reader.error(node, where, f"missing required key `{key}` ({field.doc})")
    return found


def _read_value(reader: Reader, node: yaml.Node, path: str, field: Field) -> Any:
    """One value of ``field``: a scalar through its parser, a mapping of ``fields`` key by
    key (every problem reported), then made by its parser."""
    if field.fields is None:
        return reader.parse(node, path, field.parse)
    before = reader.reported
    found = read_fields(reader, node, path, field.fields)
    if reader.reported > before:
        return None
    try:
        return field.parse(found)
    except Invalid as exc:
        reader.error(exc.node or node, path, exc.lazy_message, kind=exc.kind)
        return None


def build_calendar(reader: Reader, node: yaml.Node | None, base_url_override: str | None) -> CalendarInfo | None:
    if node is None:
        reader.error(None, "calendar", "missing the `calendar:` section (it needs at least "
                     "`name` and `base_url`)")
        return None
    found = read_fields(reader, node, "calendar", CALENDAR)
    own_base_url = found["base_url"][0] if "base_url" in found else None
    if base_url_override:
        try:
            found["base_url"] = (v.http_url(yaml.ScalarNode("tag:yaml.org,2002:str", base_url_override)), node)
        except Invalid as exc:
            reader.error(None, "ICALPUB_BASE_URL", exc.message + " (set in the environment)")
            return None
    if "name" not in found or "base_url" not in found:
        return None
    own_host = urlsplit(own_base_url).hostname if own_base_url else None
    return CalendarInfo(
        name=found["name"][0],
        base_url=found["base_url"][0].rstrip("/"),
        description=_get(found, "description", ""),
        timezone=_get(found, "timezone", None),
        refresh=_get(found, "refresh", timedelta(hours=12)),
        keep_cancelled=_get(found, "keep_cancelled", timedelta(days=30)),
        uid_domain=_get(found, "uid_domain", own_host or ""),
        feeds_past=_get(found, "feeds", {}).get("past"),
        reminders=_get(found, "reminders", ()),
        reminders_in_feeds=_get(found, "reminders_in_feeds", False),
        color=_get(found, "color", None),
    )


_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


def _domain(node: yaml.Node) -> str:
    """A host name such as ``events.example.org``: the right-hand side of a UID."""
    text = v.text(node)
    if len(text) > 253 or not _DOMAIN.fullmatch(text):
        raise Invalid(f"{text!r} is not a domain name; write a lower-case host name such as "
                      "'events.example.org'")
    return text


def _feeds(node: yaml.Node) -> dict[str, timedelta]:
    """``feeds:`` in the calendar section: ``past: P3M``."""
    if not isinstance(node, yaml.MappingNode):
        raise Invalid("must be a mapping such as `past: P90D`")
    found: dict[str, timedelta] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key != "past":
            raise Invalid(f"unknown key {key!r}; expected: past")
        try:
            found["past"] = v.duration(value_node)
        except Invalid as exc:
            raise Invalid(f"past: {exc.message.split(';')[0]}; write days or weeks of at most "
                          "a year, such as P90D or P26W") from None
    return found


_ZERO = re.compile(r"P(?=.)(?:0+[WD])*(?:T(?:0+[HMS])+)?|(?:0+\s*(?:d|h|min|m|s)\s*)+",
                   re.IGNORECASE)


def _reminder(node: yaml.Node) -> timedelta:
    """How long before the start a reminder goes off: a duration such as ``PT15M`` or ``1d``
    (at most a year), or zero (``PT0M``: at the start)."""
    raw = v.scalar(node).strip()
    if len(raw) <= v.MAX_DURATION_TEXT and _ZERO.fullmatch(raw) and raw.upper() != "PT":
        return timedelta(0)
    try:
        return v.duration(node)
    except Invalid as exc:
        if "longer than a year" in exc.message:
            raise Invalid(f"{raw!r} is longer than a year; a reminder goes off at most a year "
                          "before the start") from None
        raise


def _color(node: yaml.Node) -> str:
    """A CSS3 colour name (RFC 7986 COLOR allows names only), in any case; a hex value is
    answered with the nearest name."""
    raw = v.scalar(node).strip()
    name = raw.lower()
    if name in CSS3_COLORS:
        return name
    if re.fullmatch(r"#?[0-9a-f]{6}", name):
        hex_value = name if name.startswith("#") else f"#{name}"
        raise Invalid(f"{raw!r} is a hex value; calendars take a CSS3 colour name (RFC 7986): "
                      f"the nearest is {nearest(hex_value)!r}")
    if name == "rebeccapurple":  # the one name CSS4 added
        raise Invalid(f"{raw!r} is a CSS4 name; calendars take CSS3's (RFC 7986): the nearest "
                      f"is {nearest('#663399')!r}")
    close = difflib.get_close_matches(name[:40], CSS3_COLORS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise Invalid(f"{shown(raw)} is not a CSS3 colour name; {hint}write a name such as "
                  "'steelblue' or 'darkorange' (the CSS3 list; RFC 7986)")


def _https_url(node: yaml.Node) -> str:
    value = v.http_url(node)
    if not value.lower().startswith("https://"):
        raise Invalid(f"{shown(value)} is not https (a page served over https does not show "
                      f"an http image); write {shown('https://' + value.split('://', 1)[1])}")
    return value


def _boolean(node: yaml.Node) -> bool:
    raw = v.scalar(node).strip()
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise Invalid(f"expected true or false but received: {shown(raw)}")


def build_named(reader: Reader, node: yaml.Node | None, section: str, fields: dict[str, Field],
                make: Callable[..., Any]) -> dict[str, Any] | None:
    """``organisers:`` / ``topics:``: a mapping of slug -> fields. None if the section is not a
    mapping at all, so that events are not flooded with "unknown organiser" errors."""
    if node is None or is_null(node):
        return {}
    items = reader.mapping(node, section)
    if items is None:
        return None
    result: dict[str, Any] = {}
    for key, (key_node, value_node) in items.items():
        where = f"{section}.{key}"
        found = read_fields(reader, value_node, where, fields)
        if reader.parse(key_node, where, v.slug) is not None and "name" in found:
            result[key] = make(slug=key, **{k: val for k, (val, _n) in found.items()})
        else:
            # Declared but invalid (already reported): references to it are not "unknown",
            # which would send the editor looking for a missing definition. A file with a
            # problem never becomes EventsData, so the None is never seen downstream.
            result[key] = None
    return result


def build_event(reader: Reader, index: int, node: yaml.Node, calendar: CalendarInfo | None,
                organisers: dict[str, Organiser] | None, topics: dict[str, Topic] | None,
                seen_ids: dict[str, int], declared_ids: dict[str, int] | None = None) -> Event | None:
    """One item of ``events:``, with every cross-field rule checked. ``declared_ids``: every
    valid id in the file and its index, to explain ids that differ only in case."""
    items = reader.mapping(node, f"events[{index}]")
    if items is None:
        return None
    where = f"events[{index}]"
    items = dict(items)
    id_entry = items.pop("id", None)
    event_id = None
    if id_entry is None or is_null(id_entry[1]):
        reader.error(node, where, f"missing required key `id` ({EVENT['id'].doc})")
    else:
        event_id = reader.parse(id_entry[1], f"{where}.id",
                                _event_id(declared_ids if declared_ids is not None else seen_ids))
        if event_id is not None:
            if event_id in seen_ids:
                reader.error(id_entry[1], event_id, f"duplicate id (events[{seen_ids[event_id]}] "
                             "already uses it); ids must be unique: rename one")
            else:
                seen_ids[event_id] = index
            where = event_id
    fields = {k: f for k, f in EVENT.items() if k != "id"}
    before = reader.reported
    found = read_fields(reader, node, where, fields, items)
    if "venue" in found and "location" in found:
        reader.error(found["location"][1], f"{where}.location", "give either `location` or "
                     "`venue`: the venue is the location (LOCATION is its name and address)")
    _check_references(reader, found, where, "organisers", organisers)
    _check_references(reader, found, where, "topics", topics)

    zone = _get(found, "timezone", None) or (calendar.timezone if calendar else None)
    zone_given = "timezone" in items or any(p.where == "calendar.timezone" for p in reader.problems)
    if "start" in found and zone is None and calendar is not None and not zone_given:
        reader.error(found["start"][1], f"{where}.start", "no time zone: add `timezone:` to the "
                     "event or a default `timezone:` to the calendar section")
    if event_id is None or "start" not in found or "title" not in found or zone is None \
            or reader.reported > before:
        return None
    try:
        times = _resolve_times(found, zone, where)
    except _Located as exc:
        for located in (exc, *exc.more):
            reader.error(located.node, located.where, located.message)
        return None
    start, end, rule_text, exclude, span_end, occurrences = times
    updated = found.get("updated")
    return Event(
        id=event_id, title=found["title"][0], start=start, end=end, timezone=zone,
        line=node.start_mark.line + 1,
        location=found["venue"][0].text if "venue" in found else _get(found, "location", ""),
        venue=_get(found, "venue", None),
        url=_get(found, "url", None),
        registration_url=_get(found, "registration_url", None),
        online=_get(found, "online", None),
        image=_get(found, "image", None),
        attachments=_get(found, "attachments", ()),
        description=_get(found, "description", ""),
        agenda=_get(found, "agenda", ()),
        organisers=_get(found, "organisers", ()),
        topics=_get(found, "topics", ()),
        contacts=_get(found, "contact", ()),
        status=_get(found, "status", "confirmed"),
        reminders=_get(found, "reminders", None),
        recurrence=rule_text, exclude=exclude, span_end=span_end, occurrences=occurrences,
        updated=_as_utc(updated[0], zone) if updated else None,
    )


def _event_id(ids: dict[str, int]) -> Callable[[yaml.Node], str]:
    """The id parser, with a better message for the classic mistake of capitals: ``Webinar``
    is not a slug, and if ``webinar`` is taken the two would be one URL on a case-insensitive
    disk or CDN, so say that too."""
    def parse(node: yaml.Node) -> str:
        try:
            return v.slug(node)
        except Invalid:
            raw = node.value if isinstance(node, yaml.ScalarNode) else ""
            lower = raw.lower()
            if raw == lower or not v.SLUG.match(lower) or len(lower) > v.MAX_SLUG:
                raise
            if lower in ids:
                raise Invalid(f"{raw!r} differs only in case from the id of "
                              f"events[{ids[lower]}] ({lower!r}); ids are lower-case and "
                              "unique (they make URLs and UIDs): choose another id") from None
            raise Invalid(f"{raw!r} has capitals; ids are lower-case (they make URLs and UIDs): "
                          f"write {lower!r}") from None
    return parse


class _Located(Exception):
    def __init__(self, node: yaml.Node, where: str, message: str,
                 more: tuple["_Located", ...] = ()):
        super().__init__(message)
        self.node, self.where, self.message = node, where, message
        self.more = more  # further problems of the same kind, reported together


def _resolve_times(found: Values, zone: str, where: str):
    """start/end/duration/recurrence/exclude -> aware times in ``zone`` (or dates)."""
    start_raw, start_node = found["start"]
    all_day = not isinstance(start_raw, datetime)
    end_raw, end_node = found.get("end", (None, None))
    duration, duration_node = found.get("duration", (None, None))
    if end_raw is not None and duration is not None:
        raise _Located(duration_node, f"{where}.duration", "give either `end` or `duration`, not both")
    if end_raw is not None and isinstance(end_raw, datetime) == all_day:
        kind = "a date" if all_day else "a date and time"
        raise _Located(end_node, f"{where}.end", f"must be {kind} like `start`; write both as "
                       "dates (all-day) or both with times")

    if all_day:
        start: date | datetime = start_raw
        if duration is not None:
            if duration % timedelta(days=1):
                raise _Located(duration_node, f"{where}.duration", "an all-day event lasts whole "
                               "days: write P1D, P2D …, or give `start` a time")
            end: date | datetime = start_raw + duration
        elif end_raw is not None:
            if end_raw < start_raw:
                raise _Located(end_node, f"{where}.end", f"{end_raw} is before the start "
                               f"({start_raw}); `end` is the last day, inclusive")
            end = end_raw + timedelta(days=1)  # RFC 5545 DTEND is exclusive
        else:
            end = start_raw + timedelta(days=1)
    else:
        start = _resolve_local(start_raw, zone, start_node, f"{where}.start")
        if duration is not None:
            end = (start.astimezone(UTC) + duration).astimezone(start.tzinfo)
        elif end_raw is not None:
            end = _resolve_local(end_raw, zone, end_node, f"{where}.end")
            if end <= start:
                raise _Located(end_node, f"{where}.end", f"{end_raw:%Y-%m-%d %H:%M} is not after "
                               f"the start ({start_raw:%Y-%m-%d %H:%M}); fix `end` or use `duration`")
        else:
            raise _Located(start_node, where, "missing `end` or `duration`; add one, e.g. "
                           "`duration: PT1H`")
        if end - start > v.MAX_DURATION:
            raise _Located(end_node or duration_node, f"{where}.{'end' if end_node else 'duration'}",
                           "the event lasts more than a "
                           "year; check the dates (use `recurrence` for a series)")

    last_day = end - timedelta(days=1) if all_day else (end - timedelta(microseconds=1)).date()
    start_day = start if all_day else start.date()
    rule_text, exclude, span_end, occurrences = None, (), last_day, ()
    if "recurrence" in found:
        raw_rule, rule_node = found["recurrence"]
        try:
            rule_text, rule = rrules.parse_rule(raw_rule, start_raw, zone)
            last = rrules.last_occurrence(rule)
        except Invalid as exc:
            raise _Located(rule_node, f"{where}.recurrence", exc.message) from None
        span_end = None if last is None else last.date() + (last_day - start_day)
        exclude = _resolve_exclude(found.get("exclude"), rule, start_raw, zone, where)
        occurrences = _resolve_occurrences(found.get("occurrences"), rule, start, end, start_raw,
                                           zone, where, exclude)
        if span_end is not None:  # a moved occurrence may end after the last one
            span_end = max([span_end, *(_last_day(o.end) for o in occurrences
                                        if not o.cancelled)])
        if not all_day:  # each occurrence, like `start`, must be a wall time the zone has once
            try:  # (a changed occurrence has its own times, checked as `start` is)
                rrules.check_wall_times(
                    rule, zone, end.replace(tzinfo=None) - start.replace(tzinfo=None),
                    frozenset(x.replace(tzinfo=None) for x in (
                        *exclude, *(o.recurrence_id for o in occurrences))))
            except Invalid as exc:
                raise _Located(rule_node, f"{where}.recurrence", exc.message) from None
    else:
        for key, verb in (("exclude", "skips"), ("occurrences", "changes")):
            if key in found:
                raise _Located(found[key][1], f"{where}.{key}", f"`{key}` {verb} occurrences "
                               "of a `recurrence`, and this event has none; remove it or add a "
                               "recurrence")
    return start, end, rule_text, exclude, span_end, occurrences


def _last_day(end: date | datetime) -> date:
    """The last day an end touches: an all-day end is exclusive, a time's instant is not."""
    if isinstance(end, datetime):
        return (end - timedelta(microseconds=1)).date()
    return end - timedelta(days=1)


def _resolve_occurrences(entry, rule, start, end, start_raw, zone, where, exclude):
    """``occurrences:`` -> :class:`Occurrence` values. Each ``date`` must be an occurrence of
    the rule, not excluded and not changed twice; new times are read as an event's are
    (``_resolve_times``), defaulting to the original start and the series' length."""
    if entry is None:
        return ()
    items, node = entry
    nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
    all_day = not isinstance(start_raw, datetime)
    length = end - start if all_day else end.astimezone(UTC) - start.astimezone(UTC)
    excluded = set(exclude)
    seen: dict[date | datetime, int] = {}
    result, problems = [], []
    for i, (item, item_node) in enumerate(zip(items, nodes)):
        path = f"{where}.occurrences[{i}]"
        try:
            result.append(_resolve_occurrence(item, item_node, path, rule, start_raw, zone,
                                              length, excluded, seen, i))
        except _Located as exc:
            problems += [exc, *exc.more]
    if problems:
        raise _Located(problems[0].node, problems[0].where, problems[0].message,
                       more=tuple(problems[1:]))
    return tuple(result)


CHANGES = ("start", "end", "duration", "title", "location", "description")


def _resolve_occurrence(item, item_node, path, rule, start_raw, zone, length, excluded, seen,
                        index) -> Occurrence:
    all_day = not isinstance(start_raw, datetime)
    original, date_node = item["date"]
    if all_day and isinstance(original, datetime):
        raise _Located(date_node, f"{path}.date", "the event is all-day: give the occurrence's "
                       "date, without a time")
    if not all_day and not isinstance(original, datetime):
        original = datetime.combine(original, start_raw.time())
    try:
        rrules.check_excluded(rule, original if not all_day else
                              datetime.combine(original, time()))
    except Invalid as exc:
        raise _Located(date_node, f"{path}.date", exc.message) from None
    recurrence_id = original if all_day else _resolve_local(original, zone, date_node,
                                                            f"{path}.date")
    shown_id = f"{original:%Y-%m-%d}" if all_day else f"{original:%Y-%m-%d %H:%M}"
    if recurrence_id in excluded:
        raise _Located(date_node, f"{path}.date", f"{shown_id} is excluded (`exclude`); "
                       "remove it there, or remove this change")
    if recurrence_id in seen:
        raise _Located(date_node, f"{path}.date", f"occurrences[{seen[recurrence_id]}] already "
                       f"changes the occurrence of {shown_id}; give each occurrence once")
    seen[recurrence_id] = index
    status = item.get("status", (None, None))[0]
    changed = [key for key in CHANGES if key in item]
    if status == "cancelled":
        if changed:
            raise _Located(item[changed[0]][1], f"{path}.{changed[0]}", "a cancelled occurrence "
                           f"is dropped: remove {', '.join(f'`{k}`' for k in changed)}, or the "
                           "status")
        end = recurrence_id + length if all_day else \
            (recurrence_id.astimezone(UTC) + length).astimezone(recurrence_id.tzinfo)
        return Occurrence(recurrence_id, recurrence_id, end, status="cancelled")
    if not changed and status is None:
        raise _Located(item_node, path, "changes nothing: give its new `start`, `end`, "
                       "`duration`, `title`, `location`, `description` or `status`")
    times = {"start": item.get("start", (original, date_node))}
    if "start" in item and isinstance(item["start"][0], datetime) == all_day:
        kind = "a date" if all_day else "a date and time"
        raise _Located(item["start"][1], f"{path}.start", f"must be {kind} like the series' "
                       "`start`")
    for key in ("end", "duration"):
        if key in item:
            times[key] = item[key]
    if "end" not in item and "duration" not in item:
        times["duration"] = (length, date_node)  # the series' length
    new_start, new_end, *_ = _resolve_times(times, zone, path)
    return Occurrence(recurrence_id, new_start, new_end, title=_get(item, "title", None),
                      location=_get(item, "location", None),
                      description=_get(item, "description", None), status=status)


def _resolve_exclude(entry, rule, start_raw, zone, where):
    if entry is None:
        return ()
    values, node = entry
    nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
    result = []
    problems: list[_Located] = []
    for i, (value, value_node) in enumerate(zip(values, nodes)):
        path = f"{where}.exclude[{i}]"
        if isinstance(start_raw, datetime):
            if not isinstance(value, datetime):
                value = datetime.combine(value, start_raw.time())
        elif isinstance(value, datetime):
            raise _Located(value_node, path, "the event is all-day: exclude dates, not times")
        else:
            value = datetime.combine(value, time())
        try:
            rrules.check_excluded(rule, value)
        except Invalid as exc:
            problems.append(_Located(value_node, path, exc.message))
            continue
        result.append(_resolve_local(value, zone, value_node, path)
                      if isinstance(start_raw, datetime) else value.date())
    if problems:
        raise _Located(problems[0].node, problems[0].where, problems[0].message,
                       more=tuple(problems[1:]))
    return tuple(result)


def _resolve_local(naive: datetime, zone: str, node: yaml.Node, where: str) -> datetime:
    """Attach ``zone``; a wall time that the zone skips or repeats is an error, never a guess."""
    tz = ZoneInfo(zone)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        a = f"{_offset(first)} ({first.tzname()})"
        b = f"{_offset(second)} ({second.tzname()})"
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise _Located(node, where, f"{naive:%Y-%m-%d %H:%M} does not exist in {zone}: the "
                           f"clocks jump from {a} to {b} then; pick a time outside the skipped hour")
        raise _Located(node, where, f"{naive:%Y-%m-%d %H:%M} happens twice in {zone}: at {a} and "
                       f"again at {b}; pick a time outside the repeated hour")
    return first


def _offset(moment: datetime) -> str:
    minutes = int(moment.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _as_utc(value: date | datetime, zone: str) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(UTC)


def _check_references(reader: Reader, found: Values, where: str, key: str,
                      defined: dict[str, Any] | None) -> None:
    """Each slug of an event's ``organisers`` / ``topics`` must be defined, and listed once."""
    if key not in found or defined is None:
        return
    slugs, node = found[key]
    nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
    singular = key[:-1]
    first: dict[str, int] = {}
    for index, (slug, item) in enumerate(zip(slugs, nodes)):
        if slug in first:  # it would put the event twice in a feed, CATEGORIES:A,A, "X, X"
            reader.error(item, f"{where}.{key}", f"{singular} {slug!r} is listed twice "
                         f"({key}[{first[slug]}] and {key}[{index}]); list each {singular} once")
            continue
        first[slug] = index
        if slug not in defined:
            reader.error(item, f"{where}.{key}", _unknown_reference(slug, singular, key, defined),
                         kind=f"unknown {singular} references")


def _unknown_reference(slug: str, singular: str, key: str, defined: dict[str, Any]):
    """The message, built only if it is listed (Reader.error): a close-match search over
    2,000 organisers, and their names in each of 2,000 messages, cost 19 s and 40 MB."""
    def message() -> str:
        close = difflib.get_close_matches(slug, defined, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        names = sorted(defined)
        known = ", ".join(names[:20]) or "none yet"
        if len(names) > 20:
            known += f" and {len(names) - 20:,} more"
        return (f"unknown {singular} {slug!r}; {hint}define it under `{key}:` at the top of "
                f"the file (defined: {known})")
    return message


def _get(found: Values, key: str, default: Any) -> Any:
    return found[key][0] if key in found else default

