"""The like-for-like anchor: the same .ics files as ``icalpub build``, written without icalpub.

Why: ``anchor.py`` writes only the "all" feed, while a build writes every feed and invite, so
its ratio compares unlike work. This is what a user would write with PyYAML and plain
``icalendar`` to publish the same calendars: ``feeds/all.ics``, ``feeds/topics/<slug>.ics``,
``feeds/organisers/<slug>.ics`` and ``events/<id>.ics``, each a ``Calendar.new`` of events made
with ``Event.new``, then ``add_missing_timezones()`` and ``to_ical()``. Each calendar builds its
own Event objects (the natural code: one function turns a list of YAML events into a file).
No state file (DTSTAMP/CREATED/LAST-MODIFIED are one fixed time, SEQUENCE 0), no validation,
no HTML description (X-ALT-DESC), no jCal, pages, gzip or manifest.

Usage: python benchmarks/anchor_full.py EVENTS.yaml OUT_DIR
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from icalendar import Calendar, Event, vCalAddress, vDuration, vRecur

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STAMP = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))


def when(value: Any, zone: ZoneInfo) -> date | datetime:
    """YAML gives a date for ``2021-01-19`` and a string for ``2021-01-19 14:00``."""
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).replace(tzinfo=zone)


def vevent(item: dict[str, Any], doc: dict[str, Any]) -> Event:
    info = doc["calendar"]
    zone = ZoneInfo(item.get("timezone", info["timezone"]))
    start = when(item["start"], zone)
    if isinstance(start, datetime):
        end = (when(item["end"], zone) if "end" in item
               else start + vDuration.from_ical(item["duration"]))
    else:  # all-day: ``end`` is the last day, inclusive; DTEND is the day after
        end = when(item.get("end", start), zone) + timedelta(days=1)
    organisers = [doc["organisers"][slug] for slug in item.get("organisers", [])]
    text = item.get("description", "").strip()
    if item.get("agenda"):
        text += "\n\nAgenda:\n" + "\n".join(f"• {line}" for line in item["agenda"])
    if organisers:
        text += "\n\nOrganised by: " + ", ".join(org["name"] for org in organisers)
    if "registration_url" in item:
        text += f"\n\nRegister: {item['registration_url']}"
    if "contact" in item:
        text += f"\n\nContact:\n{item['contact']}"
    organizer = None
    if organisers:
        main = organisers[0]
        organizer = vCalAddress(f"mailto:{main['email']}" if "email" in main
                                else main.get("url", ""))
        organizer.params["CN"] = main["name"]
    event = Event.new(
        uid=f"{item['id']}@{info['base_url'].split('://', 1)[1].rstrip('/')}",
        stamp=STAMP, created=STAMP, last_modified=STAMP, sequence=0,
        start=start, end=end, summary=item["title"], description=text,
        location=item.get("location"),
        url=item.get("url", f"{info['base_url']}/events/{item['id']}"),
        organizer=organizer, categories=[doc["topics"][t]["name"] for t in item.get("topics", [])],
        contacts=item.get("contact"), status=item.get("status", "confirmed").upper(),
        classification="PUBLIC", transparency="OPAQUE",
    )
    if "recurrence" in item:
        event.add("rrule", vRecur.from_ical(item["recurrence"]))
    if "exclude" in item:
        event.add("exdate", [datetime.combine(x, start.time(), zone) if isinstance(start, datetime)
                             else x for x in item["exclude"]])
    return event


def write(out: Path, path: str, doc: dict[str, Any], items: list[dict[str, Any]],
          name: str | None = None, description: str | None = None) -> None:
    """One calendar: a feed when it has a ``name``, else a single-event invite."""
    info = doc["calendar"]
    if name:
        url = f"{info['base_url']}/{path}"
        cal = Calendar.new(prodid="-//anchor_full//EN", calscale="GREGORIAN", method="PUBLISH",
                           name=name, description=description, uid=url, url=info["base_url"],
                           source=url, refresh_interval=vDuration.from_ical(info["refresh"]))
        cal.add("x-published-ttl", info["refresh"])
        cal.add("x-wr-timezone", info["timezone"])
    else:
        cal = Calendar.new(prodid="-//anchor_full//EN", calscale="GREGORIAN", method="PUBLISH")
    for item in items:
        cal.add_component(vevent(item, doc))
    cal.add_missing_timezones()
    target = out / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(cal.to_ical())


def build(events: Path, out: Path) -> None:
    with events.open("rb") as stream:
        doc = yaml.load(stream, Loader=Loader)
    info, items = doc["calendar"], doc["events"]
    write(out, "feeds/all.ics", doc, items, info["name"], info.get("description"))
    for slug, topic in doc.get("topics", {}).items():
        write(out, f"feeds/topics/{slug}.ics", doc,
              [item for item in items if slug in item.get("topics", [])],
              f"{info['name']}: {topic['name']}", topic.get("description"))
    for slug, org in doc.get("organisers", {}).items():
        write(out, f"feeds/organisers/{slug}.ics", doc,
              [item for item in items if slug in item.get("organisers", [])],
              f"{info['name']}: {org['name']}", info.get("description"))
    for item in items:
        write(out, f"events/{item['id']}.ics", doc, [item])


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    build(Path(sys.argv[1]), Path(sys.argv[2]))


if __name__ == "__main__":
    main()
