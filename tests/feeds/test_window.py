"""Feeds that calendar apps can read at any size: ``calendar.feeds.past`` bounds them, and
``check`` and ``build`` warn when a feed is larger than Google Calendar reads (about 1 MB).

End to end through the command line, on a generated file of 1,000 events (2018–2029) whose
feed of everything is over 1 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from icalpub.cli import main

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("window")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "1000",
                    str(folder / "events.yaml")], check=True)
    return folder


def build(folder: Path, name: str, as_of: str = "2024-06-01") -> tuple[str, Path]:
    out = folder / name
    result = CliRunner().invoke(main, ["build", "--events", str(folder / "events.yaml"),
                                       "--out", str(out), "--as-of", as_of, "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return result.output, out


def vevents(path: Path) -> dict[str, tuple[int, str]]:
    """UID -> (SEQUENCE, STATUS) of a feed."""
    return {str(e["UID"]): (int(e["SEQUENCE"]), str(e["STATUS"]))
            for e in Calendar.from_ical(path.read_bytes()).walk("VEVENT")}


def test_a_feed_over_a_megabyte_warns_and_feeds_past_bounds_it(generated):
    output, whole = build(generated, "whole")
    size = (whole / "feeds/all.ics").stat().st_size
    assert size > 1_000_000
    assert f"warning: feeds/all.ics is {size / 1e6:.1f} MB with 1,000 events; Google Calendar " \
           "stops reading a subscribed feed at about 1 MB: set `feeds: {past: P90D}` in the " \
           "calendar section" in output
    listed = json.loads((whole / "feeds.json").read_text())["feeds"][0]
    assert (listed["kind"], listed["event_count"], listed["bytes"]) == ("all", 1000, size)
    check = CliRunner().invoke(main, ["check", str(generated / "events.yaml")])
    assert "warning: feeds/all.ics is" in check.output

    before = vevents(whole / "feeds/all.ics")
    text = (generated / "events.yaml").read_text()
    (generated / "events.yaml").write_text(text.replace("  refresh: PT12H\n",
                                                        "  refresh: PT12H\n  feeds:\n    past: P30D\n"))
    output, bounded = build(generated, "bounded")
    after = vevents(bounded / "feeds/all.ics")
    assert "warning: feeds/all.ics" not in output
    assert (bounded / "feeds/all.ics").stat().st_size < 1_000_000
    # the events kept are exactly those not over 30 days before 2024-06-01, with the very
    # SEQUENCE and STATUS they had: leaving a feed is not a change of the others
    assert 0 < len(after) < len(before)
    assert all(before[uid] == after[uid] for uid in after)
    dropped = set(before) - set(after)
    pages = {p.name for p in (bounded / "events").iterdir() if p.is_dir()}
    assert {uid.split("@")[0] for uid in dropped} <= pages  # pages keep every event
    assert json.loads((bounded / "feeds.json").read_text())["feeds"][0]["event_count"] == len(after)


def test_feeds_past_is_validated(tmp_path):
    text = (ROOT / "tests/fixtures/minimal.yaml").read_text()
    path = tmp_path / "events.yaml"
    path.write_text(text.replace("  base_url: https://events.example.org\n",
                                 "  base_url: https://events.example.org\n  feeds:\n    past: P6M\n"))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert "calendar.feeds: past: 'P6M' is not a duration" in result.output
