"""Gunicorn entry point that fails like ``icalpub check``:
``gunicorn --preload 'icalpub.serve.wsgi:app()'``.

``gunicorn 'icalpub.serve.app:create_app()'`` also refuses to start with a bad events file, but
gunicorn shows the :class:`~icalpub.errors.EventsFileError` as a traceback. Here a worker
prints the problems, one per line, and exits with gunicorn's "worker failed to boot" status,
on which the master stops instead of respawning workers: no half-working server. With
``--preload`` the app is built once in the master, before it listens, so a bad file stops
gunicorn before any worker exists (and avoids a gunicorn 27 race when several workers fail
to boot at once; see tests/reliability/test_startup.py).
"""

from __future__ import annotations

import sys

from flask import Flask

from ..core.errors import EventsFileError, StateFileError
from .app import create_app

#: gunicorn's Arbiter.WORKER_BOOT_ERROR: the master halts when a worker exits with it.
WORKER_BOOT_ERROR = 3


def app() -> Flask:
    try:
        return create_app()
    except EventsFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{exc.summary()}: not serving.", file=sys.stderr, flush=True)
        raise SystemExit(WORKER_BOOT_ERROR) from None
    except StateFileError as exc:
        print(f"{exc}\nNot serving.", file=sys.stderr, flush=True)
        raise SystemExit(WORKER_BOOT_ERROR) from None
