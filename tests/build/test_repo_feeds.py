"""``feeds/`` at the top of the repository: the bundled events.yaml's calendars, committed so
that a git host serves them as subscription URLs, and written by one command
(``make feeds``: ``icalpub build --events events.yaml --out public --ics-out feeds``).

The committed files must be what that command writes now: a build of a copy of events.yaml
and events.state.json gives the same files, byte for byte. (The calendars depend on the day
only through ``calendar.feeds.past``, which the bundled file does not set; the test builds
for today, as ``make feeds`` does.) When it fails, run ``make feeds`` and commit feeds/ with
events.state.json.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from icalpub.build.icsdir import calendar_files, write_calendars
from icalpub.cli import main
from icalpub.core.errors import ExportError
from icalpub.load import load_events

ROOT = Path(__file__).parent.parent.parent
COMMITTED = ROOT / "feeds"
FIXTURES = ROOT / "tests" / "fixtures"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build(events: Path, *extra: str) -> str:
    result = CliRunner().invoke(main, ["build", "--events", str(events), "--out",
                                       str(events.parent / "public"), "--jobs", "1", *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_committed_feeds_are_what_make_feeds_writes(tmp_path):
    for name in ("events.yaml", "events.state.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    build(tmp_path / "events.yaml", "--ics-out", str(tmp_path / "feeds"))
    assert tree(COMMITTED) == tree(tmp_path / "feeds"), (
        "feeds/ is stale: run `make feeds` and commit feeds/ and events.state.json")


def test_the_committed_feeds_are_every_calendar_of_the_bundled_file():
    data = load_events(ROOT / "events.yaml")
    names = set(tree(COMMITTED))
    assert names == {"all.ics", *(f"topics/{t}.ics" for t in data.topics),
                     *(f"organisers/{o}.ics" for o in data.organisers),
                     *(f"events/{e.id}.ics" for e in data.events)}
    assert b"\r\nEND:VCALENDAR\r\n" in (COMMITTED / "all.ics").read_bytes()


def test_make_feeds_is_the_documented_command():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nfeeds: $(STAMP)\n\t$(BIN)/icalpub build --events events.yaml --out public " \
           "--ics-out feeds\n" in makefile
    readme = (ROOT / "README.md").read_text()
    assert "make feeds" in readme and "--ics-out feeds" in readme


def test_ics_out_holds_the_site_calendars_with_the_web_tree_bytes(tmp_path):
    events = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "rich.yaml", events)
    output = build(events, "--ics-out", str(tmp_path / "cals"))
    copied = tree(tmp_path / "cals")
    public = tmp_path / "public"
    assert copied, output
    for name, body in copied.items():
        web = public / ("feeds/" + name if not name.startswith("events/") else name)
        assert web.read_bytes() == body, name
    web_calendars = {p.relative_to(public).as_posix() for p in public.rglob("*.ics")}
    assert len(web_calendars) == len(copied)
    assert f"cals/: {len(copied)} calendars written, 0 unchanged, 0 removed" in output


def test_unchanged_files_are_left_alone_and_gone_calendars_removed(tmp_path):
    events = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "rich.yaml", events)
    cals = tmp_path / "cals"
    build(events, "--ics-out", str(cals))
    first = tree(cals)
    os.utime(cals / "all.ics", (0, 0))
    (cals / "topics" / "gone.ics").write_bytes(b"old")
    (cals / "README.md").write_text("kept: not a calendar")
    output = build(events, "--ics-out", str(cals))
    assert (cals / "all.ics").stat().st_mtime == 0  # not rewritten
    assert not (cals / "topics" / "gone.ics").exists()
    assert (cals / "README.md").read_text() == "kept: not a calendar"
    assert tree(cals) == {**first, "README.md": b"kept: not a calendar"}
    assert f"cals/: 0 calendars written, {len(first)} unchanged, 1 removed" in output


def test_a_changed_calendar_is_rewritten(tmp_path):
    events = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", events)
    cals = tmp_path / "cals"
    build(events, "--ics-out", str(cals))
    before = tree(cals)
    (cals / "all.ics").write_bytes(b"edited by hand")
    build(events, "--ics-out", str(cals))
    assert tree(cals) == before


def test_a_folder_that_cannot_be_written_is_a_message(tmp_path):
    events = tmp_path / "events.yaml"
    shutil.copy(FIXTURES / "minimal.yaml", events)
    (tmp_path / "cals").write_text("a file, not a folder")
    result = CliRunner().invoke(main, ["build", "--events", str(events), "--out",
                                       str(tmp_path / "public"), "--jobs", "1",
                                       "--ics-out", str(tmp_path / "cals" / "sub")])
    assert result.exit_code == 1
    assert "the build itself is complete" in result.output
    assert "Traceback" not in result.output


def test_two_calendars_on_one_name_are_refused():
    class FakeSite:
        resources = {"feeds/events/x.ics": type("R", (), {"body": b"a"})(),
                     "events/x.ics": type("R", (), {"body": b"b"})()}

    with pytest.raises(ExportError, match="two calendars would be events/x.ics"):
        calendar_files(FakeSite())  # type: ignore[arg-type]
    with pytest.raises(ExportError):
        write_calendars(FakeSite(), "/nonexistent-never-written")  # type: ignore[arg-type]
