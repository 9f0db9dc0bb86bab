"""``icalpub build``: the static tree is the app's bytes, deterministic, atomic, minimal."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from parsers import parse_all
from tracking_helpers import ROOT, T0, FakeClock, copy_fixture, edit, url_of

from icalpub.build import export as export_module
from icalpub.build.export import export, file_for
from icalpub.changes.publish import publish
from icalpub.changes.state import state_path_for
from icalpub.cli import main
from icalpub.core.errors import ExportError
from icalpub.load import load_events
from icalpub.serve.app import create_app
from icalpub.site import build_site

#: The files issue 4 names (pages, jCal and static assets of issue 3 come on top of these).
CALENDAR_FILES = sorted([
    "events/cancelled-talk.ics", "events/new-york-meetup.ics", "events/summer-school.ics",
    "events/summer-workshop.ics", "events/utc-briefing.ics", "events/weekly-call.ics",
    "events/winter-webinar.ics", "feeds.json", "feeds/all.ics", "feeds/organisers/acme.ics",
    "feeds/organisers/nobody.ics", "feeds/organisers/river.ics", "feeds/topics/circular.ics",
    "feeds/topics/procurement.ics", "manifest.json",
])


def expected_files(events: Path) -> list[str]:
    """Every resource the site has on T0's day (as ``cli_build`` makes it), plus the manifest."""
    data = load_events(events)
    return sorted([*build_site(data, as_of=data.calendar.today(T0)).resources, "manifest.json"])


def tree(root: Path, *, gz: bool = False) -> dict[str, bytes]:
    """The files of a built tree; without the precompressed ``.gz`` siblings unless ``gz``."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and (gz or p.suffix != ".gz")}


def render(outcome, when: datetime = T0):
    """The site for ``when``'s day, as ``icalpub build`` renders it."""
    return build_site(outcome.data, outcome.tracked, as_of=outcome.data.calendar.today(when))


def build(events: Path, out: Path, when: datetime = T0):
    result = publish(load_events(events), state_path_for(events),
                     lambda outcome: render(outcome, when), now=when)
    return result, export(result.site, result.modified, out)


def cli_build(events: Path, out: Path, epoch: int = int(T0.timestamp())):
    result = CliRunner(env={"SOURCE_DATE_EPOCH": str(epoch)}).invoke(
        main, ["build", "--events", str(events), "--out", str(out)])
    return result


@pytest.fixture
def events(tmp_path):
    return copy_fixture(tmp_path)


def test_build_writes_the_web_root(events, tmp_path):
    result = cli_build(events, tmp_path / "public")
    assert result.exit_code == 0, result.output
    files = sorted(tree(tmp_path / "public"))
    assert set(CALENDAR_FILES) <= set(files)
    assert files == expected_files(events)
    written = len(tree(tmp_path / "public", gz=True))
    assert result.output.splitlines()[-1] == \
        f"{tmp_path / 'public'}/: {written} files written, 0 unchanged, 0 removed"
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        [".events.state.json.lock", ".public.lock", "events.state.json", "events.yaml", "public"]


@pytest.mark.parametrize("source", ["minimal", "bundled"])
def test_every_file_is_what_the_app_serves(tmp_path, source):
    """Parity: build, then ask the Flask test client for every path the site has."""
    events = copy_fixture(tmp_path) if source == "minimal" else \
        copy_fixture(tmp_path, "events.yaml", source=ROOT)
    if source == "bundled":
        shutil.copy(ROOT / "events.state.json", tmp_path / "events.state.json")
    out = tmp_path / "public"
    assert cli_build(events, out).exit_code == 0
    app = create_app({"TESTING": True, "EVENTS_PATH": str(events), "CLOCK": FakeClock()})
    client = app.test_client()
    paths = set(app.extensions["icalpub"].snapshot.site.resources)
    files = tree(out)
    assert set(files) == paths | {"manifest.json"}
    manifest = json.loads(files["manifest.json"])
    for path in paths:
        response = client.get(url_of(path))
        assert response.status_code == 200, path
        assert files[file_for(path, response.headers["Content-Type"])] == response.data, path
        entry = manifest["files"][path]
        assert entry["content_type"] == response.headers["Content-Type"]
        assert f'"{entry["etag"]}"' == response.headers["ETag"]
        moment = datetime.fromtimestamp((out / path).stat().st_mtime, timezone.utc)
        assert format_datetime(moment, usegmt=True) == response.headers["Last-Modified"], path
        assert entry["cache_control"] == response.headers["Cache-Control"]
        if "download_name" in entry:
            assert response.headers["Content-Disposition"] == \
                f'attachment; filename="{entry["download_name"]}"'


