"""One event -> one VEVENT (RFC 5545 §3.6.1), with the properties Outlook, Google, Apple,
Thunderbird and Evolution need to show it correctly and to recognise it again next time."""

from __future__ import annotations

import mimetypes
from dataclasses import replace
from datetime import date, datetime, timedelta
from html import escape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Alarm
from icalendar import Event as VEvent
from icalendar import vCalAddress, vGeo, vRecur, vText, vUri

from ..core import urls
from ..core.model import (CalendarInfo, Event, EventInputs, Occurrence, Online, Tracked,
                          Venue)
from ..core.richtext import render_markdown
from ..feeds.kinds import ORGANISER

UTC = ZoneInfo("UTC")


def uid(event: Event, calendar: CalendarInfo) -> str:
    """``<id>@<host>``: stable for as long as the id is, which is what lets a calendar update
    an event it already has instead of adding a duplicate."""
    return f"{event.id}@{calendar.host}"


def stamp(event: Event) -> datetime:
    """DTSTAMP must not come from the clock, or every request would produce new bytes (and new
    ETags). The event's own ``updated`` is the honest value; without it, the start instant is
    a stable value derived from the data."""
    if event.updated is not None:
        return event.updated
    start = event.start if isinstance(event.start, datetime) else \
        datetime.combine(event.start, datetime.min.time(), UTC)
    return start.astimezone(UTC)


def organizer(inputs: EventInputs) -> vCalAddress:
    """RFC 5546 requires ORGANIZER under METHOD:PUBLISH and libical (Evolution) drops events
    without it. Use the main organiser's mailbox, else a URI of theirs — never an invented
    mailbox."""
    cal = inputs.calendar
    if not inputs.organisers:
        address = vCalAddress(urls.absolute(cal.base_url, ""))
        address.params["CN"] = vText(cal.name)
        return address
    org = inputs.organisers[0]
    if org.email:
        value = f"mailto:{org.email}"
    else:
        value = org.url or urls.absolute(cal.base_url, ORGANISER.feed_path(org.slug))
    address = vCalAddress(value)
    address.params["CN"] = vText(org.name)
    return address


def join_text(online: Online) -> str:
    """The line every client shows: "Join Zoom meeting: <url> (access code 600862)"."""
    if online.url is None:
        return f"Access code: {online.code}"
    label = f" {online.label}" if online.label else ""
    code = f" (access code {online.code})" if online.code else ""
    return f"Join{label}: {online.url}{code}"


def join_html(online: Online) -> str:
    if online.url is None:
        return f"<p>Access code: {escape(online.code or '')}</p>"
    label = f" {escape(online.label)}" if online.label else ""
    code = f" (access code {escape(online.code)})" if online.code else ""
    link = escape(online.url)
    return f'<p>Join{label}: <a href="{link}">{link}</a>{code}</p>'


def plain_description(inputs: EventInputs) -> str:
    """DESCRIPTION is plain text: the description, then agenda, organisers, registration and
    contact, so that a calendar showing only this field still tells the whole story."""
    event = inputs.event
    description = render_markdown(event.description).text  # Markdown -> clean text
    parts = [description] if description else []
    if event.online:
        parts.append(join_text(event.online))
    if event.venue and event.venue.map_url:
        parts.append(f"Map: {event.venue.map_url}")
    if event.occurrences:
        parts.append(changes_text(event))
    if event.agenda:
        parts.append("Agenda:\n" + "\n".join(f"• {line}" for line in event.agenda))
    if inputs.organisers:
        parts.append(f"Organised by: {', '.join(org.name for org in inputs.organisers)}")
    if event.registration_url:
        parts.append(f"Register: {event.registration_url}")
    if event.attachments:
        parts.append("Attachments:\n" + "\n".join(f"• {a.name}: {a.url}"
                                                    for a in event.attachments))
    if event.image:
        parts.append(f"Image: {event.image}")
    if event.contacts:
        parts.append("Contact:\n" + "\n".join(event.contacts))
    return "\n\n".join(parts)


