"""The request-header rules of ``serve.answers`` as pure functions, with tricky header values."""

from datetime import datetime, timezone

import pytest

from icalpub.serve.answers import (Answers, Served, answer, gzip_acceptable, http_date,
                                   http_date_seconds, match, none_match, resolve)
from icalpub.site import Resource, gzip_body

ETAG = '"0123456789abcdef0123456789abcdef"'
MODIFIED = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
MODIFIED_TEXT = "Tue, 01 Jan 2030 12:00:00 GMT"


@pytest.mark.parametrize("header, expected", [
    ("gzip", True), ("gzip, deflate, br", True), ("br, gzip", True), ("GZIP", True),
    ("gzip;q=0.5", True), ("deflate, gzip;q=0.001", True), ("gzip; q=1.000", True),
    ("*", True), ("br, *", True), ("*;q=0.1", True),
    ("gzip;q=0", False), ("gzip ; q=0", False), ("gzip;q=0.000", False), ("gzip;Q=0", False),
    ("*;q=0", False), ("gzip;q=0, *", False), ("*, gzip;q=0", False),  # explicit gzip wins
    ("gzip;q=bogus", False), ("gzip;q=1.5", False), ("gzip;q=0.0001", False),  # malformed q
    ("identity", False), ("x-gzip", False), ("deflate, br", False), ("", False),
    ("gzipped", False), (",,,", False),
])
def test_gzip_acceptable(header, expected):
    assert gzip_acceptable(header) is expected


@pytest.mark.parametrize("header, expected", [
    (ETAG, True), ("W/" + ETAG, True), ("*", True), (" * ", True),
    ('"x", ' + ETAG, True), (f'"x",{ETAG}', True), (f'W/"x" , W/{ETAG} ,', True),
    (f', , {ETAG}', True), (ETAG.strip('"'), True),  # unquoted, as Werkzeug accepts
    ('"x"', False), ("", False), ("garbage", False), ('"x", "y"', False),
    (ETAG[:-1] + '-gz"', False), ('"a,' + ETAG + '"', False),  # a comma inside a quoted tag
    ('"a,*"', False), ('"unterminated, ' + ETAG, False), ('W/"x"', False),
])
def test_none_match_uses_the_weak_comparison(header, expected):
    assert none_match(header, ETAG) is expected


@pytest.mark.parametrize("header, expected", [
    (ETAG, True), ("*", True), ('"x", ' + ETAG, True),
    ("W/" + ETAG, False), ('"x"', False), ("", False),  # the strong comparison
])
def test_if_match_uses_the_strong_comparison(header, expected):
    assert match(header, ETAG) is expected


@pytest.mark.parametrize("header, expected", [
    (MODIFIED_TEXT, 1893499200),
    ("Tuesday, 01-Jan-30 12:00:00 GMT", 1893499200),  # RFC 850, obsolete but accepted
    ("Tue Jan  1 12:00:00 2030", 1893499200),  # asctime, no zone: GMT
    ("Tue, 01 Jan 2030 13:00:00 +0100", 1893499200),
    ("garbage", None), ("", None), ("Tue, 32 Jan 2030 12:00:00 GMT", None),
    ("Tue, 01 Jan 99999 12:00:00 GMT", None),
])
def test_http_date_seconds(header, expected):
    assert http_date_seconds(header) == expected


def test_http_date_is_imf_fixdate():
    assert http_date(MODIFIED) == MODIFIED_TEXT


def feed(body: bytes = b"BEGIN:VCALENDAR\r\n" * 40) -> Resource:
    return Resource("feeds/all.ics", body, "text/calendar; charset=utf-8",
                    etag=ETAG.strip('"'))


def feed_answers(max_age: int = 3600) -> Answers:
    return Answers(feed(), gzip_body(feed().body), MODIFIED, max_age)


class OneFeed(Served):
    """A published version holding the feed only, last modified at ``modified``."""

    def __init__(self, modified: datetime = MODIFIED):
        super().__init__(3600)
        self.modified = modified
        self.found = 0

    def find(self, path):
        if path != "feeds/all.ics":
            return None
        self.found += 1
        return feed(), gzip_body(feed().body), self.modified


def test_a_version_computes_a_resource_s_answers_once_and_a_new_version_afresh():
    """Headers are computed on the first request of a resource and kept by the version
    served: a feed polled forever costs a look-up, and a new version (a reload) has its own
    Last-Modified."""
    served = OneFeed()
    first = served.answers("feeds/all.ics")
    assert served.answers("feeds/all.ics") is first and served.found == 1
    assert served.answers("feeds/none.ics") is None
    newer = OneFeed(datetime(2031, 1, 1, tzinfo=timezone.utc))
    fresh = newer.answers("feeds/all.ics")
    assert fresh is not first and fresh.last_modified == "Wed, 01 Jan 2031 00:00:00 GMT"


@pytest.mark.parametrize("path_info, candidates", [
    ("/", ["index.html"]),
    ("/feeds/all.ics", ["feeds/all.ics", "feeds/all.ics/index.html"]),
    ("/events/x", ["events/x", "events/x/index.html"]),
    ("/events/x/", ["events/x/index.html"]),
    ("/topics/a/index.html", ["topics/a/index.html", "topics/a/index.html/index.html"]),
    ("//feeds/all.ics", []), ("/feeds//all.ics", []), ("feeds/all.ics", []), ("", []),
])
def test_resolve_names_the_file_then_the_page_and_never_a_double_slash(path_info, candidates):
    """One reading of a URL for the fast path and the Flask route alike: ``//`` never names
    a resource (Werkzeug would redirect it to a URL built from the Host header)."""
    assert resolve(path_info) == candidates


