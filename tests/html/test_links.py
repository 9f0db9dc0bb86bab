"""Subscribe and add-to-calendar URLs (icalpub.html.links): decoded and checked parameter by
parameter against the event and feed they stand for."""

from datetime import datetime, timezone
from urllib.parse import quote as urllib_quote
from urllib.parse import urlencode, urlsplit

import pytest
from htmlparse import one, query
from hypothesis import given
from hypothesis import strategies as st

from icalpub.html import links
from icalpub.html.links import event_links, subscribe_links

BASE = "https://events.example.org/calendar"


def by_id(data, event_id):
    return next(e for e in data.events if e.id == event_id)


def test_subscribe_links_for_a_feed():
    s = subscribe_links(BASE, "feeds/topics/circular-economy.ics", "Rich events: Circular economy")
    assert s.https == f"{BASE}/feeds/topics/circular-economy.ics"
    assert s.webcal == "webcal://events.example.org/calendar/feeds/topics/circular-economy.ics"
    google = urlsplit(s.google)
    assert (google.scheme, google.netloc, google.path) == ("https", "calendar.google.com",
                                                           "/calendar/r")
    assert one(s.google, "cid") == s.webcal
    assert "cid=webcal%3A%2F%2Fevents.example.org%2Fcalendar%2Ffeeds%2Ftopics" in s.google
    for url, host in ((s.outlook_com, "outlook.live.com"), (s.microsoft_365, "outlook.office.com")):
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", host,
                                                            "/calendar/0/addfromweb/")
        assert one(url, "url") == s.webcal
        assert one(url, "name") == "Rich events: Circular economy"
    assert s.google_can_fetch


def test_filtered_feed_keeps_its_query_encoded():
    s = subscribe_links(BASE, "feeds/all.ics?q=procurement&topic=circular-economy", "x")
    assert s.webcal == ("webcal://events.example.org/calendar/feeds/all.ics"
                        "?q=procurement&topic=circular-economy")
    assert one(s.google, "cid") == s.webcal  # the & of the feed URL is encoded, not split
    assert set(query(s.google)) == {"cid"}
    assert one(s.outlook_com, "url") == s.webcal


def test_google_cannot_fetch_http():
    assert not subscribe_links("http://127.0.0.1:8000", "feeds/all.ics", "x").google_can_fetch


def test_google_event_link_timed(rich_data):
    event = by_id(rich_data, "markdown-webinar")
    url = event_links(event, rich_data.calendar).google
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("calendar.google.com", "/calendar/render")
    assert one(url, "action") == "TEMPLATE"
    assert one(url, "text") == "Procurement & <b>bold</b> webinar"
    start, end = one(url, "dates").split("/")
    assert datetime.strptime(start, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc) == \
        event.start.astimezone(timezone.utc) == datetime(2021, 1, 19, 13, tzinfo=timezone.utc)
    assert datetime.strptime(end, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc) == \
        datetime(2021, 1, 19, 15, tzinfo=timezone.utc)
    assert one(url, "ctz") == "Europe/Brussels"
    assert one(url, "location") == "Online (Zoom)"
    details = one(url, "details")
    assert details.startswith("The manufacture of electronics needs minerals "
                              "(https://example.org/minerals?a=1&b=2).")
    assert details.endswith(f"{BASE}/events/markdown-webinar")
    assert "<script" not in details and "alert" not in details
    assert "recur" not in query(url)


def test_google_event_link_all_day_end_is_exclusive(rich_data):
    url = event_links(by_id(rich_data, "summer-school"), rich_data.calendar).google
    assert one(url, "dates") == "20210705/20210707"  # 5–6 July inclusive


def test_google_event_link_recurring(rich_data):
    url = event_links(by_id(rich_data, "weekly-call"), rich_data.calendar).google
    assert one(url, "recur") == "RRULE:FREQ=WEEKLY;COUNT=6"
    assert one(url, "dates") == "20210302T090000Z/20210302T100000Z"


