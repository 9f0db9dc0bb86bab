"""Real-browser fixtures: the Debian ``chromium`` driven by Playwright, against the app served
on 127.0.0.1 by Werkzeug in a thread.

Never ``playwright install``: the browser is the distribution's (``executable_path``). When it
is missing the tests skip on a developer machine but FAIL in CI (``CI=true``), so a broken CI
image cannot pass silently.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from browser_policy import ARGS, CHROMIUM, unavailable
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
FIXTURES = Path(__file__).parent.parent / "fixtures"

#: An event far in the future, so the listing has both upcoming and past events.
FUTURE_EVENT = """
  - id: future-summit
    title: Future summit
    start: 2099-05-12 09:00
    end: 2099-05-12 17:00
    location: Brussels, Square Meeting Centre
    description: A summit about **circular** procurement.
    organisers: [acme]
    topics: [procurement]
"""


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
def live_server(tmp_path_factory):
    """The app on a free port; base_url is the server's own address so every link works."""
    from werkzeug.serving import make_server

    from icalpub.serve.app import create_app

    folder = tmp_path_factory.mktemp("browser")
    events = folder / "events.yaml"
    shutil.copy(FIXTURES / "rich.yaml", events)
    with events.open("a", encoding="utf-8") as f:
        f.write(FUTURE_EVENT)
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base_url = f"http://127.0.0.1:{server.server_port}"
    server.app = create_app({"EVENTS_PATH": str(events), "BASE_URL": base_url})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base_url, events
    server.shutdown()
    thread.join(5)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
