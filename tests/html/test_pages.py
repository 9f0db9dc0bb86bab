"""The HTML pages as site resources (icalpub.html.pages, icalpub.html.views): present, complete,
deterministic, safe, with JSON-LD that matches the event."""

import json
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from htmlparse import buttons, hrefs, json_ld, parse, text
from icalpub.core import urls
from icalpub.load import load_events
from icalpub.site import build_site
from icalpub.html.views import attendance_mode, indented_json, repeats_text, when_text

HTML = "text/html; charset=utf-8"


def page(site, path):
    resource = site.get(urls.page_resource(path))
    assert resource is not None, path
    assert resource.content_type == HTML
    return resource.body.decode()


def test_every_page_is_a_site_resource(rich_site):
    data = rich_site.data
    expected = {"index.html", "static/style.css", "static/app.js", "calendars/index.html",
                "archive/index.html", "404.html"}
    expected |= {f"events/{e.id}/index.html" for e in data.events}
    expected |= {f"topics/{slug}/index.html" for slug in data.topics}
    expected |= {f"organisers/{slug}/index.html" for slug in data.organisers}
    assert expected <= set(rich_site.resources)
    assert rich_site.get("static/style.css").content_type == "text/css; charset=utf-8"
    assert rich_site.get("static/app.js").content_type == "text/javascript; charset=utf-8"


def test_pages_are_byte_identical_across_builds(rich_site):
    again = build_site(load_events(rich_site.data.source))
    for path, resource in rich_site.resources.items():
        assert again.get(path).body == resource.body, path


def test_pages_made_for_a_day_are_byte_identical_across_builds(rich_data):
    first = build_site(rich_data, as_of=date(2021, 3, 10))
    again = build_site(load_events(rich_data.source), as_of=date(2021, 3, 10))
    assert first.resources.keys() == again.resources.keys()
    for path, resource in first.resources.items():
        assert again.get(path).body == resource.body, path


def test_every_page_has_an_accessible_structure(rich_data):
    """One h1, a language, a skip link to <main>, unique ids, and every label and
    aria-labelledby pointing at an element that exists, on every page of a dated site."""
    site = build_site(rich_data, as_of=date(2021, 3, 10))  # upcoming, past and archive pages
    pages = {p: r.body.decode() for p, r in site.resources.items() if r.content_type == HTML}
    assert {"index.html", "archive/index.html", "archive/2021-01/index.html",
            "calendars/index.html", "404.html"} <= set(pages)
    for path, html in pages.items():
        elements = parse(html).elements
        ids = [a["id"] for _tag, a in elements if "id" in a]
        assert len(ids) == len(set(ids)), path
        assert [tag for tag, _a in elements].count("h1") == 1, path
        assert ("html", {"lang": "en"}) in elements, path
        assert ("a", {"class": "skip", "href": "#main"}) in elements and "main" in ids, path
        for tag, a in elements:
            for ref in a.get("aria-labelledby", "").split():
                assert ref in ids, (path, tag, ref)
            if tag == "label" and "for" in a:
                assert a["for"] in ids, (path, a)
            if tag == "nav":
                assert a.get("aria-label"), (path, a)


def test_listing_counts_groups_and_orders(seed_site):
    html = page(seed_site, "")  # built without a date: every event is upcoming
    assert "Upcoming events 1–4 of 4" in text(html)
    assert html.count('<section class="month"') == 1  # one month group
    assert '<h3 id="month-1">January 2021</h3>' in html
    positions = [html.index(f'id="event-{e}"') for e in (
        "minerals-in-electronics-procurement", "regions-circular-labour-markets",
        "procure2innovate-innovation-procurement", "ict-procurement-engagement-verification")]
    starts = {e.id: e.start for e in seed_site.data.events}
    assert [starts[i] for i in sorted(starts, key=lambda i: starts[i])] == sorted(starts.values())
    assert positions == sorted(positions)
    assert 'id="past-heading"' not in html  # nothing has ended
    assert 'class="pagination"' not in html  # one page


def test_listing_cards_summarise_and_the_event_page_has_every_detail(seed_site):
    event = next(e for e in seed_site.data.events if e.id == "minerals-in-electronics-procurement")
    html = page(seed_site, "")
    card = html[html.index(f'id="event-{event.id}"'):]
    card = text(card[:card.index("</li>")])
    assert "Tuesday 19 January 2021, 14:00–16:00 CET" in card
    assert "(Europe/Brussels)" in card
    assert "Online (Zoom)" in card
    assert card.endswith("…") and "The manufacture of electronics" in card  # an excerpt
    assert event.agenda[1] not in card and "Swedwatch" not in card  # the rest: on its page
    assert f'href="/events/{event.id}"' in html
    body = text(page(seed_site, f"events/{event.id}"))
    assert "Tuesday 19 January 2021, 14:00–16:00 CET" in body
    assert "(Europe/Brussels)" in body
    assert event.agenda[1] in body
    assert "Swedwatch" in body
    assert any(c in body for c in event.contacts)
    assert "Online (Zoom)" in body