def test_manifest_describes_every_file(events, tmp_path):
    build(events, tmp_path / "public")
    files = tree(tmp_path / "public")
    manifest = json.loads(files.pop("manifest.json"))
    assert {e["file"] for e in manifest["files"].values()} == set(files)
    for path, entry in manifest["files"].items():
        body = files[entry["file"]]
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["size"] == len(body)
        assert entry["sha256"].startswith(entry["etag"])


def test_building_twice_gives_identical_trees(tmp_path):
    trees = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        events = copy_fixture(folder)
        build(events, folder / "public")
        trees.append(tree(folder / "public"))
    assert trees[0] == trees[1]
    digests = [{p: hashlib.sha256(b).hexdigest() for p, b in t.items()} for t in trees]
    assert digests[0] == digests[1]


def test_rebuild_rewrites_only_changed_files(events, tmp_path):
    out = tmp_path / "public"
    build(events, out)
    before = {p: (out / p).stat() for p in tree(out)}
    report = build(events, out, T0.replace(hour=18))[1]
    assert report.written == () and len(report.unchanged) == len(tree(out, gz=True))
    for path, st in before.items():
        assert (out / path).stat().st_ino == st.st_ino, path

    edit(events, "title: Summer school (all day)", "title: Summer school (all days)")
    report = build(events, out, T0.replace(hour=19))[1]
    mentions = {p for p, body in tree(out).items() if b"Summer school (all days)" in body}
    # and feeds.json, which gives each feed's size
    assert {w for w in report.written if not w.endswith(".gz")} == \
        mentions | {"manifest.json", "feeds.json"}
    assert {"events/summer-school.ics", "feeds/all.ics", "feeds/organisers/nobody.ics"} <= mentions
    assert "feeds/topics/circular.ics" not in mentions
    for path, st in before.items():
        same_inode = (out / path).stat().st_ino == st.st_ino
        assert same_inode == (path not in report.written), path
    assert (out / "feeds/all.ics").stat().st_mtime == T0.replace(hour=19).timestamp()
    assert (out / "feeds/topics/circular.ics").stat().st_mtime == T0.timestamp()


def test_feeds_of_removed_topics_and_organisers_are_deleted(events, tmp_path):
    out = tmp_path / "public"
    build(events, out)
    text = events.read_text()
    text = text.replace("  nobody:\n    name: Nobody Ltd\n", "")
    text = text.replace("    organisers: [nobody]\n", "")
    text = text.replace("  procurement:\n    name: Public procurement\n", "")
    text = text.replace("topics: [circular, procurement]", "topics: [circular]")
    text = text.replace("    topics: [procurement]\n", "")
    events.write_text(text)
    report = build(events, out)[1]
    assert {"feeds/organisers/nobody.ics", "feeds/topics/procurement.ics"} <= set(report.removed)
    assert all("nobody" in p or "procurement" in p for p in report.removed), report.removed
    assert not (out / "feeds/topics/procurement.ics").exists()
    assert not (out / "feeds/organisers/nobody.ics").exists()
    slugs = [f["slug"] for f in json.loads((out / "feeds.json").read_text())["feeds"]]
    assert slugs == ["all", "circular", "acme", "river"]


def test_a_failing_build_leaves_the_previous_tree(events, tmp_path, monkeypatch):
    out = tmp_path / "public"
    build(events, out)
    before = tree(out)
    edit(events, "title: Winter webinar", "title: Winter webinar (new)")
    calls = []

    def fail_midway(target, body):
        calls.append(target)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        real_write(target, body)
    real_write = export_module.write_file
    monkeypatch.setattr(export_module, "write_file", fail_midway)
    with pytest.raises(ExportError, match="No space left"):
        build(events, out, T0.replace(hour=20))
    # files are written by several threads: the others stop at their next file, not at once
    assert 4 <= len(calls) < len(tree(out, gz=True))
    assert tree(out) == before
    assert not list(tmp_path.glob(".public.tmp-*"))
    monkeypatch.undo()
    build(events, out, T0.replace(hour=21))
    assert b"Winter webinar (new)" in (out / "feeds/all.ics").read_bytes()


def test_an_interrupted_build_is_cleaned_up_by_the_next(events, tmp_path):
    out = tmp_path / "public"
    build(events, out)
    leftover = tmp_path / ".public.tmp-99999"
    (leftover / "feeds").mkdir(parents=True)
    (leftover / "feeds" / "all.ics").write_bytes(b"half")
    before = tree(out)
    build(events, out)
    assert tree(out) == before and not leftover.exists()


