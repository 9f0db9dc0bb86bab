"""``icalpub build`` renders the events' own parts in worker processes (``prerender``); the
site it publishes is the same bytes as a one-process build."""

import shutil
from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from icalpub.build import prerender as prerender_module
from icalpub.cli import main
from icalpub.load import load_events
from icalpub.memo import Memo
from icalpub.changes.publish import publish

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = datetime(2021, 1, 1, tzinfo=timezone.utc)


def test_workers_give_the_same_site(tmp_path, monkeypatch):
    monkeypatch.setattr(prerender_module, "MIN_EVENTS", 0)  # the fixture is small
    sites = {}
    for workers in (1, 2):
        shutil.copy(FIXTURES / "rich.yaml", tmp_path / f"e{workers}.yaml")
        sites[workers] = publish(load_events(tmp_path / f"e{workers}.yaml"),
                                 tmp_path / f"e{workers}.state.json", now=NOW,
                                 workers=workers).site
    one, two = sites[1].resources, sites[2].resources
    assert sorted(one) == sorted(two)
    assert all(one[path].body == two[path].body for path in one)
    assert (tmp_path / "e1.state.json").read_bytes() == (tmp_path / "e2.state.json").read_bytes()


def test_the_workers_render_every_event(monkeypatch, fixture_path):
    monkeypatch.setattr(prerender_module, "MIN_EVENTS", 0)
    data = load_events(fixture_path("rich.yaml"))
    memo = Memo()
    assert prerender_module.prerender(data, {}, memo, 2) == len(data.events)
    for kind in ("VEVENT", "invite", "view", "card", "event page"):
        assert memo.computed[kind] == len(data.events), kind


def test_small_files_and_one_job_render_in_process(fixture_path):
    data = load_events(fixture_path("rich.yaml"))
    assert prerender_module.prerender(data, {}, Memo(), 2) == 0  # under MIN_EVENTS
    assert prerender_module.prerender(data, {}, Memo(), 1) == 0


def test_build_jobs_option(tmp_path, monkeypatch):
    monkeypatch.setattr(prerender_module, "MIN_EVENTS", 0)
    trees = {}
    for jobs in ("1", "2"):
        folder = tmp_path / jobs
        folder.mkdir()
        shutil.copy(FIXTURES / "rich.yaml", folder / "events.yaml")
        result = CliRunner().invoke(main, ["build", "--events", str(folder / "events.yaml"),
                                           "--out", str(folder / "public"), "--jobs", jobs],
                                    env={"SOURCE_DATE_EPOCH": "1600000000"})
        assert result.exit_code == 0, result.output
        trees[jobs] = {p.relative_to(folder / "public"): p.read_bytes()
                       for p in (folder / "public").rglob("*") if p.is_file()}
    assert trees["1"] == trees["2"]
    bad = CliRunner().invoke(main, ["build", "--jobs", "0"])
    assert bad.exit_code == 2 and "--jobs" in bad.output
