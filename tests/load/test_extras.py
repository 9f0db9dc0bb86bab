"""Issue 17's keys are validated like every other key: each problem with its line, column
and key, every problem of a file at once."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from icalpub.core.errors import EventsFileError
from icalpub.load import load_events

HEAD = """\
calendar:
  name: Test
  base_url: https://events.example.org
  timezone: Europe/Brussels
topics:
  climate:
    name: Climate
events:
"""  # the events start on line 9


def problems(tmp_path, events: str, head: str = HEAD) -> list[str]:
    path = tmp_path / "events.yaml"
    path.write_text(head + textwrap.dedent(events))
    with pytest.raises(EventsFileError) as info:
        load_events(path)
    return [str(p).removeprefix(f"{path}:") for p in info.value.problems]


def load(tmp_path, events: str, head: str = HEAD):
    path = tmp_path / "events.yaml"
    path.write_text(head + textwrap.dedent(events))
    return load_events(path)


EVENT = """\
- id: {id}
  title: T
  start: 2021-01-19 14:00
  duration: PT1H
"""


def test_online_problems_all_at_once(tmp_path):
    found = problems(tmp_path, EVENT.format(id="a") + """\
  online: {}
""" + EVENT.format(id="b") + """\
  online:
    label: Zoom
""" + EVENT.format(id="c") + """\
  online:
    url: ftp://zoom.example/1
    code:
    lable: x
""" + EVENT.format(id="d") + """\
  online: https://zoom.example/1
""")
    assert found == [
        "13:11: a.online: give `url` (the link that joins the event) or `code` (an access "
        "code), or remove `online`",
        "19:12: b.online: `label` names the link: add `url`, or remove `label`",
        "25:10: c.online.url: 'ftp://zoom.example/1' is not an http(s) URL; write it as "
        "https://example.org/page",
        "27:5: c.online.lable: unknown key; did you mean 'label'? expected one of: url, label, "
        "code",
        "32:11: d.online: expected a mapping of `key: value` lines, got 'https://zoom.example/1'",
    ]


def test_online_values(tmp_path):
    data = load(tmp_path, EVENT.format(id="a") + """\
  online: {url: "https://zoom.example/j/1 ", code: 0123}
""")
    online = data.events[0].online
    assert (online.url, online.label, online.code) == ("https://zoom.example/j/1", None, "0123")


def test_reminder_problems_all_at_once(tmp_path):
    head = HEAD.replace("  timezone: Europe/Brussels\n", """\
  timezone: Europe/Brussels
  reminders: [PT15M, soon]
  reminders_in_feeds: yes
""")  # two lines more: the events start on line 11
    found = problems(tmp_path, EVENT.format(id="a") + """\
  reminders: [P400D, -PT5M]
""" + EVENT.format(id="b") + """\
  reminders: {before: PT5M}
""", head)
    assert found == [
        "5:22: calendar.reminders[1]: 'soon' is not a duration; write it as PT2H, PT1H30M or "
        "1h30m",
        "6:23: calendar.reminders_in_feeds: expected true or false but received: 'yes'",
        "15:15: a.reminders[0]: 'P400D' is longer than a year; a reminder goes off at most a "
        "year before the start",
        "15:22: a.reminders[1]: '-PT5M' is not a duration; write it as PT2H, PT1H30M or 1h30m",
        "20:14: b.reminders: expected a list (lines starting with `- `), got a mapping",
    ]


def test_reminder_values(tmp_path):
    head = HEAD.replace("  timezone: Europe/Brussels\n", """\
  timezone: Europe/Brussels
  reminders: PT15M
  reminders_in_feeds: True
""")
    data = load(tmp_path, EVENT.format(id="a") + EVENT.format(id="b") + """\
  reminders: [0m, PT0S, 1d, P1W]
""" + EVENT.format(id="c") + """\
  reminders: []
""", head)
    assert data.calendar.reminders == (timedelta(minutes=15),)
    assert data.calendar.reminders_in_feeds is True
    assert [e.reminders for e in data.events] == [
        None, (timedelta(0), timedelta(0), timedelta(days=1), timedelta(weeks=1)), ()]


def test_venue_problems_all_at_once(tmp_path):
    found = problems(tmp_path, EVENT.format(id="a") + """\
  location: Brussels
  venue: {name: Town hall}
""" + EVENT.format(id="b") + """\
  venue:
    address: Grand-Place 1
    lat: 50,85
    lon: 200