def test_the_swap_is_one_rename(events, tmp_path, monkeypatch):
    """While the new tree is swapped in, the output path always names a complete tree."""
    out = tmp_path / "public"
    build(events, out)
    seen = []
    real = export_module._exchange
    expected = expected_files(events)

    def watch(a, b):
        seen.append(sorted(tree(b)) == expected)
        done = real(a, b)
        seen.append(sorted(tree(b)) == expected)
        return done
    monkeypatch.setattr(export_module, "_exchange", watch)
    edit(events, "title: Winter webinar", "title: Winter webinar (new)")
    build(events, out, T0.replace(hour=22))
    assert seen == [True, True]
    assert b"Winter webinar (new)" in (out / "feeds/all.ics").read_bytes()


def test_build_refuses_a_folder_it_did_not_write(events, tmp_path):
    out = tmp_path / "docs"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    result = cli_build(events, out)
    assert result.exit_code == 1
    assert "is not empty and holds no manifest.json" in result.output
    assert (out / "precious.txt").read_text() == "keep me"
    with pytest.raises(ExportError):
        build(events, out)


def test_build_reports_an_invalid_events_file(events, tmp_path):
    events.write_text(events.read_text().replace("title: Winter webinar", "titel: Winter webinar"))
    result = cli_build(events, tmp_path / "public")
    assert result.exit_code == 1
    assert "unknown key; did you mean 'title'?" in result.output
    assert not (tmp_path / "public").exists() and not state_path_for(events).exists()


def test_file_for_refuses_escapes():
    assert file_for("feeds/all.ics", "text/calendar; charset=utf-8") == "feeds/all.ics"
    assert file_for("") == "index.html"
    assert file_for("topics/") == "topics/index.html"
    assert file_for("events/summer-school", "text/html; charset=utf-8") == \
        "events/summer-school/index.html"
    for bad in ("../x.ics", "/etc/passwd", "feeds/../../x", "a\\b"):
        with pytest.raises(ValueError):
            file_for(bad)


def test_every_written_calendar_parses_with_three_parsers(tmp_path):
    events = copy_fixture(tmp_path, "events.yaml", source=ROOT)
    shutil.copy(ROOT / "events.state.json", tmp_path / "events.state.json")
    out = tmp_path / "public"
    build(events, out)
    calendars = {p: b for p, b in tree(out).items() if p.endswith(".ics")}
    feeds = json.loads((out / "feeds.json").read_text())["feeds"]
    assert len(calendars) == len(feeds) + len(load_events(events).events)
    for path, body in calendars.items():
        parsed = parse_all(body)
        assert parsed["icalendar"].keys() == parsed["vobject"].keys() == parsed["ical"].keys(), path
        for uid, ev in parsed["icalendar"].items():
            for other in ("vobject", "ical"):
                twin = parsed[other][uid]
                assert (twin.start, twin.end, twin.status) == (ev.start, ev.end, ev.status), (path, other)
    everything = parse_all(calendars["feeds/all.ics"])["vobject"]
    utc = timezone.utc
    first = everything["minerals-in-electronics-procurement@127.0.0.1"]
    assert (first.start, first.end) == (datetime(2021, 1, 19, 13, tzinfo=utc),
                                        datetime(2021, 1, 19, 15, tzinfo=utc))
    p2i = everything["procure2innovate-innovation-procurement@127.0.0.1"]
    assert (p2i.start, p2i.end) == (datetime(2021, 1, 22, 10, 15, tzinfo=utc),
                                    datetime(2021, 1, 22, 11, 30, tzinfo=utc))


def test_cancelled_and_removed_events_parse_everywhere(events, tmp_path):
    clock = FakeClock()
    build(events, tmp_path / "public", clock())
    text = events.read_text()
    events.write_text(text.replace("  - id: weekly-call", "  - id: weekly-call-gone", 1))
    build(events, tmp_path / "public", clock.advance(days=1))
    body = (tmp_path / "public/feeds/all.ics").read_bytes()
    for name, found in parse_all(body).items():
        assert found["weekly-call@events.example.org"].status == "CANCELLED", name
        assert found["cancelled-talk@events.example.org"].status == "CANCELLED", name
        assert found["weekly-call-gone@events.example.org"].status == "CONFIRMED", name
    invite = (tmp_path / "public/events/weekly-call.ics").read_bytes()
    assert b"METHOD:CANCEL" in invite and b"RRULE:FREQ=WEEKLY;COUNT=6" in invite
    for name, found in parse_all(invite).items():
        assert found["weekly-call@events.example.org"].status == "CANCELLED", name


