"""Issue 17's keys are validated like every other key: each problem with its line, column
and key, every problem of a file at once."""

from __future__ import annotations

import textwrap

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
