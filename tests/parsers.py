"""Read calendar bytes back with three independent parsers, as a calendar client would.

``icalendar`` (the library that wrote them), ``vobject`` (which builds its time zones from the
VTIMEZONE in the file, so it checks our VTIMEZONE) and Home Assistant's ``ical`` (a separate,
pydantic-based implementation). Every parser yields the same plain record, so tests compare
UTC instants and texts across all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import icalendar
import vobject
from ical.calendar_stream import IcsCalendarStream


@dataclass(frozen=True)
class Parsed:
    uid: str
    start: date | datetime  # UTC for timed events
    end: date | datetime
    summary: str
    description: str
    location: str
    status: str
    categories: tuple[str, ...]
    organizer: str
    contacts: tuple[str, ...]


def utc(value):
    if isinstance(value, datetime):
        assert value.tzinfo is not None, f"floating time {value!r}: no zone"
        return value.astimezone(timezone.utc)
    return value


def with_icalendar(data: bytes) -> list[Parsed]:
    cal = icalendar.Calendar.from_ical(data)
    out = []
    for ev in cal.walk("VEVENT"):
        cats = ev.get("CATEGORIES")
        cats = [cats] if cats is not None and not isinstance(cats, list) else (cats or [])
        contacts = ev.get("CONTACT", [])
        contacts = contacts if isinstance(contacts, list) else [contacts]
        out.append(Parsed(
            uid=str(ev["UID"]), start=utc(ev.decoded("DTSTART")), end=utc(ev.decoded("DTEND")),
            summary=str(ev["SUMMARY"]), description=str(ev.get("DESCRIPTION", "")),
            location=str(ev.get("LOCATION", "")), status=str(ev.get("STATUS", "")),
            categories=tuple(str(c) for cat in cats for c in cat.cats),
            organizer=str(ev.get("ORGANIZER", "")), contacts=tuple(str(c) for c in contacts),
        ))
    return out


def forget_vobject_zones(data: bytes) -> None:
    """vobject keeps the *first* VTIMEZONE it ever read for a TZID, process-wide, and ignores
    later ones (vobject/icalendar.py: ``if tzid and not getTzid(tzid, False): registerTzid``).
    Our VTIMEZONEs cover only the years a calendar needs, so a definition cached from another
    test would judge this file by another file's rules. A calendar client reads each file
    fresh: forget this file's TZIDs first, so vobject checks the VTIMEZONE actually sent."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    for line in data.decode("utf-8").split("\r\n"):
        if line.startswith("TZID:"):
            registry.pop(line[5:], None)


def with_vobject(data: bytes) -> list[Parsed]:
    forget_vobject_zones(data)
    cal = vobject.readOne(data.decode("utf-8"))
    out = []
    for ev in cal.contents.get("vevent", []):
        def text(name: str) -> str:
            return ev.contents[name][0].value if name in ev.contents else ""
        cats = [c for line in ev.contents.get("categories", []) for c in line.value]
        out.append(Parsed(
            uid=text("uid"), start=utc(ev.dtstart.value), end=utc(ev.dtend.value),
            summary=text("summary"), description=text("description"), location=text("location"),
            status=text("status"), categories=tuple(cats), organizer=text("organizer"),
            contacts=tuple(c.value for c in ev.contents.get("contact", [])),
        ))
    return out


def with_ical(data: bytes) -> list[Parsed]:
    cal = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    out = []
    for ev in cal.events:
        out.append(Parsed(
            uid=ev.uid, start=utc(ev.dtstart), end=utc(ev.dtend), summary=ev.summary or "",
            description=ev.description or "", location=ev.location or "",
            status=ev.status.value if ev.status else "", categories=tuple(ev.categories),
            organizer=ev.organizer.uri if ev.organizer else "", contacts=tuple(ev.contacts),
        ))
    return out


PARSERS = {"icalendar": with_icalendar, "vobject": with_vobject, "ical": with_ical}


def parse_all(data: bytes) -> dict[str, dict[str, Parsed]]:
    """{parser name: {uid: event}} for every parser."""
    return {name: {e.uid: e for e in parse(data)} for name, parse in PARSERS.items()}