""" + EVENT.format(id="c") + """\
  venue:
    name: Town hall
    lat: 50.8467
""")
    assert found == [
        "13:13: a.location: give either `location` or `venue`: the venue is the location "
        "(LOCATION is its name and address)",
        "20:5: b.venue: missing required key `name` (the place's name, e.g. `Town hall`)",
        "21:10: b.venue.lat: '50,85' is not a latitude in decimal degrees (write the decimal "
        "point as a dot); write it as 50.8467 (north is positive)",
        "22:10: b.venue.lon: 200 is out of range; a longitude goes from -180 to 180",
        "29:10: c.venue: `lat` needs `lon`: give both coordinates, or neither",
    ]


def test_venue_values(tmp_path):
    data = load(tmp_path, EVENT.format(id="a") + """\
  venue: {name: Town hall, address: "Grand-Place 1, Brussels", lat: -0.0, lon: "+4.35250"}
""")
    (event,) = data.events
    assert event.location == "Town hall, Grand-Place 1, Brussels"
    assert (event.venue.lat, event.venue.lon) == (0.0, 4.3525)
    assert str(event.venue.lat) == "0.0"


def test_colour_and_image_problems_all_at_once(tmp_path):
    head = HEAD.replace("  timezone: Europe/Brussels\n", """\
  timezone: Europe/Brussels
  color: "#4682B4"
""").replace("    name: Climate\n", """\
    name: Climate
    color: rebeccapurple
""")  # two lines more: the events start on line 11
    found = problems(tmp_path, EVENT.format(id="a") + """\
  image: http://images.example.org/a.png
""" + EVENT.format(id="b") + """\
  image: /a.png
""", head)
    assert found == [
        "5:10: calendar.color: '#4682B4' is a hex value; calendars take a CSS3 colour name "
        "(RFC 7986): the nearest is 'steelblue'",
        "9:12: topics.climate.color: 'rebeccapurple' is a CSS4 name; calendars take CSS3's "
        "(RFC 7986): the nearest is 'darkslateblue'",
        "15:10: a.image: 'http://images.example.org/a.png' is not https (a page served over "
        "https does not show an http image); write 'https://images.example.org/a.png'",
        "20:10: b.image: '/a.png' is not an http(s) URL; write it as https://example.org/page",
    ]


def test_colour_values(tmp_path):
    head = HEAD.replace("  timezone: Europe/Brussels\n", "  timezone: Europe/Brussels\n"
                        "  color: DarkOrange\n")
    data = load(tmp_path, EVENT.format(id="a"), head)
    assert data.calendar.color == "darkorange"
    assert data.topics["climate"].color is None


def test_a_misspelt_colour(tmp_path):
    head = HEAD.replace("  timezone: Europe/Brussels\n", "  timezone: Europe/Brussels\n"
                        "  color: stealblue\n")
    assert problems(tmp_path, EVENT.format(id="a"), head) == [
        "5:10: calendar.color: 'stealblue' is not a CSS3 colour name; did you mean 'steelblue'? "
        "write a name such as 'steelblue' or 'darkorange' (the CSS3 list; RFC 7986)"]


def test_attachment_problems_all_at_once(tmp_path):
    found = problems(tmp_path, EVENT.format(id="a") + """\
  attachments:
    - url: https://docs.example.org/a.pdf
    - title: Slides
    - url: docs/b.pdf
      titel: B
