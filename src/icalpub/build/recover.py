"""SEQUENCE never goes backwards: a build reads what its previous tree published.

The state file is the memory of what calendars have seen. If it is lost (deleted, not
committed) or replaced by an older copy (a revert, a merge), the next build would publish
events with a lower SEQUENCE than calendars already hold, and they ignore such updates. A
build has a second memory: the tree it replaces. Its ``manifest.json`` names every invite
(``events/<id>.ics``) with its ETag; where the state file does not record that ETag for the
path, the invite is read and the SEQUENCE, CREATED, LAST-MODIFIED and DTSTAMP it published
are adopted whenever they are ahead of the state file's (``publish(adopt=...)``):

* an event still in the file whose invite, rendered again with the published values, is the
  same bytes is unchanged: it keeps every value, and its files stay the same;
* an event that changed since goes out with SEQUENCE + 1 over the published one;
* an event that is no longer in the file is cancelled if the state file still has its last
  content, else it cannot be re-rendered: it is dropped from the feeds (calendars keep it) and
  only its SEQUENCE is remembered; both count for the mass-removal guard.

Only icalpub's own output is read, with a small reader (the UTC times and integers it
writes), bounded in size, and only files the manifest lists inside the tree.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..changes.state import (
    MAX_SEQUENCE,
    MAX_YEAR,
    MIN_YEAR,
    EventRecord,
    ResourceRecord,
    State,
)
from ..changes.tracking import content_hash, snapshot
from ..core.model import EventsData, Tracked
from ..core.urls import MANIFEST
from ..ical.parts import event_part, invite

#: Files larger than this are not read (an invite is a few kB; the manifest ~200 B per file).
MAX_INVITE_BYTES = 1024 * 1024
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
_INVITE = re.compile(r"events/([a-z0-9][a-z0-9-]*)\.ics\Z")
_WANTED = ("UID", "SEQUENCE", "DTSTAMP", "CREATED", "LAST-MODIFIED", "STATUS")


@dataclass(frozen=True)
class Seen:
    """What the previous tree published for one event."""

    sequence: int
    created: datetime
    last_modified: datetime
    stamp: datetime
    cancelled: bool
    invite: bytes  # the invite's bytes, to tell whether the event changed since

    @property
    def tracked(self) -> Tracked:
        return Tracked(self.sequence, self.created, self.last_modified, self.stamp)


def _unfolded(text: str) -> Iterator[str]:
    """Content lines (RFC 5545 §3.1: a line break followed by a space or tab continues)."""
    yield from re.sub(r"\r?\n[ \t]", "", text).splitlines()


def _value(line: str) -> tuple[str, str]:
    """``NAME;PARAM="a:b":value`` -> (NAME, value): the value starts at the first colon
    outside quotes."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[:index].split(";", 1)[0].upper(), line[index + 1:]
    return line.upper(), ""


def _utc(raw: str | None) -> datetime | None:
    if raw is None or not re.fullmatch(r"\d{8}T\d{6}Z", raw):
        return None
    try:
        value = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return value if MIN_YEAR <= value.year <= MAX_YEAR else None


def read_invite(body: bytes, event_id: str) -> Seen | None:
    """The values of the one VEVENT of an invite whose UID is ``<event_id>@…``; None when it
    is not such an invite (foreign or damaged: nothing is adopted from it)."""
    found: dict[str, str] = {}
    depth, events = 0, 0
    for line in _unfolded(body.decode("utf-8", "replace")):
        name, value = _value(line)
        if name == "BEGIN":
            depth += 1
            events += value.upper() == "VEVENT"
        elif name == "END":
            depth -= 1
        elif depth == 2 and name in _WANTED and events == 1:  # VCALENDAR > VEVENT
            found.setdefault(name, value)
    stamp = _utc(found.get("DTSTAMP"))
    sequence = found.get("SEQUENCE", "0")
    if (events != 1 or stamp is None or not sequence.isdigit()
            or int(sequence) > MAX_SEQUENCE
            or found.get("UID", "").rpartition("@")[0] != event_id):
        return None
    return Seen(int(sequence), _utc(found.get("CREATED")) or stamp,
                _utc(found.get("LAST-MODIFIED")) or stamp, stamp,
                found.get("STATUS", "").upper() == "CANCELLED", body)


def _manifest(out: Path) -> dict[str, Any]:
    path = out / MANIFEST
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
        files = json.loads(raw)["files"] if len(raw) <= MAX_MANIFEST_BYTES else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # no previous build, or not one this can read: the state file decides
    return files if isinstance(files, dict) else {}