def test_dates_name_their_zone(rich_data):
    events = {e.id: e for e in rich_data.events}
    assert when_text(events["markdown-webinar"]) == "Tuesday 19 January 2021, 14:00–16:00 CET"
    assert when_text(events["hybrid-forum"]) == "Tuesday 30 March 2021, 10:00–12:00 CEST"
    assert when_text(events["long-description"]) == "Sunday 7 November 2021, 09:00–11:00 EST"
    assert when_text(events["summer-school"]) == \
        "Monday 5 July 2021 – Tuesday 6 July 2021 (all day)"
    assert repeats_text("FREQ=WEEKLY;COUNT=6") == "Every week, 6 times"
    assert repeats_text("FREQ=MONTHLY;INTERVAL=2;UNTIL=20211231T000000Z") == \
        "Every 2 months, until Friday 31 December 2021"


def test_event_page_buttons(rich_site):
    html = page(rich_site, "events/markdown-webinar")
    found = buttons(html)
    assert found["ics"] == ["https://events.example.org/calendar/events/markdown-webinar.ics"]
    assert found["google"][0].startswith("https://calendar.google.com/calendar/render?action=TEMPLATE&")
    assert found["outlook"][0].startswith("https://outlook.live.com/calendar/0/action/compose?rru=addevent&")
    assert found["m365"][0].startswith("https://outlook.office.com/calendar/0/action/compose?rru=addevent&")
    body = text(html)
    assert "Download .ics" in body and "Google Calendar" in body
    assert "Outlook.com" in body and "Microsoft 365" in body


def test_recurring_event_page_explains_outlook(rich_site):
    body = text(page(rich_site, "events/weekly-call"))
    assert "Repeats: Every week, 6 times (except Tuesday 16 March 2021)" in body
    assert "Outlook.com and Microsoft 365 add only the first occurrence" in body


def test_no_script_from_a_description_reaches_a_page(rich_site):
    for path, resource in rich_site.resources.items():
        if resource.content_type != HTML:
            continue
        doc = parse(resource.body)
        for attrs, content in doc.scripts:
            assert attrs.get("src", "").endswith("/static/app.js") or \
                attrs.get("type") == "application/ld+json", (path, attrs)
            assert "pwned" not in content
        for tag, attrs in doc.elements:
            assert not any(name.startswith("on") for name in attrs), (path, tag, attrs)
            assert not attrs.get("href", "").startswith("javascript:"), (path, attrs)
        assert "<img" not in resource.body.decode()


def test_user_text_is_escaped(rich_site):
    html = page(rich_site, "events/markdown-webinar")
    assert "Procurement &amp; &lt;b&gt;bold&lt;/b&gt; webinar" in html
    assert "<b>bold</b>" not in html


def test_json_ld_matches_the_event(rich_site):
    html = page(rich_site, "events/markdown-webinar")
    (ld,) = json_ld(html)
    event = next(e for e in rich_site.data.events if e.id == "markdown-webinar")
    assert ld["@context"] == "https://schema.org" and ld["@type"] == "Event"
    assert ld["name"] == event.title
    assert datetime.fromisoformat(ld["startDate"]) == event.start
    assert datetime.fromisoformat(ld["endDate"]) == event.end
    assert ld["startDate"].endswith("+01:00")  # an offset, as Google requires
    assert ld["eventStatus"] == "https://schema.org/EventScheduled"
    assert ld["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert ld["location"] == {"@type": "VirtualLocation",
                              "url": "https://acme.example/register?id=1&lang=en"}
    assert [o["name"] for o in ld["organizer"]] == ["ACME Foundation", "Réseau Rivière"]
    assert ld["organizer"][0]["url"] == "https://acme.example/"
    assert ld["url"] == "https://events.example.org/calendar/events/markdown-webinar"
    assert ld["description"].startswith("The manufacture of electronics needs minerals")
    assert "<" not in html[html.index("application/ld+json"):html.index("</script>")][20:]


