"""The Flask app: looks request paths up in the current :class:`~icalpub.site.Site`.

The only module that imports ``flask``. It renders nothing itself — ``site`` has already
computed every resource — so serving is a dictionary look-up plus HTTP conditional handling.

Production: ``gunicorn 'icalpub.web:create_app()'`` (``ICALPUB_EVENTS`` names the file).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from . import urls
from .live import LiveSite, Snapshot
from .publish import system_clock
from .queries import KINDS, query_resource
from .search import PARAMS, QueryCache, QueryError, multidict, parse_query
from .site import Resource
from .static import StaticSnapshot, StaticTree

#: Pages load only their own CSS and script; JSON-LD blocks are data, not script.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; form-action 'self'; base-uri 'none'; "
                           "frame-ancestors 'none'")

bp = Blueprint("icalpub", __name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """App factory (nothing is built at import time).

    Config: ``EVENTS_PATH`` (default ``$ICALPUB_EVENTS`` or ``events.yaml``), ``BASE_URL``
    (default ``$ICALPUB_BASE_URL`` or the file's ``calendar.base_url``), ``RELOAD_INTERVAL``
    (seconds between checks of the file for changes, default 1), ``RELOAD_SETTLE`` (seconds a
    new version must stay unmodified before it is read, see ``live``; default half the check
    interval, at most 0.5),
    ``STATE_PATH`` (default
    ``$ICALPUB_STATE`` or ``events.state.json`` next to the events file), ``CLOCK`` (a
    function returning now in UTC; tests inject one), ``STATIC_DIR`` (serve a tree written by
    ``icalpub build`` instead of the events file).
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
        RELOAD_INTERVAL=1.0,
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
    app.register_blueprint(bp)
    return app


def _settle(config: Any) -> float:
    """0.5 s by default; a server told to check on every request (interval 0, as tests do)
    also reads a new version at once unless given a settle time of its own."""
    if config["RELOAD_SETTLE"] is not None:
        return float(config["RELOAD_SETTLE"])
    return min(0.5, float(config["RELOAD_INTERVAL"]) / 2)


def live_site() -> LiveSite | StaticTree:
    return current_app.extensions["icalpub"]


def serve(path: str) -> Response:
    """One resource with strong ETag, Last-Modified and 304 handling (Werkzeug's
    ``make_conditional``, which honours If-None-Match first, then If-Modified-Since).
    The same code answers for a live events file and for a built tree (``--static``)."""
    snapshot = live_site().snapshot
    resource = snapshot.get(path)
    if resource is None:
        return not_found()
    return respond(resource, snapshot)


def respond(resource: Resource, snapshot: Snapshot | StaticSnapshot) -> Response:
    gzipped = resource.compressible and request.accept_encodings["gzip"] > 0
    # A strong ETag names one representation: the precompressed one gets its own.
    etag = resource.etag + "-gz" if gzipped else resource.etag
    if request.if_none_match and request.if_none_match.contains_weak(etag):
        # The common case for a feed polled forever: answer before building a body response
        # (RFC 9110 §15.4.5: a 304 carries the validators and caching headers of the 200).
        response = Response(status=304)
        _validators(response, resource, snapshot, etag)
        return response
    response = Response(resource.gzipped if gzipped else resource.body,
                        content_type=resource.content_type)
    _validators(response, resource, snapshot, etag)
    if gzipped:
        response.content_encoding = "gzip"
    if resource.content_type.startswith("text/html"):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if resource.download_name:
        response.headers["Content-Disposition"] = f'attachment; filename="{resource.download_name}"'
    return response.make_conditional(request)


def _validators(response: Response, resource: Resource, snapshot: Snapshot | StaticSnapshot,
                etag: str) -> None:
    if resource.compressible:
        response.vary.add("Accept-Encoding")
    response.set_etag(etag)
    # Per resource, from the state file; a filtered feed (path of its unfiltered feed) gets
    # that feed's, which moves whenever any of its events changes.
    response.last_modified = snapshot.resource_modified(resource.path)
    response.headers["Cache-Control"] = f"public, max-age={snapshot.max_age}"


def serve_query(path: str) -> Response:
    """``path`` filtered by the request's query parameters (search, topic, organiser, dates),
    or the precomputed resource when there are none."""
    snapshot = live_site().snapshot
    if not any(name in request.args for name in PARAMS) or isinstance(snapshot, StaticSnapshot):
        return serve(path)  # a built tree answers like a static server: no query support
    try:
        query = parse_query(multidict(request.args.items(multi=True)), snapshot.site.data)
    except QueryError as exc:
        return Response(f"Bad request: {exc}\n", status=400,
                        content_type="text/plain; charset=utf-8")
    if query.empty:
        return serve(path)
    resource = query_resource(current_app.extensions["icalpub.queries"], snapshot.site,
                              KINDS[path], query)
    return respond(resource, snapshot)


@bp.get("/")
def index() -> Response:
    return serve_query(urls.INDEX_PAGE)


@bp.get("/events/<event_id>")
@bp.get("/events/<event_id>/")
def event_page(event_id: str) -> Response:
    return serve(urls.page_resource(urls.event_page_path(event_id)))


@bp.get("/topics/<slug>")
@bp.get("/topics/<slug>/")
def topic_page(slug: str) -> Response:
    return serve(urls.page_resource(urls.topic_page_path(slug)))


@bp.get("/organisers/<slug>")
@bp.get("/organisers/<slug>/")
def organiser_page(slug: str) -> Response:
    return serve(urls.page_resource(urls.organiser_page_path(slug)))


@bp.get("/static/<name>")
def static_file(name: str) -> Response:
    return serve(f"static/{name}")


@bp.get("/feeds/all.ics")
def all_feed() -> Response:
    return serve_query(urls.ALL_FEED)


@bp.get("/feeds/all.json")
def all_feed_jcal() -> Response:
    return serve_query(urls.jcal_path(urls.ALL_FEED))


@bp.get("/feeds/topics/<slug>.json")
def topic_feed_jcal(slug: str) -> Response:
    return serve(urls.jcal_path(urls.feed_path("topic", slug)))


@bp.get("/feeds/organisers/<slug>.json")
def organiser_feed_jcal(slug: str) -> Response:
    return serve(urls.jcal_path(urls.feed_path("organiser", slug)))


@bp.get("/feeds/topics/<slug>.ics")
def topic_feed(slug: str) -> Response:
    return serve(urls.feed_path("topic", slug))


@bp.get("/feeds/organisers/<slug>.ics")
def organiser_feed(slug: str) -> Response:
    return serve(urls.feed_path("organiser", slug))


@bp.get("/events/<event_id>.ics")
def invite(event_id: str) -> Response:
    return serve(urls.invite_path(event_id))


@bp.get("/feeds.json")
def feeds_index() -> Response:
    return serve(urls.FEEDS_INDEX)


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