def test_serve_static_answers_like_the_app(events, tmp_path):
    out = tmp_path / "public"
    clock = FakeClock()
    build(events, out, clock())
    live = create_app({"TESTING": True, "EVENTS_PATH": str(events), "CLOCK": clock}).test_client()
    static = create_app({"TESTING": True, "STATIC_DIR": str(out)}).test_client()
    manifest = json.loads((out / "manifest.json").read_text())
    for path in manifest["files"]:
        a, b = live.get(url_of(path)), static.get(url_of(path))
        assert (a.status_code, a.data) == (b.status_code, b.data) == (200, b.data), path
        for header in ("Content-Type", "ETag", "Last-Modified", "Cache-Control",
                       "Content-Disposition", "Content-Security-Policy"):
            assert a.headers.get(header) == b.headers.get(header), (path, header)
        assert static.get(url_of(path), headers={"If-None-Match": b.headers["ETag"]}).status_code == 304
        assert static.head(url_of(path)).headers["ETag"] == b.headers["ETag"]
    for bad in ("/manifest.json", "/feeds/../manifest.json", "/feeds/topics/..%2F..%2Fmanifest.json.ics",
                "/events/%2e%2e%2fevents.yaml.ics", "/feeds/topics/nope.ics", "/events.state.json"):
        response = static.get(bad)
        assert response.status_code == 404, bad
    # a built tree answers a query string like a static server: with the unfiltered file
    assert static.get("/feeds/all.ics?q=winter").data == (out / "feeds/all.ics").read_bytes()
    # a new build is picked up
    edit(events, "title: Winter webinar", "title: Winter webinar (new)")
    build(events, out, clock.advance(hours=1))
    assert b"Winter webinar (new)" in static.get("/feeds/all.ics").data


def test_serve_static_needs_a_built_tree(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match="manifest.json: not found; build the tree first"):
        create_app({"TESTING": True, "STATIC_DIR": str(tmp_path / "empty")})
    result = CliRunner().invoke(main, ["serve", "--static", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "icalpub build --out" in result.output


def test_fallback_swap_without_renameat2(events, tmp_path, monkeypatch):
    out = tmp_path / "public"
    build(events, out)
    monkeypatch.setattr(export_module, "_exchange", lambda a, b: False)
    edit(events, "title: Winter webinar", "title: Winter webinar (new)")
    build(events, out, T0.replace(hour=23))
    assert b"Winter webinar (new)" in (out / "feeds/all.ics").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".public")) == [".public.lock"]
    assert os.listdir(out)


def test_pages_and_odd_types_are_written_where_static_servers_find_them(events, tmp_path):
    """Resources the pages issue adds (HTML without an extension) get <path>/index.html, and a
    path whose extension a static server maps to another type is reported."""
    from icalpub.site import Resource

    result = publish(load_events(events), state_path_for(events), render, now=T0)
    extra = {"": Resource("", b"<!doctype html><title>Events</title>", "text/html; charset=utf-8"),
             "events/summer-school": Resource("events/summer-school", b"<!doctype html>",
                                              "text/html; charset=utf-8"),
             "feeds/all.xml": Resource("feeds/all.xml", b"{}", "application/json")}
    site = dataclasses.replace(result.site, resources={**result.site.resources, **extra})
    modified = {**result.modified, **{p: T0 for p in extra}}
    report = export(site, modified, tmp_path / "public")
    files = tree(tmp_path / "public")
    assert files["index.html"].startswith(b"<!doctype html><title>Events")
    assert "events/summer-school/index.html" in files and "events/summer-school.ics" in files
    assert report.warnings == ("feeds/all.xml: served by the app as application/json, but a "
                               "static server would send a guessed type; give the path a "
                               "matching extension",)
    static = create_app({"TESTING": True, "STATIC_DIR": str(tmp_path / "public")}).test_client()
    page = static.get("/" + "events/summer-school.ics")
    assert page.status_code == 200 and page.data == files["events/summer-school.ics"]


def test_a_symlinked_web_root_keeps_its_link(events, tmp_path):
    real = tmp_path / "srv" / "public"
    build(events, real)
    link = tmp_path / "public"
    link.symlink_to(real)
    edit(events, "title: Winter webinar", "title: Winter webinar (new)")
    build(events, link, T0.replace(hour=23))
    assert link.is_symlink()
    assert b"Winter webinar (new)" in (link / "feeds/all.ics").read_bytes()