def test_ctz_is_iana_never_an_abbreviation(rich_data):
    for event in rich_data.events:
        ctz = one(event_links(event, rich_data.calendar).google, "ctz")
        assert "/" in ctz or ctz == "UTC", ctz
        assert ctz not in {"CET", "CEST", "EST", "EDT"}


def test_google_details_cut_near_1000(rich_data):
    event = by_id(rich_data, "long-description")
    details = one(event_links(event, rich_data.calendar).google, "details")
    assert len(details) <= links.GOOGLE_DETAILS_MAX
    assert len(details) > 300  # heavy percent-encoding: shortened further to fit 2,000
    assert len(event_links(event, rich_data.calendar).google) < links.URL_MAX
    assert "…\n\n" in details and details.endswith(f"{BASE}/events/long-description")


@pytest.mark.parametrize("attr,host", [("outlook_com", "outlook.live.com"),
                                       ("microsoft_365", "outlook.office.com")])
def test_outlook_event_link(rich_data, attr, host):
    event = by_id(rich_data, "markdown-webinar")
    url = getattr(event_links(event, rich_data.calendar), attr)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", host, "/calendar/0/action/compose")
    assert one(url, "rru") == "addevent"
    assert one(url, "startdt") == "2021-01-19T13:00:00Z"
    assert one(url, "enddt") == "2021-01-19T15:00:00Z"
    assert one(url, "subject") == "Procurement & <b>bold</b> webinar"
    assert one(url, "location") == "Online (Zoom)"
    assert one(url, "body").startswith("The manufacture of electronics")
    assert "allday" not in query(url)


def test_outlook_all_day(rich_data):
    url = event_links(by_id(rich_data, "summer-school"), rich_data.calendar).outlook_com
    assert one(url, "allday") == "true"
    assert one(url, "startdt") == "2021-07-05"
    assert one(url, "enddt") == "2021-07-07"


def test_outlook_url_stays_under_2000(rich_data):
    event = by_id(rich_data, "long-description")
    found = event_links(event, rich_data.calendar)
    for url in (found.outlook_com, found.microsoft_365):
        assert len(url) < links.URL_MAX
        body = one(url, "body")
        assert body.endswith(f"{BASE}/events/long-description")
        assert len(body) > 200  # shortened, not dropped


def test_every_event_link_is_absolute_and_short(rich_data):
    for event in rich_data.events:
        ev = event_links(event, rich_data.calendar)
        assert ev.ics == f"{BASE}/events/{event.id}.ics"
        for url in (ev.google, ev.outlook_com, ev.microsoft_365):
            assert url.startswith("https://") and len(url) < 2000, url
            assert " " not in url


def test_cut_at_word_boundary():
    assert links.cut("short", 10) == "short"
    cut = links.cut("word " * 50, 40)
    assert len(cut) <= 40 and cut.endswith("word…")


def test_google_details_near_1000_for_plain_ascii(rich_data):
    from dataclasses import replace
    event = replace(by_id(rich_data, "long-description"), description="word " * 400)
    details = one(links.google_event_link(event, rich_data.calendar), "details")
    assert 900 < len(details) <= links.GOOGLE_DETAILS_MAX


# The table-driven quote must give exactly urllib's bytes: every link of every page uses it.
TEXT = st.text(st.characters(exclude_categories=("Cs",)))  # lone surrogates are not UTF-8


@given(TEXT)
def test_quote_is_urllib_quote_with_nothing_safe(text):
    assert links.quote(text) == urllib_quote(text, safe="")


@given(st.lists(st.tuples(TEXT, TEXT), min_size=1))
def test_query_is_urlencode_with_percent_20(params):
    assert links._query(params) == urlencode(params, quote_via=urllib_quote, safe="")


def test_quote_examples():
    assert links.quote("a b/c?d=e&f+g~h_i.j-k") == "a%20b%2Fc%3Fd%3De%26f%2Bg~h_i.j-k"
    assert links.quote("Zürich – 東京 🎉") == urllib_quote("Zürich – 東京 🎉", safe="")
