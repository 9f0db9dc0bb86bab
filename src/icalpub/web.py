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
from .live import LiveSite

bp = Blueprint("icalpub", __name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """App factory (nothing is built at import time).

    Config: ``EVENTS_PATH`` (default ``$ICALPUB_EVENTS`` or ``events.yaml``), ``BASE_URL``
    (default ``$ICALPUB_BASE_URL`` or the file's ``calendar.base_url``), ``RELOAD_INTERVAL``
    (seconds between checks of the file for changes, default 1), ``RELOAD_SETTLE`` (seconds a
    new version must stay unmodified before it is read, default 0.5: see ``live``).
    Raises :class:`~icalpub.errors.EventsFileError` when the file is invalid at start-up.
    """
    app = Flask(__name__)
    # Werkzeug answers "/feeds//all.ics" with a 308 to an absolute URL built from the Host
    # header; a cache in front would then serve an attacker's Host to everyone. Odd paths are
    # plain 404s instead.
    app.url_map.merge_slashes = False
    app.config.from_mapping(
        EVENTS_PATH=os.environ.get("ICALPUB_EVENTS", "events.yaml"),
        BASE_URL=None,
        RELOAD_INTERVAL=1.0,
        RELOAD_SETTLE=0.5,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["icalpub"] = LiveSite(
        app.config["EVENTS_PATH"], base_url=app.config["BASE_URL"],
        check_interval=app.config["RELOAD_INTERVAL"], settle=app.config["RELOAD_SETTLE"],
    )
    app.register_blueprint(bp)
    return app


def live_site() -> LiveSite:
    return current_app.extensions["icalpub"]


def serve(path: str) -> Response:
    """One resource with strong ETag, Last-Modified and 304 handling (Werkzeug's
    ``make_conditional``, which honours If-None-Match first, then If-Modified-Since)."""
    snapshot = live_site().snapshot
    resource = snapshot.site.get(path)
    if resource is None:
        return not_found()
    response = Response(resource.body, content_type=resource.content_type)
    response.set_etag(resource.etag)
    response.last_modified = snapshot.last_modified
    refresh = int(snapshot.site.data.calendar.refresh.total_seconds())
    response.headers["Cache-Control"] = f"public, max-age={refresh}"
    if resource.download_name:
        response.headers["Content-Disposition"] = f'attachment; filename="{resource.download_name}"'
    return response.make_conditional(request)


@bp.get("/feeds/all.ics")
def all_feed() -> Response:
    return serve(urls.ALL_FEED)


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
