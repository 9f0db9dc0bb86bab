import shutil
from pathlib import Path

import pytest

from icalpub.load import load_events
from icalpub.site import build_site
from icalpub.serve.app import create_app

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _no_base_url_override(monkeypatch):
    """Tests must not depend on the developer's environment."""
    monkeypatch.delenv("ICALPUB_BASE_URL", raising=False)
    monkeypatch.delenv("ICALPUB_EVENTS", raising=False)
    monkeypatch.delenv("ICALPUB_STATE", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture
def fixture_path():
    def get(name: str) -> Path:
        return FIXTURES / name
    return get


@pytest.fixture
def events_file(tmp_path):
    """A writable copy of a fixture (default: minimal.yaml), for reload tests."""
    def copy(name: str = "minimal.yaml") -> Path:
        target = tmp_path / "events.yaml"
        shutil.copy(FIXTURES / name, target)
        return target
    return copy


@pytest.fixture
def minimal_site():
    return build_site(load_events(FIXTURES / "minimal.yaml"))


@pytest.fixture
def seed_site():
    return build_site(load_events(ROOT / "events.yaml"))


@pytest.fixture
def app(events_file):
    return create_app({"TESTING": True, "EVENTS_PATH": str(events_file()), "RELOAD_INTERVAL": 0})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def rich_data():
    return load_events(FIXTURES / "rich.yaml")


@pytest.fixture
def rich_site(rich_data):
    return build_site(rich_data)


@pytest.fixture
def rich_client(events_file):
    app = create_app({"TESTING": True, "EVENTS_PATH": str(events_file("rich.yaml")),
                      "RELOAD_INTERVAL": 0})
    return app.test_client()


@pytest.fixture
def seed_client():
    app = create_app({"TESTING": True, "EVENTS_PATH": str(ROOT / "events.yaml"),
                      "RELOAD_INTERVAL": 0})
    return app.test_client()
