"""The Flask app: looks request paths up in the current :class:`~icalpub.site.Site`.

The only module that imports ``flask``. It renders nothing itself — ``site`` has already
computed every resource — so serving is a dictionary look-up plus HTTP conditional handling.

Production: ``gunicorn 'icalpub.web:create_app()'`` (``ICALPUB_EVENTS`` names the file).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from . import urls
from .httpcache import ResourceMiddleware, answer, answers_for
from .live import LiveSite, Snapshot
from .publish import system_clock
from .queries import KINDS, query_resource
from .search import PARAMS, QueryCache, QueryError, multidict, parse_query
from .site import Resource
from .static import StaticSnapshot, StaticTree

bp = Blueprint("icalpub", __name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """App factory (nothing is built at import time).

    Config: ``EVENTS_PATH`` (default ``$ICALPUB_EVENTS`` or ``events.yaml``), ``BASE_URL``
    (default ``$ICALPUB_BASE_URL`` or the file's ``calendar.base_url``), ``RELOAD_INTERVAL``
    (seconds between checks of the file for changes, default 0.25: one ``stat`` per check),
    ``RELOAD_SETTLE`` (seconds a new version must stay unmodified before it is read, see
    ``live``; default 0.5, or twice the check interval when that is shorter),
    ``STATE_PATH`` (default
    ``$ICALPUB_STATE`` or ``events.state.json`` next to the events file), ``CLOCK`` (a
    function returning now in UTC; tests inject one), ``STATIC_DIR`` (serve a tree written by
    ``icalpub build`` instead of the events file), ``FAST_PATH`` (default True: answer GET
    and HEAD of a published URL without a query string before Flask, see
    :class:`~icalpub.httpcache.ResourceMiddleware`; False leaves every request to the routes).
    Raises :class:`~icalpub.errors.EventsFileError` when the file is invalid at start-up,
    :class:`~icalpub.errors.StateFileError` when the state file is corrupt.
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
    )
    if test_config:
        app.config.update(test_config)
    if app.config["STATIC_DIR"]:
        app.extensions["icalpub"] = StaticTree(app.config["STATIC_DIR"])
    else:
        app.extensions["icalpub"] = LiveSite(
            app.config["EVENTS_PATH"], base_url=app.config["BASE_URL"],
            check_interval=app.config["RELOAD_INTERVAL"], settle=_settle(app.config),
            reload_wait=app.config.get("RELOAD_WAIT", 60.0 if app.testing else 5.0),
            state_path=app.config["STATE_PATH"], clock=app.config["CLOCK"],
        )
    app.extensions["icalpub.queries"] = QueryCache(app.config.get("QUERY_CACHE_SIZE", 256))
    # Raw query string -> resource; the same LRU class, keyed by a string instead of a Query.
    app.extensions["icalpub.raw_queries"] = QueryCache(app.config.get("QUERY_CACHE_SIZE", 256))
    app.register_blueprint(bp)
    if app.config.get("FAST_PATH", True):
        app.wsgi_app = ResourceMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, app.extensions["icalpub"], RoutedPaths(app))
    return app


def _settle(config: Any) -> float:
    """0.5 s by default; a server told to check on every request (interval 0, as tests do)
    also reads a new version at once unless given a settle time of its own."""
    if config["RELOAD_SETTLE"] is not None:
        return float(config["RELOAD_SETTLE"])
    return min(0.5, float(config["RELOAD_INTERVAL"]) * 2)


def live_site() -> LiveSite | StaticTree:
    return current_app.extensions["icalpub"]


def serve(path: str) -> Response:
    """One resource with strong ETag, Last-Modified and 304 handling (``httpcache.answer``).
    The same code answers for a live events file and for a built tree (``--static``), and
    :class:`~icalpub.httpcache.ResourceMiddleware` answers the same way before Flask."""
    snapshot = live_site().snapshot
    resource = snapshot.get(path)
    if resource is None:
        return not_found()
    return respond(resource, snapshot)


def respond(resource: Resource, snapshot: Snapshot | StaticSnapshot) -> Response:
    """The precomputed answer for this request's conditional and Accept-Encoding headers: no
    header parsing or formatting by Werkzeug, which ``make_conditional`` and friends cost."""
    status, headers, body = answer(answers_for(resource, snapshot), request.environ)
    return Response(body, status=status, headers=headers)


def serve_query(path: str) -> Response:
    """``path`` filtered by the request's query parameters (search, topic, organiser, dates),
    or the precomputed resource when there are none.

    The resource is memoised by the raw query string (per site, bounded LRU), so a feed
    polled with the same ``?q=`` URL skips parsing and normalising the query on every
    request; distinct strings that mean the same query still share one rendering
    (``icalpub.queries``)."""
    snapshot = live_site().snapshot
    if isinstance(snapshot, StaticSnapshot):
        return serve(path)  # a built tree answers like a static server: no query support
    try:
        resource = current_app.extensions["icalpub.raw_queries"].get(
            snapshot.site, path, request.environ.get("QUERY_STRING", ""),  # type: ignore[arg-type]
            lambda: _query_resource(path, snapshot))
    except QueryError as exc:  # not memoised: raised before anything is stored
        return Response(f"Bad request: {exc}\n", status=400,
                        content_type="text/plain; charset=utf-8")
    if resource is None:
        return not_found()
    return respond(resource, snapshot)


