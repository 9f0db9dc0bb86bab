"""Real-browser fixtures: the Debian ``chromium`` driven by Playwright, against the app served
on 127.0.0.1 by Werkzeug in a thread, with a clock fixed on :data:`TODAY` so the pages are
always made for the same day.

Never ``playwright install``: the browser is the distribution's (``executable_path``). When it
is missing the tests skip on a developer machine but FAIL in CI (``CI=true``), so a broken CI
image cannot pass silently. The same goes for axe-core (``npm ci`` in tests/browser).
"""

from __future__ import annotations

import os
import shutil
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from browser_policy import ARGS, CHROMIUM, unavailable

ARTIFACTS = Path(__file__).parent.parent / "artifacts"
FIXTURES = Path(__file__).parent.parent / "fixtures"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"

#: The day the server makes its pages for (noon in Brussels, the calendar's zone). Every event
#: of rich.yaml (2021) has ended; the events below are upcoming.
NOW = datetime(2030, 6, 15, 10, tzinfo=timezone.utc)
TODAY = date(2030, 6, 15)
#: One a day from 1 July 2030: with the three below, 32 upcoming events (pages of 25 and 7).
DAILY = 29

#: An event far in the future, an upcoming one to register for, and a cancelled one.
UPCOMING = """
  - id: future-summit
    title: Future summit
    start: 2099-05-12 09:00
    end: 2099-05-12 17:00
    location: Brussels, Square Meeting Centre
    description: A summit about **circular** procurement.
    organisers: [acme]
    topics: [procurement]
  - id: register-forum
    title: Register forum
    start: 2030-06-20 10:00
    duration: PT2H
    location: Ghent, Het Pand
    registration_url: https://acme.example/register?id=9&lang=en
    description: A forum you register for.
    organisers: [acme]
    topics: [procurement]
  - id: cancelled-meetup
    title: Cancelled meetup
    start: 2030-06-22 18:00
    duration: PT2H
    status: cancelled
    registration_url: https://acme.example/register?id=10
    organisers: [river]
"""


def daily_events() -> str:
    out = []
    for n in range(1, DAILY + 1):
        day = date(2030, 7, 1) + timedelta(days=n - 1)
        topic = "procurement" if n % 2 else "circular-economy"
        out.append(f"  - id: daily-{n:02d}\n    title: Daily session {n}\n"
                   f"    start: {day} 09:00\n    duration: PT1H\n    location: Room {n}\n"
                   f"    description: Session {n} of the daily series on circular procurement.\n"
                   f"    organisers: [acme]\n    topics: [{topic}]\n")
    return "".join(out)


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        unavailable(f"{AXE} is missing (cd tests/browser && npm ci)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app on a free port; base_url is the server's own address so every link works."""
    from werkzeug.serving import make_server

    from icalpub.serve.app import create_app

    folder = tmp_path_factory.mktemp("browser")
    events = folder / "events.yaml"
    shutil.copy(FIXTURES / "rich.yaml", events)
    with events.open("a", encoding="utf-8") as f:
        f.write(UPCOMING)
        f.write(daily_events())
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base_url = f"http://127.0.0.1:{server.server_port}"
    server.app = create_app({"EVENTS_PATH": str(events), "BASE_URL": base_url,
                             "CLOCK": lambda: NOW})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base_url, events
    server.shutdown()
    thread.join(5)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
