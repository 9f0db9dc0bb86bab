"""HTTP answers for a resource, computed once: headers of the 200s and the 304, and the cheap
per-request choice between them.

Why: a feed is polled forever by every subscriber, so the cost of one request must be close to
that of a dictionary look-up. Werkzeug's per-request machinery (``accept_encodings``,
``if_none_match`` objects, ``set_etag``, ``http_date`` formatting, ``make_conditional``) cost
more than the rest of a request together. Everything that depends only on the resource and the
version served (ETag, Last-Modified, max-age, Content-Length, the security headers) is
therefore computed on the first request for a resource and kept by that version
(:class:`Served`); a request only reads three request headers with the small pure functions
below.

:func:`answer` is the one place a response is decided, for the Flask route (``app``) and for
the WSGI fast path (:class:`ResourceMiddleware`) alike. No ``flask`` import here.
"""

from __future__ import annotations

import email.utils
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from ..core import urls
from ..site import Resource, max_age

#: Pages load only their own CSS and script; JSON-LD blocks are data, not script.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; form-action 'self'; base-uri 'none'; "
                           "frame-ancestors 'none'")
#: Every response, errors included, is what its Content-Type says (OWASP secure headers).
NOSNIFF = ("X-Content-Type-Options", "nosniff")
VARY = ("Vary", "Accept-Encoding")
GZIP = ("Content-Encoding", "gzip")
HTML_POLICY = (("Content-Security-Policy", CONTENT_SECURITY_POLICY),
               ("Referrer-Policy", "strict-origin-when-cross-origin"))

OK, NOT_MODIFIED, PRECONDITION_FAILED = "200 OK", "304 Not Modified", "412 Precondition Failed"
PRECONDITION_BODY = b"Precondition failed: the current ETag is in the ETag header.\n"

Headers = tuple[tuple[str, str], ...]


# --- request headers: small pure functions ------------------------------------------------


@functools.lru_cache(maxsize=256)
def gzip_acceptable(accept_encoding: str) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (RFC 9110 §12.5.3): an explicit ``gzip`` entry
    decides by its weight (``gzip;q=0`` refuses), otherwise ``*`` does; codings are
    case-insensitive. A malformed weight counts as 0, as Werkzeug's ``accept_encodings``
    does. Memoised: a few distinct values (one per client software) make up all traffic."""
    star: float | None = None
    for element in accept_encoding.split(","):
        coding, _, params = element.partition(";")
        coding = coding.strip().lower()
        if coding == "gzip":
            return _weight(params) > 0
        if coding == "*":
            star = _weight(params)
    return star is not None and star > 0


def _weight(params: str) -> float:
    """The ``q`` parameter of one list element (RFC 9110 §12.4.2: ``0`` to ``1`` with at most
    three decimals); 1 when absent, 0 when malformed."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if _QVALUE.fullmatch(value) else 0.0
    return 1.0


_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


def entity_tags(header: str) -> Iterator[tuple[bool, str]]:
    """The elements of an If-None-Match / If-Match list (RFC 9110 §8.8.3, §13.1.1-2), each as
    (weak, tag): the opaque-tag with its quotes and whether it had the ``W/`` prefix, or
    (False, ``*``). Commas inside a quoted tag do not split it; empty elements are skipped
    (§5.6.1); an unterminated quote ends the list. Like Werkzeug, an unquoted element counts
    as a tag (quotes added), so a client that strips the quotes still revalidates."""
    pos, end = 0, len(header)
    while pos < end:
        if header[pos] in " \t,":
            pos += 1
            continue
        weak = header.startswith("W/", pos)
        if weak:
            pos += 2
        if pos < end and header[pos] == '"':
            close = header.find('"', pos + 1)
            if close < 0:
                return
            yield weak, header[pos:close + 1]
            pos = close + 1
        else:
            comma = header.find(",", pos)
            comma = end if comma < 0 else comma
            token = header[pos:comma].strip()
            if token:
                yield weak, token if token == "*" and not weak else f'"{token}"'
            pos = comma


