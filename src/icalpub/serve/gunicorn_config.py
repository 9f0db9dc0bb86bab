"""gunicorn settings for icalpub: the master rebuilds once, every worker serves the result.

    gunicorn -c python:icalpub.serve.gunicorn_config --workers 2 --bind 127.0.0.1:8000

Why: left to themselves, gunicorn workers each watch events.yaml and rebuild the site after an
edit, so N workers do the same rebuild N times, at the same moment, on the cores that should
be answering requests. Here the app is built in the master before it forks (``preload_app``);
a thread of the master watches the file (:meth:`~icalpub.serve.live.LiveSite.watch`), rebuilds
after each settled edit and then sends the master ``SIGHUP``: gunicorn forks new workers,
which inherit the new site as it is in memory (shared copy-on-write; ``live`` keeps it out of
the garbage collector, which would otherwise touch every page), and stops the old ones
gracefully once the new ones run. Until then the old workers serve the old site, so no
request sees an error or a partial feed. Workers never read the file
(:meth:`~icalpub.serve.live.LiveSite.follow`).

Workers are ``gthread`` (4 threads each), not gunicorn's default sync workers, which close
the connection after every answer and are busy for as long as one client takes to read it.
Calendar apps, CDNs and proxies poll with kept-alive connections, and a large feed sent to a
slow client would hold a sync worker for seconds (benchmarks/RESULTS.md has the figures). A
stopping worker finishes its answers, so a replaced worker never cuts a body.

``ICALPUB_EVENTS``, ``ICALPUB_BASE_URL`` and ``ICALPUB_STATE`` choose the file as for the
other entry points, and the app (``wsgi_app``) is ``icalpub.serve.wsgi:app()``, which stops
gunicorn with the problems of a bad file before it listens. gunicorn's own options (workers,
bind, timeouts) are set on the command line as usual; a HUP sent by an operator does what it
always does, and workers forked after it serve the master's current site.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from .live import LiveSite

wsgi_app = "icalpub.serve.wsgi:app()"
preload_app = True
worker_class = "gthread"
threads = 4


def _live_site(server: Any) -> LiveSite | None:
    """The site of the app gunicorn loaded (None for ``STATIC_DIR``: a built tree does not
    change under a running server)."""
    app = server.app.wsgi()
    site = getattr(app, "extensions", {}).get("icalpub")
    return site if isinstance(site, LiveSite) else None


def when_ready(server: Any) -> None:
    """In the master, once it listens: watch the file, and replace the workers after each
    reload that brought a new site."""
    site = _live_site(server)
    if site is not None:
        site.watch(lambda: os.kill(server.pid, signal.SIGHUP))


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: serve the site inherited from the master, never rebuild it."""
    site = _live_site(server)
    if site is not None:
        site.follow()
