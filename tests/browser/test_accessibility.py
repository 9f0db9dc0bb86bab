"""axe-core (tests/browser/node_modules, ``npm ci``) on every kind of page, in real Chromium,
at phone and desktop widths: no violations, no horizontal scrolling. Screenshots of each go to
tests/artifacts/<kind>-<width>.png (not committed) for a person to look at."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

#: Every kind of page, as of conftest.TODAY: (name, path, HTTP status).
PAGES = [
    ("listing", "/", 200),
    ("listing-page-2", "/page/2", 200),
    ("topic", "/topics/procurement", 200),
    ("organiser", "/organisers/acme", 200),
    ("event-upcoming", "/events/register-forum", 200),
    ("event-ended", "/events/markdown-webinar", 200),
    ("event-cancelled", "/events/cancelled-meetup", 200),
    ("search", "/?q=session&topic=procurement&from=2030-07-01", 200),
    ("search-empty", "/?q=zebra", 200),
    ("calendars", "/calendars", 200),
    ("archive", "/archive", 200),
    ("archive-month", "/archive/2021-03", 200),
    ("not-found", "/events/no-such-event", 404),
    ("bad-request", "/?from=2030-07-01&to=2030-06-01", 400),
]
WIDTHS = ((375, 812), (1280, 900))


@pytest.fixture(scope="module")
def axe_context(browser):
    # The pages' Content-Security-Policy allows scripts from the site only: axe is injected
    # by a context that bypasses it (test_browser.py checks the policy itself).
    context = browser.new_context(bypass_csp=True, locale="en-GB", timezone_id="Europe/Brussels")
    yield context
    context.close()


def violations(page, axe_source: str) -> list[dict]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
    }""")
    return result


@pytest.mark.parametrize("kind,path,status", PAGES, ids=[p[0] for p in PAGES])
def test_page_kind_is_accessible_at_every_width(axe_context, axe_source, live_server, artifacts,
                                                kind, path, status):
    base_url, _ = live_server
    page = axe_context.new_page()
    try:
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            response = page.goto(base_url + path)
            assert response.status == status
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            found = violations(page, axe_source)
            assert found == [], f"{kind} at {width}px:\n{json.dumps(found, indent=1)}"
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width, f"{kind}: horizontal scrolling at {width}px"
            page.screenshot(path=str(artifacts / f"{kind}-{width}.png"), full_page=True)
    finally:
        page.close()
