"""How the browser tests find Chromium, and what happens when they cannot: skip on a
developer's machine, fail in CI (``CI=true``), so a CI image without a browser never passes."""

from __future__ import annotations

import os

import pytest

CHROMIUM = os.environ.get("ICALPUB_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def unavailable(reason: str) -> None:
    """Stop the current test: ``pytest.fail`` in CI, ``pytest.skip`` elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)
