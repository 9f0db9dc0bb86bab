"""End to end in real Chromium, against pages made for 15 June 2030 (conftest.TODAY): the
listing and its pages, the archive, search and its chips, event pages (ended, cancelled, to
register for), the .ics download, every button's URL, the calendars page, the 404 page, no
console errors, the keyboard, and all of it without JavaScript."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from htmlparse import one
from parsers import parse_all

from icalpub.html.links import event_links, subscribe_links
from icalpub.load import load_events

pytestmark = pytest.mark.browser

#: What the listing shows as of conftest.TODAY: 32 upcoming events, 6 past ones (rich.yaml).
UPCOMING, PAST = 32, 6


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


def ids(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.id.replace(/^event-/, ''))")


def params(url: str) -> list[tuple[str, str]]:
    return sorted(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_listing_search_event_and_download(context, live_server, artifacts, tmp_path):
    base_url, events_path = live_server
    data = load_events(events_path, base_url=base_url)
    page = context.new_page()
    console = Console(page)

    # The listing: upcoming events first, then the latest past ones.
    page.goto(base_url + "/")
    assert page.title() == "Rich events"
    assert page.locator("#upcoming-heading").inner_text() == f"Upcoming events 1–25 of {UPCOMING}"
    assert page.locator(".results li.event").count() == 25
    assert ids(page, ".results li.event")[:3] == ["register-forum", "cancelled-meetup", "daily-01"]
    assert page.locator("#past-heading").inner_text() == "Latest past events"
    assert ids(page, ".past li.event") == ["long-description", "summer-school", "hybrid-forum",
                                           "weekly-call", "economie-circulaire"]
    assert page.locator(".past a[href='/archive']").inner_text() == \
        f"All {PAST} past events, by month"
    # Local time for a visitor in New York (the page is in Brussels time).
    local = page.locator("#event-markdown-webinar .local")
    assert local.count() == 0  # the oldest past event is in the archive only
    local = page.locator("#event-register-forum .local").inner_text()
    assert local.startswith("Your time:") and "04:00" in local, local
    # Cards: an excerpt and a link, no details or buttons.
    card = page.locator("#event-daily-01")
    assert card.locator(".excerpt").inner_text().startswith("Session 1 of the daily series")
    assert card.locator("h3 a").get_attribute("href") == "/events/daily-01"
    assert card.locator("[data-button]").count() == 0

    # One line to subscribe to everything, and a link to every calendar.
    feed_links = subscribe_links(base_url, "feeds/all.ics", data.calendar.name)
    line = page.locator(".subscribe-line")
    assert line.locator("[data-button=webcal]").get_attribute("href") == feed_links.webcal
    assert line.locator("a[href='/calendars']").count() == 1
    assert page.locator(".feed-box").count() == 0

    for width, height in ((375, 812), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"horizontal scrolling at {width}px ({scroll_width})"

    # Search, accent- and case-insensitive, by typing in the box.
    page.fill("#q", "ECONOMIE")
    page.press("#q", "Enter")
    page.wait_for_url("**/?q=ECONOMIE")
    assert page.locator(".searched").inner_text() == "Events matching “ECONOMIE”: 1–1 of 1."
    assert page.locator("li.event").count() == 1
    filtered = subscribe_links(base_url, "feeds/all.ics?q=ECONOMIE",
                               f"{data.calendar.name}: “ECONOMIE”")
    assert page.locator(".feed-box [data-button=webcal]").get_attribute("href") == filtered.webcal
    filtered_feed = context.request.get(filtered.https)
    assert list(parse_all(filtered_feed.body())["icalendar"]) == [
        "economie-circulaire@events.example.org"]

    # Filters: a topic checkbox (a search lists past and upcoming events alike).
    page.goto(base_url + "/")
    page.click("details.filters summary")
    page.check("input[name=topic][value=procurement]")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/?topic=procurement")
    assert page.locator(".searched").inner_text() == \
        "Events matching Public procurement: 1–20 of 20."
    assert page.locator("li.event").count() == 20

    # Open an event from the listing: one to register for.
    page.goto(base_url + "/")
    page.click("#event-register-forum h3 a")
    page.wait_for_url(f"{base_url}/events/register-forum")
    assert page.locator("h1").inner_text() == "Register forum"
    register = page.locator("a.button.primary")
    assert register.count() == 1 and register.inner_text() == "Register"
    assert register.get_attribute("href") == "https://acme.example/register?id=9&lang=en"
    assert page.locator(".notice").count() == 0

    # A past event: the page says so, the add buttons are at the bottom.
    page.goto(base_url + "/events/markdown-webinar")
    assert page.locator(".notice-ended").inner_text() == \
        "This event has ended. See the upcoming events."
    assert page.locator("h1").inner_text() == "Procurement & <b>bold</b> webinar"
    assert page.locator(".when time").inner_text() == "Tuesday 19 January 2021, 14:00–16:00 CET"
    assert page.locator(".description strong").inner_text() == "manufacture"
    assert page.locator("[data-button=register]").count() == 0  # too late
    assert page.locator("a.button.primary").count() == 0
    assert page.evaluate("""() => {
        const add = document.querySelector('.add'), facts = document.querySelector('.facts');
        return !!(facts.compareDocumentPosition(add) & Node.DOCUMENT_POSITION_FOLLOWING);
    }""")
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
        assert ev.uid == "markdown-webinar@events.example.org", parser
        assert ev.start == datetime(2021, 1, 19, 13, tzinfo=timezone.utc), parser
        assert ev.end == datetime(2021, 1, 19, 15, tzinfo=timezone.utc), parser
        assert "<script" not in ev.description

    # Topic page: its own subscribe box first, and every button on it.
    page.goto(base_url + "/topics/procurement")
    topic = subscribe_links(base_url, "feeds/topics/procurement.ics",
                            f"{data.calendar.name}: Public procurement")
    box = page.locator(".feed-box")
    assert box.locator("[data-button=webcal]").get_attribute("href") == topic.webcal
    assert box.locator("[data-button=google-subscribe]").get_attribute("href") == topic.google
    assert box.locator("[data-button=outlook-subscribe]").get_attribute("href") == \
        topic.outlook_com
    assert box.locator("[data-button=m365-subscribe]").get_attribute("href") == \
        topic.microsoft_365
    assert box.locator("input.copy-field").input_value() == topic.https
    assert "only fetches https feeds" in box.inner_text()  # served over http here
    assert page.evaluate("""() => document.querySelector('.feed-box')
        .compareDocumentPosition(document.querySelector('.results'))
        & Node.DOCUMENT_POSITION_FOLLOWING""")
    webcal = context.request.get(topic.https)
    assert webcal.ok and webcal.headers["content-type"] == "text/calendar; charset=utf-8"

    assert console.errors == []


def test_pagination_and_archive_by_clicking(context, live_server):
    base_url, _ = live_server
    page = context.new_page()
    console = Console(page)
    page.goto(base_url + "/")
    assert page.locator(".pagination").inner_text().split() == \
        ["Page", "1", "of", "2", "Next", "→"]
    page.click(".pagination a[rel=next]")
    page.wait_for_url(f"{base_url}/page/2")
    assert page.title() == "Rich events (page 2)"
    assert page.locator("#upcoming-heading").inner_text() == \
        f"Upcoming events 26–{UPCOMING} of {UPCOMING}"
    assert page.locator("li.event").count() == UPCOMING - 25
    assert ids(page, "li.event")[-1] == "future-summit"
    assert page.locator("#past-heading").count() == 0  # the first page only
    assert page.locator(".pagination a[rel=next]").count() == 0
    page.click(".pagination a[rel=prev]")
    page.wait_for_url(f"{base_url}/")
    assert page.locator("#upcoming-heading").inner_text().endswith(f"1–25 of {UPCOMING}")
    assert page.locator(".pagination a[rel=prev]").count() == 0
    assert context.request.get(base_url + "/page/3").status == 404

    # The archive: from the listing, then a month, then back to every month.
    page.click(f"text=All {PAST} past events, by month")
    page.wait_for_url(f"{base_url}/archive")
    months = page.locator(".archive-months a")
    assert months.all_inner_texts() == ["November 2021", "July 2021", "March 2021",
                                        "February 2021", "January 2021"]
    page.click("text=March 2021")
    page.wait_for_url(f"{base_url}/archive/2021-03")
    assert page.locator("h1").inner_text() == "Past events: March 2021"
    assert ids(page, "li.event") == ["hybrid-forum", "weekly-call"]  # newest first
    page.click("text=All months")
    page.wait_for_url(f"{base_url}/archive")
    # The header reaches the archive and the calendars from anywhere.
    page.click("header nav >> text=Events")
    page.wait_for_url(f"{base_url}/")
    page.click("header nav >> text=Past events")
    page.wait_for_url(f"{base_url}/archive")
    assert console.errors == []


def test_ended_cancelled_and_register(context, live_server):
    base_url, _ = live_server
    page = context.new_page()
    console = Console(page)
    page.goto(base_url + "/events/cancelled-meetup")
    assert page.locator(".notice-cancelled").inner_text() == "This event has been cancelled."
    assert page.locator(".notice-ended").count() == 0
    assert page.locator("[data-button=register]").count() == 0
    page.goto(base_url + "/events/daily-01")  # upcoming, nothing to register for
    assert page.locator(".notice").count() == 0
    primary = page.locator("a.button.primary")
    assert primary.count() == 1 and primary.get_attribute("data-button") == "ics"
    page.goto(base_url + "/events/summer-school")  # ended, all day
    assert page.locator(".notice-ended").is_visible()
    page.click(".notice-ended a")
    page.wait_for_url(f"{base_url}/")
    assert console.errors == []


def test_calendars_page(context, live_server):
    base_url, events_path = live_server
    data = load_events(events_path, base_url=base_url)
    page = context.new_page()
    console = Console(page)
    page.goto(base_url + "/")
    page.click("header nav >> text=Calendars")
    page.wait_for_url(f"{base_url}/calendars")
    assert page.locator("h1").inner_text() == "Calendars"
    assert page.locator("section.calendar-group h2").all_inner_texts() == \
        ["All events", "Topics", "Organisers"]
    assert page.locator(".calendar-list > li").count() == 1 + 2 + 2
    expected = {subscribe_links(base_url, path, name).webcal for path, name in (
        ("feeds/all.ics", "Rich events"),
        ("feeds/topics/procurement.ics", "Rich events: Public procurement"),
        ("feeds/topics/circular-economy.ics", "Rich events: Circular economy"),
        ("feeds/organisers/acme.ics", "Rich events: ACME Foundation"),
        ("feeds/organisers/river.ics", "Rich events: Réseau Rivière"))}
    assert set(page.eval_on_selector_all("[data-button=webcal]", "els => els.map(e => e.href)")) \
        == expected
    assert page.locator(".calendar-list > li").first.locator("h3").inner_text() == \
        f"Rich events {len(data.events)} events in the feed"
    assert "only fetches https feeds" in page.locator("main").inner_text()
    page.click("text=Public procurement")
    page.wait_for_url(f"{base_url}/topics/procurement")
    assert console.errors == []


def test_search_chips_remove_their_filter(context, live_server):
    base_url, _ = live_server
    page = context.new_page()
    console = Console(page)
    search = "/?q=session&topic=procurement&topic=circular-economy&organiser=acme&from=2030-07-01"
    page.goto(base_url + search)
    everything = params(search)
    chips = page.locator("a.chip")
    assert chips.all_inner_texts() == [
        "Words: “session” ×", "Topic: Circular economy ×", "Topic: Public procurement ×",
        "Organiser: ACME Foundation ×", "From 2030-07-01 ×"]
    assert page.locator(".searched").inner_text() == (
        "Events matching “session” · Circular economy · Public procurement · ACME Foundation"
        " · 2030-07-01 – …: 1–25 of 29.")
    # Each chip is a link to the same search without that one filter.
    for label, removed in (("Remove Topic: Public procurement", ("topic", "procurement")),
                           ("Remove From 2030-07-01", ("from", "2030-07-01")),
                           ("Remove Words: “session”", ("q", "session"))):
        page.goto(base_url + search)
        page.get_by_role("link", name=label).click()
        page.wait_for_load_state()
        left = params(page.url)
        assert left == sorted(p for p in everything if p != removed), label
        assert label not in page.locator(".chips").inner_text()
        assert len(page.locator("a.chip").all()) == len(everything) - 1
    # Pages of results keep the search.
    page.goto(base_url + search)
    page.click(".pagination a[rel=next]")
    page.wait_for_load_state()
    assert params(page.url) == sorted(everything + [("page", "2")])
    assert page.locator(".searched").inner_text().endswith("26–29 of 29.")
    page.click("text=Clear all")
    page.wait_for_url(f"{base_url}/")
    # Nothing found: one message, no subscription offered.
    page.goto(base_url + "/?q=zebra")
    assert page.locator(".empty").inner_text() == \
        "No events match “zebra”. Remove a filter above, or see all events."
    assert page.locator(".feed-box, [data-button=webcal], li.event").count() == 0
    assert console.errors == []


def test_error_pages(context, live_server, artifacts):
    base_url, _ = live_server
    page = context.new_page()
    response = page.goto(base_url + "/events/no-such-event")
    assert response.status == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert page.title() == "Page not found – Rich events"
    assert page.locator("h1").inner_text() == "Page not found"
    assert page.locator("link[rel=stylesheet]").count() == 1
    assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).display") \
        == "block"  # styled like every page
    page.click("main >> text=Go to the events")
    page.wait_for_url(f"{base_url}/")
    response = page.goto(base_url + "/?from=2030-07-01&to=2030-06-01")
    assert response.status == 400
    assert page.locator("h1").inner_text() == "This search cannot be done"
    assert page.locator("main p").first.inner_text() == \
        "From=2030-07-01 is after to=2030-06-01; swap the two dates."
    # A calendar app or script gets a line of text.
    plain = page.request.get(base_url + "/events/no-such-event",
                             headers={"Accept": "text/calendar"})
    assert plain.status == 404 and plain.headers["content-type"].startswith("text/plain")


def test_keyboard_reaches_the_buttons(context, live_server):
    base_url, _ = live_server
    page = context.new_page()
    console = Console(page)
    page.goto(base_url + "/events/register-forum")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    reached = []
    for _ in range(30):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.dataset.button || ''"))
    assert {"register", "ics", "google", "outlook", "m365"} <= set(reached)
    assert reached.index("register") < reached.index("ics")  # the main action first
    assert console.errors == []


def test_works_without_javascript(browser, live_server, artifacts):
    base_url, _ = live_server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    console = Console(page)
    page.goto(base_url + "/")
    assert page.locator(".results li.event").count() == 25
    assert page.locator(".past li.event").count() == 5
    assert page.locator(".local:not(:empty)").count() == 0  # the script's only
    # Pages and the archive are plain links.
    page.click("text=Next →")
    page.wait_for_url(f"{base_url}/page/2")
    assert page.locator("li.event").count() == UPCOMING - 25
    page.click("header nav >> text=Past events")
    page.click("text=November 2021")
    page.wait_for_url(f"{base_url}/archive/2021-11")
    assert ids(page, "li.event") == ["long-description"]
    # The search form, its filters (details opens without script) and the chips.
    page.goto(base_url + "/")
    page.fill("#q", "session")
    page.click("details.filters summary")
    page.check("input[name=topic][value=procurement]")
    page.press("#q", "Enter")
    page.wait_for_url("**/?q=session&topic=procurement&from=&to=")  # no script: empty fields
    assert page.locator("li.event").count() == 15
    page.get_by_role("link", name="Remove Topic: Public procurement").click()
    page.wait_for_url("**/?q=session")
    assert page.locator(".searched").inner_text() == "Events matching “session”: 1–25 of 29."
    # Event pages: the Register button and the add buttons are links.
    page.goto(base_url + "/")
    page.click("#event-register-forum h3 a")
    page.wait_for_url(f"{base_url}/events/register-forum")
    assert page.locator("[data-button=register]").get_attribute("href") == \
        "https://acme.example/register?id=9&lang=en"
    assert page.locator("[data-button=google]").count() == 1
    # Calendars: subscribe buttons are links, the feed address is a plain link.
    page.goto(base_url + "/calendars")
    assert page.locator("[data-button=webcal]").count() == 5
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(base_url + "/events/register-forum")
    page.screenshot(path=str(artifacts / "event-nojs-375.png"), full_page=True)
    assert console.errors == []
    context.close()
