"""Pages made for a day (``as_of``): upcoming events first, 25 per page; past events on the
first page (the latest five) and in month archives; what an event page says once its event
has ended or is cancelled; search chips; error pages and cache lifetimes through the app.

Most tests read one hand-made file (``dated.yaml`` below) whose every count is known: as of
15 June 2030 it has 60 upcoming events (3 pages: 25, 25, 10) and 8 past ones in 4 months.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from htmlparse import buttons, hrefs, parse, query, text
from icalpub.core import urls
from icalpub.feeds.kinds import past
from icalpub.feeds.search import parse_query
from icalpub.html.pages import PAGE_SIZE, RECENT_PAST
from icalpub.load import load_events
from icalpub.serve.app import create_app
from icalpub.site import build_site

HTML = "text/html; charset=utf-8"
ROOT = Path(__file__).parent.parent.parent
AS_OF = date(2030, 6, 15)
#: 10:00 UTC on AS_OF, noon in Brussels: the server's clock in the app tests.
NOW = datetime(2030, 6, 15, 10, tzinfo=timezone.utc)
BASE = "/cal"  # base_url's path: every link in the pages starts with it

HEAD = """\
calendar:
  name: Dated events
  description: Upcoming and past.
  base_url: https://events.example.org/cal
  timezone: Europe/Brussels
  refresh: PT2H
organisers:
  acme: {name: ACME Foundation}
  river: {name: Réseau Rivière}
topics:
  alpha: {name: Alpha topic}
  beta: {name: Beta topic}