def html_description(inputs: EventInputs) -> str:
    """The same story as :func:`plain_description`, as sanitised HTML for
    ``X-ALT-DESC;FMTTYPE=text/html`` (Outlook shows it instead of DESCRIPTION)."""
    event = inputs.event
    parts = [render_markdown(event.description).html] if event.description else []
    if event.online:
        parts.append(join_html(event.online))
    if event.venue and event.venue.map_url:
        link = escape(event.venue.map_url)
        parts.append(f'<p>Map: <a href="{link}">{escape(event.venue.name)}</a></p>')
    if event.occurrences:
        head, *lines = changes_text(event).split("\n")
        items = "".join(f"<li>{escape(line.removeprefix('• '))}</li>" for line in lines)
        parts.append(f"<p>{escape(head)}</p><ul>{items}</ul>")
    if event.agenda:
        items = "".join(f"<li>{escape(line)}</li>" for line in event.agenda)
        parts.append(f"<p><strong>Agenda</strong></p><ul>{items}</ul>")
    if inputs.organisers:
        names = ", ".join(escape(org.name) for org in inputs.organisers)
        parts.append(f"<p>Organised by: {names}</p>")
    if event.registration_url:
        link = escape(event.registration_url)
        parts.append(f'<p>Register: <a href="{link}">{link}</a></p>')
    if event.attachments:
        items = "".join(f'<li><a href="{escape(a.url)}">{escape(a.name)}</a></li>'
                        for a in event.attachments)
        parts.append(f"<p>Attachments:</p><ul>{items}</ul>")
    if event.image:  # a link, not an <img>: a mail or calendar app would fetch it
        link = escape(event.image)
        parts.append(f'<p>Image: <a href="{link}">{link}</a></p>')
    if event.contacts:
        parts.append("<p>Contact:<br>" + "<br>".join(escape(c) for c in event.contacts) + "</p>")
    body = "".join(p for p in parts if p)
    return f"<html><body>{body}</body></html>" if body else ""


def event_url(event: Event, calendar: CalendarInfo) -> str:
    return event.url or urls.absolute(calendar.base_url, urls.event_page_path(event.id))


def vevent(inputs: EventInputs, tracked: Tracked | None = None, *,
           alarms: bool | None = None) -> VEvent:
    """Build the VEVENT. All text goes through icalendar, which escapes and folds it.

    ``tracked`` (decided by ``changes``) supplies SEQUENCE, CREATED, LAST-MODIFIED and
    DTSTAMP; without it they are derived from the data alone. ``alarms``: whether it carries
    its reminders (invites do; feeds only when ``calendar.reminders_in_feeds``, the default)."""
    event, cal = inputs.event, inputs.calendar
    component = VEvent.new(
        uid=uid(event, cal),
        stamp=tracked.stamp if tracked else stamp(event),
        start=event.start,
        end=event.end,
        summary=event.title,
        description=plain_description(inputs) or None,
        url=event_url(event, cal),
        location=event.location or None,
        organizer=organizer(inputs),
        categories=[topic.name for topic in inputs.topics] or (),  # [] writes an empty CATEGORIES
        contacts=list(event.contacts) or None,
        status=event.status.upper(),
        sequence=tracked.sequence if tracked else 0,
        classification="PUBLIC",
        transparency="OPAQUE",
        last_modified=tracked.last_modified if tracked else event.updated,
        created=tracked.created if tracked else None,
    )
    alt = html_description(inputs)
    if alt:
        component.add("X-ALT-DESC", vText(alt), parameters={"FMTTYPE": "text/html"})
    if event.recurrence:
        component.add("RRULE", vRecur.from_ical(event.recurrence))
    exdates = sorted([*event.exclude, *(o.recurrence_id for o in event.occurrences
                                        if o.cancelled)])
    if exdates:  # a cancelled occurrence is dropped: every client removes an EXDATE
        component.add("EXDATE", exdates)
    if event.online and event.online.url:
        add_conference(component, event.online)
    if event.venue and event.venue.lat is not None:
        add_geo(component, event.venue)
    if event.image:
        add_image(component, event.image)
    for attachment in event.attachments:
        kind = media_type(attachment.url)
        component.add("ATTACH", vUri(attachment.url),
                      parameters={"FMTTYPE": kind} if kind else None)
    if alarms if alarms is not None else cal.reminders_in_feeds:
        for alarm in valarms(inputs):
            component.add_component(alarm)
    return component


#: Media types by file extension: Python's own table, never the machine's (/etc/mime.types
#: differs between hosts, and the bytes must not), plus the office and image formats that
#: table lacks.
MEDIA_TYPES = mimetypes.MimeTypes(filenames=())
for _type, _extension in (
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
        ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"),
        ("application/vnd.oasis.opendocument.text", ".odt"),
        ("application/vnd.oasis.opendocument.spreadsheet", ".ods"),
        ("application/vnd.oasis.opendocument.presentation", ".odp"),
        ("image/webp", ".webp"), ("image/avif", ".avif"), ("text/calendar", ".ics")):
    MEDIA_TYPES.add_type(_type, _extension)


def media_type(url: str) -> str | None:
    """The media type the URL's path ends in (``.pdf`` -> application/pdf), or None."""
    return MEDIA_TYPES.guess_type(urlsplit(url).path, strict=True)[0]


def add_image(component: VEvent, url: str) -> None:
    """RFC 7986 §5.10 IMAGE, by reference, shown as the event's badge; FMTTYPE when the URL
    names an image type."""
    kind = media_type(url)
    component.add("IMAGE", vUri(url), parameters={
        "VALUE": "URI", "DISPLAY": "BADGE",
        **({"FMTTYPE": kind} if kind and kind.startswith("image/") else {})})


