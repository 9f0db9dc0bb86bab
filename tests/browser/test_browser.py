"""End to end in real Chromium: the listing, search, an event page, the .ics download, every
button's URL, no console errors, phone and desktop screenshots (tests/artifacts/)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from htmlparse import one
from parsers import parse_all

from icalpub.html.links import event_links, subscribe_links
from icalpub.load import load_events

pytestmark = pytest.mark.browser


class Console:
    """Every console error, uncaught exception and failed request of a page (a blocked
    resource, e.g. by the Content-Security-Policy, shows up here)."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: m.type in ("error", "warning") and
                self.errors.append(f"console.{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"requestfailed: {r.url}"))


@pytest.fixture
def context(browser):
    context = browser.new_context(accept_downloads=True, timezone_id="America/New_York",
                                  locale="en-GB")
    yield context
    context.close()


def test_listing_search_event_and_download(context, live_server, artifacts, tmp_path):
    base_url, events_path = live_server
    data = load_events(events_path, base_url=base_url)
    page = context.new_page()
    console = Console(page)

    # The listing: upcoming first, past events separated by the script.
    page.goto(base_url + "/")
    assert page.title() == "Rich events"
    assert page.locator("#results-heading").inner_text() == "Events (1 – 7 from 7)"
    assert page.locator("#upcoming li.event").count() == 1
    assert page.locator("#upcoming #event-future-summit").count() == 1
    assert page.locator("#past").is_visible()
    assert page.locator("#past-heading").inner_text() == "Past events"
    assert page.locator("#past li.event").count() == 6
    past_ids = page.eval_on_selector_all("#past li.event", "els => els.map(e => e.id)")
    assert past_ids == ["event-markdown-webinar", "event-economie-circulaire", "event-weekly-call",
                        "event-hybrid-forum", "event-summer-school", "event-long-description"]
    # Local time for a visitor in New York (the page is in Brussels time).
    local = page.locator("#event-markdown-webinar .local").inner_text()
    assert local.startswith("Your time:") and "08:00" in local, local

    # Subscribe buttons of the whole calendar.
    feed_links = subscribe_links(base_url, "feeds/all.ics", data.calendar.name)
    box = page.locator(".feed-box")
    assert box.locator("[data-button=webcal]").get_attribute("href") == feed_links.webcal
    assert box.locator("[data-button=google-subscribe]").get_attribute("href") == feed_links.google
    assert box.locator("[data-button=outlook-subscribe]").get_attribute("href") == \
        feed_links.outlook_com
    assert box.locator("[data-button=m365-subscribe]").get_attribute("href") == \
        feed_links.microsoft_365
    assert box.locator("input.copy-field").input_value() == feed_links.https
    assert "only fetches https feeds" in box.inner_text()  # served over http here
    assert page.locator("#calendars .calendar-list > li").count() == 1 + 2 + 2

    for width, height in ((375, 812), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"listing-{width}.png"), full_page=True)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"horizontal scrolling at {width}px ({scroll_width})"

    # Search, accent- and case-insensitive, by typing in the box.
    page.fill("#q", "ECONOMIE")
    page.press("#q", "Enter")
    page.wait_for_url("**/?q=ECONOMIE")
    assert page.locator("#results-heading").inner_text() == "Events (1 – 1 from 1)"
    assert page.locator("li.event").count() == 1
    filtered = subscribe_links(base_url, "feeds/all.ics?q=ECONOMIE",
                               f"{data.calendar.name}: “ECONOMIE”")
    assert page.locator(".feed-box [data-button=webcal]").get_attribute("href") == filtered.webcal
    filtered_feed = context.request.get(filtered.https)
    assert list(parse_all(filtered_feed.body())["icalendar"]) == [
        "economie-circulaire@127.0.0.1"]

    # Filters: a topic checkbox.
    page.goto(base_url + "/")
    page.click("details.filters summary")
    page.check("input[name=topic][value=procurement]")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/?topic=procurement")
    assert page.locator("li.event").count() == 4

    # Open an event from the listing.
    page.goto(base_url + "/")
    page.click("#event-markdown-webinar h4 a")
    page.wait_for_url(f"{base_url}/events/markdown-webinar")
    assert page.locator("h1").inner_text() == "Procurement & <b>bold</b> webinar"
    assert page.locator(".when time").inner_text() == "Tuesday 19 January 2021, 14:00–16:00 CET"
    assert page.locator(".description strong").inner_text() == "manufacture"
    assert page.locator("script:not([src]):not([type='application/ld+json'])").count() == 0
    ld = page.eval_on_selector("script[type='application/ld+json']",
                               "el => JSON.parse(el.textContent)")
    assert ld["name"] == "Procurement & <b>bold</b> webinar"
    assert ld["startDate"] == "2021-01-19T14:00:00+01:00"

    # Every button's href equals the link computed for this event, and decodes correctly.
    event = next(e for e in data.events if e.id == "markdown-webinar")
    expected = event_links(event, data.calendar)
    hrefs = {name: page.locator(f".add [data-button={name}]").get_attribute("href")
             for name in ("ics", "google", "outlook", "m365")}
    assert hrefs == {"ics": expected.ics, "google": expected.google,
                     "outlook": expected.outlook_com, "m365": expected.microsoft_365}
    assert one(hrefs["google"], "dates") == "20210119T130000Z/20210119T150000Z"
    assert one(hrefs["outlook"], "startdt") == "2021-01-19T13:00:00Z"
    assert all(len(url) < 2000 for url in hrefs.values())

    # Download .ics: a real download, parsed back.
    with page.expect_download() as info:
        page.click(".add [data-button=ics]")
    download = info.value
    assert download.suggested_filename == "markdown-webinar.ics"
    target = tmp_path / "markdown-webinar.ics"
    download.save_as(target)
    for parser, events in parse_all(target.read_bytes()).items():
        (ev,) = events.values()
        assert ev.uid == "markdown-webinar@127.0.0.1", parser
        assert ev.start == datetime(2021, 1, 19, 13, tzinfo=timezone.utc), parser
        assert ev.end == datetime(2021, 1, 19, 15, tzinfo=timezone.utc), parser
        assert "<script" not in ev.description

    for width, height in ((375, 812), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"event-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    # Topic page and every button on it.
    page.goto(base_url + "/topics/procurement")
    topic = subscribe_links(base_url, "feeds/topics/procurement.ics",
                            f"{data.calendar.name}: Public procurement")
    assert page.locator(".feed-box [data-button=webcal]").get_attribute("href") == topic.webcal
    assert page.locator(".feed-box [data-button=google-subscribe]").get_attribute("href") == \
        topic.google
    webcal = context.request.get(topic.https)
    assert webcal.ok and webcal.headers["content-type"] == "text/calendar; charset=utf-8"

    assert console.errors == []


def test_keyboard_reaches_the_buttons(context, live_server):
    base_url, _ = live_server
    page = context.new_page()
    console = Console(page)
    page.goto(base_url + "/events/summer-school")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    reached = []
    for _ in range(30):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.dataset.button || ''"))
    assert {"ics", "google", "outlook", "m365"} <= set(reached)
    assert console.errors == []


def test_works_without_javascript(browser, live_server, artifacts):
    base_url, _ = live_server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    console = Console(page)
    page.goto(base_url + "/")
    assert page.locator("li.event").count() == 7  # all listed, in start order
    assert not page.locator("#past").is_visible()
    page.fill("#q", "summit")
    page.press("#q", "Enter")
    page.wait_for_url("**/?q=summit&from=&to=")  # no script: empty fields are sent
    assert page.locator("li.event").count() == 1
    page.click("#event-future-summit h4 a")
    assert page.locator("[data-button=google]").count() == 1
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=str(artifacts / "event-nojs-375.png"), full_page=True)
    assert console.errors == []
    context.close()
