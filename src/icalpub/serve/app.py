"""The Flask app: answers a request path with the current site's resource at that path.

The only module that imports ``flask``. It renders nothing itself — ``site`` has already
computed every resource — so serving is a dictionary look-up plus HTTP conditional handling.
One route serves every resource (``answers.resolve`` reads the URL), so a new feed kind or
page needs no route of its own; searches (``?q=`` and filters on the feed of everything and
its listing) are computed per query and kept in a bounded cache.

Production: ``gunicorn -c python:icalpub.serve.gunicorn_config`` (see that module).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, request

from ..changes.publish import system_clock
from ..core import urls
from ..feeds.kinds import EVERYTHING
from ..feeds.search import QueryError, multidict, params, parse_query
from ..html.pages import HTML_TYPE, Shell, error_page
from ..site import Site, gzip_body, max_age
from .answers import HTML_POLICY, Answers, ResourceMiddleware, Served, answer, resolve
from .live import MASS_REMOVAL_SETTLE, LiveSite, Snapshot
from .tree import StaticTree

#: The paths that take a search query: the feed of everything, its jCal and its listing.
SEARCHABLE = frozenset({EVERYTHING.feed_path("all"), urls.jcal_path(EVERYTHING.feed_path("all")),
                        urls.page_resource(EVERYTHING.page_path("all"))})


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """App factory (nothing is built at import time).

    Config: ``EVENTS_PATH`` (default ``$ICALPUB_EVENTS`` or ``events.yaml``), ``BASE_URL``
    (default ``$ICALPUB_BASE_URL`` or the file's ``calendar.base_url``), ``RELOAD_INTERVAL``
    (seconds between checks of the file for changes, default 0.25: one ``stat`` per check),
    ``RELOAD_SETTLE`` (seconds a new version must stay unmodified before it is read, see
    ``live``; default 0.5, or twice the check interval when that is shorter), ``STATE_PATH``
    (default ``$ICALPUB_STATE`` or ``events.state.json`` next to the events file), ``CLOCK``
    (a function returning now in UTC; tests inject one), ``STATIC_DIR`` (serve a tree written
    by ``icalpub build`` instead of the events file), ``FAST_PATH`` (default True: answer GET
    and HEAD without a query string before Flask, see
    :class:`~icalpub.serve.answers.ResourceMiddleware`), ``QUERY_CACHE_BYTES`` (what search
    responses may hold, default 64 MB).
    Raises :class:`~icalpub.core.errors.EventsFileError` when the file is invalid at start-up,
    :class:`~icalpub.core.errors.StateFileError` when the state file is corrupt.
    """
    app = Flask(__name__, static_folder=None)  # static files are site resources
    # Werkzeug answers "/feeds//all.ics" with a 308 to an absolute URL built from the Host
    # header; a cache in front would then serve an attacker's Host to everyone. Odd paths are
    # plain 404s instead.
    app.url_map.merge_slashes = False
    app.config.from_mapping(
        EVENTS_PATH=os.environ.get("ICALPUB_EVENTS", "events.yaml"),
        BASE_URL=None,
        RELOAD_INTERVAL=0.25,
        RELOAD_SETTLE=None,
        STATE_PATH=os.environ.get("ICALPUB_STATE") or None,
        CLOCK=system_clock,
        STATIC_DIR=None,
        QUERY_CACHE_BYTES=64 * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    holder: LiveSite | StaticTree
    if app.config["STATIC_DIR"]:
        holder = StaticTree(app.config["STATIC_DIR"])
    else:
        holder = LiveSite(
            app.config["EVENTS_PATH"], base_url=app.config["BASE_URL"],
            check_interval=app.config["RELOAD_INTERVAL"], settle=_settle(app.config),
            reload_wait=app.config.get("RELOAD_WAIT", 60.0 if app.testing else 5.0),
            state_path=app.config["STATE_PATH"], clock=app.config["CLOCK"],
            mass_removal_settle=app.config.get("MASS_REMOVAL_SETTLE", MASS_REMOVAL_SETTLE),
        )
    app.extensions["icalpub"] = holder
    app.extensions["icalpub.searches"] = SearchCache(app.config["QUERY_CACHE_BYTES"])
    app.add_url_rule("/", "resource", resource, defaults={"path": ""}, methods=["GET"])
    app.add_url_rule("/<path:path>", "resource", resource, methods=["GET"])
    app.after_request(no_sniffing)
    app.register_error_handler(404, not_found)
    app.register_error_handler(405, not_allowed)
    if app.config.get("FAST_PATH", True):
        app.wsgi_app = ResourceMiddleware(app.wsgi_app, holder)  # type: ignore[method-assign]
    return app


def _settle(config: Any) -> float:
    """0.5 s by default; a server told to check on every request (interval 0, as tests do)
    also reads a new version at once unless given a settle time of its own."""
    if config["RELOAD_SETTLE"] is not None:
        return float(config["RELOAD_SETTLE"])
    return min(0.5, float(config["RELOAD_INTERVAL"]) * 2)


def resource(path: str) -> Response:
    """The resource the URL names, filtered by the request's search parameters when it is
    one of the searchable paths (a built tree, like any static server, ignores them)."""
    served: Served = current_app.extensions["icalpub"].snapshot
    # The WSGI path, as the fast path reads it: ``request.path`` drops leading slashes, so
    # "//feeds/all.ics" would name a resource here and not there.
    for candidate in resolve(request.environ.get("PATH_INFO", "")):
        answers = served.answers(candidate)
        if answers is None:
            continue
        if isinstance(served, Snapshot) and candidate in SEARCHABLE \
                and any(name in request.args for name in (*params(), "page")):
            try:
                answers = _search(served, candidate) or answers
            except QueryError as exc:
                return bad_request(served, str(exc))
            except LookupError:
                return not_found()
        status, headers, body = answer(answers, request.environ)
        return Response(body, status=status, headers=headers)
    return not_found()


def _search(served: Snapshot, path: str) -> Answers | None:
    """The answers for this request's search at ``path`` (None: the query is empty).
    Raises ``QueryError`` for a query that cannot be understood, ``LookupError`` for a page
    number past the results."""
    query = parse_query(multidict(request.args.items(multi=True)), served.site.data)
    raw_page = request.args.get("page", "1")
    if not (raw_page.isascii() and raw_page.isdigit() and 0 < len(raw_page) < 7):
        raise QueryError(f"page={raw_page!r} is not a page number; write 1, 2, 3 …")
    number = int(raw_page)
    if query.empty and number == 1:
        return None

    def compute() -> Answers:
        found = served.site.search(path, query, number)
        if found is None:
            raise LookupError(number)
        # A filtered response is as new as the feed it filters.
        return Answers(found, gzip_body(found.body) if found.compressible else None,
                       served.resource_modified(path), max_age(found, served.max_age))

    return current_app.extensions["icalpub.searches"].get(served.site, path, (query, number),
                                                           compute)


class SearchCache:
    """Search responses of the current site, least recently used first out, bounded by the
    bytes of their bodies. An entry holds the site it came from (compared by identity), so a
    reload of events.yaml can never serve a result computed from old data."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[tuple[str, Any], tuple[Site, Answers, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, site: Site, path: str, query: Any, compute: Callable[[], Answers]) -> Answers:
        key = (path, query)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is site:
                self._entries.move_to_end(key)
                return entry[1]
        found = compute()
        size = len(found.resource.body) + len(found.gzipped or b"")
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= old[2]
            if size <= self.max_bytes:
                self._entries[key] = (site, found, size)
                self.size += size
            while self.size > self.max_bytes:
                self.size -= self._entries.popitem(last=False)[1][2]
        return found

    def __len__(self) -> int:
        return len(self._entries)


def no_sniffing(response: Response) -> Response:
    """Every response, errors included, is what its Content-Type says: a browser must not
    guess HTML out of a 404 body or a feed (OWASP secure headers)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def wants_html() -> bool:
    """Whether the client is a browser (it asks for HTML), not a calendar app or a script."""
    return request.accept_mimetypes.accept_html


def not_found(error: Exception | None = None) -> Response:
    """A page of the site for a browser (the one a built tree ships as ``404.html``), a line
    of text for anything else."""
    if wants_html():
        answers = current_app.extensions["icalpub"].snapshot.answers(urls.NOT_FOUND_PAGE)
        if answers is not None:
            return Response(answers.resource.body, status=404,
                            content_type=answers.resource.content_type, headers=HTML_POLICY)
    return Response("Not found. The feeds are listed at /feeds.json\n", status=404,
                    content_type="text/plain; charset=utf-8")


def bad_request(served: Served, reason: str) -> Response:
    """400 for a search that cannot be understood, saying why: a page for a browser."""
    if wants_html() and isinstance(served, Snapshot):
        body = error_page(Shell(served.site.data.calendar), "This search cannot be done",
                          f"{reason[0].upper()}{reason[1:]}.")
        return Response(body, status=400, content_type=HTML_TYPE, headers=HTML_POLICY)
    return Response(f"Bad request: {reason}\n", status=400,
                    content_type="text/plain; charset=utf-8")


def not_allowed(error: Exception) -> Response:
    return Response("Method not allowed: feeds are read with GET or HEAD.\n", status=405,
                    content_type="text/plain; charset=utf-8",
                    headers={"Allow": "GET, HEAD"})
