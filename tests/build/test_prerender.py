"""``icalpub build`` renders the events' own parts in worker processes (``prerender``); the
site it publishes is the same bytes as a one-process build."""

import shutil
from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from icalpub.build import prerender as prerender_module
from icalpub.changes.publish import publish
from icalpub.cli import main
from icalpub.core.model import Tracked
from icalpub.load import load_events
from icalpub.site import build_site

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = datetime(2021, 1, 1, tzinfo=timezone.utc)


def test_workers_give_the_same_site(tmp_path, monkeypatch):
    """``icalpub build``'s render with 2 worker processes publishes the same bytes, ETags and
    state file as with 1 (which renders in this process)."""
    monkeypatch.setattr(prerender_module, "MIN_EVENTS", 0)  # the fixture is small
    sites = {}
    for workers in (1, 2):
        def render(outcome, workers=workers):
            cache = prerender_module.prerender(outcome.data, outcome.tracked, workers)
            assert cache.rendered == (len(outcome.data.events) if workers > 1 else 0)
            return build_site(outcome.data, outcome.tracked, cache=cache)

        shutil.copy(FIXTURES / "rich.yaml", tmp_path / f"e{workers}.yaml")
        sites[workers] = publish(load_events(tmp_path / f"e{workers}.yaml"),
                                 tmp_path / f"e{workers}.state.json", render, now=NOW,
                                 optimistic=True).site
    one, two = sites[1].resources, sites[2].resources
    assert sorted(one) == sorted(two)
    assert {p: (r.body, r.etag, r.content_type, r.download_name) for p, r in one.items()} == \
        {p: (r.body, r.etag, r.content_type, r.download_name) for p, r in two.items()}
    assert (tmp_path / "e1.state.json").read_bytes() == (tmp_path / "e2.state.json").read_bytes()


def test_the_workers_render_every_event(monkeypatch, fixture_path):
    """Every event is rendered by the workers, so the build that reads their cache renders
    none itself, and gives the bytes of a one-process build."""
    monkeypatch.setattr(prerender_module, "MIN_EVENTS", 0)
    data = load_events(fixture_path("rich.yaml"))
    when = NOW
    tracked = {e.id: Tracked(i, when, when, when) for i, e in enumerate(data.events)}
    cache = prerender_module.prerender(data, tracked, 2)
    assert cache.rendered == len(data.events)
    site = build_site(data, tracked, cache=cache)
    assert cache.rendered == len(data.events)  # nothing rendered again in this process
    fresh = build_site(data, tracked)
    assert {p: r.body for p, r in site.resources.items()} == \
        {p: r.body for p, r in fresh.resources.items()}
    assert b"SEQUENCE:3" in site.get(f"events/{data.events[3].id}.ics").body


def test_small_files_and_one_job_render_in_process(fixture_path, monkeypatch):
    """Under MIN_EVENTS, or with one job, no process pool is started and nothing is
    prerendered: ``build_site`` renders every event itself."""
    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started")
    monkeypatch.setattr(prerender_module.multiprocessing, "get_context", no_pool)
    data = load_events(fixture_path("rich.yaml"))
    assert len(data.events) < prerender_module.MIN_EVENTS
    for workers in (2, 1):
        cache = prerender_module.prerender(data, {}, workers)
        assert cache.rendered == 0
        build_site(data, cache=cache)
        assert cache.rendered == len(data.events)


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
