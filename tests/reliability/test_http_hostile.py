"""Hostile requests against every kind of URL the app serves (taken from the site's own
resource paths, so resources added later are covered too — the app has one catch-all route,
and it is the URLs that differ): odd path segments, query strings, headers and methods.

Never a 500, never a body that is not one of the site's own resources (so no file outside the
data can leak), ``X-Content-Type-Options: nosniff`` on every response, and no request text
reflected into a response header.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icalpub.serve.app import create_app

FIXTURES = Path(__file__).parent.parent / "fixtures"
SECRET = b"TOP-SECRET-MARKER"
HOSTILE = ["..", "%2e%2e", "%2E%2E%2F", "..%2f..%2f", "%2f", "%00", "\x00", "%ff", "%c0%ae",
           "/", "//", "\\..\\", "events.yaml", "../events.yaml", "../secret.txt", "%252e%252e",
           "ü", "\u202e", "🎉", "a" * 5000, "CON", "*", "?", "#", ";", ".ics", "\r\nX-A: b",
           "%0d%0aSet-Cookie: a=b", "..;/", "~", "$HOME", "{slug}", "<script>"]
#: ICALPUB_EXAMPLES=2000 for a longer campaign; the default keeps the suite fast.
EXAMPLES = int(os.environ.get("ICALPUB_EXAMPLES", 150))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def events_copy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    shutil.copy(FIXTURES / "minimal.yaml", folder / "events.yaml")
    (folder / "secret.txt").write_bytes(SECRET)
    return folder / "events.yaml"


@pytest.fixture(scope="module")
def app(events_copy):
    return create_app({"TESTING": True, "EVENTS_PATH": str(events_copy)})


def send(client, method: str, url: str, **kwargs):
    """``url`` as a server hands it to the app: the test client would read a URL that starts
    with ``//`` as a host name and a path, so such a path is put into the request as is."""
    path, _, query = url.partition("?")
    if not path.startswith("//"):
        return client.open(url, method=method, **kwargs)
    environ = {"PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "REQUEST_URI": url,
               "RAW_URI": url}
    return client.open("/", method=method, query_string=query, environ_overrides=environ,
                       **kwargs)


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


class Bodies(frozenset):
    """The published bodies; a short repr keeps hypothesis' failure reports readable."""

    def __repr__(self) -> str:
        return f"<{len(self)} published bodies>"

    def __or__(self, other):
        return Bodies(frozenset.__or__(self, other))


@pytest.fixture(scope="module")
def bodies(app) -> Bodies:
    site = app.extensions["icalpub"].snapshot.site
    return Bodies(r.body for r in site.resources.values())


def published_urls(site) -> list[str]:
    """Every URL that answers 200: each resource at its own path, and each page (stored as
    ``<dir>/index.html``) at its folder too, with and without the trailing slash."""
    found = set()
    for path in site.resources:
        found.add(f"/{path}")
        if path == "index.html":
            found.add("/")
        elif path.endswith("/index.html"):
            page = path.removesuffix("/index.html")
            found |= {f"/{page}", f"/{page}/"}
    return sorted(found)


MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def shape(url: str, names: set[str]) -> str:
    """The URL with every event id, member slug (``names``) or month replaced by ``*``: the
    URLs of one shape ("/events/*.ics", "/topics/*/", "/archive/*") are answered alike."""
    segments = url.split("/")
    for i, segment in enumerate(segments):
        stem, dot, ext = segment.partition(".")
        if segment in names or MONTH.fullmatch(segment):
            segments[i] = "*"
        elif stem in names and dot:
            segments[i] = f"*.{ext}"
    return "/".join(segments)


_URLS: dict[int, tuple[list[str], list[str]]] = {}