@pytest.mark.parametrize("event_id,mode,location_type,status", [
    ("economie-circulaire", "Offline", "Place", "EventScheduled"),
    ("hybrid-forum", "Mixed", None, "EventScheduled"),
    ("long-description", "Offline", "Place", "EventCancelled"),
    ("summer-school", "Online", "VirtualLocation", "EventScheduled"),
])
def test_json_ld_variants(rich_site, event_id, mode, location_type, status):
    (ld,) = json_ld(page(rich_site, f"events/{event_id}"))
    assert ld["eventAttendanceMode"] == f"https://schema.org/{mode}EventAttendanceMode"
    assert ld["eventStatus"] == f"https://schema.org/{status}"
    if location_type:
        assert ld["location"]["@type"] == location_type
    else:
        assert [loc["@type"] for loc in ld["location"]] == ["Place", "VirtualLocation"]
    if location_type == "Place":
        assert ld["location"]["address"]  # Google requires an address for a Place
    for key in ("name", "startDate", "location", "organizer", "url", "description", "endDate"):
        assert ld[key], key


def test_json_ld_all_day_uses_dates(rich_site):
    (ld,) = json_ld(page(rich_site, "events/summer-school"))
    assert (ld["startDate"], ld["endDate"]) == ("2021-07-05", "2021-07-06")  # last day, inclusive


def test_attendance_mode_heuristic():
    assert attendance_mode("Online (Zoom)") == "Online"
    assert attendance_mode("Brussels, Grand-Place") == "Offline"
    assert attendance_mode("Lisbon and online") == "Mixed"
    assert attendance_mode("Hybrid") == "Mixed"


def test_topic_and_organiser_pages_list_their_events(rich_site):
    html = page(rich_site, "topics/circular-economy")
    assert "Topic: Circular economy" in text(html)
    assert "Upcoming events 1–2 of 2" in text(html)
    assert 'id="event-markdown-webinar"' in html and 'id="event-economie-circulaire"' in html
    assert 'id="event-summer-school"' not in html
    found = buttons(html)
    assert found["webcal"] == ["webcal://events.example.org/calendar/feeds/topics/circular-economy.ics"]
    html = page(rich_site, "organisers/river")
    assert "Organiser: Réseau Rivière" in text(html)
    assert "Upcoming events 1–2 of 2" in text(html)


def test_calendars_page_lists_every_feed_with_count(rich_site):
    html = page(rich_site, "calendars")
    for feed in rich_site.feeds:
        webcal = urls.webcal(urls.absolute(rich_site.data.calendar.base_url, feed.path))
        assert f'href="{webcal}"' in html, feed.path
    assert "Circular economy 2 events" in text(html)
    assert "Réseau Rivière 2 events" in text(html)
    assert "Rich events 6 events" in text(html)
    # Not on every listing any more: the home page links to it instead.
    home = page(rich_site, "")
    assert 'class="calendar-list"' not in home and "/calendar/calendars" in hrefs(home)


def test_subscribe_box_and_notes(rich_site, seed_site):
    home = page(rich_site, "")
    assert buttons(home) == {"webcal": ["webcal://events.example.org/calendar/feeds/all.ics"]}
    html = page(rich_site, "topics/procurement")
    found = buttons(html)
    assert found["webcal"][0] == "webcal://events.example.org/calendar/feeds/topics/procurement.ics"
    assert 'value="https://events.example.org/calendar/feeds/topics/procurement.ics"' in html
    assert "every 12–24 hours" in text(html)
    assert "only fetches https feeds" not in text(html)
    assert "every 12–24 hours" in text(page(rich_site, "calendars"))
    assert "only fetches https feeds" not in text(page(rich_site, "calendars"))
    # Served over plain http, the calendars page and each subscribe box warn about Google.
    assert "Google Calendar only fetches https feeds" in text(page(seed_site, "calendars"))
    organiser = next(iter(seed_site.data.organisers))
    assert "Google Calendar only fetches https feeds" in \
        text(page(seed_site, f"organisers/{organiser}"))


def test_links_between_pages_are_root_relative(rich_site):
    links = hrefs(page(rich_site, "events/markdown-webinar"))
    assert "/calendar/organisers/acme" in links and "/calendar/topics/procurement" in links
    assert "/calendar/" in links


# json_ld_script's formatter must give json.dumps(indent=1)'s exact bytes (pages are compared
# byte for byte with earlier builds and between the app and the static tree).
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=20)


@given(JSON_VALUES)
def test_indented_json_is_json_dumps_indent_1(value):
    assert indented_json(value) == json.dumps(value, ensure_ascii=False, indent=1)