def none_match(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: true (answer 304) when the list holds ``*`` or a tag equal to
    ``etag`` (quoted) by the weak comparison, which ignores ``W/``. The usual request repeats
    the ETag exactly, which is checked first."""
    if if_none_match == etag:
        return True
    return any(tag == "*" or tag == etag for _weak, tag in entity_tags(if_none_match))


def match(if_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.1: If-Match passes when the list holds ``*`` (the resource exists) or
    ``etag`` by the strong comparison, which a weak ``W/`` tag never passes."""
    return any(tag == "*" or (tag == etag and not weak) for weak, tag in entity_tags(if_match))


@functools.lru_cache(maxsize=256)
def http_date_seconds(value: str) -> int | None:
    """An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms
    a recipient must accept) as whole seconds since the epoch; None when malformed (§13.1.3:
    then If-Modified-Since is ignored). A date without a zone is read as GMT."""
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def http_date(when: datetime) -> str:
    """``Tue, 01 Jan 2030 12:00:00 GMT`` (IMF-fixdate, whole seconds)."""
    return email.utils.formatdate(int(when.timestamp()), usegmt=True)


# --- answers of one resource ---------------------------------------------------------------


class Answers:
    """Everything a request for one resource can get in one served version: the identity
    200, the gzip 200 (the body compressed before it is served), and the 304s, each as a
    status and a header tuple. See :func:`answer` for the choice."""

    __slots__ = ("resource", "gzipped", "etag", "gz_etag", "last_modified", "modified_seconds",
                 "identity", "gzip", "not_modified", "gz_not_modified")

    def __init__(self, resource: Resource, gzipped: bytes | None, last_modified: datetime,
                 max_age: int):
        self.resource = resource
        self.gzipped = gzipped
        self.etag = f'"{resource.etag}"'
        # A strong ETag names one representation: the compressed one gets its own.
        self.gz_etag = f'"{resource.etag}-gz"' if gzipped is not None else None
        self.last_modified = http_date(last_modified)
        self.modified_seconds = int(last_modified.timestamp())
        cache_control = ("Cache-Control", f"public, max-age={max_age}")
        common = (("Last-Modified", self.last_modified), cache_control)
        vary = (VARY,) if resource.compressible else ()
        self.identity = self._ok(self.etag, len(resource.body), common, gzipped=False)
        self.gzip = (self._ok(self.gz_etag, len(gzipped), common, gzipped=True)
                     if self.gz_etag is not None and gzipped is not None else None)
        # RFC 9110 §15.4.5: a 304 carries the ETag, Vary and Cache-Control a 200 would; no
        # other representation metadata (Werkzeug drops Last-Modified and Content-* too).
        self.not_modified: Headers = (*vary, ("ETag", self.etag), cache_control, NOSNIFF)
        self.gz_not_modified: Headers | None = None
        if self.gz_etag is not None:
            self.gz_not_modified = (*vary, ("ETag", self.gz_etag), cache_control, NOSNIFF)

    def _ok(self, etag: str, length: int, common: Headers, gzipped: bool) -> Headers:
        resource = self.resource
        headers: list[tuple[str, str]] = [("Content-Type", resource.content_type),
                                          ("Content-Length", str(length))]
        if resource.compressible:
            headers.append(VARY)
        headers += [("ETag", etag), *common]
        if gzipped:
            headers.append(GZIP)
        if resource.content_type.startswith("text/html"):
            headers += HTML_POLICY
        if resource.download_name:
            headers.append(("Content-Disposition",
                            f'attachment; filename="{resource.download_name}"'))
        headers.append(NOSNIFF)
        return tuple(headers)

    def precondition_failed(self, etag: str) -> Headers:
        return (("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(PRECONDITION_BODY))), ("ETag", etag), NOSNIFF)


class Served:
    """One published version as a server answers it: its resources by path, with their
    Last-Modified, gzip bodies and :class:`Answers` (made on a resource's first request and
    kept by this version; a new version starts afresh). Subclasses say where a path's
    resource comes from (:meth:`find`)."""

    def __init__(self, refresh: int):
        self.max_age = refresh  # a calendar's max-age; pages get ``site.PAGE_MAX_AGE``
        self._answers: dict[str, Answers] = {}

    def find(self, path: str) -> tuple[Resource, bytes | None, datetime] | None:
        """The resource at ``path``, its gzip body (if it has one) and its Last-Modified."""
        raise NotImplementedError

    def answers(self, path: str) -> Answers | None:
        found = self._answers.get(path)
        if found is None:
            resource = self.find(path)
            if resource is None:
                return None
            found = self._answers[path] = Answers(
                *resource, max_age(resource[0], self.max_age))
        return found


def resolve(path_info: str) -> list[str]:
    """The resource paths a request path may name, in order: the file itself, then the page
    stored as ``<path>/index.html`` (``/`` is ``index.html``). One function for the fast path
    and the Flask route, so both read a URL the same way; ``//`` never names a resource."""
    if not path_info.startswith("/") or "//" in path_info:
        return []
    path = path_info[1:]
    if not path or path.endswith("/"):
        return [f"{path}{urls.INDEX_PAGE}"]
    return [path, f"{path}/{urls.INDEX_PAGE}"]


def answer(answers: Answers, environ: dict[str, Any]) -> tuple[str, Headers, bytes]:
    """Status line, headers and body for a GET or HEAD with this WSGI ``environ``'s request
    headers (the body is the full one; the server leaves it out for HEAD).

    RFC 9110 §13.2.2 order: If-Match (strong comparison; 412 when it fails), then
    If-None-Match (weak comparison; 304), and only when there is no If-None-Match,
    If-Modified-Since (304 when the resource is not newer, in whole seconds; a malformed date
    is ignored). Range is not supported, so If-Range is ignored and the whole representation
    is sent; If-Unmodified-Since is not evaluated (as before, with Werkzeug).
    """
    accept = environ.get("HTTP_ACCEPT_ENCODING")
    gzipped = answers.gzip is not None and accept is not None and gzip_acceptable(accept)
    etag: str = answers.gz_etag if gzipped else answers.etag  # type: ignore[assignment]
    if_match = environ.get("HTTP_IF_MATCH")
    if if_match is not None and not match(if_match, etag):
        return PRECONDITION_FAILED, answers.precondition_failed(etag), PRECONDITION_BODY
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        unchanged = none_match(if_none_match, etag)
    else:
        since = environ.get("HTTP_IF_MODIFIED_SINCE")
        unchanged = since is not None and (since == answers.last_modified
                                           or _not_newer(answers, since))
    if unchanged:
        return NOT_MODIFIED, answers.gz_not_modified if gzipped else answers.not_modified, b""  # type: ignore[return-value]
    if gzipped:
        return OK, answers.gzip, answers.gzipped  # type: ignore[return-value]
    return OK, answers.identity, answers.resource.body


def _not_newer(answers: Answers, since: str) -> bool:
    seconds = http_date_seconds(since)
    return seconds is not None and answers.modified_seconds <= seconds


# --- the WSGI fast path --------------------------------------------------------------------


class ResourceMiddleware:
    """Answers GET and HEAD of a published resource's URL, without a query string, before
    Flask (the WhiteNoise pattern): no request object, no routing, no response object.
    Everything else (query strings, unknown paths, other methods) goes to ``app`` unchanged.
    ``holder``: the ``LiveSite`` or ``StaticTree`` (its ``snapshot`` property reloads)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], holder: Any):
        self.app = app
        self.holder = holder

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if (method == "GET" or method == "HEAD") and not environ.get("QUERY_STRING"):
            served = self.holder.snapshot
            for path in resolve(environ.get("PATH_INFO", "")):
                answers = served.answers(path)
                if answers is not None:
                    status, headers, body = answer(answers, environ)
                    start_response(status, list(headers))  # a copy: a server may append
                    return [] if method == "HEAD" or not body else [body]
        return self.app(environ, start_response)