def test_compressible_files_have_gz_siblings_for_gzip_static(events, tmp_path):
    import gzip

    build(events, tmp_path / "public")
    plain, everything = tree(tmp_path / "public"), tree(tmp_path / "public", gz=True)
    siblings = {name[:-3] for name in everything if name.endswith(".gz")}
    assert {"feeds/all.ics", "feeds.json", "index.html", "events/winter-webinar.ics"} <= siblings
    assert siblings <= set(plain)
    for name in siblings:
        assert gzip.decompress(everything[name + ".gz"]) == plain[name], name


def test_parallel_and_single_threaded_builds_give_the_same_tree(tmp_path):
    """The thread pool changes when files are written, never what: bytes, names and mtimes."""
    trees = []
    for threads in (1, 4):
        folder = tmp_path / str(threads)
        folder.mkdir()
        events = copy_fixture(folder, "events.yaml", source=ROOT)
        shutil.copy(ROOT / "events.state.json", folder / "events.state.json")
        result = publish(load_events(events), state_path_for(events), render, now=T0)
        report = export(result.site, result.modified, folder / "public", threads=threads)
        files = tree(folder / "public", gz=True)
        mtimes = {p: (folder / "public" / p).stat().st_mtime for p in files}
        trees.append((files, mtimes, report.written))
    assert trees[0] == trees[1]
    assert list(trees[0][2]) == sorted(trees[0][2])  # the Report lists files in name order


def test_a_failing_worker_leaves_the_previous_tree(events, tmp_path, monkeypatch):
    """A failure while compressing in a worker thread: nothing of the new tree is kept."""
    out = tmp_path / "public"
    build(events, out)
    before = tree(out, gz=True)
    edit(events, "title: Winter webinar", "title: Winter webinar (new)")
    real = export_module.gzip_body

    def broken(body):
        if b"SOURCE:https://events.example.org/feeds/all.ics\r\n" in body:  # feeds/all.ics
            raise MemoryError("compressing")
        return real(body)
    monkeypatch.setattr(export_module, "gzip_body", broken)
    with pytest.raises(MemoryError):
        build(events, out, T0.replace(hour=20))
    assert tree(out, gz=True) == before
    assert not list(tmp_path.glob(".public.tmp-*"))


def test_manifest_is_one_file_per_line(events, tmp_path):
    build(events, tmp_path / "public")
    text = (tmp_path / "public/manifest.json").read_text()
    document = json.loads(text)
    lines = text.splitlines()
    assert len(lines) == len(document["files"]) + 4
    assert list(document) == sorted(document) and list(document["files"]) == sorted(document["files"])


def test_a_rebuild_does_not_compress_unchanged_files_again(events, tmp_path, monkeypatch):
    out = tmp_path / "public"
    build(events, out)
    before = {p: (out / p).stat().st_ino for p in tree(out, gz=True)}
    bodies = []
    real = export_module.gzip_body
    monkeypatch.setattr(export_module, "gzip_body", lambda body: bodies.append(body) or real(body))

    def compressed():
        """The files whose bytes were compressed (by the body handed to ``gzip_body``)."""
        return {name for name, body in tree(out).items() if body in bodies}

    report = build(events, out, T0.replace(hour=18))[1]
    assert bodies == [] and report.written == ()
    assert {p: (out / p).stat().st_ino for p in tree(out, gz=True)} == before

    # a damaged sibling (same mtime) is not trusted: compressed again and rewritten
    damaged = out / "feeds/topics/circular.ics.gz"
    stamp = damaged.stat().st_mtime
    damaged.unlink()
    damaged.write_bytes(b"\x1f\x8b not gzip")
    os.utime(damaged, (stamp, stamp))
    edit(events, "title: Summer school (all day)", "title: Summer school (all days)")
    report = build(events, out, T0.replace(hour=19))[1]
    assert {"feeds/all.ics", "feeds/topics/circular.ics"} <= compressed()
    assert {"feeds/all.ics.gz", "feeds/topics/circular.ics.gz"} <= set(report.written)
    kept = {name.removesuffix(".gz") for name in report.unchanged if name.endswith(".gz")}
    assert kept and not kept & compressed()
    for name in ("feeds/all.ics", "feeds/topics/circular.ics"):
        assert gzip.decompress((out / f"{name}.gz").read_bytes()) == (out / name).read_bytes()
