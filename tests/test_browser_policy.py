"""A missing browser fails the browser tests in CI and skips them elsewhere."""

import pytest

from browser_policy import unavailable


def test_missing_browser_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI: no chromium"):
        unavailable("no chromium")


def test_missing_browser_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        unavailable("no chromium")


def test_axe_core_is_pinned_for_npm_ci():
    """tests/browser/package.json pins axe-core exactly and package-lock.json agrees, so
    `npm ci` (.ci/run) installs the version the accessibility tests were written against."""
    import json
    from pathlib import Path

    folder = Path(__file__).parent / "browser"
    wanted = json.loads((folder / "package.json").read_text())["dependencies"]["axe-core"]
    lock = json.loads((folder / "package-lock.json").read_text())
    assert wanted[0].isdigit(), f"axe-core {wanted!r} is a range, not a version"
    assert lock["packages"][""]["dependencies"]["axe-core"] == wanted
    assert lock["packages"]["node_modules/axe-core"]["version"] == wanted
    assert "cd tests/browser && npm ci" in (folder.parent.parent / ".ci" / "run").read_text()