def _query_resource(path: str, snapshot: Snapshot) -> Resource | None:
    if not any(name in request.args for name in PARAMS):
        return snapshot.get(path)
    query = parse_query(multidict(request.args.items(multi=True)), snapshot.site.data)
    if query.empty:
        return snapshot.get(path)
    return query_resource(current_app.extensions["icalpub.queries"], snapshot.site,
                          KINDS[path], query)


#: Endpoint -> the function from the route's variables to the resource path it serves. The
#: Flask views and the fast path (:class:`RoutedPaths`) both call these, so a URL means the
#: same resource on both.
RESOURCE_PATHS: dict[str, Callable[..., str]] = {}


def resource_route(*rules: str, query: bool = False) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register ``rules`` (GET, hence HEAD) for a function giving the resource path from the
    URL's variables. ``query``: the route also answers filter parameters (``serve_query``)."""
    def register(path_of: Callable[..., str]) -> Callable[..., str]:
        def view(**variables: str) -> Response:
            path = path_of(**variables)
            return serve_query(path) if query else serve(path)

        view.__name__ = path_of.__name__
        for rule in rules:
            bp.add_url_rule(rule, path_of.__name__, view, methods=["GET"])
        RESOURCE_PATHS[f"{bp.name}.{path_of.__name__}"] = path_of
        return path_of
    return register


@resource_route("/", query=True)
def index() -> str:
    return urls.INDEX_PAGE


@resource_route("/events/<event_id>", "/events/<event_id>/")
def event_page(event_id: str) -> str:
    return urls.page_resource(urls.event_page_path(event_id))


@resource_route("/topics/<slug>", "/topics/<slug>/")
def topic_page(slug: str) -> str:
    return urls.page_resource(urls.topic_page_path(slug))


@resource_route("/organisers/<slug>", "/organisers/<slug>/")
def organiser_page(slug: str) -> str:
    return urls.page_resource(urls.organiser_page_path(slug))


@resource_route("/static/<name>")
def static_file(name: str) -> str:
    return f"static/{name}"


@resource_route("/feeds/all.ics", query=True)
def all_feed() -> str:
    return urls.ALL_FEED


@resource_route("/feeds/all.json", query=True)
def all_feed_jcal() -> str:
    return urls.jcal_path(urls.ALL_FEED)


@resource_route("/feeds/topics/<slug>.json")
def topic_feed_jcal(slug: str) -> str:
    return urls.jcal_path(urls.feed_path("topic", slug))


@resource_route("/feeds/organisers/<slug>.json")
def organiser_feed_jcal(slug: str) -> str:
    return urls.jcal_path(urls.feed_path("organiser", slug))


@resource_route("/feeds/topics/<slug>.ics")
def topic_feed(slug: str) -> str:
    return urls.feed_path("topic", slug)


@resource_route("/feeds/organisers/<slug>.ics")
def organiser_feed(slug: str) -> str:
    return urls.feed_path("organiser", slug)


@resource_route("/events/<event_id>.ics")
def invite(event_id: str) -> str:
    return urls.invite_path(event_id)


@resource_route("/feeds.json")
def feeds_index() -> str:
    return urls.FEEDS_INDEX


class RoutedPaths:
    """``PATH_INFO`` -> the resource path the app's routes give it, for the fast path.

    The URL is matched by the app's own URL map, exactly as Flask matches it for the view
    (same adapter, so percent-decoding, ``//``, trailing slashes and converters agree), and
    the endpoint's :data:`RESOURCE_PATHS` function gives the path. Only URLs naming an
    existing resource are remembered, so hostile URLs cannot grow the table; it is emptied
    when it reaches ``limit`` (renamed events leave stale entries behind).
    """

    def __init__(self, app: Flask, limit: int = 100_000):
        self.app = app
        self.limit = limit
        self._known: dict[str, str] = {}

    def __call__(self, environ: dict[str, Any], snapshot: Snapshot | StaticSnapshot) -> str | None:
        key = environ.get("PATH_INFO", "")
        path = self._known.get(key)
        if path is None:
            path = self.route(environ)
            if path is not None and snapshot.get(path) is not None:
                if len(self._known) >= self.limit:
                    self._known.clear()
                self._known[key] = path
        return path

    def route(self, environ: dict[str, Any]) -> str | None:
        """Flask's own adapter and match (the app uses neither host matching nor subdomains,
        so the answer depends on ``PATH_INFO`` alone)."""
        try:
            adapter = self.app.create_url_adapter(self.app.request_class(environ))
            if adapter is None:
                return None
            rule, variables = adapter.match(return_rule=True)
        except HTTPException:  # 404, 405, a redirect: Flask answers those
            return None
        except Exception:  # noqa: BLE001 - whatever it is, Flask handles it its own way
            return None
        path_of = RESOURCE_PATHS.get(rule.endpoint)  # type: ignore[union-attr]
        return path_of(**variables) if path_of is not None else None


@bp.after_app_request
def no_sniffing(response: Response) -> Response:
    """Every response, errors included, is what its Content-Type says: a browser must not
    guess HTML out of a 404 body or a feed (OWASP secure headers)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_errorhandler(404)
def not_found(error: Exception | None = None) -> Response:
    return Response("Not found. The feeds are listed at /feeds.json\n", status=404,
                    content_type="text/plain; charset=utf-8")


@bp.app_errorhandler(405)
def not_allowed(error: Exception) -> Response:
    return Response("Method not allowed: feeds are read with GET or HEAD.\n", status=405,
                    content_type="text/plain; charset=utf-8",
                    headers={"Allow": "GET, HEAD"})