def add_geo(component: VEvent, venue: Venue) -> None:
    """GEO (RFC 5545 §3.8.1.6) and Apple's structured location, which Apple Calendar shows as
    a map with the venue's name and address (``geo:`` URI, RFC 5870)."""
    component.add("GEO", vGeo((venue.lat, venue.lon)))
    component.add("X-APPLE-STRUCTURED-LOCATION", vUri(f"geo:{venue.lat},{venue.lon}"),
                  parameters={"VALUE": "URI", **({"X-ADDRESS": venue.address}
                                                 if venue.address else {}),
                              "X-TITLE": venue.name})


def vevents(inputs: EventInputs, tracked: Tracked | None = None, *,
            alarms: bool | None = None) -> list[VEvent]:
    """The event's VEVENT, then one per changed occurrence that is not cancelled: the same
    UID and SEQUENCE, its RECURRENCE-ID in the form of DTSTART (RFC 5545 §3.8.4.4)."""
    found = [vevent(inputs, tracked, alarms=alarms)]
    stamp_ = found[0]["DTSTAMP"].dt
    for occurrence, changed in occurrence_inputs(inputs):
        component = vevent(changed, tracked, alarms=alarms)
        if tracked is None:  # the series' DTSTAMP, not one derived from the moved start
            component.pop("DTSTAMP")
            component.add("DTSTAMP", stamp_)
        component.add("RECURRENCE-ID", occurrence.recurrence_id)
        found.append(component)
    return found


def occurrence_inputs(inputs: EventInputs) -> list[tuple[Occurrence, EventInputs]]:
    """Each changed occurrence that is published (not cancelled) as an event of its own: the
    series with the occurrence's times and texts, without its rule."""
    event = inputs.event
    found = []
    for occurrence in event.occurrences:
        if occurrence.cancelled:
            continue
        relocated = occurrence.location is not None
        changed = replace(
            event, start=occurrence.start, end=occurrence.end,
            title=occurrence.title or event.title,
            location=occurrence.location if relocated else event.location,
            venue=None if relocated else event.venue,
            description=occurrence.description if occurrence.description is not None
            else event.description,
            status="cancelled" if event.status == "cancelled" else
            (occurrence.status or event.status),
            recurrence=None, exclude=(), occurrences=())
        found.append((occurrence, replace(inputs, event=changed)))
    return found


def changes_text(event: Event) -> str:
    """"Changed occurrences:" and a line for each, for DESCRIPTION (times in the event's
    zone, as the file writes them)."""
    lines = []
    for occurrence in event.occurrences:
        said = []
        if occurrence.cancelled:
            said.append("cancelled")
        else:
            if event.moved(occurrence):
                said.append(f"moved to {_span(occurrence.start, occurrence.end)}")
            said += occurrence.retold()
            if occurrence.description is not None:
                said.append("see its description")
        lines.append(f"• {_moment(occurrence.recurrence_id)}: {'; '.join(said)}")
    return "Changed occurrences:\n" + "\n".join(lines)


def _moment(value: date | datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else f"{value:%Y-%m-%d}"


def _span(start: date | datetime, end: date | datetime) -> str:
    if not isinstance(start, datetime):
        last = end - timedelta(days=1)  # type: ignore[operator]
        return _moment(start) if last == start else f"{_moment(start)} – {_moment(last)}"
    same_day = start.date() == end.date()  # type: ignore[union-attr]
    return f"{_moment(start)}–{end:%H:%M}" if same_day else f"{_moment(start)} – {_moment(end)}"


def reminders(inputs: EventInputs) -> tuple[timedelta, ...]:
    """How long before its start the event's reminders go off: its own, else the calendar's;
    none for a cancelled event."""
    event = inputs.event
    if event.status == "cancelled":
        return ()
    found = event.reminders if event.reminders is not None else inputs.calendar.reminders
    return tuple(dict.fromkeys(found))


def valarms(inputs: EventInputs) -> list[Alarm]:
    """A display VALARM per reminder (RFC 5545 §3.6.6: ACTION, TRIGGER, DESCRIPTION)."""
    found = []
    for before in reminders(inputs):
        alarm = Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("TRIGGER", -before)
        alarm.add("DESCRIPTION", inputs.event.title)
        found.append(alarm)
    return found


def add_conference(component: VEvent, online: Online) -> None:
    """RFC 7986 CONFERENCE (Apple Calendar, Thunderbird, Evolution show a join button; its
    LABEL names the link and carries the access code) and Google's X-GOOGLE-CONFERENCE."""
    label = " ".join(filter(None, [online.label, online.code and (
        f"(access code {online.code})" if online.label else f"Access code {online.code}")]))
    component.add("CONFERENCE", vUri(online.url),
                  parameters={"VALUE": "URI", "FEATURE": "VIDEO",
                              **({"LABEL": label} if label else {})})
    component.add("X-GOOGLE-CONFERENCE", vUri(online.url))