def _urls(app) -> tuple[list[str], list[str]]:
    """(one published URL per shape, templates), computed once per app."""
    if id(app) not in _URLS:
        site = app.extensions["icalpub"].snapshot.site
        data = site.data
        names = {e.id for e in data.events} | set(data.topics) | set(data.organisers) | {"all"}
        representatives: dict[str, str] = {}
        for url in published_urls(site):
            representatives.setdefault(shape(url, names), url)
        found = {"/{}"}  # the whole path
        for url in representatives.values():
            segments = url.split("/")
            for i, segment in enumerate(segments[1:], 1):
                stem, dot, ext = segment.partition(".")
                for replacement in ["{}"] + ([f"{{}}.{ext}"] if stem and dot else []):
                    found.add("/".join([*segments[:i], replacement, *segments[i + 1:]]))
        # a page's other URLs (its slash, its index file) name the same resource
        canonical = [url for url in sorted(representatives.values())
                     if url == "/" or not (url.endswith("/") or url.endswith("/index.html"))]
        _URLS[id(app)] = (canonical, sorted(found))
    return _URLS[id(app)]


def valid_paths(app) -> list[str]:
    """One published URL of every kind of resource: the home page, an event page and its
    invite, each kind of feed and its jCal, each kind of listing, feeds.json, the assets."""
    return _urls(app)[0]


def templates(app) -> list[str]:
    """Where a hostile segment goes: in place of each segment of a URL of every shape, and
    of its name before the extension ("/events/{}.ics"), or as the whole path ("/{}")."""
    return _urls(app)[1]


def fill(template: str, value: str) -> str:
    """The template with its variable part replaced by ``value`` (already URL-encoded)."""
    return template.replace("{}", value, 1)


BASELINE_PATHS = ("/feeds/all.ics", "/feeds.json", "/events/winter-webinar.ics", "/nothing", "/",
                  "/events/winter-webinar", "/feeds/all.json")


def header_text(response) -> str:
    """The response's headers as text, without Date (whose digits would match by chance)."""
    return str([(k, v) for k, v in response.headers.items() if k != "Date"])


@pytest.fixture(scope="module")
def baseline(app, client) -> str:
    """Header text of ordinary responses (those of every URL the tests start from among
    them): request text found in it is not a reflection."""
    return " ".join(header_text(client.get(p)) for p in (*BASELINE_PATHS, *valid_paths(app)))


def check(response, bodies: set[bytes], *reflected: str, baseline: str = "") -> None:
    assert response.status_code < 500, response.status_code
    assert response.status_code in (200, 304, 400, 404, 405, 414), response.status_code
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    if response.status_code == 200:
        assert response.data in bodies, "a 200 body that is not a published resource"
    else:
        assert response.headers["Content-Type"].startswith("text/plain")
    assert SECRET not in response.data and b"root:" not in response.data
    headers = header_text(response)
    for text in reflected:
        if len(text) >= 4 and text not in baseline:
            assert text not in headers


def test_every_published_url_answers_and_every_shape_is_covered(app, client, bodies):
    """The URLs the other tests start from are the site's: each answers 200 with one of
    its resources, and the URL shapes cover every kind of resource."""
    site = app.extensions["icalpub"].snapshot.site
    for url in published_urls(site):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.data in bodies
    data = site.data
    names = {e.id for e in data.events} | set(data.topics) | set(data.organisers) | {"all"}
    assert {shape(url, names) for url in valid_paths(app)} >= {
        "/", "/events/*.ics", "/events/*", "/feeds/*.ics", "/feeds/*.json",
        "/feeds/topics/*.ics", "/feeds/topics/*.json", "/feeds/organisers/*.ics",
        "/feeds/organisers/*.json", "/topics/*", "/organisers/*", "/feeds.json",
        "/static/style.css", "/static/app.js", "/archive/*"}
    assert {"/events/{}.ics", "/events/{}", "/events/{}/", "/events/{}/index.html",
            "/events/cancelled-talk/{}", "/events/cancelled-talk/{}.html", "/{}/all.ics",
            "/feeds/topics/{}.json", "/topics/{}/", "/{}", "/static/{}.css", "/{}.json",
            "/{}.html"} <= set(templates(app))


@pytest.mark.parametrize("segment", HOSTILE)
def test_known_hostile_segments_in_every_url_shape(app, client, bodies, baseline, segment):
    for template in templates(app):
        for encoded in (quote(segment, safe=""), quote(segment, safe="/%.\\")):
            check(send(client, "GET", fill(template, encoded)), bodies, segment,
                  baseline=baseline)


segments = st.one_of(
    st.text(max_size=50),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=5), max_size=6).map("".join),
    st.text(alphabet="./%2efEF\\", max_size=30),
)


