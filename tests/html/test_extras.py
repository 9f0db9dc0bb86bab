"""Issue 17 on the event pages: the Join button, the venue and its map link, the image and
attachments as links, and what JSON-LD and Open Graph say about them."""

from __future__ import annotations

from pathlib import Path

import pytest

from htmlparse import buttons, json_ld, parse
from icalpub.load import load_events
from icalpub.site import build_site

FIXTURE = Path(__file__).parent.parent / "fixtures" / "extras.yaml"


@pytest.fixture(scope="module")
def site():
    return build_site(load_events(FIXTURE))


def page(site, event_id: str) -> bytes:
    return site.get(f"events/{event_id}/index.html").body


def test_join_button_and_access_code(site):
    html = page(site, "zoom-webinar")
    assert buttons(html)["join"] == ["https://zoom.example/j/123?pwd=a;b"]
    text = " ".join(" ".join(parse(html).text).split())
    assert 'Join Zoom meeting; "main" room' in text and "Access code: 600862" in text
    code_only = page(site, "code-only")
    assert "join" not in buttons(code_only)
    assert "Access code: 600862" in " ".join(" ".join(parse(code_only).text).split())


def test_no_join_button_once_ended_or_cancelled_but_the_code_stays(tmp_path):
    text = FIXTURE.read_text().replace("    online: {code: \"600862\"}\n",
                                       "    online: {code: \"600862\"}\n    status: cancelled\n")
    (tmp_path / "events.yaml").write_text(text)
    data = load_events(tmp_path / "events.yaml")
    from datetime import date
    ended = build_site(data, as_of=date(2030, 1, 1))
    assert "join" not in buttons(page(ended, "zoom-webinar"))
    assert "join" not in buttons(page(ended, "hybrid-talk"))
    assert 'class="online"' not in page(ended, "hybrid-talk").decode()  # nothing left to say
    # the access code is what the event said: kept on the page
    assert "Access code: <code>600862</code>" in page(ended, "zoom-webinar").decode()
    assert "Access code: <code>600862</code>" in page(build_site(data), "code-only").decode()


def test_json_ld_virtual_location_is_the_join_link(site):
    (online,) = json_ld(page(site, "zoom-webinar"))
    assert online["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert online["location"] == {"@type": "VirtualLocation",
                                  "url": "https://zoom.example/j/123?pwd=a;b"}
    (hybrid,) = json_ld(page(site, "hybrid-talk"))
    assert hybrid["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    assert hybrid["location"][1] == {"@type": "VirtualLocation",
                                     "url": "https://meet.example/talk"}