events:
"""

#: Past as of AS_OF, by the month they started in: (id, YAML lines after the id).
PAST = [
    ("march-talk", "start: 2030-03-05 10:00\n    duration: PT1H"),
    ("april-talk", "start: 2030-04-10 10:00\n    duration: PT1H"),
    ("april-late", "start: 2030-04-28\n    end: 2030-04-28"),  # all day
    ("may-a", "start: 2030-05-02 10:00\n    duration: PT1H"),
    ("finished-series", "start: 2030-05-06 10:00\n    duration: PT1H\n"
                        "    recurrence: FREQ=WEEKLY;COUNT=3"),  # last on 20 May
    ("may-b", "start: 2030-05-20 10:00\n    duration: PT1H"),
    ("june-early", "start: 2030-06-03 10:00\n    duration: PT1H\n"
                   "    registration_url: https://acme.example/register/june-early"),
    ("ended-yesterday", "start: 2030-06-14 18:00\n    end: 2030-06-14 20:00\n"
                        "    registration_url: https://acme.example/register/yesterday"),
]
#: Upcoming as of AS_OF, though some began before it.
UPCOMING = [
    ("open-series", "start: 2029-01-07 10:00\n    duration: PT1H\n    recurrence: FREQ=WEEKLY\n"
                    "    topics: [beta]"),  # no end: never past
    ("long-series", "start: 2030-05-01 10:00\n    duration: PT1H\n"
                    "    recurrence: FREQ=WEEKLY;UNTIL=2030-07-30"),
    ("late-night", "start: 2030-06-14 23:00\n    end: 2030-06-15 01:00"),  # ends on AS_OF
    ("ends-today", "start: 2030-06-15 09:00\n    end: 2030-06-15 10:00"),
    ("register-me", "start: 2030-06-20 10:00\n    duration: PT2H\n"
                    "    registration_url: https://acme.example/register?id=7&lang=en\n"
                    "    topics: [alpha]"),
    ("cancelled-future", "start: 2030-06-21 10:00\n    duration: PT1H\n    status: cancelled\n"
                         "    registration_url: https://acme.example/register/cancelled"),
]
#: The rest of the upcoming events: one a day from 1 July 2030, alpha then beta.
DAILY = 54
UPCOMING_TOTAL = len(UPCOMING) + DAILY  # 60
DESCRIPTION = ("First paragraph of a long description about circular procurement, " * 6
               + "\n\n      Second paragraph that no card shows.")


def daily_id(n: int) -> str:
    return f"up-{n:03d}"


def dated_yaml() -> str:
    lines = [HEAD]
    for event_id, body in PAST:
        lines.append(f"  - id: {event_id}\n    title: Past {event_id}\n    {body}\n"
                     f"    organisers: [acme, river]\n")
    for event_id, body in UPCOMING:
        lines.append(f"  - id: {event_id}\n    title: Upcoming {event_id}\n    {body}\n"
                     f"    organisers: [acme]\n")
    for n in range(1, DAILY + 1):
        day = date(2030, 7, 1) + timedelta(days=n - 1)
        lines.append(f"  - id: {daily_id(n)}\n    title: Daily {n}\n    start: {day} 09:00\n"
                     f"    duration: PT1H\n    topics: [{'alpha' if n <= 30 else 'beta'}]\n"
                     f"    organisers: [acme]\n    location: Room {n}\n"
                     f"    agenda: [Agenda line {n}]\n    contact: Contact person {n}\n"
                     f"    description: |\n      {DESCRIPTION}\n")
    return "".join(lines)


@pytest.fixture(scope="module")
def dated_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dated") / "events.yaml"
    path.write_text(dated_yaml(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dated(dated_file):
    return build_site(load_events(dated_file), as_of=AS_OF)


@pytest.fixture(scope="module")
def dated_client(dated_file):
    app = create_app({"TESTING": True, "EVENTS_PATH": str(dated_file), "RELOAD_INTERVAL": 0,
                      "CLOCK": lambda: NOW,
                      "STATE_PATH": str(dated_file.with_suffix(".state.json"))})
    return app.test_client()


def page(site, path: str) -> str:
    resource = site.get(urls.page_resource(path))
    assert resource is not None, path
    assert resource.content_type == HTML
    return resource.body.decode()


def card_ids(html: str, within: str = "") -> list[str]:
    """The events a page (or its element with id ``within``'s section) lists, in order."""
    doc = parse(section(html, within) if within else html)
    return [a["id"].removeprefix("event-") for tag, a in doc.elements
            if tag == "li" and a.get("id", "").startswith("event-")]


def section(html: str, heading_id: str) -> str:
    """The part of a page from the heading ``heading_id`` to the next top-level section (a
    listing has two: upcoming, then past) or the end of ``<main>``."""
    start = html.index(f'id="{heading_id}"')
    ends = [i for i in (html.find('<section class="past"', start), html.find("</main>", start))
            if i >= 0]
    return html[start:min(ends)]


def rel(html: str, value: str) -> list[str]:
    return [a["href"] for tag, a in parse(html).elements if tag == "a" and a.get("rel") == value]


def main(html: str) -> str:
    return html[html.index('<main'):html.index('</main>')]


# -- upcoming and past ------------------------------------------------------------------------

def test_the_day_splits_upcoming_from_past(dated):
    first, second, third = (page(dated, p) for p in ("", "page/2", "page/3"))
    upcoming = card_ids(first, "upcoming-heading") + card_ids(second) + card_ids(third)
    assert len(upcoming) == UPCOMING_TOTAL == len(set(upcoming))
    assert set(upcoming) == {i for i, _ in UPCOMING} | {daily_id(n) for n in range(1, DAILY + 1)}
    # Ended the day before: past. Ends on the day (or just after midnight into it): upcoming.
    assert "ended-yesterday" not in upcoming
    assert {"ends-today", "late-night", "long-series"} <= set(upcoming)
    # In start order, the series that began in 2029 first.
    assert upcoming[:4] == ["open-series", "long-series", "late-night", "ends-today"]
    assert upcoming[-1] == daily_id(DAILY)


def test_first_page_shows_the_latest_five_past_events_and_links_the_archive(dated):
    html = page(dated, "")
    past = card_ids(html, "past-heading")
    assert len(past) == RECENT_PAST
    assert past == ["ended-yesterday", "june-early", "may-b", "finished-series", "may-a"]
    assert "All 8 past events, by month" in text(section(html, "past-heading"))
    assert f"{BASE}/archive" in hrefs(section(html, "past-heading"))
    for later in ("page/2", "page/3"):
        assert 'id="past-heading"' not in page(dated, later)


def test_an_open_ended_series_is_always_upcoming(dated_file):
    site = build_site(load_events(dated_file), as_of=date(2100, 1, 1))
    html = page(site, "")
    assert card_ids(html, "upcoming-heading") == ["open-series"]
    assert "Upcoming events 1–1 of 1" in text(html)
    assert "This event has ended." not in page(site, "events/open-series")
    assert "This event has ended." in page(site, "events/long-series")


def test_the_day_is_the_calendars_day_for_an_event_in_another_zone(tmp_path):
    """as_of is a day in the calendar's zone (Brussels). An event in Los Angeles from 20:00 to
    22:00 on 14 June runs from 05:00 to 07:00 on 15 June in Brussels: when the server makes
    the pages of 15 June (at midnight in Brussels) it has not even begun."""
    path = tmp_path / "events.yaml"
    path.write_text(HEAD + "  - id: la-evening\n    title: LA evening\n"
                    "    timezone: America/Los_Angeles\n"
                    "    start: 2030-06-14 20:00\n    end: 2030-06-14 22:00\n", encoding="utf-8")
    site = build_site(load_events(path), as_of=AS_OF)
    assert "This event has ended." not in page(site, "events/la-evening")
    assert card_ids(page(site, ""), "upcoming-heading") == ["la-evening"]


def test_without_a_date_nothing_is_past(dated_file):
    site = build_site(load_events(dated_file))
    html = page(site, "")
    total = len(PAST) + UPCOMING_TOTAL
    assert f"Upcoming events 1–25 of {total}" in text(html)
    assert 'id="past-heading"' not in html
    assert card_ids(html)[:2] == ["open-series", "march-talk"]
    assert "No event has ended yet." in text(page(site, "archive"))
    assert not [p for p in site.resources if p.startswith("archive/20")]
    assert "This event has ended." not in page(site, "events/march-talk")


def test_nothing_upcoming_says_so_once_and_shows_the_latest_past(rich_site_dated):
    html = page(rich_site_dated, "")
    body = text(main(html))
    assert "There are no upcoming events. The latest past events are below." in body
    assert body.count("no upcoming events") == 1
    assert 'class="pagination"' not in html
    assert len(card_ids(html, "past-heading")) == RECENT_PAST
    assert card_ids(html, "past-heading")[0] == "long-description"  # newest first
    # A topic with nothing upcoming says "here"; one with nothing past has no past section.
    topic = text(main(page(rich_site_dated, "topics/circular-economy")))
    assert "There are no upcoming events here. The latest past events are below." in topic


@pytest.fixture
def rich_site_dated(rich_data):
    return build_site(rich_data, as_of=date(2030, 1, 1))


# -- pagination -------------------------------------------------------------------------------

@pytest.mark.parametrize("path,number,first,last,previous,following", [
    ("", 1, 1, 25, None, "page/2"),
    ("page/2", 2, 26, 50, "", "page/3"),
    ("page/3", 3, 51, 60, "page/2", None),
])
def test_listing_pages_count_and_link(dated, path, number, first, last, previous, following):
    html = page(dated, path)
    assert f"Upcoming events {first}–{last} of {UPCOMING_TOTAL}" in text(html)
    assert f"Page {number} of 3" in text(html)
    assert len(card_ids(html, "upcoming-heading")) == last - first + 1
    assert rel(html, "prev") == ([] if previous is None else [f"{BASE}/{previous}"])
    assert rel(html, "next") == ([] if following is None else [f"{BASE}/{following}"])
    title = html[html.index("<title>") + 7:html.index("</title>")]
    assert title == "Dated events" + (f" (page {number})" if number > 1 else "")


def test_a_page_past_the_last_does_not_exist(dated):
    assert dated.get(urls.page_resource("page/3")) is not None
    assert dated.get(urls.page_resource("page/4")) is None
    assert dated.get(urls.page_resource("page/1")) is None  # page 1 is the listing itself


def test_topic_and_organiser_listings_paginate(dated):
    alpha = page(dated, "topics/alpha")  # 30 daily + register-me
    assert "Upcoming events 1–25 of 31" in text(alpha)
    assert rel(alpha, "next") == [f"{BASE}/topics/alpha/page/2"]
    alpha2 = page(dated, "topics/alpha/page/2")
    assert "Upcoming events 26–31 of 31" in text(alpha2)
    assert rel(alpha2, "prev") == [f"{BASE}/topics/alpha"]
    assert dated.get(urls.page_resource("topics/alpha/page/3")) is None
    beta = page(dated, "topics/beta")  # exactly one page: 24 daily + the open series
    assert "Upcoming events 1–25 of 25" in text(beta)
    assert 'class="pagination"' not in beta and not rel(beta, "next")
    assert dated.get(urls.page_resource("topics/beta/page/2")) is None
    river = page(dated, "organisers/river")  # only past events
    assert "There are no upcoming events here. The latest past events are below." in text(river)
    assert card_ids(river, "past-heading") == ["ended-yesterday", "june-early", "may-b",
                                               "finished-series", "may-a"]
    # A topic's past section links to the archive of every calendar (there is one archive).
    assert "Past events of every calendar, by month" in text(river)


def test_thousands_are_written_with_a_separator(dated_file, tmp_path):
    """4,000 not 4000: a file with over a thousand upcoming events."""
    extra = "".join(
        f"  - id: many-{n:04d}\n    title: Many {n}\n    start: {date(2031, 1, 1) + timedelta(days=n)}\n"
        for n in range(1000))
    path = tmp_path / "events.yaml"
    path.write_text(dated_yaml() + extra, encoding="utf-8")
    html = page(build_site(load_events(path), as_of=AS_OF), "")
    assert f"Upcoming events 1–25 of {UPCOMING_TOTAL + 1000:,}" in text(html)
    assert "of 1,060" in text(html)


# -- cards, subscribe boxes, calendars page ---------------------------------------------------

def test_cards_show_an_excerpt_and_link_to_the_event_page(dated):
    html = page(dated, "")
    card = html[html.index('id="event-up-001"'):]
    card = card[:card.index("</li>")]
    assert f'href="{BASE}/events/up-001"' in card
    excerpt = [a for tag, a in parse(card).elements if tag == "p" and a.get("class") == "excerpt"]
    assert len(excerpt) == 1
    words = text(card)
    assert "First paragraph of a long description" in words and words.endswith("…")
    assert "Second paragraph" not in words  # an excerpt, not the description
    assert "Room 1" in words  # where
    assert "Agenda line 1" not in words and "Contact person 1" not in words  # details: page only
    assert "Download .ics" not in words and not buttons(card)
    assert "Agenda line 1" in text(page(dated, "events/up-001"))


def test_home_has_a_one_line_subscribe_and_links_the_calendars(dated):
    html = page(dated, "")
    found = buttons(html)
    assert found == {"webcal": ["webcal://events.example.org/cal/feeds/all.ics"]}
    line = html[html.index('class="subscribe-line"'):]
    assert f'href="{BASE}/calendars"' in line[:line.index("</p>")]
    assert 'class="feed-box"' not in html and 'class="copy-field"' not in html
    assert f"{BASE}/calendars" in hrefs(html[html.index("<header"):html.index("</header>")])


def test_topic_and_organiser_pages_lead_with_their_own_subscribe_box(dated):
    for path, feed in (("topics/alpha", "feeds/topics/alpha.ics"),
                       ("organisers/acme", "feeds/organisers/acme.ics")):
        html = main(page(dated, path))
        box = html.index('class="feed-box"')
        assert box < html.index('class="search"') < html.index('id="upcoming-heading"')
        found = buttons(html)
        assert found["webcal"] == [f"webcal://events.example.org/cal/{feed}"]
        assert set(found) == {"webcal", "google-subscribe", "outlook-subscribe", "m365-subscribe"}
        assert f'value="https://events.example.org/cal/{feed}"' in html  # copy field


def test_calendars_page_lists_every_feed_by_kind(dated):
    html = page(dated, "calendars")
    found = buttons(html)["webcal"]
    expected = [urls.webcal(urls.absolute("https://events.example.org/cal", f.path))
                for f in dated.feeds]
    assert sorted(found) == sorted(expected) and len(found) == 1 + 2 + 2
    headings = [t for t in parse(main(html)).text if t.strip()]
    assert [h for h in headings if h in ("All events", "Topics", "Organisers")] == \
        ["All events", "Topics", "Organisers"]
    body = text(html)
    assert "Alpha topic 31 events" in body  # every event of the feed, past ones included
    assert "Réseau Rivière 8 events" in body
    for feed in dated.feeds:  # each name links to its listing
        assert urls.site_relative("https://events.example.org/cal", feed.page_path) in hrefs(html)


# -- archive ----------------------------------------------------------------------------------

def test_archive_months_newest_first(dated):
    html = page(dated, "archive")
    months = [a["href"] for tag, a in parse(main(html)).elements
              if tag == "a" and "/archive/" in a.get("href", "")]
    assert months == [f"{BASE}/archive/2030-{m}" for m in ("06", "05", "04", "03")]
    assert "June 2030 2 events" in text(html) and "March 2030 1 event" in text(html)
    assert {p for p in dated.resources if p.startswith("archive/")} == \
        {"archive/index.html"} | {f"archive/2030-{m}/index.html" for m in ("03", "04", "05", "06")}


@pytest.mark.parametrize("month,events", [
    ("06", ["ended-yesterday", "june-early"]),
    ("05", ["may-b", "finished-series", "may-a"]),
    ("04", ["april-late", "april-talk"]),
    ("03", ["march-talk"]),
])
def test_archive_month_holds_its_past_events_newest_first(dated, month, events):
    html = page(dated, f"archive/2030-{month}")
    assert card_ids(html) == events
    label = {"06": "June", "05": "May", "04": "April", "03": "March"}[month]
    assert f"Past events: {label} 2030" in text(html)
    assert f"{BASE}/archive" in hrefs(main(html))  # back to every month


def test_the_archive_holds_every_past_event_once(dated):
    shown = Counter(i for p in dated.resources if p.startswith("archive/20")
                    for i in card_ids(dated.get(p).body.decode()))
    assert shown == Counter(i for i, _ in PAST)


# -- event pages ------------------------------------------------------------------------------

def test_an_ended_event_says_so_and_moves_the_add_buttons_down(dated):
    html = main(page(dated, "events/june-early"))
    assert "This event has ended." in text(html)
    assert html.index("This event has ended.") < html.index("<h1")
    assert f'href="{BASE}/"' in html[html.index("notice-ended"):html.index("</p>",
                                                                        html.index("notice-ended"))]
    assert "register" not in buttons(html)  # too late to register
    assert 'class="button primary"' not in html  # adding it is no longer the main action
    assert html.index('id="add-heading"') > html.index('class="facts"')
    assert buttons(html)["ics"] == ["https://events.example.org/cal/events/june-early.ics"]


@pytest.mark.parametrize("event_id", ["ends-today", "late-night", "open-series", "up-001"])
def test_an_event_ending_today_or_later_has_not_ended(dated, event_id):
    html = main(page(dated, f"events/{event_id}"))
    assert "This event has ended." not in text(html)
    assert html.index('id="add-heading"') < html.index('class="facts"')


def test_a_registration_url_is_the_primary_register_button(dated):
    html = main(page(dated, "events/register-me"))
    primary = [a for tag, a in parse(html).elements
               if tag == "a" and "primary" in a.get("class", "").split()]
    assert primary == [{"class": "button primary", "href": "https://acme.example/register?id=7&lang=en",
                        "data-button": "register", "rel": "noopener"}]
    assert html.index('data-button="register"') < html.index('id="add-heading"')
    assert "Register" in text(html)
    # Without a registration link, the download is the main action.
    plain = main(page(dated, "events/up-001"))
    assert "register" not in buttons(plain)
    assert 'class="button primary" href="https://events.example.org/cal/events/up-001.ics"' in plain


def test_a_cancelled_event_says_so_and_takes_no_registrations(dated):
    html = main(page(dated, "events/cancelled-future"))
    assert "This event has been cancelled." in text(html)
    assert "This event has ended." not in text(html)
    assert "register" not in buttons(html)
    assert 'role="status"' in html
    assert 'class="event event-cancelled" id="event-cancelled-future"' in page(dated, "")


# -- search -----------------------------------------------------------------------------------

def search(site, number=1, **args):
    found = site.search("index.html", parse_query({k: v if isinstance(v, list) else [v]
                                                   for k, v in args.items()}, site.data), number)
    return None if found is None else found.body.decode()


def test_search_names_what_was_searched_with_a_removable_chip_each(dated):
    args = {"q": "daily", "topic": ["alpha", "beta"], "organiser": "acme",
            "from": "2030-07-01", "to": "2030-12-31"}
    html = search(dated, **args)
    assert "Events matching “daily” · Alpha topic · Beta topic · ACME Foundation · " \
           "2030-07-01 – 2030-12-31: 1–25 of 54 ." in text(html)
    everything = Counter([("q", "daily"), ("topic", "alpha"), ("topic", "beta"),
                          ("organiser", "acme"), ("from", "2030-07-01"), ("to", "2030-12-31")])
    chips = [(a["aria-label"], a["href"]) for tag, a in parse(html).elements
             if tag == "a" and a.get("class") == "chip"]
    assert [label for label, _ in chips] == [
        "Remove Words: “daily”", "Remove Topic: Alpha topic", "Remove Topic: Beta topic",
        "Remove Organiser: ACME Foundation", "Remove From 2030-07-01", "Remove To 2030-12-31"]
    for (label, href), removed in zip(chips, everything):
        assert href.startswith(f"{BASE}/?")
        left = Counter((k, v) for k, vs in query(href).items() for v in vs)
        assert everything - left == Counter([removed]), label  # exactly that one is gone
        assert left - everything == Counter()
    assert f'<li><a href="{BASE}/">Clear all</a></li>' in html


def test_the_last_chip_links_the_plain_listing(dated):
    html = search(dated, topic="alpha")
    chips = [a["href"] for tag, a in parse(html).elements if tag == "a" and a.get("class") == "chip"]
    assert chips == [f"{BASE}/"]


def test_search_paginates(dated):
    first = search(dated, q="daily")
    assert "1–25 of 54" in text(first)
    assert rel(first, "next") == [f"{BASE}/?q=daily&page=2"] and not rel(first, "prev")
    last = search(dated, 3, q="daily")
    assert "51–54 of 54" in text(last)
    assert rel(last, "prev") == [f"{BASE}/?q=daily&page=2"] and not rel(last, "next")
    assert card_ids(last) == [daily_id(n) for n in range(51, 55)]
    assert search(dated, 4, q="daily") is None


def test_search_without_results_says_so_once_and_offers_no_subscription(dated):
    html = main(search(dated, q="nothing-like-this"))
    body = text(html)
    assert body.count("No events match “nothing-like-this”") == 1
    assert "no upcoming events" not in body
    assert 'class="feed-box"' not in html and not buttons(html)
    assert not card_ids(html) and 'class="pagination"' not in html
    results = search(dated, q="daily")
    assert 'class="feed-box"' in results and buttons(results)["webcal"] == [
        "webcal://events.example.org/cal/feeds/all.ics?q=daily"]


# -- through the app: status codes, error pages, cache lifetimes ------------------------------

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_the_server_makes_its_pages_for_today(dated_client, dated):
    for path in ("", "page/2", "page/3", "topics/alpha/page/2", "archive", "archive/2030-05",
                 "calendars", "events/june-early"):
        response = dated_client.get(f"/{path}")
        assert response.status_code == 200, path
        assert response.data == dated.get(urls.page_resource(path)).body, path


def test_from_after_to_is_400_html_for_a_browser_text_for_the_rest(dated_client):
    url = "/?from=2030-07-01&to=2030-06-01"
    page_ = dated_client.get(url, headers=BROWSER)
    assert page_.status_code == 400 and page_.headers["Content-Type"] == HTML
    assert "Content-Security-Policy" in page_.headers
    html = page_.data.decode()
    assert "This search cannot be done" in text(html)
    assert "From=2030-07-01 is after to=2030-06-01; swap the two dates." in text(html)
    assert f"{BASE}/" in hrefs(html) and f"{BASE}/static/style.css" in html  # a page of the site
    plain = dated_client.get(url)
    assert plain.status_code == 400 and plain.headers["Content-Type"].startswith("text/plain")
    assert plain.data.decode() == "Bad request: from=2030-07-01 is after to=2030-06-01; " \
                                  "swap the two dates\n"
    for feed in ("/feeds/all.ics", "/feeds/all.json"):  # a calendar app gets the text
        response = dated_client.get(feed + url[1:], headers={"Accept": "text/calendar"})
        assert response.status_code == 400
        assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/nope", "/page/4", "/topics/beta/page/2", "/events/nope",
                                  "/archive/2030-07", "/?q=daily&page=4", "/page/1"])