def headers(status_headers_body):
    return dict(status_headers_body[1])


def test_answer_headers_of_the_200s_and_the_304():
    answers = feed_answers()
    status, plain, body = answer(answers, {})
    assert status == "200 OK" and body == feed().body
    assert plain == (("Content-Type", "text/calendar; charset=utf-8"),
                     ("Content-Length", str(len(body))), ("Vary", "Accept-Encoding"),
                     ("ETag", ETAG), ("Last-Modified", MODIFIED_TEXT),
                     ("Cache-Control", "public, max-age=3600"),
                     ("X-Content-Type-Options", "nosniff"))
    status, packed, body = answer(answers, {"HTTP_ACCEPT_ENCODING": "gzip"})
    assert dict(packed)["Content-Encoding"] == "gzip" and body == gzip_body(feed().body)
    assert dict(packed)["ETag"] == ETAG[:-1] + '-gz"'
    assert dict(packed)["Content-Length"] == str(len(body))
    status, not_modified, body = answer(answers, {"HTTP_IF_NONE_MATCH": ETAG})
    assert (status, body) == ("304 Not Modified", b"")
    assert not_modified == (("Vary", "Accept-Encoding"), ("ETag", ETAG),
                            ("Cache-Control", "public, max-age=3600"),
                            ("X-Content-Type-Options", "nosniff"))


def test_small_or_binary_resources_have_no_vary_and_no_gzip():
    small = Resource("feeds.json", b"{}", "application/json")
    status, found, body = answer(Answers(small, None, MODIFIED, 60),
                                 {"HTTP_ACCEPT_ENCODING": "gzip"})
    assert "Vary" not in dict(found) and "Content-Encoding" not in dict(found) and body == b"{}"


@pytest.mark.parametrize("request_headers, status", [
    ({"HTTP_IF_MODIFIED_SINCE": MODIFIED_TEXT}, "304 Not Modified"),  # equal
    ({"HTTP_IF_MODIFIED_SINCE": "Tue, 01 Jan 2030 12:00:01 GMT"}, "304 Not Modified"),  # newer
    ({"HTTP_IF_MODIFIED_SINCE": "Tue, 01 Jan 2030 11:59:59 GMT"}, "200 OK"),  # older
    ({"HTTP_IF_MODIFIED_SINCE": "garbage"}, "200 OK"),  # ignored
    # If-None-Match takes precedence: If-Modified-Since is not even looked at
    ({"HTTP_IF_MODIFIED_SINCE": MODIFIED_TEXT, "HTTP_IF_NONE_MATCH": '"x"'}, "200 OK"),
    ({"HTTP_IF_MODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT", "HTTP_IF_NONE_MATCH": ETAG},
     "304 Not Modified"),
    ({"HTTP_IF_NONE_MATCH": "*"}, "304 Not Modified"),
    ({"HTTP_IF_MATCH": '"x"'}, "412 Precondition Failed"),
    ({"HTTP_IF_MATCH": '"x"', "HTTP_IF_NONE_MATCH": ETAG}, "412 Precondition Failed"),
    ({"HTTP_IF_MATCH": ETAG, "HTTP_IF_NONE_MATCH": ETAG}, "304 Not Modified"),
    ({"HTTP_IF_MATCH": "*"}, "200 OK"),
    ({"HTTP_RANGE": "bytes=0-10", "HTTP_IF_RANGE": ETAG}, "200 OK"),  # no range support
])
def test_conditional_request_order(request_headers, status):
    assert answer(feed_answers(), request_headers)[0] == status


def test_gzip_representation_is_validated_by_its_own_etag():
    answers = feed_answers()
    gz = ETAG[:-1] + '-gz"'
    both = {"HTTP_ACCEPT_ENCODING": "gzip"}
    assert answer(answers, {**both, "HTTP_IF_NONE_MATCH": gz})[0] == "304 Not Modified"
    assert dict(answer(answers, {**both, "HTTP_IF_NONE_MATCH": gz})[1])["ETag"] == gz
    assert answer(answers, {**both, "HTTP_IF_NONE_MATCH": ETAG})[0] == "200 OK"
    assert answer(answers, {"HTTP_IF_NONE_MATCH": gz})[0] == "200 OK"
    # If-Modified-Since validates either representation, answered with the chosen one's ETag
    found = answer(answers, {**both, "HTTP_IF_MODIFIED_SINCE": MODIFIED_TEXT})
    assert found[0] == "304 Not Modified" and dict(found[1])["ETag"] == gz


def test_html_and_invites_carry_their_extra_headers():
    page = Resource("index.html", b"<!doctype html>" * 30, "text/html; charset=utf-8")
    found = dict(answer(Answers(page, gzip_body(page.body), MODIFIED, 60), {})[1])
    assert found["Content-Security-Policy"].startswith("default-src 'none'")
    assert found["Referrer-Policy"] == "strict-origin-when-cross-origin"
    invite = Resource("events/x.ics", b"BEGIN:VCALENDAR\r\n", "text/calendar; charset=utf-8",
                      download_name="x.ics")
    found = dict(answer(Answers(invite, None, MODIFIED, 60), {})[1])
    assert found["Content-Disposition"] == 'attachment; filename="x.ics"'


def test_resource_etag_is_the_digest_unless_given():
    assert Resource("a", b"x", "text/plain").etag == "2d711642b726b04401627ca9fbac32f5"
    assert Resource("a", b"x", "text/plain", etag="given").etag == "given"
