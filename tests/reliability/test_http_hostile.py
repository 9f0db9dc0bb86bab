"""Hostile requests against every route of the app (taken from ``app.url_map``, so routes
added later are covered too): odd path segments, query strings, headers and methods.

Never a 500, never a body that is not one of the site's own resources (so no file outside the
data can leak), ``X-Content-Type-Options: nosniff`` on every response, and no request text
reflected into a response header.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

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
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    shutil.copy(FIXTURES / "minimal.yaml", folder / "events.yaml")
    (folder / "secret.txt").write_bytes(SECRET)
    return create_app({"TESTING": True, "EVENTS_PATH": str(folder / "events.yaml")})


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


def rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


_PATHS: dict[int, list[str]] = {}


def valid_paths(app) -> list[str]:
    """One published URL per route (computed once per app), found by trying every slug-like part of the site's
    resource paths in the route's variables: every route must have one."""
    if id(app) in _PATHS:
        return _PATHS[id(app)]
    site = app.extensions["icalpub"].snapshot.site
    parts = sorted({part.split(".")[0] for path in site.resources for part in path.split("/")}
                   | {part for path in site.resources for part in path.split("/")})
    client = app.test_client()
    found = []
    for rule in rules(app):
        for part in parts if rule.arguments else [""]:
            url = template(rule, part)
            if client.get(url).status_code == 200:
                found.append(url)
                break
        else:
            raise AssertionError(f"no published URL for {rule.rule}")
    _PATHS[id(app)] = found
    return found


def template(rule, value: str) -> str:
    """The route with every variable part replaced by ``value`` (already URL-encoded)."""
    path = rule.rule
    for name in rule.arguments:
        start = path.index("<")
        path = path[:start] + value + path[path.index(">", start) + 1:]
    return path


BASELINE_PATHS = ("/feeds/all.ics", "/feeds.json", "/events/winter-webinar.ics", "/nothing", "/",
                  "/events/winter-webinar", "/feeds/all.json")


def header_text(response) -> str:
    """The response's headers as text, without Date (whose digits would match by chance)."""
    return str([(k, v) for k, v in response.headers.items() if k != "Date"])


@pytest.fixture(scope="module")
def baseline(client) -> str:
    """Header text of ordinary responses: request text found in it is not a reflection."""
    return " ".join(header_text(client.get(p)) for p in BASELINE_PATHS)


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


def test_every_route_has_a_published_path(app):
    assert len(valid_paths(app)) >= len(rules(app))


@pytest.mark.parametrize("segment", HOSTILE)
def test_known_hostile_segments_on_every_route(app, client, bodies, baseline, segment):
    for rule in rules(app):
        for encoded in (quote(segment, safe=""), quote(segment, safe="/%.\\")):
            check(client.get(template(rule, encoded)), bodies, segment, baseline=baseline)


segments = st.one_of(
    st.text(max_size=50),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=5), max_size=6).map("".join),
    st.text(alphabet="./%2efEF\\", max_size=30),
)


@SETTINGS
@given(segment=segments, raw=st.booleans())
def test_any_path_segment_on_every_route(app, client, bodies, baseline, segment, raw):
    for rule in rules(app):
        encoded = quote(segment, safe="/%.\\:@" if raw else "")
        check(client.get(template(rule, encoded)), bodies, segment, baseline=baseline)
        check(client.head(template(rule, encoded)), bodies | {b""}, segment, baseline=baseline)


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
            assert response.data in bodies
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


def test_double_slashes_are_404_not_a_redirect_to_the_host_header(client):
    for path in ("/feeds//all.ics", "/feeds/topics//circular.ics", "/feeds/topics/%2F%2Fevil.ics"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 404 and "Location" not in response.headers


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
