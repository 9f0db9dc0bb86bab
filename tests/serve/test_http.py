"""HTTP header rules end to end (Flask test client), and the WSGI fast path's parity with the
Flask routes: for every resource, the same status, body and headers either way."""

import gzip
import os
from pathlib import Path

import pytest
from werkzeug.test import Client

from icalpub.build.export import export
from icalpub.load import load_events
from icalpub.changes.publish import publish
from icalpub.serve.answers import ResourceMiddleware
from icalpub.serve.app import create_app
from icalpub.site import build_site, gzip_body

from tracking_helpers import FakeClock

FEED = "/feeds/all.ics"
CONDITIONAL = ("ETag", "Cache-Control", "Vary", "X-Content-Type-Options")


def url_of(path: str) -> list[str]:
    """Every URL the app serves ``path`` at: its own, and for a page (stored as
    ``<dir>/index.html``) its folder with and without the trailing slash."""
    if path == "index.html":
        return ["/", "/index.html"]
    if path.endswith("/index.html"):
        page = path.removesuffix("/index.html")
        return [f"/{page}", f"/{page}/", f"/{path}"]
    return [f"/{path}"]


def render(outcome):
    return build_site(outcome.data, outcome.tracked)


def published(events, state):
    return publish(load_events(events), state, render, now=FakeClock()())


def without_date(response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.items() if k != "Date"]


def test_head_has_the_headers_of_get_and_no_body(client):
    for headers in ({}, {"Accept-Encoding": "gzip"}):
        get, head = client.get(FEED, headers=headers), client.head(FEED, headers=headers)
        assert head.status_code == 200 and head.data == b""
        assert without_date(head) == without_date(get)
        assert int(head.headers["Content-Length"]) == len(get.data)


