"""The issue's anchor: the least a Python program can do to publish the "all" feed.

Why: the build target is a *ratio* against this script, run as a fresh process on the same
machine in the same run, so the number does not depend on the machine. It loads the YAML with
``yaml.CSafeLoader`` (plain ``safe_load`` semantics, no line marks, no validation), builds one
VCALENDAR with plain ``icalendar`` (``Event.add`` per property, the same properties icalpub
writes), lets ``add_missing_timezones()`` make the VTIMEZONEs, and writes ``to_ical()``.
No topic or organiser feeds, no invites, no checks.

Usage: python benchmarks/anchor.py EVENTS.yaml OUT.ics
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from icalendar import Calendar, Event, vCalAddress, vRecur

UTC = ZoneInfo("UTC")
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def duration(text: str) -> timedelta:
    """Just the ISO forms the generator writes (PT1H, PT1H30M)."""
    hours, _, rest = text.removeprefix("PT").partition("H")
    return timedelta(hours=int(hours or 0), minutes=int(rest.removesuffix("M") or 0))


def when(value: Any, zone: ZoneInfo) -> date | datetime:
    """YAML gives a date for ``2021-01-19`` and a string for ``2021-01-19 14:00``."""
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).replace(tzinfo=zone)


def vevent(item: dict[str, Any], doc: dict[str, Any], host: str, default_zone: str) -> Event:
    zone = ZoneInfo(item.get("timezone", default_zone))
    start = when(item["start"], zone)
    event = Event()
    event.add("uid", f"{item['id']}@{host}")
    if isinstance(start, datetime):
        end: date | datetime = (when(item["end"], zone) if "end" in item
                                else start + duration(item["duration"]))
        event.add("dtstamp", start.astimezone(UTC))
    else:
        end = when(item.get("end", start), zone) + timedelta(days=1)  # type: ignore[operator]
        event.add("dtstamp", datetime.combine(start, datetime.min.time(), UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", item["title"])
    text = item.get("description", "")
    if item.get("agenda"):
        text += "\n\nAgenda:\n" + "\n".join(f"• {line}" for line in item["agenda"])
    event.add("description", text)
    event.add("url", f"https://{host}/events/{item['id']}")
    if "location" in item:
        event.add("location", item["location"])
    organisers = item.get("organisers") or []
    if organisers:
        org = doc["organisers"][organisers[0]]
        address = vCalAddress(f"mailto:{org['email']}" if "email" in org else org.get("url", ""))
        address.params["CN"] = org["name"]
        event.add("organizer", address)
    if item.get("topics"):
        event.add("categories", [doc["topics"][t]["name"] for t in item["topics"]])
    if "contact" in item:
        event.add("contact", item["contact"])
    event.add("status", item.get("status", "confirmed").upper())
    if "recurrence" in item:
        event.add("rrule", vRecur.from_ical(item["recurrence"]))
    if "exclude" in item:
        event.add("exdate", [when(x, zone) if not isinstance(start, datetime)
                             else datetime.combine(x, start.time(), zone) for x in item["exclude"]])
    return event


def build(path: Path) -> bytes:
    with path.open("rb") as stream:
        doc = yaml.load(stream, Loader=Loader)
    info = doc["calendar"]
    host = info["base_url"].split("://", 1)[1].rstrip("/")
    cal = Calendar()
    cal.add("prodid", "-//anchor//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", info["name"])
    for item in doc["events"]:
        cal.add_component(vevent(item, doc, host, info["timezone"]))
    cal.add_missing_timezones()
    return cal.to_ical()


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    Path(sys.argv[2]).write_bytes(build(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