""" + EVENT.format(id="b") + """\
  attachments: {url: https://docs.example.org/a.pdf}
""")
    assert found == [
        "15:7: a.attachments[1]: missing required key `url` (where the document is)",
        "16:12: a.attachments[2].url: 'docs/b.pdf' is not an http(s) URL; write it as "
        "https://example.org/page",
        "17:7: a.attachments[2].titel: unknown key; did you mean 'title'? expected one of: url, "
        "title",
        "22:16: b.attachments: expected a list (lines starting with `- `), got a mapping",
    ]


def test_attachment_names(tmp_path):
    data = load(tmp_path, EVENT.format(id="a") + """\
  attachments:
    - {url: "https://docs.example.org/x/R%C3%A9sum%C3%A9.pdf"}
    - {url: "https://docs.example.org/"}
    - {url: "https://docs.example.org/a.pdf", title: The agenda}
""")
    assert [a.name for a in data.events[0].attachments] == [
        "Résumé.pdf", "https://docs.example.org/", "The agenda"]


SERIES = """\
- id: {id}
  title: T
  start: 2021-03-02 10:00
  duration: PT1H
  recurrence: FREQ=WEEKLY;COUNT=6
"""


def test_occurrence_problems_all_at_once(tmp_path):
    found = problems(tmp_path, SERIES.format(id="a") + """\
  exclude: [2021-03-09]
  occurrences:
    - date: 2021-03-10
      start: 2021-03-11 10:00
    - date: 2021-03-09
      title: X
    - date: 2021-03-16 10:00
      status: cancelled
      start: 2021-03-17 10:00
    - date: 2021-03-16
      title: Y
    - date: 2021-03-23
    - date: 2021-03-30
      start: 2021-03-31
    - date: 2021-04-06
      start: 2021-04-06 12:00
      end: 2021-04-06 11:00
""" + EVENT.format(id="b") + """\
  occurrences:
    - {date: 2021-01-19, title: X}
""")
    assert found == [
        "16:13: a.occurrences[0].date: 2021-03-10 10:00 is not an occurrence of the recurrence "
        "(nearest occurrences: 2021-03-09 10:00, 2021-03-16 10:00); remove it or fix the date",
        "18:13: a.occurrences[1].date: 2021-03-09 10:00 is excluded (`exclude`); remove it there, or "
        "remove this change",
        "22:14: a.occurrences[2].start: a cancelled occurrence is dropped: remove `start`, or "
        "the status",
        "23:13: a.occurrences[3].date: occurrences[2] already changes the occurrence of "
        "2021-03-16 10:00; give each occurrence once",
        "25:7: a.occurrences[4]: changes nothing: give its new `start`, `end`, `duration`, "
        "`title`, `location`, `description` or `status`",
        "27:14: a.occurrences[5].start: must be a date and time like the series' `start`",
        "30:12: a.occurrences[6].end: 2021-04-06 11:00 is not after the start (2021-04-06 "
        "12:00); fix `end` or use `duration`",
        "36:5: b.occurrences: `occurrences` changes occurrences of a `recurrence`, and this "
        "event has none; remove it or add a recurrence",
    ]


def test_occurrence_keys_are_checked_one_by_one(tmp_path):
    found = problems(tmp_path, SERIES.format(id="a") + """\
  occurrences:
    - date: 2021-03-09
      tittle: X
      status: postponed
    - 2021-03-16
""")
    assert found == [
        "16:7: a.occurrences[0].tittle: unknown key; did you mean 'title'? expected one of: "
        "date, start, end, duration, title, location, description, status",
        "17:15: a.occurrences[0].status: expected one of: confirmed, tentative, cancelled but "
        "received: 'postponed'",
        "18:7: a.occurrences[1]: expected a mapping of `key: value` lines, got '2021-03-16'",
    ]


def test_an_occurrence_moved_into_a_gap(tmp_path):
    """A changed occurrence's times are read as `start` is: a skipped hour is an error."""
    assert problems(tmp_path, SERIES.format(id="a") + """\
  occurrences: [{date: 2021-03-23, start: 2021-03-28 02:30}]
""") == ["14:43: a.occurrences[0].start: 2021-03-28 02:30 does not exist in Europe/Brussels: "
         "the clocks jump from +01:00 (CET) to +02:00 (CEST) then; pick a time outside the "
         "skipped hour"]


def test_a_reload_of_an_edited_nested_value_is_the_full_load(tmp_path):
    """A server's reload composes only the edited item; the new keys' nested mappings and
    lists come out as the full load's."""
    import shutil
    from pathlib import Path

    from icalpub.load.reuse import EventsCache

    path = tmp_path / "events.yaml"
    shutil.copy(Path(__file__).parent.parent / "fixtures" / "extras.yaml", path)
    cache = EventsCache()
    assert load_events(path, cache=cache) == load_events(path)
    text = path.read_text()
    for old, new in (("      lat: 50.8467\n", "      lat: 50.85\n"),
                     ("        start: 2021-03-17 14:00\n", "        start: 2021-03-17 15:00\n"),
                     ("        title: Notes\n", "        title: Walk notes\n")):
        text = text.replace(old, new, 1)
        path.write_text(text)
        reloaded = load_events(path, cache=cache)
        assert reloaded == load_events(path)
        assert [e.line for e in reloaded.events] == [e.line for e in load_events(path).events]
