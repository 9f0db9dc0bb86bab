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


MAP = "https://www.openstreetmap.org/?mlat=50.8467&mlon=4.3525#map=18/50.8467/4.3525"


def test_venue_and_map_link(site):
    html = page(site, "town-hall-meeting")
    assert buttons(html)["map"] == [MAP]
    text = " ".join(" ".join(parse(html).text).split())
    assert 'Where: Hôtel de Ville; "Salle gothique", Grand-Place 1, 1000 Brussels Map' in text
    assert "map" not in buttons(page(site, "cafe-evening"))
    # a link only: the page loads nothing from elsewhere
    assert not [a for tag, a in parse(html).elements
                if tag in ("img", "iframe", "script") and "openstreetmap" in str(a)]


def test_json_ld_place_with_postal_address_and_geo(site):
    (event,) = json_ld(page(site, "town-hall-meeting"))
    assert event["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert event["location"] == {
        "@type": "Place", "name": 'Hôtel de Ville; "Salle gothique"',
        "address": {"@type": "PostalAddress", "streetAddress": "Grand-Place 1, 1000 Brussels"},
        "geo": {"@type": "GeoCoordinates", "latitude": 50.8467, "longitude": 4.3525}}
    (cafe,) = json_ld(page(site, "cafe-evening"))
    assert cafe["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    assert cafe["location"] == [
        {"@type": "Place", "name": "Café Central",
         "address": {"@type": "PostalAddress", "streetAddress": "Café Central"}},
        {"@type": "VirtualLocation", "url": "https://meet.example/cafe"}]


IMAGE = "https://images.example.org/walk/cover.JPG?size=large"


def test_image_is_og_image_json_ld_image_and_a_link(site):
    html = page(site, "photo-walk")
    meta = {a.get("property"): a.get("content") for tag, a in parse(html).elements
            if tag == "meta" and "property" in a}
    assert meta == {"og:type": "website", "og:title": "Photo walk",
                    "og:url": "https://events.example.org/events/photo-walk",
                    "og:image": IMAGE}
    (event,) = json_ld(html)
    assert event["image"] == [IMAGE]
    assert buttons(html)["image"] == [IMAGE]
    # shown as a link: the CSP's img-src 'self' data: would block it as an <img>
    assert not [a for tag, a in parse(html).elements if tag == "img"]


def test_no_image_no_open_graph(site):
    html = page(site, "zoom-webinar")
    assert b"og:" not in html
    assert "image" not in json_ld(html)[0]


def test_attachments_are_links(site):
    html = page(site, "photo-walk")
    assert buttons(html)["attachment"] == [
        "https://docs.example.org/walk/route.pdf",
        "https://docs.example.org/walk/Slides%20final.pptx",
        "https://docs.example.org/walk/notes"]
    text = " ".join(" ".join(parse(html).text).split())
    assert "Attachments Route; map, and notes Slides final.pptx Notes" in text
    assert b"Attachments" not in page(site, "zoom-webinar")


def test_changed_occurrences_on_the_series_page(site):
    html = page(site, "weekly-call")
    items = [a for tag, a in parse(html).elements if tag == "ul" and a.get("class") == "changes"]
    assert items
    text = " ".join(" ".join(parse(html).text).split())
    assert ("Tuesday 16 March 2021, 10:00: moved to Wednesday 17 March 2021, 14:00–15:00 CET; "
            "“Weekly call (moved)”; at Room 2") in text
    assert "Tuesday 23 March 2021, 10:00: cancelled" in text
    assert "Tuesday 6 April 2021, 10:00: moved to Thursday 8 April 2021, 09:00–11:30 CEST" in text
    fair = " ".join(" ".join(parse(page(site, "monthly-fair")).text).split())
    assert ("Saturday 13 February 2021: moved to Saturday 20 February 2021 – Sunday 21 "
            "February 2021 (all day)") in fair
    assert "Saturday 13 March 2021: Spring edition, with food." in fair
    assert b'class="changes"' not in page(site, "zoom-webinar")