def test_404_is_a_page_for_a_browser_and_text_for_the_rest(dated_client, dated, path):
    page_ = dated_client.get(path, headers=BROWSER)
    assert page_.status_code == 404 and page_.headers["Content-Type"] == HTML
    assert page_.data == dated.get("404.html").body
    assert "Page not found" in text(page_.data)
    plain = dated_client.get(path, headers={"Accept": "text/calendar"})
    assert plain.status_code == 404 and plain.headers["Content-Type"].startswith("text/plain")
    assert dated_client.get(path).headers["Content-Type"].startswith("text/plain")  # no Accept


@pytest.mark.parametrize("path", ["/", "/page/2", "/topics/alpha", "/organisers/acme/page/2",
                                  "/events/june-early", "/calendars", "/archive",
                                  "/archive/2030-05", "/?q=daily", "/?q=daily&page=2"])
def test_pages_are_kept_five_minutes(dated_client, path):
    response = dated_client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize("path", ["/feeds/all.ics", "/feeds/all.json", "/feeds/topics/alpha.ics",
                                  "/feeds/all.ics?q=daily", "/events/june-early.ics"])
def test_feeds_are_kept_as_long_as_the_calendar_says(dated_client, path):
    response = dated_client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "public, max-age=7200"  # refresh: PT2H


