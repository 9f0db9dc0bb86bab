"""Every validation rule of the loader: message, key and line, all reported together."""

from pathlib import Path

import pytest

from icalpub.core.errors import EventsFileError
from icalpub.load import load_events

BAD = Path(__file__).parent.parent / "fixtures" / "bad"


def problems(name: str) -> list[str]:
    with pytest.raises(EventsFileError) as info:
        load_events(BAD / name)
    return [str(p) for p in info.value.problems]


# (line, column, where, message fragment) — one row per rule, all from the same file.
MANY = [
    (5, 3, "calendar.colour", "unknown key; did you mean 'color'? expected one of: name, "
                              "description, base_url"),
    (13, 9, "events[0].id", "'Bad_Slug' is not a valid slug"),
    (17, 5, "missing-title", "missing required key `title`"),
    (22, 15, "no-such-zone.timezone", "'Europe/Brusels' is not an IANA time zone"),
    (28, 10, "end-before-start.end", "2021-01-19 13:00 is not after the start (2021-01-19 14:00)"),
    (33, 15, "both.duration", "give either `end` or `duration`, not both"),
    (38, 9, "dup", "duplicate id (events[5] already uses it)"),
    (46, 25, "refs.organisers", "unknown organiser 'swedwatch'"),
    (47, 19, "refs.topics", "unknown topic 'circular'"),
    (52, 17, "bad-rule.recurrence", "FREQ=FORTNIGHTLY is not a frequency"),
    (55, 12, "gap.start", "2021-03-28 02:30 does not exist in Europe/Brussels: the clocks jump "
                          "from +01:00 (CET) to +02:00 (CEST)"),
    (59, 12, "fold.start", "2021-10-31 02:30 happens twice in Europe/Brussels: at +02:00 (CEST) "
                           "and again at +01:00 (CET)"),
    (66, 7, "wrong-type.agenda", "expected a list"),
    (69, 12, "bad-date.start", "'2021-02-30 10:00' is not a date (February has 28 days in 2021)"),
    (75, 5, "unknown-key.locaton", "did you mean 'location'?"),
    (78, 5, "events[14].title", "duplicate key (already given on line 77)"),
]


def test_all_problems_of_a_file_are_reported_together():
    found = problems("many_errors.yaml")
    assert len(found) == len(MANY), "\n".join(found)
    for (line, column, where, fragment), message in zip(MANY, found):
        assert message.startswith(f"{BAD / 'many_errors.yaml'}:{line}:{column}: {where}: "), message
        assert fragment in message


@pytest.mark.parametrize("name, expected", [
    ("syntax.yaml", ":7:1: YAML syntax: while parsing a flow sequence"),
    ("tabs.yaml", ":2:1: YAML syntax: "),
    ("python_tag.yaml", ":7:12: a.title: the tag 'tag:yaml.org,2002:python/object/apply:os.system'"
                        " is not allowed"),
    ("latin1.yaml", ":2:13: file: byte 0xe9 is not UTF-8; save the file as UTF-8"),
    ("empty.yaml", ": file: is empty"),
    ("no_calendar.yaml", ": calendar: missing the `calendar:` section"),
])
def test_file_level_problems(name, expected):
    (message,) = problems(name)
    assert message.startswith(str(BAD / name)) and expected in message, message


def test_tab_indentation_says_so():
    (message,) = problems("tabs.yaml")
    assert "tabs" in message and "use spaces" in message


def test_python_tags_are_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "events.yaml"
    path.write_text(BAD.joinpath("python_tag.yaml").read_text().replace(
        "echo pwned", f"touch {marker}"))
    with pytest.raises(EventsFileError):
        load_events(path)
    assert not marker.exists()


def write(tmp_path, events: str, calendar_extra: str = "  timezone: Europe/Brussels\n") -> Path:
    path = tmp_path / "events.yaml"
    path.write_text("calendar:\n  name: T\n  base_url: https://example.org\n" + calendar_extra
                    + "events:\n" + events)
    return path


def one_problem(path) -> str:
    with pytest.raises(EventsFileError) as info:
        load_events(path)
    assert len(info.value.problems) == 1, str(info.value)
    return str(info.value.problems[0])