@SETTINGS
@given(segment=segments, raw=st.booleans())
def test_any_path_segment_in_every_url_shape(app, client, bodies, baseline, segment, raw):
    for template in templates(app):
        encoded = quote(segment, safe="/%.\\:@" if raw else "")
        url = fill(template, encoded)
        check(send(client, "GET", url), bodies, segment, baseline=baseline)
        check(send(client, "HEAD", url), bodies | {b""}, segment, baseline=baseline)


queries = st.lists(st.tuples(st.text(max_size=20), st.text(max_size=200)), max_size=30)


@SETTINGS
@given(params=queries, repeat=st.integers(1, 40))
def test_query_strings_never_fail_nor_reflect_into_headers(app, client, bodies, baseline,
                                                           params, repeat):
    """Any query (repeated parameters, 10 kB and more) is answered without a 500 and never
    echoed into a header; parameters no route knows (prefixed ``x-``) change no byte."""
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params * repeat)
    unknown = "&".join(f"x-{quote(k)}={quote(v)}" for k, v in params * repeat)
    for path in valid_paths(app):
        response = client.get(f"{path}?{query}")
        assert response.status_code in (200, 400), response.status_code
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        headers = header_text(response)
        for _key, value in params:
            if len(value) >= 4 and value not in baseline:
                assert value not in headers
        same = client.get(f"{path}?{unknown}")
        assert same.status_code == 200 and same.data == client.get(path).data


def test_ten_kilobyte_query_string(app, client, bodies):
    marker = "REFLECTED-" + "q" * 10_000
    for path in valid_paths(app):
        response = client.get(f"{path}?x={marker}&x={marker}&x=1")
        check(response, bodies, marker)
        assert response.status_code == 200


header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=300)


@SETTINGS
@given(etag=header_values, since=header_values, range_=header_values, other=header_values)
def test_hostile_request_headers(app, client, bodies, baseline, etag, since, range_, other):
    for path in valid_paths(app)[:4]:
        response = client.get(path, headers={
            "If-None-Match": etag, "If-Modified-Since": since, "Range": range_,
            "If-Range": other, "Accept": other, "Accept-Encoding": other, "Host": "localhost"})
        assert response.status_code in (200, 206, 304, 400, 416), response.status_code
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        if response.status_code == 200:
            packed = response.headers.get("Content-Encoding") == "gzip"  # "*" accepts it
            assert (gzip.decompress(response.data) if packed else response.data) in bodies
        for value in (etag, since, other):
            if len(value) >= 4 and value not in baseline and value.strip('"W/ ,*'):
                assert value not in header_text(response)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"])
def test_other_methods_are_405_with_nosniff(app, client, method):
    for path in valid_paths(app):
        response = client.open(path, method=method)
        assert response.status_code == 405
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Allow"]


@pytest.mark.parametrize("fast_path", [True, False])
def test_double_slashes_are_404_not_a_redirect_to_the_host_header(events_copy, fast_path):
    """Werkzeug would redirect ``/feeds//all.ics`` to a URL built from the Host header (a
    cache in front would send an attacker's host to everyone), and its ``request.path``
    drops leading slashes: ``//feeds/all.ics`` must not name a resource either, with or
    without the fast path (both read the URL the same way)."""
    client = create_app({"TESTING": True, "EVENTS_PATH": str(events_copy),
                         "FAST_PATH": fast_path}).test_client()
    for path in ("/feeds//all.ics", "/feeds/topics//circular.ics", "/feeds/topics/%2F%2Fevil.ics",
                 "//feeds/all.ics", "//", "///", "//index.html", "//events/winter-webinar"):
        for method in ("GET", "HEAD"):
            response = send(client, method, path, headers={"Host": "evil.example"})
            assert response.status_code == 404 and "Location" not in response.headers, path


def test_error_responses_carry_nosniff_and_plain_text(client):
    for path in ("/nothing", "/feeds/topics/none.ics", "/static/../events.yaml"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_not_modified_carries_nosniff(client):
    etag = client.get("/feeds/all.ics").headers["ETag"]
    response = client.get("/feeds/all.ics", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["X-Content-Type-Options"] == "nosniff"