def _read(out: Path, name: Any) -> bytes | None:
    if not isinstance(name, str):
        return None
    target = Path(os.path.realpath(out / name))
    if not target.is_relative_to(out):
        return None
    try:
        with open(target, "rb") as handle:
            body = handle.read(MAX_INVITE_BYTES + 1)
    except OSError:
        return None
    return body if len(body) <= MAX_INVITE_BYTES else None


class Recovery:
    """``publish(adopt=Recovery(out, data))``: the state as read, raised to what the tree at
    ``out`` published (see the module docstring). ``raised`` lists the event ids whose values
    came from the tree, for the build to report."""

    def __init__(self, out: str | os.PathLike[str], data: EventsData):
        self.out = Path(os.path.realpath(out))
        self.data = data
        self.raised: tuple[str, ...] = ()
        self._files: dict[str, Any] | None = None
        self._seen: dict[tuple[str, str], Seen | None] = {}  # (path, etag) -> values

    def published(self, state: State) -> dict[str, Seen]:
        """Event id -> what the tree published, for the invites whose ETag the state file
        does not record (the others are what it says)."""
        if self._files is None:
            self._files = _manifest(self.out)
        found = {}
        for path, entry in self._files.items():
            match = _INVITE.match(path)
            if match is None or not isinstance(entry, dict):
                continue
            etag = entry.get("etag")
            known = state.resources.get(path)
            if known is not None and known.etag == etag:
                continue
            key = (path, str(etag))
            if key not in self._seen:
                body = _read(self.out, entry.get("file"))
                self._seen[key] = read_invite(body, match[1]) if body is not None else None
            seen = self._seen[key]
            if seen is not None:
                found[match[1]] = seen
        return found

    def __call__(self, state: State) -> State:
        seen = self.published(state)
        events = dict(state.events)
        raised = []
        live = {event.id: event for event in self.data.events}
        for event_id, pub in sorted(seen.items()):
            rec = events.get(event_id)
            if rec is not None and rec.sequence >= pub.sequence:
                continue
            raised.append(event_id)
            event = live.get(event_id)
            if event is not None:
                events[event_id] = self._still_there(event, pub, rec)
            elif rec is not None and rec.last is not None:
                # the state file still has its content: cancel it above the published SEQUENCE
                events[event_id] = dataclasses.replace(
                    rec, sequence=pub.sequence, last_modified=max(rec.last_modified,
                                                                  pub.last_modified),
                    stamp=max(rec.stamp, pub.stamp), hash="" if not pub.cancelled else rec.hash,
                    removed=rec.removed and pub.cancelled, gone=False)
            else:  # nothing to render it from: remembered by its SEQUENCE only
                events[event_id] = EventRecord("", pub.sequence, pub.created, pub.last_modified,
                                               pub.stamp, removed=pub.cancelled,
                                               gone=pub.cancelled)
        self.raised = tuple(raised)
        return State(events=events, resources=self._resources(state.resources))

    def _still_there(self, event: Any, pub: Seen, rec: EventRecord | None) -> EventRecord:
        inputs = self.data.inputs(event)
        fields = snapshot(inputs)
        same = invite(inputs, event_part(inputs, pub.tracked)) == pub.invite
        cancelled_at = None
        if same and event.status == "cancelled":
            cancelled_at = (rec.cancelled_at if rec is not None and rec.cancelled_at
                            else pub.last_modified)
        # An empty hash is no event's: the next decision sees a change, SEQUENCE + 1.
        return EventRecord(content_hash(fields) if same else "", pub.sequence, pub.created,
                           pub.last_modified, pub.stamp, cancelled_at=cancelled_at, last=fields)

    def _resources(self, known: Mapping[str, ResourceRecord]) -> dict[str, ResourceRecord]:
        """Each path's ETag and Last-Modified, from the manifest where it is newer than the
        state file's: Last-Modified never goes backwards either."""
        resources = dict(known)
        for path, entry in (self._files or {}).items():
            old = resources.get(path)
            if not isinstance(entry, dict) or not isinstance(entry.get("etag"), str) \
                    or (old is not None and old.etag == entry["etag"]):
                continue  # the usual case: the state file knows these bytes
            modified = _utc(str(entry.get("last_modified", "")).replace("-", "")
                            .replace(":", ""))
            if modified is not None and (old is None or old.last_modified < modified):
                resources[path] = ResourceRecord(entry["etag"], modified)
        return resources
