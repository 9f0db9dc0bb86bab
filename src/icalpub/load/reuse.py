"""Reload after an edit without parsing the whole file again: the valid events of the last load,
by the exact text of their ``events:`` item.

Why: composing a 10,000-event file with libyaml and validating it takes seconds, and a server
reloads after every save; an edit usually touches one event. So the file's text is cut at the
items of ``events:`` (lines ``- `` at the list's indent). An item whose text is the same as at
the last load, in the same context (calendar, organisers, topics), gives the same ``Event`` —
only its line may have moved. Only new or edited items are composed, each on its own, at its
own line (so marks are right).

This is an optimisation with a strict way out: anything it is not sure of — a layout the
cutter does not recognise (flow style, several documents, directives), a changed calendar,
organiser or topic, an alias (``*``) in an item, an item that does not compose alone, or any
problem at all — returns ``None``, and the caller does the full load, which is the one place
that reports problems (so every error message comes from one code path). The tests hold its
results equal to the full load's, lines included.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import yaml

from ..core.model import CalendarInfo, Event, EventsData, Organiser, Topic
from .yamlfile import Loader, Reader

# The patterns look for a line's start as "\n" rather than as ``^`` in multi-line mode: the
# regular expression engine then jumps from one "\n" to the next instead of trying every
# position, several times faster over a file of 10,000 events (its first line is checked
# apart).

#: The ``events:`` key at the top level (its value on the following lines), at a line's start.
EVENTS_KEY = re.compile(r"events[ \t]*:[ \t]*(?:#[^\n]*)?(?=\n|\Z)")
#: The first line of a block list item: its indent, then ``- `` (or a lone ``-``).
FIRST_ITEM = re.compile(r"^( *)-(?: |$)", re.M)
#: Several documents or directives (at a line's start): the cutter does not try. One pattern
#: rather than a search per marker: three scans of a 6 MB text took 15 ms, this one 4.
DOCUMENT_MARKERS = ("---", "...", "%")
LATER_DOCUMENT_MARKER = re.compile(r"\n(?:---|\.\.\.|%)")


def _events_keys(text: str) -> list[int]:
    """Where each top-level ``events:`` key's line ends. Lines starting with "events" are
    found by ``str.find`` and only those are matched, a fraction of a scan by the pattern."""
    ends = []
    match = EVENTS_KEY.match(text)
    if match:
        ends.append(match.end() + 1)  # past its newline
    at = text.find("\nevents")
    while at != -1:
        match = EVENTS_KEY.match(text, at + 1)
        if match:
            ends.append(match.end() + 1)
        at = text.find("\nevents", at + 1)
    return ends


@dataclass(frozen=True)
class Cut:
    """A file's text cut into the part around ``events:`` and the list's items."""

    frame: str  # everything but the items: calendar, organisers, topics, `events:` itself
    items: tuple[tuple[int, str], ...]  # (0-based line of the item's first line, its text)


def cut(text: str) -> Cut | None:
    """Cut ``text`` at the items of the top-level ``events:`` list (None: not recognised).

    Inside an item, every line is indented deeper than its ``- ``: YAML requires it of block
    scalars, plain continuation lines and nested keys. So a line at the list's indent that
    starts with ``- `` starts the next item, and a line indented less (not a comment) ends the
    list. A cut that is wrong anyway (a quoted scalar continued at that indent) leaves an item
    that does not compose alone, and the caller falls back to the full load.
    """
    if text.startswith(DOCUMENT_MARKERS) or LATER_DOCUMENT_MARKER.search(text):
        return None
    keys = _events_keys(text)
    if len(keys) != 1:
        return None
    body_start = keys[0]  # past the newline of `events:`
    first = FIRST_ITEM.search(text, body_start)
    if first is None:
        return None
    if any(line.strip() and not line.strip().startswith("#")
           for line in text[body_start:first.start()].split("\n")):
        return None  # something other than blank lines and comments before the first item
    indent = len(first.group(1))
    # The list ends at the first line, not a comment, that is indented less than its items
    # (or, for items at column 0, that does not start with "- ").
    if indent:
        end = re.compile(rf"\n {{0,{indent - 1}}}[^ #\n]").search(text, first.start() - 1)
    else:
        end = re.compile(r"\n(?:[^ #\n-]|-[^ \n])").search(text, first.start() - 1)
    stop = end.start() + 1 if end else len(text)
    starts = [m.start() + 1 for m in re.compile(rf"\n {{{indent}}}-(?=[ \n]|\Z)").finditer(
        text, first.start() - 1, stop)]
    line = text.count("\n", 0, first.start())
    items = []
    for begin, finish in zip(starts, [*starts[1:], stop]):
        chunk = text[begin:finish]
        items.append((line, chunk))
        line += chunk.count("\n")
    frame = text[:first.start()] + text[stop:]
    return Cut(frame, tuple(items))


def _context(calendar: CalendarInfo, organisers: dict[str, Organiser],
             topics: dict[str, Topic]) -> tuple:
    return (calendar, tuple(organisers.items()), tuple(topics.items()))


class _Item:
    """An item's event, where its first line sits in the item (``offset``), and the last load
    that found it (``seen``): mutated in place, see :meth:`EventsCache.load`."""

    __slots__ = ("offset", "event", "seen", "text")

    def __init__(self, offset: int, event: Event, seen: int, text: str):
        self.offset, self.event, self.seen, self.text = offset, event, seen, text


class EventsCache:
    """The valid events of the last successful load of one file, by item text.

    Held by a server between reloads (``live``). Only the last load's items are kept, so the
    cache never holds more than one file's worth of events.
    """

    def __init__(self) -> None:
        self._context: tuple | None = None
        self._items: dict[str, _Item] = {}  # item text -> its event
        self._loads = 0  # numbers the loads, for ``_Item.seen``
        self.composed = 0  # items composed by the last load (the rest were reused): for tests

    def remember(self, text: str, data: EventsData) -> None:
        """After a full load: keep each item's event, if the cut agrees with the parser."""
        self._context, self._items = None, {}
        found = cut(text)
        if found is None or len(found.items) != len(data.events):
            return
        items: dict[str, _Item] = {}
        for (line, chunk), event in zip(found.items, data.events):
            if not line < event.line <= line + max(1, chunk.count("\n")):
                return  # the cut does not match the parser's items: never reuse
            if "*" not in chunk:  # an alias may point into another item: always compose
                items[chunk] = _Item(event.line - line, event, self._loads, chunk)
        self._context = _context(data.calendar, data.organisers, data.topics)
        self._items = items

    def load(self, found: Cut, name: str, calendar: CalendarInfo,
             organisers: dict[str, Organiser], topics: dict[str, Topic],
             build_event) -> EventsData | None:  # noqa: ANN001 - schema.build_event
        """The events of the cut file from the cache and its edited items, or None (then the
        caller does the full load). ``calendar``, ``organisers``, ``topics``: from its frame,
        valid.

        The cache is updated in place: entries of unchanged items are only looked up, never
        replaced, and only items no longer in the file are dropped. A server's master shares
        its memory with the workers it forked (copy-on-write), and replacing the whole cache
        would touch, and so copy, every item's text (10,000 pages at 10,000 events)."""
        if not self._items or _context(calendar, organisers, topics) != self._context:
            return None
        # Equal, so hand out the previous load's objects: every later comparison of the
        # memo keys that hold them (``memo.event_inputs``) is then an identity check.
        assert self._context is not None
        calendar, organisers, topics = self._context[0], dict(self._context[1]), \
            dict(self._context[2])
        self._loads += 1
        load, items = self._loads, self._items
        events: list[Event] = []
        composed = 0
        for index, (line, chunk) in enumerate(found.items):
            item = items.get(chunk)
            if item is not None and item.seen != load:
                item.seen = load
                if item.event.line != line + item.offset:
                    item.event = dataclasses.replace(item.event, line=line + item.offset)
                event = item.event
            else:  # new or edited (or a second copy of an item: its id is a duplicate)
                event = _compose_item(name, index, line, chunk, calendar, organisers, topics,
                                      build_event)
                if event is None:
                    return None
                composed += 1
                if "*" not in chunk and item is None:
                    items[chunk] = _Item(event.line - line, event, load, chunk)
            events.append(event)
        if len({e.id for e in events}) != len(events):
            return None  # a duplicate id: the full load says where
        if len(items) > len(events):  # items no longer in the file
            for gone in [item.text for item in items.values() if item.seen != load]:
                del items[gone]
        self.composed = composed
        return EventsData(source=name, calendar=calendar, organisers=organisers, topics=topics,
                          events=tuple(events))


def _compose_item(name: str, index: int, line: int, chunk: str, calendar: CalendarInfo,
                  organisers: dict[str, Organiser], topics: dict[str, Topic],
                  build_event) -> Event | None:  # noqa: ANN001
    """One item composed on its own, at its own line; None unless it is one valid event."""
    try:
        node = yaml.compose("\n" * line + chunk, Loader=Loader)
    except yaml.YAMLError:
        return None
    if not isinstance(node, yaml.SequenceNode) or len(node.value) != 1:
        return None
    reader = Reader(name)
    event = build_event(reader, index, node.value[0], calendar, organisers, topics, {}, None)
    return None if reader.problems else event
