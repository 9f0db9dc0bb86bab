"""Stage 1 of the pipeline: events.yaml -> :class:`~icalpub.model.EventsData`.

All validation happens here, and all of a file's problems are raised together as one
:class:`~icalpub.errors.EventsFileError`; later stages trust the model they receive.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ..core.errors import EventsFileError
from ..core.model import EventsData, Organiser, Topic
from .reuse import EventsCache, cut
from .schema import (ORGANISER, TOP, TOPIC, build_calendar, build_event, build_named,
                     declared_ids)
from .yamlfile import Reader, compose, describe, is_null, read_text

__all__ = ["EventsCache", "load_events"]

BASE_URL_ENV = "ICALPUB_BASE_URL"
#: Rendering costs about 5 ms per event (its invite and the feeds it is in), so this bounds
#: a load or reload to a few seconds of one worker's time.
MAX_EVENTS = 100_000


def load_events(path: str | os.PathLike[str], *, base_url: str | None = None,
                cache: EventsCache | None = None) -> EventsData:
    """Load and validate an events file.

    ``base_url`` (default: the ``ICALPUB_BASE_URL`` environment variable) replaces
    ``calendar.base_url``, so one file can be published under another address.
    ``cache`` (a server's, between reloads) lets a reload compose only the edited events; the
    result is the same as without it (see ``reuse``).
    """
    path = Path(path)
    name = str(path)
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or None
    text = read_text(path, name)
    if cache is not None:
        data = _load_reusing(text, name, base_url, cache)
        if data is not None:
            return data
    data = _load_all(text, name, base_url)
    if cache is not None:
        cache.remember(text, data)
    return data


def _load_all(text: str, name: str, base_url: str | None) -> EventsData:
    """Compose and validate the whole file, reporting every problem."""
    root = compose(text, name)
    reader = Reader(name, aliases="&" in text)  # no anchor, no alias: nothing to count
    calendar, organisers, topics, events_node = _frame(reader, root, base_url)
    events = []
    if events_node is None:
        reader.error(root, "events", "missing the `events:` section (a list of events)")
    else:
        seen: dict[str, int] = {}
        nodes = reader.sequence(events_node, "events") or []
        if len(nodes) > MAX_EVENTS:
            reader.error(events_node, "events", f"{len(nodes):,} events; a file holds at most "
                         f"{MAX_EVENTS:,} (move past events to an archive file)")
            nodes = []
        ids = declared_ids(reader, nodes)
        for index, node in enumerate(nodes):
            event = build_event(reader, index, node, calendar, organisers, topics, seen, ids)
            if event is not None:
                events.append(event)
    if reader.problems or calendar is None:
        raise EventsFileError(reader.problems)
    return EventsData(source=name, calendar=calendar, organisers=organisers or {},
                      topics=topics or {}, events=tuple(events))


def _frame(reader: Reader, root: yaml.Node | None, base_url: str | None):
    """The sections around the events: calendar, organisers, topics, and the `events:` node.
    An empty or non-mapping file is reported and raised at once (nothing else can be read)."""
    if root is None:
        reader.error(None, "file", "is empty; start from the example in the README "
                     "(it needs `calendar:` and `events:`)")
        raise EventsFileError(reader.problems)
    if not isinstance(root, yaml.MappingNode):
        reader.error(root, "file", f"the top level must be a mapping with `calendar:` and "
                     f"`events:` keys, got {describe(root)}; start from the example in the README")
        raise EventsFileError(reader.problems)
    sections = reader.mapping(root, "") or {}
    for key, (key_node, _value) in sections.items():
        if key not in TOP:
            reader.error(key_node, key, f"unknown top-level key; expected one of: {', '.join(TOP)}")

    def section(key: str):
        return sections[key][1] if key in sections else None

    calendar = build_calendar(reader, section("calendar"), base_url)
    organisers = build_named(reader, section("organisers"), "organisers", ORGANISER, Organiser)
    topics = build_named(reader, section("topics"), "topics", TOPIC, Topic)
    return calendar, organisers, topics, section("events")


def _load_reusing(text: str, name: str, base_url: str | None,
                  cache: EventsCache) -> EventsData | None:
    """The file from the cache plus its edited items, or None when only a full load can tell
    (anything unusual, or any problem: the full load is the one that reports)."""
    found = cut(text)
    if found is None:
        return None
    reader = Reader(name)
    try:
        calendar, organisers, topics, events_node = _frame(reader, compose(found.frame, name),
                                                           base_url)
    except EventsFileError:
        return None
    if reader.problems or calendar is None or not is_null(events_node) \
            or len(found.items) > MAX_EVENTS:
        return None
    return cache.load(found, name, calendar, organisers or {}, topics or {}, build_event)