@pytest.mark.parametrize("event, expected", [
    ("    start: 2021-01-19 24:00\n    duration: PT1H\n",
     ":8:12: x.start: '2021-01-19 24:00' is not a time: write midnight as 2021-01-20 00:00"),
    ("    start: 2021-01-19 14:00\n    duration: PT0M\n", ":9:15: x.duration: 'PT0M' is zero"),
    ("    start: 2021-03-28 01:00\n    end: 2021-03-28 02:30\n",
     ":9:10: x.end: 2021-03-28 02:30 does not exist in Europe/Brussels"),
    ("    timezone: America/New_York\n    start: 2021-11-07 01:30\n    duration: PT1H\n",
     ":9:12: x.start: 2021-11-07 01:30 happens twice in America/New_York: at -04:00 (EDT) and "
     "again at -05:00 (EST)"),
    ("    start: 2021-01-19 14:00\n    duration: P400D\n", "x.duration: 'P400D' is longer than a year"),
    ("    start: 2021-01-19 14:00+01:00\n    duration: PT1H\n", "has a UTC offset"),
    ("    start: 2021-01-19 14:00\n    duration: PT1H\n    recurrence: FREQ=WEEKLY;COUNT=0\n",
     ":10:17: x.recurrence: COUNT=0 must be a whole number of 1 or more"),
    ("    start: 2021-01-19 14:00\n    duration: PT1H\n    recurrence: FREQ=WEEKLY;UNTIL=20200101\n",
     "x.recurrence: UNTIL (20200101T225959Z) is before the event's start"),
    ("    start: 2021-01-19 14:00\n    duration: PT1H\n    recurrence: FREQ=WEEKLY;BYDAY=XX\n",
     "x.recurrence: BYDAY=XX: 'XX' is not a weekday"),
    ("    start: 2021-01-19 14:00\n    duration: PT1H\n    recurrence: FREQ=WEEKLY;COUNT=3\n"
     "    exclude: [2021-01-20]\n",
     ":11:15: x.exclude[0]: 2021-01-20 14:00 is not an occurrence of the recurrence (nearest "
     "occurrences: 2021-01-19 14:00, 2021-01-26 14:00)"),
    ("    start: 2021-01-19 14:00\n    duration: PT1H\n    exclude: [2021-01-26]\n",
     "x.exclude: `exclude` skips occurrences of a `recurrence`"),
    ("    start: 2021-01-19\n    end: 2021-01-18\n", "x.end: 2021-01-18 is before the start"),
    ("    start: 2021-01-19\n    end: 2021-01-19 10:00\n", "x.end: must be a date like `start`"),
    ("    start: 2021-01-19\n    duration: PT3H\n", "an all-day event lasts whole days"),
    ("    start: 2021-01-19 14:00\n", "x: missing `end` or `duration`"),
    ("    start: 2021-01-19 14:00\n    duration: PT1H\n    url: javascript:alert(1)\n",
     "x.url: 'javascript:alert(1)' is not an http(s) URL"),
    ("    start: 2021-01-19 14:00\n    duration: PT1H\n    status: postponed\n",
     "x.status: expected one of: confirmed, tentative, cancelled but received: 'postponed'"),
    ("    start: 2021-01-19 14:00\n    duration: PT1H\n    description: \"a\\0b\"\n",
     "x.description: contains the control character U+0000"),
])
def test_event_rules(tmp_path, event, expected):
    message = one_problem(write(tmp_path, "  - id: x\n    title: X\n" + event))
    assert expected in message, message


def test_time_without_any_zone_is_an_error(tmp_path):
    path = write(tmp_path, "  - id: x\n    title: X\n    start: 2021-01-19 14:00\n    duration: PT1H\n",
                 calendar_extra="")
    assert "x.start: no time zone: add `timezone:`" in one_problem(path)


def test_bad_email_and_base_url(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_text("calendar:\n  name: T\n  base_url: ftp://example.org\n"
                    "organisers:\n  o:\n    name: O\n    email: not-an-email\nevents: []\n")
    with pytest.raises(EventsFileError) as info:
        load_events(path)
    text = str(info.value)
    assert ":3:13: calendar.base_url: 'ftp://example.org' is not an http(s) URL" in text
    assert ":7:12: organisers.o.email: 'not-an-email' is not an e-mail address" in text


def test_base_url_override_is_validated(tmp_path):
    path = write(tmp_path, "  []\n")
    with pytest.raises(EventsFileError) as info:
        load_events(path, base_url="not a url")
    assert "ICALPUB_BASE_URL: 'not a url' is not an http(s) URL" in str(info.value)


def test_alias_bomb_is_not_expanded(tmp_path):
    """A "billion laughs" file: nine levels of aliases, 10**9 leaves if expanded. The loader
    walks only as deep as the schema, so it answers at once with a bounded list of errors."""
    lines = ["x0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = tmp_path / "events.yaml"
    path.write_text("calendar:\n  name: T\n  base_url: https://e.org\n  timezone: UTC\n"
                    + "\n".join(lines) + "\nevents:\n  - id: a\n    title: A\n"
                    "    start: 2021-01-19 14:00\n    duration: PT1H\n    agenda: *a8\n")
    with pytest.raises(EventsFileError) as info:
        load_events(path)
    messages = [str(p) for p in info.value.problems]
    assert len(messages) == 9 + 10, messages  # 9 unknown top-level keys, 10 agenda items
    assert all("a.agenda[" in m and "expected a single value, got a list" in m
               for m in messages if "agenda" in m)


def test_unreadable_inputs(tmp_path):
    with pytest.raises(EventsFileError, match="file not found"):
        load_events(tmp_path / "missing.yaml")
    with pytest.raises(EventsFileError, match="is a directory"):
        load_events(tmp_path)


@pytest.mark.parametrize("id_line", ["", "    id:\n", "    id: ~\n"])
def test_missing_or_empty_id(tmp_path, id_line):
    path = write(tmp_path, "  - title: X\n" + id_line + "    start: 2021-01-19 14:00\n    duration: PT1H\n")
    assert "events[0]: missing required key `id`" in one_problem(path)
