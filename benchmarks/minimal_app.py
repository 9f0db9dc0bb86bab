"""The issue's "minimal Flask app": precomputed bytes, an ETag, If-None-Match -> 304.

Why: it is the ceiling for what a Flask app under gunicorn can do per request (a dict look-up
and a write), so the app's req/s is reported as a share of it. Every file of an exported site
(``BENCH_EXPORT_DIR``) is read once at start-up; gzip is precompressed too, so the gzip route
has a reference of the shape the issue asks for (precompressed bytes, Vary: Accept-Encoding).
The query string is ignored (a cached ``?q=`` answer costs the same look-up).

Run: BENCH_EXPORT_DIR=DIR gunicorn -w 2 --chdir benchmarks 'minimal_app:create_app()'
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from flask import Flask, Response, request

TYPES = {".ics": "text/calendar; charset=utf-8", ".json": "application/json"}


def create_app(root: str | None = None) -> Flask:
    base = Path(root or os.environ["BENCH_EXPORT_DIR"])
    files: dict[str, tuple[bytes, bytes, str, str]] = {}
    for path in base.rglob("*"):
        if path.is_file() and path.suffix in TYPES:
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            files[path.relative_to(base).as_posix()] = (
                body, gzip.compress(body, 6, mtime=0), etag, TYPES[path.suffix])
    app = Flask(__name__)

    @app.get("/<path:path>")
    def serve(path: str) -> Response:
        entry = files.get(path)
        if entry is None:
            return Response("not found\n", status=404)
        body, gz, etag, ctype = entry
        headers = {"ETag": etag, "Vary": "Accept-Encoding"}
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers=headers)
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(gz, content_type=ctype, headers=headers)
        return Response(body, content_type=ctype, headers=headers)

    return app
