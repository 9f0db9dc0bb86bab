"""A reload that reuses unchanged events (``load/reuse.py``) gives exactly the full load's
result — lines included — and composes only the items that changed."""

import shutil
from pathlib import Path

import pytest

from icalpub.core.errors import EventsFileError
from icalpub.load import load_events
from icalpub.load.reuse import EventsCache, cut

TESTS = Path(__file__).parent.parent
GOOD = [TESTS / "fixtures" / name for name in ("minimal.yaml", "rich.yaml", "injection.yaml")]
GOOD.append(TESTS.parent / "events.yaml")


def full(path: Path):
    data = load_events(path)
    return data, [e.line for e in data.events]


def cached(path: Path, cache: EventsCache):
    data = load_events(path, cache=cache)
    return data, [e.line for e in data.events]


@pytest.fixture
def copy(tmp_path):
    def make(source: Path) -> Path:
        target = tmp_path / "events.yaml"
        shutil.copy(source, target)
        return target
    return make


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("source", GOOD, ids=lambda p: p.name)
def test_an_unchanged_file_is_all_reused(source, copy):
    path = copy(source)
    cache = EventsCache()
    first = cached(path, cache)
    assert first == full(path)
    second = cached(path, cache)
    assert second == full(path)
    # items with a "*" (an alias, or Markdown emphasis) are always composed again
    assert cache.composed == sum("*" in chunk for _line, chunk in cut(path.read_text()).items)
    assert cache.composed < len(second[0].events)


def test_an_edited_event_is_the_only_one_composed(copy):
    path = copy(TESTS.parent / "events.yaml")
    cache = EventsCache()
    before, _ = cached(path, cache)
    edit(path, "title: \"How can", "title: \"Still, how can")
    after, lines = cached(path, cache)
    assert (after, lines) == full(path)
    assert cache.composed == 1
    changed = [b.id for b, a in zip(before.events, after.events) if a != b]
    assert len(changed) == 1
    assert [e.title for e in after.events if e.id == changed[0]][0].startswith("Still, how can")


def test_lines_follow_an_edit_that_adds_lines(copy):
    path = copy(TESTS / "fixtures" / "minimal.yaml")
    cache = EventsCache()
    cached(path, cache)
    text = path.read_text(encoding="utf-8")
    first_item = text.index("\n  - ", text.index("\nevents:")) + 1
    # three comment lines inside the first item shift every later event by three lines
    item_end = text.index("\n", first_item)
    path.write_text(text[:item_end + 1] + "    # a\n    # b\n    # c\n" + text[item_end + 1:],
                    encoding="utf-8")
    after, lines = cached(path, cache)
    assert (after, lines) == full(path)
    assert cache.composed == 1
    assert lines[1] == full(path)[1][1]


def test_added_removed_and_reordered_events(copy):
    path = copy(TESTS / "fixtures" / "minimal.yaml")
    cache = EventsCache()
    cached(path, cache)
    found = cut(path.read_text(encoding="utf-8"))
    assert found is not None and len(found.items) >= 3
    items = [chunk for _line, chunk in found.items]
    frame_head = path.read_text(encoding="utf-8")[: path.read_text(encoding="utf-8").index(items[0])]
    # reorder (last first), drop the second one, and add a new one
    new = items[0].replace("id: ", "id: copy-of-", 1)
    path.write_text(frame_head + items[-1] + "".join(items[2:-1]) + items[0] + new,
                    encoding="utf-8")
    after, lines = cached(path, cache)
    assert (after, lines) == full(path)
    assert cache.composed == 1


def test_a_mistake_is_reported_exactly_as_by_the_full_load(copy):
    path = copy(TESTS.parent / "events.yaml")
    cache = EventsCache()
    cached(path, cache)
    edit(path, "start: 2021-01-19 14:00", "start: 2021-02-30 14:00")
    with pytest.raises(EventsFileError) as with_cache:
        load_events(path, cache=cache)
    with pytest.raises(EventsFileError) as without:
        load_events(path)
    assert with_cache.value.problems == without.value.problems
    assert "February" in str(with_cache.value) or "2021-02-30" in str(with_cache.value)
    # fixed again: back to reusing
    edit(path, "start: 2021-02-30 14:00", "start: 2021-01-19 14:00")
    assert cached(path, cache) == full(path)