def test_full_and_gzip_headers(client, app):
    snapshot = app.extensions["icalpub"].snapshot
    resource = snapshot.get("feeds/all.ics")
    plain = client.get(FEED)
    assert without_date(plain) == [
        ("Content-Type", "text/calendar; charset=utf-8"),
        ("Content-Length", str(len(resource.body))), ("Vary", "Accept-Encoding"),
        ("ETag", f'"{resource.etag}"'), ("Last-Modified", plain.headers["Last-Modified"]),
        ("Cache-Control", "public, max-age=21600"), ("X-Content-Type-Options", "nosniff")]
    assert plain.last_modified == snapshot.resource_modified("feeds/all.ics")
    packed = client.get(FEED, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["ETag"] == f'"{resource.etag}-gz"'
    assert packed.headers["Content-Length"] == str(len(packed.data))
    assert gzip.decompress(packed.data) == plain.data
    for refused in ("gzip;q=0", "identity", "*;q=0", "*, gzip;q=0", ""):
        answer = client.get(FEED, headers={"Accept-Encoding": refused})
        assert "Content-Encoding" not in answer.headers and answer.data == plain.data, refused
    assert client.get(FEED, headers={"Accept-Encoding": "*"}).headers["Content-Encoding"] == "gzip"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_forms(client, method):
    etag = client.get(FEED).headers["ETag"]
    for value in (etag, "W/" + etag, "*", f'"x", {etag}', f'W/"x",W/{etag}', f' {etag} ,'):
        answer = client.open(FEED, method=method, headers={"If-None-Match": value})
        assert answer.status_code == 304 and answer.data == b"", value
        assert [k for k, _v in without_date(answer)] == ["Vary", "ETag", "Cache-Control",
                                                         "X-Content-Type-Options"]
        assert answer.headers["ETag"] == etag
    for value in ('"x"', '"x", "y"', etag[:-1] + '-gz"', f'"a,{etag[1:-1]}"', "garbage"):
        answer = client.open(FEED, method=method, headers={"If-None-Match": value})
        assert answer.status_code == 200, value


def test_if_modified_since(client):
    full = client.get(FEED)
    modified = full.headers["Last-Modified"]
    assert client.get(FEED, headers={"If-Modified-Since": modified}).status_code == 304
    newer = "Fri, 01 Jan 2100 00:00:00 GMT"
    older = "Sat, 01 Jan 2000 00:00:00 GMT"
    assert client.get(FEED, headers={"If-Modified-Since": newer}).status_code == 304
    assert client.get(FEED, headers={"If-Modified-Since": older}).data == full.data
    assert client.get(FEED, headers={"If-Modified-Since": "garbage"}).status_code == 200
    # If-None-Match takes precedence over If-Modified-Since
    assert client.get(FEED, headers={"If-Modified-Since": modified,
                                     "If-None-Match": '"x"'}).status_code == 200
    assert client.get(FEED, headers={"If-Modified-Since": older,
                                     "If-None-Match": full.headers["ETag"]}).status_code == 304
    not_modified = client.get(FEED, headers={"If-Modified-Since": modified})
    assert [(k, v) for k, v in without_date(not_modified)] == [
        (k, full.headers[k]) for k in ("Vary", "ETag", "Cache-Control", "X-Content-Type-Options")]


def test_if_match_that_fails_is_412(client):
    etag = client.get(FEED).headers["ETag"]
    failed = client.get(FEED, headers={"If-Match": '"x"'})
    assert failed.status_code == 412 and failed.headers["ETag"] == etag
    assert failed.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert failed.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(FEED, headers={"If-Match": etag}).status_code == 200


def test_page_and_invite_headers(client):
    page = client.get("/events/winter-webinar")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert client.get("/events/winter-webinar/").headers == page.headers
    invite = client.get("/events/winter-webinar.ics")
    assert invite.headers["Content-Disposition"] == 'attachment; filename="winter-webinar.ics"'
    not_modified = client.get("/events/winter-webinar.ics",
                              headers={"If-None-Match": invite.headers["ETag"]})
    assert not_modified.status_code == 304 and "Content-Disposition" not in not_modified.headers


def test_query_responses_use_the_same_headers(client, app):
    filtered = client.get(FEED + "?q=winter")
    assert filtered.status_code == 200 and filtered.data != client.get(FEED).data
    assert filtered.headers["Last-Modified"] == client.get(FEED).headers["Last-Modified"]
    assert filtered.headers["Vary"] == "Accept-Encoding"
    again = client.get(FEED + "?q=winter", headers={"If-None-Match": filtered.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == filtered.headers["ETag"]
    packed = client.get(FEED + "?q=winter", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(packed.data) == filtered.data


def rewrite(path: Path, old: str, new: str) -> None:
    before = os.stat(path).st_mtime_ns
    path.write_text(path.read_text().replace(old, new))
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_reload_serves_new_headers(events_file):
    clock = FakeClock()
    events = events_file()
    app = create_app({"TESTING": True, "EVENTS_PATH": str(events), "RELOAD_INTERVAL": 0,
                      "CLOCK": clock})
    client = app.test_client()
    first = client.get("/events/winter-webinar.ics", headers={"Accept-Encoding": "gzip"})
    first_head = client.head("/events/winter-webinar.ics")
    clock.advance(hours=2)
    rewrite(events, "title: Winter webinar", "title: Winter webinar, renamed")
    second = client.get("/events/winter-webinar.ics", headers={"Accept-Encoding": "gzip"})
    assert b"Winter webinar\\, renamed" in gzip.decompress(second.data)
    assert second.headers["ETag"] != first.headers["ETag"]
    assert second.last_modified > first.last_modified
    assert second.headers["Content-Length"] == str(len(second.data))
    head = client.head("/events/winter-webinar.ics")
    assert head.headers["ETag"] != first_head.headers["ETag"]
    assert head.headers["Last-Modified"] == second.headers["Last-Modified"]
    # the old validators no longer match, the new ones do
    assert client.get("/events/winter-webinar.ics", headers={
        "Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]}).status_code == 200
    assert client.get("/events/winter-webinar.ics", headers={
        "If-Modified-Since": first.headers["Last-Modified"]}).status_code == 200
    assert client.get("/events/winter-webinar.ics", headers={
        "Accept-Encoding": "gzip", "If-None-Match": second.headers["ETag"]}).status_code == 304


def test_a_request_never_compresses_a_published_resource(app, client, monkeypatch):
    """The live site's gzip bodies are made when a version is built, not per request: a feed
    polled by every subscriber costs a look-up, never a compression."""
    def refuse(*args, **kwargs):
        raise AssertionError("compressed during a request")

    monkeypatch.setattr(gzip, "compress", refuse)
    site = app.extensions["icalpub"].snapshot.site
    for path in ("feeds/all.ics", "feeds/all.json", "index.html", "events/winter-webinar/index.html"):
        answer = client.get(url_of(path)[0], headers={"Accept-Encoding": "gzip"})
        assert answer.headers["Content-Encoding"] == "gzip", path
        assert gzip.decompress(answer.data) == site.get(path).body, path


# --- parity: the fast path answers exactly as the Flask routes -----------------------------

REQUEST_VARIANTS = [
    {}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "gzip;q=0"},
    {"If-None-Match": "{etag}"}, {"If-None-Match": "{etag}", "Accept-Encoding": "gzip"},
    {"If-None-Match": '"x"'}, {"If-None-Match": "*"},
    {"If-Modified-Since": "{modified}"}, {"If-Modified-Since": "garbage"},
    {"If-Match": '"x"'}, {"Range": "bytes=0-10"},
]


def answer_of(response) -> tuple:
    return response.status, response.data, without_date(response)


class Recorder:
    """Wraps the Flask WSGI app to count the requests that reached it."""

    def __init__(self, app):
        self.app, self.calls = app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.app(environ, start_response)


def clients(app):
    """(fast path client, Flask-only client, recorder of requests that reached Flask)."""
    middleware = app.wsgi_app
    recorder = Recorder(middleware.app)
    middleware.app = recorder
    return Client(middleware), Client(recorder.app), recorder


def assert_parity(app, urls):
    fast, flask, reached = clients(app)
    for url in urls:
        reference = flask.get(url)
        assert reference.status_code == 200, url
        fill = {"etag": reference.headers["ETag"], "modified": reference.headers["Last-Modified"]}
        for variant in REQUEST_VARIANTS:
            headers = {k: v.format(**fill) for k, v in variant.items()}
            for method in ("GET", "HEAD"):
                before = reached.calls
                got = fast.open(url, method=method, headers=headers)
                assert reached.calls == before, f"{method} {url} went through Flask"
                assert answer_of(got) == answer_of(flask.open(url, method=method, headers=headers)), \
                    (method, url, headers)


@pytest.mark.parametrize("fixture", ["minimal.yaml", "rich.yaml"])
def test_fast_path_parity_for_every_resource(events_file, fixture):
    app = create_app({"TESTING": True, "EVENTS_PATH": str(events_file(fixture)),
                      "RELOAD_INTERVAL": 0})
    site = app.extensions["icalpub"].snapshot.site
    assert_parity(app, [url for path in sorted(site.resources) for url in url_of(path)])


def test_fast_path_parity_for_a_built_tree(events_file, tmp_path):
    events = events_file("rich.yaml")
    result = published(events, tmp_path / "state.json")
    export(result.site, result.modified, tmp_path / "public")
    app = create_app({"TESTING": True, "STATIC_DIR": str(tmp_path / "public")})
    assert_parity(app, [url for path in sorted(result.site.resources) for url in url_of(path)])


ODD_URLS = [
    "/feeds//all.ics", "/feeds/%61ll.ics", "/%66eeds/all.ics", "/feeds/all.ics/",
    "/feeds/all.ics?", "/feeds/all.ics?q=winter", "/feeds/all.ics?x=1", "/feeds/all.ics?q=",
    "/events/winter-webinar/", "/events/winter-webinar//", "/events/winter-webinar.ics/",
    "/events/../feeds/all.ics", "/events/%2e%2e/feeds/all.ics", "/events/winter-webinar%2Ehtml",
    "/events/winter-webinar%2eics", "/events/winter-webinar/index.html", "/index.html",
    "/events/ü", "/events/%C3%BC.ics", "/events/%ff.ics", "/static/style.css/",
    "/static/../feeds.json", "/feeds/topics/circular.ics", "/feeds/topics/Circular.ics",
    "/feeds/topics/circular.ics%00", "/FEEDS/ALL.ICS", "//feeds/all.ics", "/nothing", "/",
    "/?q=winter", "/events.state.json", "/events.yaml",
]


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "OPTIONS"])
def test_odd_urls_answer_as_through_flask(events_file, method):
    app = create_app({"TESTING": True, "EVENTS_PATH": str(events_file()), "RELOAD_INTERVAL": 0})
    fast, flask, _reached = clients(app)
    for url in ODD_URLS:
        got, expected = fast.open(url, method=method), flask.open(url, method=method)
        assert got.status == expected.status and got.data == expected.data, (method, url)
        assert sorted(without_date(got)) == sorted(without_date(expected)) or method == "OPTIONS", url


@pytest.mark.parametrize("fast", [True, False])
def test_fast_path_can_be_turned_off(events_file, fast):
    """``FAST_PATH: False`` sends every request through Flask (its hooks run), and the
    answers are the same."""
    app = create_app({"TESTING": True, "EVENTS_PATH": str(events_file()), "FAST_PATH": fast})
    through_flask = []
    app.before_request(lambda: through_flask.append(1))
    answer = app.test_client().get(FEED)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/calendar")
    assert isinstance(app.wsgi_app, ResourceMiddleware) is fast
    assert len(through_flask) == (0 if fast else 1)


# --- serve --static: resources are read once and keep the manifest's ETag ------------------

def test_static_snapshot_reads_each_file_once_with_the_manifest_etag(events_file, tmp_path):
    """A built tree's file is read on its first request and kept with the manifest's ETag:
    a file changed behind the manifest's back is not served until a new build (manifest)."""
    events = events_file()
    result = published(events, tmp_path / "state.json")
    export(result.site, result.modified, tmp_path / "public")
    client = create_app({"TESTING": True, "STATIC_DIR": str(tmp_path / "public")}).test_client()
    first = client.get(FEED)
    assert first.headers["ETag"] == f'"{result.site.resources["feeds/all.ics"].etag}"'
    (tmp_path / "public/feeds/all.ics").write_bytes(b"changed behind the manifest's back")
    again = client.get(FEED)
    assert again.data == first.data == result.site.resources["feeds/all.ics"].body
    assert again.headers["ETag"] == first.headers["ETag"]


def test_static_snapshot_sends_the_built_gz_files_and_never_a_stale_one(
        tmp_path, events_file, monkeypatch):
    """``serve --static`` answers gzip with the build's ``.gz`` file (what nginx's gzip_static
    sends), compressing nothing; a ``.gz`` that is not of the file's bytes is not sent: the
    file goes uncompressed."""
    events = events_file()
    result = published(events, tmp_path / "state.json")
    export(result.site, result.modified, tmp_path / "public")
    stale = tmp_path / "public/feeds/topics/circular.ics.gz"
    stale.write_bytes(gzip_body(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))  # our header
    client = create_app({"TESTING": True, "STATIC_DIR": str(tmp_path / "public")}).test_client()

    def refuse(*args, **kwargs):
        raise AssertionError("compressed during a request")

    monkeypatch.setattr(gzip, "compress", refuse)
    for name in ("feeds/all.ics", "feeds/all.json", "index.html", "events/winter-webinar.ics"):
        answer = client.get(f"/{name.removesuffix('index.html')}", headers={"Accept-Encoding": "gzip"})
        assert answer.headers["Content-Encoding"] == "gzip", name
        assert answer.data == (tmp_path / "public" / f"{name}.gz").read_bytes(), name
    answer = client.get("/feeds/topics/circular.ics", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in answer.headers  # sent as it is, still not compressed
    assert answer.data == (tmp_path / "public/feeds/topics/circular.ics").read_bytes()


def test_static_snapshot_does_not_trust_a_malformed_manifest_etag(tmp_path, events_file):
    import json

    events = events_file()
    result = published(events, tmp_path / "state.json")
    export(result.site, result.modified, tmp_path / "public")
    manifest = tmp_path / "public/manifest.json"
    document = json.loads(manifest.read_text())
    document["files"]["feeds/all.ics"]["etag"] = 'x"\r\nInjected: yes'
    manifest.write_text(json.dumps(document))
    app = create_app({"TESTING": True, "STATIC_DIR": str(tmp_path / "public")})
    response = app.test_client().get(FEED)
    assert response.headers["ETag"] == f'"{result.site.resources["feeds/all.ics"].etag}"'
    assert "Injected" not in response.headers


def test_equal_searches_get_the_same_answer_and_errors_are_not_kept(app, client):
    first = client.get(FEED + "?q=winter")
    again = client.get(FEED + "?q=winter&x=1")  # an unknown parameter changes nothing
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert client.get(FEED + "?x=1").data == client.get(FEED).data  # no filter: the feed itself
    for _ in range(2):
        assert client.get(FEED + "?from=2021-02-30").status_code == 400
    assert len(app.extensions["icalpub.searches"]) == 1  # the one search that succeeded


def test_kept_search_answers_stay_within_the_configured_bytes(events_file):
    """``QUERY_CACHE_BYTES`` bounds what search responses hold (identity and gzip bodies):
    many different searches never grow the server beyond it, and an answer larger than the
    bound is still served, just not kept."""
    budget = 40_000
    app = create_app({"TESTING": True, "EVENTS_PATH": str(events_file("rich.yaml")),
                      "RELOAD_INTERVAL": 0, "QUERY_CACHE_BYTES": budget})
    client, searches = app.test_client(), app.extensions["icalpub.searches"]
    sizes = []
    for word in ("webinar", "circulaire", "forum", "school", "call", "long", "procurement",
                 "brussels", "online", "york"):
        for url in (f"/?q={word}", f"{FEED}?q={word}", f"/feeds/all.json?q={word}"):
            answer = client.get(url)
            assert answer.status_code == 200, url
            sizes.append(len(answer.data))
            assert searches.size <= budget
    assert sum(sizes) > 2 * budget and len(searches) > 0  # evictions did happen
    tiny = create_app({"TESTING": True, "EVENTS_PATH": str(events_file("rich.yaml")),
                       "RELOAD_INTERVAL": 0, "QUERY_CACHE_BYTES": 10})
    answer = tiny.test_client().get("/?q=webinar")
    assert answer.status_code == 200 and b"Search results" in answer.data
    assert len(tiny.extensions["icalpub.searches"]) == 0
