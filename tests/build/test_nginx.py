"""The shipped deploy/nginx.conf serving a built tree with a real nginx (Debian's package).

nginx runs as a child process on 127.0.0.1 and a free port, with ``daemon off`` and every path
(pid, logs, temp folders) under tmp_path; only ``listen`` and ``root`` of the shipped file are
rewritten. Every file of the tree is fetched back and compared with what the Flask app serves.
Skipped on a developer machine without nginx; under CI (``CI=true``) a missing nginx fails.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from icalpub.serve.app import create_app
from tracking_helpers import ROOT, T0, FakeClock, copy_fixture, url_of

pytestmark = pytest.mark.nginx


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found:
        return found
    message = "nginx is not installed (Debian: apt-get install -y nginx; .ci/run does it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config(tree: Path, prefix: Path, port: int) -> str:
    server = (ROOT / "deploy" / "nginx.conf").read_text()
    server, n_listen = re.subn(r"(?m)^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{port};", server)
    server, n_root = re.subn(r"(?m)^(\s*)root\s+\S+;", rf"\1root {tree};", server)
    assert (n_listen, n_root) == (1, 1), "deploy/nginx.conf must keep one `listen 80;` and one `root`"
    temps = "\n".join(f"    {kind}_temp_path {prefix}/{kind};"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # tmp_path is private to this user
    return (f"daemon off;\n{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    access_log off;\n{temps}\n{server}\n}}\n")


@pytest.fixture
def built(tmp_path):
    events = copy_fixture(tmp_path, "events.yaml", source=ROOT)
    shutil.copy(ROOT / "events.state.json", tmp_path / "events.state.json")
    from click.testing import CliRunner
    from icalpub.cli import main
    # built on the day the app's clock says (FakeClock), so pages agree
    result = CliRunner(env={"SOURCE_DATE_EPOCH": str(int(T0.timestamp()))}).invoke(
        main, ["build", "--events", str(events), "--out", str(tmp_path / "public")])
    assert result.exit_code == 0, result.output
    return events, tmp_path / "public"


@pytest.fixture
def nginx(built, tmp_path):
    binary = nginx_binary()
    _, tree = built
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(config(tree, prefix, port))
    check = subprocess.run([binary, "-t", "-p", str(prefix), "-e", str(prefix / "error.log"),
                            "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([binary, "-p", str(prefix), "-e", str(prefix / "error.log"),
                             "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, proc.communicate()[0].decode()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def fetch(port: int, path: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_nginx_serves_every_built_file_like_the_app(built, nginx):
    events, tree = built
    manifest = json.loads((tree / "manifest.json").read_bytes())
    assert manifest["cache_control"] == "public, max-age=43200"  # what deploy/nginx.conf says
    app = create_app({"TESTING": True, "EVENTS_PATH": str(events), "CLOCK": FakeClock()})
    client = app.test_client()
    assert set(manifest["files"]) == set(app.extensions["icalpub"].snapshot.site.resources)

    for path, entry in manifest["files"].items():
        url = url_of(path)  # pages: /events/<id>/ for events/<id>/index.html
        status, headers, body = fetch(nginx, url)
        assert status == 200, path
        app_response = client.get(url)
        assert body == (tree / entry["file"]).read_bytes() == app_response.data, path
        flask = app_response.headers
        assert headers["content-type"] == flask["Content-Type"] == entry["content_type"], path
        if path.endswith(".ics"):
            assert headers["content-type"] == "text/calendar; charset=utf-8"
        assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', headers["etag"]), headers["etag"]
        # deploy/nginx.conf: pages for minutes, calendars for calendar.refresh
        assert headers["cache-control"] == flask["Cache-Control"] == entry["cache_control"] \
            == ("public, max-age=300" if entry["file"].endswith(".html") else "public, max-age=43200")
        assert headers["last-modified"] == flask["Last-Modified"], path
        assert headers["x-content-type-options"] == "nosniff"
        for name in ("Content-Disposition", "Content-Security-Policy", "Referrer-Policy"):
            assert headers.get(name.lower()) == flask.get(name), (path, name)
        # revalidation the way calendar clients do it
        assert fetch(nginx, url, {"If-None-Match": headers["etag"]})[0] == 304
        assert fetch(nginx, url, {"If-Modified-Since": headers["last-modified"]})[0] == 304
        if url.endswith("/") and url != "/":  # pages also answer without the slash
            assert fetch(nginx, url.rstrip("/"))[2] == body


def test_nginx_gzips_feeds(built, nginx):
    _, tree = built
    status, headers, body = fetch(nginx, "/feeds/all.ics", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == (tree / "feeds/all.ics").read_bytes()
    assert len(body) < len(gzip.decompress(body)) / 2


def test_nginx_serves_nothing_else(built, nginx):
    for path in ("/manifest.json", "/feeds/", "/feeds/topics/nope.ics", "/events.state.json",
                 "/feeds/../events.yaml", "/feeds/topics/..%2F..%2Fmanifest.json"):
        status, _, _ = fetch(nginx, path)
        assert status in (400, 404), (path, status)


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_missing_nginx_fails_under_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="nginx is not installed"):
        nginx_binary()


def test_nginx_serves_html_pages_at_their_app_urls(built, nginx):
    """Pages (the pages issue) are written as <path>/index.html; nginx answers at <path>."""
    _, tree = built
    page = tree / "events" / "demo" / "index.html"
    page.parent.mkdir()
    page.write_bytes(b"<!doctype html><title>Demo</title>")
    status, headers, body = fetch(nginx, "/events/demo")
    assert (status, body) == (200, page.read_bytes())
    assert headers["content-type"] == "text/html; charset=utf-8"
