"""Every occurrence of every event of a calendar file, as calendar clients read it.

Each reader returns ``{uid: [(start, end), ...]}``: timed instants as UTC strings
(``2021-01-19T13:00:00Z``), all-day values as dates (``2021-07-05``), every occurrence that
starts before ``UNTIL`` and at most ``MAX_OCCURRENCES`` per event. The same shape comes back from
the JavaScript parsers (``parse.mjs``) and libical (``libical_expand.c``), so all are compared
with one :func:`reference` expansion.

:func:`reference` is ours and shares no parsing or time-zone code with the readers: it reads
the content lines itself (RFC 5545 §3.1 unfolding), expands the RRULE with ``dateutil`` over the
event's local wall times in its IANA zone (``zoneinfo``, never the file's VTIMEZONE), removes
the EXDATEs, and gives every occurrence the first one's exact duration (RFC 5545 §3.8.5.3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from dateutil import rrule as dateutil_rrule

UTC = dt.timezone.utc
#: Occurrences are compared up to here, and at most this many per event.
UNTIL = dt.datetime(2051, 1, 1, tzinfo=UTC)
MAX_OCCURRENCES = 2000

Occurrences = dict[str, list[tuple[str, str]]]


def show(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        assert value.tzinfo is not None, f"floating time {value!r}"
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _keep(pairs: Iterator[tuple[dt.date | dt.datetime, dt.date | dt.datetime]]
          ) -> list[tuple[str, str]]:
    """The occurrences a reader is compared on: those before UNTIL, at most MAX_OCCURRENCES."""
    kept = []
    for start, end in pairs:
        if (start >= UNTIL if isinstance(start, dt.datetime) else start >= UNTIL.date()):
            break
        kept.append((show(start), show(end)))
        if len(kept) == MAX_OCCURRENCES:
            break
    return kept


# --- our reference ----------------------------------------------------------------------------

@dataclass
class Line:
    name: str
    params: dict[str, str]
    value: str


@dataclass
class VEvent:
    lines: list[Line] = field(default_factory=list)

    def get(self, name: str) -> Line | None:
        found = [line for line in self.lines if line.name == name]
        return found[0] if found else None

    def all(self, name: str) -> list[Line]:
        return [line for line in self.lines if line.name == name]


def content_lines(text: str) -> list[Line]:
    """RFC 5545 §3.1: unfold, then NAME;PARAM=VALUE;...:VALUE (quoted parameter values)."""
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
    lines = []
    for raw in unfolded.split("\r\n"):
        if not raw:
            continue
        head, params, i, quoted = "", {}, 0, False
        while i < len(raw):  # the first ':' outside quotes ends the name and parameters
            char = raw[i]
            if char == '"':
                quoted = not quoted
            elif char == ":" and not quoted:
                break
            i += 1
        head, value = raw[:i], raw[i + 1:]
        name, *parts = head.split(";")
        for part in parts:
            key, _, param = part.partition("=")
            params[key.upper()] = param.strip('"')
        lines.append(Line(name.upper(), params, value))
    return lines


def vevents(text: str) -> list[VEvent]:
    """Every VEVENT with its own properties (not those of its VALARMs)."""
    events, current, depth = [], None, 0
    for line in content_lines(text):
        if line.name == "BEGIN":
            depth += 1
            if line.value == "VEVENT":
                current, event_depth = VEvent(), depth
        elif line.name == "END":
            depth -= 1
            if line.value == "VEVENT":
                events.append(current)
                current = None
        elif current is not None and depth == event_depth:
            current.lines.append(line)
    return events


def when(line: Line) -> dt.date | dt.datetime:
    """A DTSTART/DTEND/EXDATE value: a date, a UTC time, or a wall time in its TZID's zone
    (the IANA zone of that name, from zoneinfo)."""
    value = line.value
    if line.params.get("VALUE") == "DATE" or len(value) == 8:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    if value.endswith("Z"):
        return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    wall = dt.datetime.strptime(value, "%Y%m%dT%H%M%S")
    return wall.replace(tzinfo=ZoneInfo(line.params["TZID"]))


def exdates(event: VEvent) -> set[dt.date | dt.datetime]:
    found = set()
    for line in event.all("EXDATE"):
        for value in line.value.split(","):
            found.add(when(Line(line.name, line.params, value)))
    return found


def _instant(value: dt.date | dt.datetime):
    return value.astimezone(UTC) if isinstance(value, dt.datetime) else value


def _expand(event: VEvent) -> Iterator[tuple]:
    """The master's occurrences as (start, end) values, in order (a generator: a series
    may not end)."""
    start = when(event.get("DTSTART"))
    end_line = event.get("DTEND")
    end = when(end_line) if end_line else start
    if isinstance(start, dt.datetime):
        length = end.astimezone(UTC) - start.astimezone(UTC)  # exact duration
    else:
        length = end - start
    rule = event.get("RRULE")
    if rule is None:
        starts: Iterator = iter([start])
    else:
        # dateutil expands an aware DTSTART in its wall time (zoneinfo attaches the offset of
        # each occurrence) and compares a UTC UNTIL with the occurrence's instant, as RFC 5545
        # says. An all-day DTSTART is a naive midnight, and UNTIL a date.
        seed = start if isinstance(start, dt.datetime) else dt.datetime.combine(start, dt.time())
        expanded = dateutil_rrule.rrulestr(f"RRULE:{rule.value}", dtstart=seed)
        starts = (s if isinstance(start, dt.datetime) else s.date() for s in expanded)
    skip = {_instant(x) for x in exdates(event)}
    return ((s, (s.astimezone(UTC) + length) if isinstance(s, dt.datetime) else s + length)
            for s in starts if _instant(s) not in skip)


def with_overrides(pairs: Iterator[tuple], overrides: dict) -> list[tuple[str, str]]:
    """``pairs`` (a series' occurrences, in order) with each occurrence whose start is a key of
    ``overrides`` (a RECURRENCE-ID's instant) replaced by its (start, end), kept as
    :func:`_keep` keeps them, in start order."""
    if not overrides:
        return _keep(pairs)
    found = []
    for start, end in pairs:  # up to UNTIL, and more than will be kept
        if (start >= UNTIL if isinstance(start, dt.datetime) else start >= UNTIL.date()) \
                or len(found) > MAX_OCCURRENCES + len(overrides):
            break
        found.append(overrides.get(_instant(start), (start, end)))
    return _keep(iter(sorted(found, key=lambda pair: _instant_key(pair[0]))))


def _instant_key(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC)
    return dt.datetime.combine(value, dt.time(), UTC)


def reference(text: str) -> Occurrences:
    """Every UID's occurrences: its master VEVENT's, moved as its RECURRENCE-ID VEVENTs say."""
    events = vevents(text)
    overrides: dict[str, dict] = {}
    for event in events:
        if event.get("RECURRENCE-ID") is not None:
            start = when(event.get("DTSTART"))
            end = when(event.get("DTEND")) if event.get("DTEND") else start
            overrides.setdefault(event.get("UID").value, {})[
                _instant(when(event.get("RECURRENCE-ID")))] = (start, end)
    return {event.get("UID").value: with_overrides(_expand(event),
                                                   overrides.get(event.get("UID").value, {}))
            for event in events if event.get("RECURRENCE-ID") is None}


# --- Python readers ---------------------------------------------------------------------------

def with_icalendar(text: str) -> Occurrences:
    """``icalendar`` reading our VTIMEZONEs: each TZID's tzinfo is built from the file's
    VTIMEZONE (``Timezone.to_tz(lookup_tzid=False)``: no shortcut through the zone's name),
    and the RRULE/EXDATE icalendar decoded are expanded with dateutil in that tzinfo."""
    import icalendar

    cal = icalendar.Calendar.from_ical(text)
    zones = {str(tz["TZID"]): tz.to_tz(lookup_tzid=False) for tz in cal.walk("VTIMEZONE")}

    def own(value):
        if isinstance(value, dt.datetime) and str(value.tzinfo) in zones:
            return value.replace(tzinfo=zones[str(value.tzinfo)])
        if isinstance(value, dt.datetime) and getattr(value.tzinfo, "key", None) in zones:
            return value.replace(tzinfo=zones[value.tzinfo.key])
        return value

    out: Occurrences = {}
    moved: dict[str, dict] = {}
    for ev in cal.walk("VEVENT"):
        if "RECURRENCE-ID" in ev:
            rid = own(ev.decoded("RECURRENCE-ID"))
            moved.setdefault(str(ev["UID"]), {})[_instant(rid)] = (own(ev.start), own(ev.end))
    for ev in cal.walk("VEVENT"):
        if "RECURRENCE-ID" in ev:
            continue
        start, end = own(ev.start), own(ev.end)
        length = end - start if not isinstance(start, dt.datetime) else \
            end.astimezone(UTC) - start.astimezone(UTC)
        if ev.rrules:
            rules = dateutil_rrule.rruleset()
            seed = start if isinstance(start, dt.datetime) else \
                dt.datetime.combine(start, dt.time())
            for rule in ev.rrules:
                rules.rrule(dateutil_rrule.rrulestr(
                    "RRULE:" + rule.to_ical().decode(), dtstart=seed))
            for ex in ev.exdates:
                ex = own(ex)
                rules.exdate(ex if isinstance(ex, dt.datetime) else dt.datetime.combine(ex, dt.time()))
            starts = (s if isinstance(start, dt.datetime) else s.date() for s in rules)
        else:
            starts = iter([start])
        out[str(ev["UID"])] = with_overrides(
            ((s, s.astimezone(UTC) + length if isinstance(s, dt.datetime) else s + length)
             for s in starts), moved.get(str(ev["UID"]), {}))
    return out


def with_recurring_ical_events(text: str) -> Occurrences:
    """``recurring-ical-events`` (icalendar + its own expansion; applies X-WR-TIMEZONE with
    the ``x-wr-timezone`` package, as its ``of()`` does for every calendar)."""
    import icalendar
    import recurring_ical_events

    cal = icalendar.Calendar.from_ical(text)
    found: dict[str, list] = {}
    for ev in recurring_ical_events.of(cal).between(dt.datetime(1900, 1, 1, tzinfo=UTC), UNTIL):
        found.setdefault(str(ev["UID"]), []).append((ev.start, ev.end))
    return {uid: _keep(iter(sorted(pairs, key=lambda p: _instant(p[0]))))
            for uid, pairs in found.items()}


def with_vobject(text: str) -> Occurrences:
    """``vobject``: time zones built from the file's VTIMEZONEs, its own rruleset."""
    import vobject
    from parsers import forget_vobject_zones

    data = text.encode("utf-8")
    forget_vobject_zones(data)
    cal = vobject.readOne(text)
    out: Occurrences = {}
    moved: dict[str, dict] = {}
    for ev in cal.contents.get("vevent", []):
        if "recurrence-id" in ev.contents:
            moved.setdefault(ev.uid.value, {})[_instant(ev.recurrence_id.value)] = \
                (ev.dtstart.value, ev.dtend.value)
    for ev in cal.contents.get("vevent", []):
        if "recurrence-id" in ev.contents:
            continue
        start, end = ev.dtstart.value, ev.dtend.value
        length = end - start if not isinstance(start, dt.datetime) else \
            end.astimezone(UTC) - start.astimezone(UTC)
        if "rrule" in ev.contents:
            starts = iter(ev.getrruleset(addRDate=True))
            if not isinstance(start, dt.datetime):
                starts = (s.date() if isinstance(s, dt.datetime) else s for s in starts)
        else:
            starts = iter([start])
        out[ev.uid.value] = with_overrides(
            ((s, s.astimezone(UTC) + length if isinstance(s, dt.datetime) else s + length)
             for s in starts), moved.get(ev.uid.value, {}))
    return out


def with_ha_ical(text: str) -> Occurrences:
    """Home Assistant's ``ical``: its timeline (recurrences expanded, EXDATEs applied)."""
    from ical.calendar_stream import IcsCalendarStream

    cal = IcsCalendarStream.calendar_from_ics(text)
    out: Occurrences = {ev.uid: [] for ev in cal.events}  # its timeline applies overrides
    for ev in cal.timeline_tz(UTC):  # in start order
        start = ev.dtstart
        if start >= UNTIL if isinstance(start, dt.datetime) else start >= UNTIL.date():
            break
        kept = out[ev.uid]
        if len(kept) < MAX_OCCURRENCES:
            kept.append((show(start), show(ev.dtend)))
    return out


PYTHON_READERS = {
    "icalendar": with_icalendar,
    "vobject": with_vobject,
    "ical": with_ha_ical,
    "recurring-ical-events": with_recurring_ical_events,
}


def read_slice(name: str, texts: dict[str, str]) -> dict[str, dict]:
    """``{label: {"events": occurrences}}`` for each text read by the Python reader ``name``
    (``{"error": ...}`` where it fails: a finding, not a crash of the test)."""
    read, found = PYTHON_READERS[name], {}
    for label, text in texts.items():
        try:
            found[label] = {"events": read(text)}
        except Exception as exc:  # noqa: BLE001
            found[label] = {"error": f"{type(exc).__name__}: {exc}"}
    return found
