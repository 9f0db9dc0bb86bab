"""Helpers for the state / export tests: an injectable clock and ways to look into output."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import icalendar

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


class FakeClock:
    """A clock the test moves by hand (``clock.advance(days=30)``)."""

    def __init__(self, start: datetime = T0):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def copy_fixture(tmp_path: Path, name: str = "minimal.yaml", source: Path = FIXTURES) -> Path:
    target = tmp_path / "events.yaml"
    shutil.copy(source / name, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def remove_event(path: Path, event_id: str) -> None:
    """Delete one ``- id: ...`` item (up to the next item or the end) from an events file."""
    text = path.read_text(encoding="utf-8")
    new = re.sub(rf"  - id: {event_id}\n(?:    .*\n|\n)*", "", text, count=1)
    assert new != text
    path.write_text(new, encoding="utf-8")


def vevent_blocks(body: bytes) -> dict[str, bytes]:
    """UID -> the raw bytes of its VEVENT, to check that other events' bytes did not move."""
    blocks = re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", body, flags=re.S)
    result = {}
    for block in blocks:
        uid = re.search(rb"\r\nUID:([^\r]*)\r\n", block)
        assert uid, block
        result[uid.group(1).decode()] = block
    return result


def event_of(body: bytes, uid: str) -> icalendar.Event:
    matches = [e for e in icalendar.Calendar.from_ical(body).walk("VEVENT") if str(e["UID"]) == uid]
    assert len(matches) == 1, f"{uid}: {len(matches)} VEVENTs"
    return matches[0]


def utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def url_of(resource_path: str) -> str:
    """The URL path the app answers for a resource: pages are stored as ``<dir>/index.html``
    and served at ``/<dir>/``."""
    return "/" + resource_path.removesuffix("index.html")