# -- size at scale ----------------------------------------------------------------------------
# A listing page holds 25 upcoming and 5 past cards whatever the file's size, so its size must
# not grow with the number of events. Building 10,000 events takes ~30 s (more on a busy
# machine), so this builds 500 and 2,000 (~12 s together), checks every listing page of both
# against the 100 KB budget, and that the home page did not grow from 500 to 2,000 events: what
# does not grow from 500 to 2,000 does not grow to 10,000 (the maintainers' measurement at
# 10,000 is in the report of this change).

GENERATED_AS_OF = date(2023, 6, 1)
BUDGET = 100_000


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    sites = {}
    for n in (500, 2000):
        path = tmp_path_factory.mktemp("generated") / f"e{n}.yaml"
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(n),
                        str(path)], check=True)
        sites[n] = build_site(load_events(path), as_of=GENERATED_AS_OF)
    return sites


def listing_pages(site):
    return {p: r for p, r in site.resources.items()
            if r.content_type == HTML and (p == "index.html" or "/page/" in p or p.startswith(
                ("page/", "topics/", "organisers/")))}


def test_listing_pages_stay_small_however_many_events(generated):
    small, large = generated[500], generated[2000]
    for n, site in generated.items():
        sizes = {p: len(r.body) for p, r in listing_pages(site).items()}
        worst = max(sizes, key=sizes.get)
        assert sizes[worst] < BUDGET, (n, worst, sizes[worst])
        html = site.get("index.html").body.decode()
        assert len(card_ids(html, "upcoming-heading")) == PAGE_SIZE
        assert len(card_ids(html, "past-heading")) == RECENT_PAST
    home_small, home_large = (len(s.get("index.html").body) for s in (small, large))
    assert abs(home_large - home_small) < 0.15 * home_small, (home_small, home_large)
    ended = past(large.data, GENERATED_AS_OF)
    upcoming = sum(not ended(e) for e in large.data.events)
    assert upcoming > 1000
    assert f"Upcoming events 1–25 of {upcoming:,}" in text(large.get("index.html").body)
    pages = -(-upcoming // PAGE_SIZE)
    assert large.get(urls.page_resource(f"page/{pages}")) is not None
    assert large.get(urls.page_resource(f"page/{pages + 1}")) is None
