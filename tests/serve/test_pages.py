"""The pages, filters and jCal through Flask's test client: routes, headers, status codes."""

import icalendar
import pytest

from htmlparse import buttons, one, text
from parsers import parse_all

HTML = "text/html; charset=utf-8"


@pytest.mark.parametrize("path", ["/", "/events/markdown-webinar", "/events/markdown-webinar/",
                                  "/topics/procurement", "/topics/procurement/",
                                  "/organisers/acme", "/organisers/river/", "/calendars",
                                  "/archive", "/archive/2021-01", "/?q=webinar"])
def test_pages_are_served_with_security_headers(rich_client, path):
    response = rich_client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == HTML
    assert response.headers["Cache-Control"] == "public, max-age=300"  # feeds: refresh
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp  # no inline script, no other origin
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"]


def test_page_conditional_get_and_head(rich_client):
    first = rich_client.get("/events/markdown-webinar")
    again = rich_client.get("/events/markdown-webinar",
                            headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    head = rich_client.head("/")
    assert head.status_code == 200 and head.data == b""
    assert int(head.headers["Content-Length"]) == len(rich_client.get("/").data)


def test_static_files_come_from_the_site(rich_client, rich_site):
    for path in ("style.css", "app.js"):
        response = rich_client.get(f"/static/{path}")
        assert response.status_code == 200
        assert response.data == rich_site.get(f"static/{path}").body
    assert rich_client.get("/static/nope.css").status_code == 404
    assert rich_client.get("/static/../site.py").status_code == 404


@pytest.mark.parametrize("path", ["/events/nope", "/topics/nope", "/organisers/nope",
                                  "/events/..%2Fsite", "/feeds/topics/nope.json"])
def test_unknown_pages_are_404(rich_client, path):
    response = rich_client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("path", ["/events/nope", "/page/2", "/topics/nope", "/?q=webinar&page=9"])
def test_unknown_pages_are_the_sites_404_page_for_a_browser(rich_client, path):
    response = rich_client.get(path, headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 404 and response.headers["Content-Type"] == HTML
    assert "Content-Security-Policy" in response.headers
    assert "Page not found" in text(response.data)
    assert response.data == rich_client.get("/404.html").data


def test_search_page(rich_client):
    response = rich_client.get("/?q=ECONOMIE")
    assert response.status_code == 200 and response.headers["Content-Type"] == HTML
    assert "Content-Security-Policy" in response.headers
    html = response.data.decode()
    assert "Events matching “ECONOMIE”: 1–1 of 1" in text(html)
    assert 'id="event-economie-circulaire"' in html and 'id="event-markdown-webinar"' not in html
    assert 'value="ECONOMIE"' in html  # the search box keeps the query


def test_filtered_page_shows_the_filtered_feeds_buttons(rich_client):
    html = rich_client.get("/?q=procurement&topic=circular-economy").data.decode()
    assert "Events matching “procurement” · Circular economy: 1–1 of 1" in text(html)
    feed = "events.example.org/calendar/feeds/all.ics?q=procurement&topic=circular-economy"
    found = buttons(html)
    assert f"webcal://{feed}" in found["webcal"]
    google = found["google-subscribe"][0]
    assert one(google, "cid") == f"webcal://{feed}"
    outlook = found["outlook-subscribe"][0]
    assert one(outlook, "url") == f"webcal://{feed}"
    assert one(outlook, "name") == "Rich events: “procurement” · Circular economy"
    assert f'value="https://{feed.replace("&", "&amp;")}"' in html
    assert 'value="circular-economy" checked' in html


def test_filters_on_the_feed(rich_client):
    response = rich_client.get("/feeds/all.ics?q=procurement&topic=circular-economy")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    for name, events in parse_all(response.data).items():
        assert list(events) == ["markdown-webinar@events.example.org"], name
    cal = icalendar.Calendar.from_ical(response.data)
    assert str(cal["SOURCE"]) == ("https://events.example.org/calendar/feeds/all.ics"
                                  "?q=procurement&topic=circular-economy")
    assert str(cal["X-WR-CALNAME"]) == "Rich events: “procurement” · Circular economy"


@pytest.mark.parametrize("query,expected", [
    ("topic=procurement&topic=circular-economy",
     {"markdown-webinar", "economie-circulaire", "weekly-call", "summer-school"}),
    ("organiser=river", {"markdown-webinar", "economie-circulaire"}),
    ("from=2021-03-01&to=2021-03-31", {"weekly-call", "hybrid-forum"}),
    ("q=r%C3%A9seau", {"markdown-webinar", "economie-circulaire"}),
    ("q=nothing", set()),
])
def test_every_filter_on_page_feed_and_jcal(rich_client, query, expected):
    page = rich_client.get(f"/?{query}").data.decode()
    assert {e for e in ("markdown-webinar", "economie-circulaire", "weekly-call", "summer-school",
                        "hybrid-forum", "long-description") if f'id="event-{e}"' in page} == expected
    feed = rich_client.get(f"/feeds/all.ics?{query}").data
    assert {u.split("@")[0] for u in parse_all(feed)["icalendar"]} == expected
    jcal = rich_client.get(f"/feeds/all.json?{query}")
    assert jcal.headers["Content-Type"] == "application/calendar+json; charset=utf-8"
    back = icalendar.Calendar.from_jcal(jcal.get_json())
    assert {str(e["UID"]).split("@")[0] for e in back.walk("VEVENT")} == expected


def test_filtered_feed_conditional_get(rich_client):
    url = "/feeds/all.ics?topic=procurement"
    first = rich_client.get(url)
    second = rich_client.get(url)
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    assert rich_client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_empty_query_is_the_plain_resource(rich_client):
    assert rich_client.get("/?q=&topic=").data == rich_client.get("/").data
    assert rich_client.get("/feeds/all.ics?q=").data == rich_client.get("/feeds/all.ics").data
    assert rich_client.get("/?utm_source=x").data == rich_client.get("/").data


@pytest.mark.parametrize("query,message", [
    ("topic=nope", "topic='nope' is unknown"),
    ("organiser=nope", "organiser='nope' is unknown"),
    ("from=2021-02-30", "from='2021-02-30' is not a date"),
    ("from=2021-03-02&to=2021-03-01", "from=2021-03-02 is after to=2021-03-01"),
    ("q=x&page=two", "page='two' is not a page number"),
])
def test_bad_query_is_400_with_a_message(rich_client, query, message):
    for path in ("/", "/feeds/all.ics", "/feeds/all.json"):
        response = rich_client.get(f"{path}?{query}")
        assert response.status_code == 400
        assert message in response.data.decode()


def test_a_search_is_computed_once_per_normalised_query(rich_client, monkeypatch):
    """Searches are kept per site by their parsed query: the same search spelled
    differently is not computed again, and gives the same bytes."""
    from icalpub.site import Site

    computed = []
    real = Site.search

    def counting(self, path, query, *args):
        computed.append(path)
        return real(self, path, query, *args)

    monkeypatch.setattr(Site, "search", counting)
    first = rich_client.get("/?q=minerals")
    again = rich_client.get("/?q=%20minerals%20")  # same normalised query
    rich_client.get("/feeds/all.ics?q=minerals")
    rich_client.get("/?q=minerals")
    assert computed == ["index.html", "feeds/all.ics"]
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]


def test_search_follows_a_reload(events_file):
    from icalpub.serve.app import create_app
    path = events_file("rich.yaml")
    client = create_app({"TESTING": True, "EVENTS_PATH": str(path),
                         "RELOAD_INTERVAL": 0}).test_client()
    assert 'id="event-economie-circulaire"' in client.get("/?q=circulaire").data.decode()
    path.write_text(path.read_text().replace("Économie circulaire à Bruxelles",
                                             "Recyclage à Bruxelles")
                    .replace("Une journée sur l'économie circulaire.", "Une journée."))
    assert 'id="event-economie-circulaire"' not in client.get("/?q=circulaire").data.decode()


@pytest.mark.parametrize("path", ["/feeds/all.json", "/feeds/topics/procurement.json",
                                  "/feeds/organisers/acme.json"])
def test_jcal_routes_match_the_ics(rich_client, path):
    response = rich_client.get(path)
    assert response.status_code == 200
    ics = rich_client.get(path.removesuffix(".json") + ".ics").data
    back = icalendar.Calendar.from_jcal(response.get_json()).to_ical()
    assert parse_all(back)["icalendar"] == parse_all(ics)["icalendar"]
    assert parse_all(back)["vobject"] == parse_all(ics)["vobject"]


def test_download_ics_link_serves_the_invite(rich_client):
    html = rich_client.get("/events/summer-school").data.decode()
    (href,) = buttons(html)["ics"]
    response = rich_client.get(href.removeprefix("https://events.example.org/calendar"))
    assert response.headers["Content-Disposition"] == 'attachment; filename="summer-school.ics"'
    assert list(parse_all(response.data)["ical"]) == ["summer-school@events.example.org"]


def test_filtered_page_links_the_filtered_jcal(rich_client):
    html = rich_client.get("/?topic=procurement").data.decode()
    assert 'href="https://events.example.org/calendar/feeds/all.json?topic=procurement"' in html


def test_head_on_a_query(rich_client):
    get = rich_client.get("/feeds/all.ics?organiser=acme")
    head = rich_client.head("/feeds/all.ics?organiser=acme")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