def test_a_duplicate_id_from_an_edit_is_reported(copy):
    path = copy(TESTS / "fixtures" / "minimal.yaml")
    cache = EventsCache()
    data, _ = cached(path, cache)
    first, second = data.events[0].id, data.events[1].id
    edit(path, f"id: {second}", f"id: {first}")
    with pytest.raises(EventsFileError, match="duplicate id"):
        load_events(path, cache=cache)


def test_a_renamed_organiser_renders_every_event_again(copy):
    path = copy(TESTS.parent / "events.yaml")
    cache = EventsCache()
    cached(path, cache)
    edit(path, "name: Swedwatch", "name: Swedwatch (SE)")
    assert cached(path, cache) == full(path)
    assert load_events(path).organisers["swedwatch"].name == "Swedwatch (SE)"


def test_an_alias_into_another_item_is_resolved_by_the_full_load(copy, tmp_path):
    path = copy(TESTS / "fixtures" / "minimal.yaml")
    text = path.read_text(encoding="utf-8")
    text = text.replace("location: ", "location: &where ", 1)
    path.write_text(text, encoding="utf-8")
    cache = EventsCache()
    cached(path, cache)
    # a later item points at the first one's anchor; then the anchor's value changes
    items = [chunk for _line, chunk in cut(text).items]
    last = items[-1].replace("\n    id:", "\n    location: *where\n    id:", 1) \
        if "location:" not in items[-1] else items[-1].replace("location: ", "location: *where #", 1)
    path.write_text(text.replace(items[-1], last), encoding="utf-8")
    assert cached(path, cache) == full(path)
    edit(path, "location: &where ", "location: &where Elsewhere ")
    after, lines = cached(path, cache)
    assert (after, lines) == full(path)


@pytest.mark.parametrize("text", [
    "calendar: {name: x, base_url: 'https://x.org'}\nevents: [{id: a}]\n",  # flow style
    "---\ncalendar: {}\nevents:\n  - id: a\n---\nevents: []\n",  # several documents
    "calendar: {}\n",  # no events at all
    "calendar: {}\nevents:\n  junk\n  - id: a\n",  # something before the first item
    "events:\n  - id: a\ncalendar: {}\nevents:\n  - id: b\n",  # the key twice (first line)
    "calendar: {}\nevents:\n  - id: a\n...\n",  # a document end marker
    "calendar: {}\n%YAML 1.1\nevents:\n  - id: a\n",  # a directive
])
def test_layouts_the_cutter_does_not_recognise(text):
    assert cut(text) is None


def test_cut_items_at_column_zero_with_comments_and_a_later_section():
    text = ("calendar:\n  name: x\nevents:\n# January\n- id: a\n  title: A\n\n# February\n"
            "- id: b\n  description: |\n    - not an item\n    text\ntopics:\n  t:\n    name: T\n")
    found = cut(text)
    assert found is not None
    assert [line for line, _ in found.items] == [4, 8]
    assert found.items[0][1].startswith("- id: a") and found.items[0][1].endswith("# February\n")
    assert "- not an item" in found.items[1][1]
    assert found.frame == "calendar:\n  name: x\nevents:\n# January\ntopics:\n  t:\n    name: T\n"


def test_cut_finds_the_events_key_on_the_first_line_and_with_a_comment():
    for text, first_line in [("events:\n  - id: a\ncalendar: {}\n", 1),
                             ("calendar: {}\nevents:  # the list\n  - id: a\n  - id: b\n", 2),
                             ("calendar: {}\neventsx: 1\nevents:\n- id: a\n", 3)]:
        found = cut(text)
        assert found is not None, text
        assert found.items[0][0] == first_line and found.items[0][1].startswith("  - id: a") \
            or found.items[0][1].startswith("- id: a")
